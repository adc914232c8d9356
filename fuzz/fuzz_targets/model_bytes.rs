//! Model loading from untrusted bytes, through the header check into ONNX Runtime and the contract.
//! Seeds: the shipped ONNX files (scripts/fuzz.sh copies them into the corpus).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dgmf::Model::from_bytes(data, &dgmf::SessionOptions { intra_threads: 1, ..Default::default() });
});
