//! The C API with arbitrary arguments: sampler names, settings, parameters, fidelity values and buffer
//! lengths from the input (buffers are allocated to the length claimed, as the C contract requires), plus
//! NULLs where the API allows them to be passed.
#![no_main]
use std::ffi::CString;
use std::sync::OnceLock;

use dgmf_capi::*;
use libfuzzer_sys::fuzz_target;

struct Model(*mut dgmf_model);
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

fn model() -> *const dgmf_model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let path = CString::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/models/analytic_coords.onnx")).unwrap();
        let mut m = std::ptr::null_mut();
        assert_eq!(dgmf_model_load(path.as_ptr(), std::ptr::null(), &mut m), dgmf_status::DGMF_OK);
        Model(m)
    })
    .0
}

fuzz_target!(|data: &[u8]| {
    let mut it = data.iter().copied();
    let mut next = || it.next().unwrap_or(0);
    let name_len = (next() % 16) as usize;
    let name: Vec<u8> = (0..name_len).map(|_| next()).filter(|&b| b != 0).collect();
    let name = CString::new(name).unwrap();
    let mut cfg = std::ptr::null_mut();
    if dgmf_config_create(name.as_ptr(), &mut cfg) != dgmf_status::DGMF_OK {
        let _ = dgmf_config_create(c"heun".as_ptr(), &mut cfg);
    }
    let _ = dgmf_config_set_steps(cfg, next() as usize % 40);
    let _ = dgmf_config_set_samples(cfg, (next() % 5) as usize);
    let _ = dgmf_config_set_max_batch(cfg, next() as usize);
    let _ = dgmf_config_set_corrector(cfg, f32::from_bits(u32::from_le_bytes([next(), next(), next(), next()])), next() as usize % 4);
    let _ = dgmf_config_set_extrapolation(cfg, next() as i32 % 2);
    let _ = dgmf_config_set_memory_limit(cfg, (next() as usize) << 16);
    let f = |it: &mut dyn FnMut() -> u8| f64::from_bits(u64::from_le_bytes(std::array::from_fn(|_| it())));
    let n = (next() % 3) as usize;
    let params: Vec<f64> = (0..n * 2).map(|_| f(&mut next)).collect();
    let fidelity: Vec<f64> = (0..n).map(|_| f(&mut next)).collect();
    let coords: Vec<f64> = (0..n).map(|_| f(&mut next)).collect();
    let mean_len = next() as usize % 40;
    let std_len = next() as usize % 40;
    let mut mean = vec![0f32; mean_len];
    let mut std = vec![0f32; std_len];
    let std_ptr = if next() % 2 == 0 { std::ptr::null_mut() } else { std.as_mut_ptr() };
    let coords_ptr = if next() % 4 == 0 { std::ptr::null() } else { coords.as_ptr() };
    let _ = dgmf_predict_batch(
        model(),
        cfg,
        n,
        params.as_ptr(),
        fidelity.as_ptr(),
        coords_ptr,
        mean.as_mut_ptr(),
        mean_len,
        std_ptr,
        std_len,
    );
    dgmf_config_destroy(cfg);
});
