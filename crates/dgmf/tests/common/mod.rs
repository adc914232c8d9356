//! Ground truth for the analytic test models (tests/models/gen_analytic.py): data ~ N(μ(x, m, c), s²·I)
//! in normalized units, physical u = shift + scale·z.
#![allow(dead_code)]

pub mod requests;

use std::path::PathBuf;

use dgmf::{FidelityValue, Model, Query, SessionOptions};
use serde_json::Value;

pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/models")
}

pub fn load(name: &str) -> Model {
    Model::load(models_dir().join(name), &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub struct Analytic {
    pub shape: Vec<usize>,
    pub s: f64,
    pub sigma_min: f64,
    pub sigma_max: f64,
    shift: Vec<f64>,
    scale: Vec<f64>,
    c0: Vec<f64>,
    b: Vec<Vec<f64>>,
    o: Option<Vec<Vec<f64>>>,
    g: Option<Vec<f64>>,
    dc: Option<Vec<Vec<f64>>>,
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> Option<Vec<Vec<f64>>> {
    v.as_array().map(|rows| rows.iter().map(floats).collect())
}

impl Analytic {
    pub fn new(name: &str) -> Self {
        let text =
            std::fs::read_to_string(models_dir().join("analytic.json")).expect("analytic.json");
        let all: Value = serde_json::from_str(&text).expect("json");
        let m = &all[name];
        let list = |k: &str, default: f64| {
            if m[k].is_null() {
                vec![default]
            } else {
                floats(&m[k])
            }
        };
        Analytic {
            shape: m["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect(),
            s: m["s"].as_f64().unwrap(),
            sigma_min: m["sigma_min"].as_f64().unwrap(),
            sigma_max: m["sigma_max"].as_f64().unwrap(),
            shift: list("data_shift", 0.0),
            scale: list("data_scale", 1.0),
            c0: floats(&m["c0"]),
            b: matrix(&m["B"]).unwrap(),
            o: matrix(&m["O"]),
            g: m["G"].as_array().map(|_| floats(&m["G"])),
            dc: matrix(&m["Dc"]),
        }
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// μ in normalized units.
    pub fn mu(&self, q: &Query) -> Vec<f64> {
        (0..self.len())
            .map(|e| {
                let mut v = self.c0[e];
                for (p, row) in q.params.iter().zip(&self.b) {
                    v += p * row[e];
                }
                match q.fidelity {
                    FidelityValue::Level(l) => v += self.o.as_ref().unwrap()[l][e],
                    FidelityValue::Value(h) => v += h * self.g.as_ref().unwrap()[e],
                }
                if let Some(dc) = &self.dc {
                    for (c, row) in q.coords.iter().zip(dc) {
                        v += c * row[e];
                    }
                }
                v
            })
            .collect()
    }

    /// (shift, scale) of element e.
    pub fn affine(&self, e: usize) -> (f64, f64) {
        let ch = e / (self.len() / self.shape[0]);
        let pick = |v: &Vec<f64>| if v.len() == 1 { v[0] } else { v[ch] };
        (pick(&self.shift), pick(&self.scale))
    }

    /// Exact mean and std of u per element of what a sampler produces from the VE prior x_T ~ N(0, σ_max²)
    /// (not N(μ, s² + σ_max²)): the offset −μ of the prior mean survives with factor k, and the spread is
    /// the prior's, scaled by the same map.
    /// ODE samplers: deterministic linear flow, k = s²/(√(s²+σ_min²)·√(s²+σ_max²)), std = k·σ_max.
    /// SDE samplers: the reverse SDE contracts the mean offset twice as fast, k = (s²+σ_min²)/(s²+σ_max²),
    /// and the output std is s.
    pub fn target(&self, q: &Query, ode: bool) -> (Vec<f64>, Vec<f64>) {
        let (s2, a, b) = (
            self.s * self.s,
            self.sigma_min.powi(2),
            self.sigma_max.powi(2),
        );
        let (k, sd) = if ode {
            let k = s2 / ((s2 + a).sqrt() * (s2 + b).sqrt());
            (k, k * self.sigma_max)
        } else {
            ((s2 + a) / (s2 + b), self.s)
        };
        let mu = self.mu(q);
        let mean = mu
            .iter()
            .enumerate()
            .map(|(e, m)| self.affine(e).0 + self.affine(e).1 * m * (1.0 - k))
            .collect();
        let std = (0..self.len())
            .map(|e| self.affine(e).1.abs() * sd)
            .collect();
        (mean, std)
    }

    /// Where the exact probability-flow ODE (then the denoise step) takes x_T = σ_max·ξ, in physical units.
    pub fn flow_u(&self, q: &Query, xi: &[f32]) -> Vec<f64> {
        let (s2, a, b) = (
            self.s * self.s,
            self.sigma_min.powi(2),
            self.sigma_max.powi(2),
        );
        let k = s2 / ((s2 + a).sqrt() * (s2 + b).sqrt());
        self.mu(q)
            .iter()
            .zip(xi)
            .enumerate()
            .map(|(e, (m, &x))| {
                let z = m + (x as f64 * self.sigma_max - m) * k;
                self.affine(e).0 + self.affine(e).1 * z
            })
            .collect()
    }
}
