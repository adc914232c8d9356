//! The `.npy` reader behind `--params-file`/`--coords-file`: arbitrary bytes as a file (the reader opens
//! paths, not buffers: it checks the file type and size before reading, then hands the bytes to
//! ndarray-npy's header parser and view). Seeds: the shipped test sets.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("dgmf-fuzz-npy-{}.npy", std::process::id()));
    std::fs::write(&path, data).expect("write the input");
    if let Ok(a) = dgmf_cli::npy::read(&path, "fuzz input", 1 << 20) {
        // Every value came from the input's bytes (at least 4 per value), nothing from the header's claims.
        assert!(a.len() * 4 <= data.len());
    }
});
