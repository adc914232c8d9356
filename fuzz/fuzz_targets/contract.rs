//! Contract parsing: arbitrary metadata (lines `key=value`) against a fixed graph signature, and arbitrary
//! signature dims (first bytes) against valid metadata.
#![no_main]
use std::collections::BTreeMap;

use dgmf::contract::{Contract, ElemType, TensorSpec};
use libfuzzer_sys::fuzz_target;

fn spec(name: &str, dims: Vec<i64>) -> TensorSpec {
    TensorSpec { name: name.into(), elem: Ok(ElemType::F32), dims: Some(dims) }
}

fuzz_target!(|data: &[u8]| {
    let (head, text) = data.split_at(data.len().min(8));
    let d = |i: usize| head.get(i).map_or(-1, |&b| b as i64 - 2);
    let inputs = vec![
        spec("z", vec![-1, d(0), d(1), d(2)]),
        spec("sigma", vec![-1]),
        spec("params", vec![-1, d(3)]),
        spec("fidelity", vec![-1, d(4)]),
    ];
    let outputs = vec![spec("out", vec![-1, d(5), d(6), d(7)])];
    let meta: BTreeMap<String, String> = String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let _ = Contract::from_parts(&meta, &inputs, &outputs);
});
