//! The protobuf walk that reads IR version, opsets and external-data references from untrusted bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = dgmf::onnx_header::read_header(data) {
        let _ = h.check_supported();
        let _ = h.default_opset();
    }
});
