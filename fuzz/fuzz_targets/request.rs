//! Request validation against a fixed contract: arbitrary numbers (NaN, ±inf, huge counts) for every field.
#![no_main]
use std::collections::BTreeMap;

use dgmf::contract::{Contract, ElemType, TensorSpec};
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Query, Request};
use libfuzzer_sys::fuzz_target;

fn contract() -> Contract {
    let meta: BTreeMap<String, String> = [
        ("dgmf.contract", "1"),
        ("dgmf.sde", "ve"),
        ("dgmf.sigma_min", "0.01"),
        ("dgmf.sigma_max", "10"),
        ("dgmf.output", "score"),
        ("dgmf.shape", "1,32,32"),
        ("dgmf.param_names", "a,b"),
        ("dgmf.param_min", "0,-1"),
        ("dgmf.param_max", "1,1"),
        ("dgmf.fidelity", "discrete:3"),
        ("dgmf.coord_names", "t"),
        ("dgmf.coord_min", "0"),
        ("dgmf.coord_max", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let spec = |n: &str, d: &[i64]| TensorSpec { name: n.into(), elem: Ok(ElemType::F32), dims: Some(d.to_vec()) };
    let inputs = [
        spec("z", &[-1, 1, 32, 32]),
        spec("sigma", &[-1]),
        spec("params", &[-1, 2]),
        spec("fidelity", &[-1, 3]),
        spec("coords", &[-1, 1]),
    ];
    Contract::from_parts(&meta, &inputs, &[spec("out", &[-1, 1, 32, 32])]).expect("valid contract")
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u64(&mut self) -> u64 {
        let (h, t) = self.0.split_at(self.0.len().min(8));
        self.0 = t;
        let mut b = [0u8; 8];
        b[..h.len()].copy_from_slice(h);
        u64::from_le_bytes(b)
    }
    fn f64(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }
}

fuzz_target!(|data: &[u8]| {
    let c = contract();
    let mut b = Bytes(data);
    let n_queries = (b.u64() % 4) as usize;
    let queries = (0..n_queries)
        .map(|_| {
            let np = (b.u64() % 4) as usize;
            let params = (0..np).map(|_| b.f64()).collect();
            let fidelity = if b.u64() % 2 == 0 { FidelityValue::Level(b.u64() as usize) } else { FidelityValue::Value(b.f64()) };
            let nc = (b.u64() % 3) as usize;
            Query { params, fidelity, coords: (0..nc).map(|_| b.f64()).collect() }
        })
        .collect();
    let samplers = dgmf::samplers::SAMPLERS;
    let kind = SamplerKind::of(samplers[(b.u64() % samplers.len() as u64) as usize]);
    let mut sampler = SamplerConfig::new(kind);
    sampler.steps = b.u64() as usize;
    sampler.corrector_steps = b.u64() as usize;
    sampler.snr = b.f64() as f32;
    let mut req = Request::new(queries, sampler);
    req.n_samples = b.u64() as usize;
    req.max_batch = b.u64() as usize;
    req.keep_samples = b.u64() % 2 == 0;
    req.allow_extrapolation = b.u64() % 2 == 0;
    req.memory_limit = b.u64() as usize;
    let _ = req.validate(&c);
    let _ = req.sampler.nfe();
});
