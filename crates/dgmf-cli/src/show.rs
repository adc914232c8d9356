//! What `info` prints (text or JSON) and the summary of a prediction.

use std::path::Path;

use dgmf::contract::{Contract, Fidelity};
use dgmf::{Error, Model, Prediction, Request};

use crate::terminal::{json_text, Out};
use crate::{session_options, RuntimeArgs};

/// The longest model string `info` prints whole (`--json` prints every string whole).
const MAX_SHOWN: usize = 200;

/// A model string cut for one line of `info`: the model's author chose its length, not the reader.
fn brief(text: &str) -> std::borrow::Cow<'_, str> {
    let n = text.chars().count();
    if n <= MAX_SHOWN {
        return text.into();
    }
    let head: String = text.chars().take(MAX_SHOWN - 40).collect();
    format!("{head}… ({n} characters; --json shows all)").into()
}

pub(crate) fn info(path: &Path, json: bool, rt: &RuntimeArgs) -> Result<(), Error> {
    let model = Model::load(path, &session_options(rt)?)?;
    let c = model.contract();
    let mut out = Out::new();
    if json {
        // `json_text` escapes every control character, so the text is printable as it is.
        return out.line(&json_text(&info_json(&model)));
    }
    let rtm = model.runtime();
    say!(out, "model      {}", model.source());
    if let Some(name) = &c.name {
        say!(out, "name       {}", brief(name));
    }
    if let Some(d) = &c.description {
        say!(out, "about      {}", brief(d));
    }
    let h = model.header();
    say!(
        out,
        "onnx       IR {}, opset {}",
        h.ir_version,
        h.default_opset().map_or("-".into(), |o| o.to_string())
    );
    say!(
        out,
        "shape      [{}] ({} values per sample)",
        join(&c.shape),
        c.sample_len()
    );
    say!(
        out,
        "output     {} (VE SDE, sigma in [{}, {}])",
        c.output.as_str(),
        c.sigma_min,
        c.sigma_max
    );
    say!(out, "params     {}", c.params.len());
    for p in &c.params {
        say!(out, "  {:<12} [{}, {}]", brief(&p.name), p.min, p.max);
    }
    match &c.fidelity {
        Fidelity::Discrete { levels, labels } => {
            let l = labels
                .as_ref()
                .map(|l| format!(" ({})", brief(&l.join(", "))))
                .unwrap_or_default();
            say!(
                out,
                "fidelity   discrete, {levels} levels 0..={}{l}",
                levels - 1
            );
        }
        Fidelity::Continuous { lo, hi } => say!(out, "fidelity   continuous in [{lo}, {hi}]"),
    }
    if !c.coords.is_empty() {
        say!(out, "coords     {}", c.coords.len());
        for k in &c.coords {
            say!(out, "  {:<12} [{}, {}]", brief(&k.name), k.min, k.max);
        }
    }
    units(&mut out, c)?;
    if c.members > 1 {
        say!(
            out,
            "members    {} networks, a deep ensemble (sample j is drawn by member j mod {})",
            c.members,
            c.members
        );
    }
    say!(
        out,
        "precision  {} (z {:?}, output {:?})",
        model.precision(),
        c.io.z,
        c.io.output
    );
    let rec = model.recommended_sampler();
    say!(
        out,
        "sampler    {} ({} NFE; {})",
        rec.spec(),
        rec.nfe(),
        if c.sampler.is_some() {
            "the model's dgmf.sampler, used when none is named"
        } else {
            "the library default: the model names none"
        }
    );
    say!(out, "provider   {}", model.provider());
    say!(
        out,
        "runtime    ONNX Runtime {} ({})",
        rtm.version,
        rtm.path.display()
    );
    Ok(())
}

/// The unit conversion and the std calibration lines of `info`.
fn units(out: &mut Out, c: &dgmf::contract::Contract) -> Result<(), Error> {
    say!(
        out,
        "data       u = shift + scale*z, shift [{}], scale [{}]",
        join(&c.data_shift),
        join(&c.data_scale)
    );
    if c.std_scale.is_empty() {
        say!(
            out,
            "std scale  none (the ensemble std as sampled; see dgmf calibrate)"
        );
    } else {
        say!(
            out,
            "std scale  [{}] (calibrated: the ensemble std is multiplied by it)",
            join(&c.std_scale)
        );
    }
    Ok(())
}

pub(crate) fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn vars_json(vars: &[dgmf::contract::Variable]) -> serde_json::Value {
    vars.iter()
        .map(|v| serde_json::json!({"name": v.name, "min": v.min, "max": v.max}))
        .collect()
}

pub(crate) fn info_json(model: &Model) -> serde_json::Value {
    let c: &Contract = model.contract();
    let fidelity = match &c.fidelity {
        Fidelity::Discrete { levels, labels } => {
            serde_json::json!({"kind": "discrete", "levels": levels, "labels": labels})
        }
        Fidelity::Continuous { lo, hi } => {
            serde_json::json!({"kind": "continuous", "lo": lo, "hi": hi})
        }
    };
    serde_json::json!({
        "source": model.source(),
        "name": c.name,
        "description": c.description,
        "contract": dgmf::contract::CONTRACT_VERSION,
        "sde": "ve",
        "output": c.output.as_str(),
        "sigma_min": c.sigma_min,
        "sigma_max": c.sigma_max,
        "shape": c.shape,
        "params": vars_json(&c.params),
        "fidelity": fidelity,
        "coords": vars_json(&c.coords),
        "data_shift": c.data_shift,
        "data_scale": c.data_scale,
        "std_scale": c.std_scale,
        "members": c.members,
        "precision": model.precision(),
        "sampler": model.recommended_sampler().spec(),
        "sampler_from_model": c.sampler.is_some(),
        "provider": model.provider(),
        "ort_version": model.runtime().version,
        "ir_version": model.header().ir_version,
    })
}

pub(crate) fn report(
    out: &mut Out,
    model: &Model,
    req: &Request,
    p: &Prediction,
) -> Result<(), Error> {
    let stats = |v: &dgmf::ndarray::ArrayD<f32>| {
        let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
        for &x in v {
            lo = lo.min(x);
            hi = hi.max(x);
            sum += x as f64;
        }
        format!("min {lo:.5}  max {hi:.5}  avg {:.5}", sum / v.len() as f64)
    };
    let n_q = p.mean.shape()[0];
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    say!(
        out,
        "sampler    {} ({} levels, {} schedule), {} queries x {} samples, seed {}",
        req.sampler.kind.name(),
        req.sampler.steps,
        req.sampler.schedule.name(),
        n_q,
        req.n_samples,
        req.seed
    );
    say!(
        out,
        "nfe        {} per sample, {} network calls",
        p.nfe,
        p.network_calls
    );
    let engine = p.wall.saturating_sub(p.network_time);
    say!(
        out,
        "wall       {:.1} ms ({:.1} ms in ONNX Runtime, {:.1}%), provider {}",
        ms(p.wall),
        ms(p.network_time),
        100.0 * p.network_time.as_secs_f64() / p.wall.as_secs_f64().max(1e-12),
        model.provider()
    );
    // The engine's own cost (sampler arithmetic, noise, batching, unit conversion) next to ORT's.
    say!(
        out,
        "engine     {:.3} ms outside ONNX Runtime = {:.2}% of the ONNX Runtime time",
        ms(engine),
        100.0 * engine.as_secs_f64() / p.network_time.as_secs_f64().max(1e-12)
    );
    say!(out, "mean       {}", stats(&p.mean));
    if let Some(s) = &p.std {
        say!(out, "std        {}", stats(s));
    }
    Ok(())
}
