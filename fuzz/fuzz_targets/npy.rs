//! The `.npy` reader behind `--params-file`/`--coords-file`: arbitrary bytes as a file (the reader opens
//! paths, not buffers: it checks the file type and size before reading). Seeds: the shipped test sets.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("dgmf-fuzz-npy-{}.npy", std::process::id()));
    std::fs::write(&path, data).expect("write the input");
    if let Ok(reader) = dgmf_cli::npy::NpyReader::open(&path, "fuzz input") {
        // The header was checked against the file size: the data read is bounded by the input length.
        let len = reader.len();
        if let Ok(values) = reader.read_f64() {
            assert_eq!(values.len(), len);
        }
    }
});
