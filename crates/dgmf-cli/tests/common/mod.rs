//! Helpers shared by the CLI integration tests: running the `dgmf` binary, reading what it wrote, and
//! building test inputs (npy headers, models with edited metadata).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The analytic test models (tests/models/gen_analytic.py) at the workspace root.
pub fn models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models")
}

pub fn dgmf(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgmf"));
    cmd.args(args)
        .env_remove("DGMF_ORT_LIB")
        .env_remove("ORT_DYLIB_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dgmf")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An .npy file the CLI wrote, as (shape, values).
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>), dgmf::error::Error> {
    let a = dgmf_cli::npy::read_f64(path)?;
    Ok((a.shape().to_vec(), a.iter().copied().collect()))
}

pub fn model(name: &str) -> String {
    models_dir().join(name).display().to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Hardening: untrusted query files, atomic outputs, strict numbers, terminal safety, one-line errors.

/// Runs dgmf in `cwd` (or the test's directory) and kills it after `secs`: a hang fails the test instead of
/// blocking it for ever.
pub fn dgmf_within(secs: u64, cwd: Option<&std::path::Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgmf"));
    cmd.args(args)
        .env_remove("DGMF_ORT_LIB")
        .env_remove("ORT_DYLIB_PATH")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().expect("run dgmf");
    // Drained as the child writes: an output larger than a pipe's buffer would otherwise block it.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                r.read_to_end(&mut v).ok();
            }
            v
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Output {
                status,
                stdout: out.join().unwrap(),
                stderr: err.join().unwrap(),
            };
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().ok();
            child.wait().ok();
            panic!("dgmf {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Exit status 1 and exactly one `dgmf: error: ...` line containing `want`, no panic.
pub fn assert_one_line_error(o: &Output, want: &str) {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(1), "stdout {out}\nstderr {err}");
    assert!(
        err.starts_with("dgmf: error: ") && err.ends_with('\n') && err.matches('\n').count() == 1,
        "not one error line: {err:?}"
    );
    assert!(err.contains(want), "`{err}` lacks `{want}`");
    assert!(!err.contains("panicked"), "{err}");
}

pub fn predict_args<'a>(m: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["predict", m, "--fidelity", "1", "-q"];
    v.extend(rest);
    v
}

pub fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// An .npy header for a float64 array of `shape`, padded as NumPy does.
pub fn npy_header(shape: &str) -> Vec<u8> {
    dgmf_cli::npy::encode_header("<f8", shape)
}

pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = bytes[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
    }
    v
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `model`'s ONNX bytes with the values of some `metadata_props` entries (ModelProto field 14,
/// StringStringEntryProto {1: key, 2: value}) replaced: the top-level fields are copied, the entries named
/// in `set` re-encoded. No key is duplicated.
pub fn with_metadata(model: &[u8], set: &[(&str, &str)]) -> Vec<u8> {
    let (mut out, mut pos, mut replaced) = (Vec::new(), 0, 0);
    while pos < model.len() {
        let start = pos;
        let tag = varint(model, &mut pos);
        match tag & 7 {
            0 => {
                varint(model, &mut pos);
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let len = varint(model, &mut pos) as usize;
                let body = &model[pos..pos + len];
                pos += len;
                if tag >> 3 == 14 {
                    let (mut p, mut key) = (0, Vec::new());
                    while p < body.len() {
                        let t = varint(body, &mut p);
                        let l = varint(body, &mut p) as usize;
                        if t >> 3 == 1 {
                            key = body[p..p + l].to_vec();
                        }
                        p += l;
                    }
                    if let Some((k, v)) = set.iter().find(|(k, _)| k.as_bytes() == key) {
                        let mut entry = Vec::new();
                        put_bytes(&mut entry, 1, k.as_bytes());
                        put_bytes(&mut entry, 2, v.as_bytes());
                        put_bytes(&mut out, 14, &entry);
                        replaced += 1;
                        continue;
                    }
                }
            }
            w => panic!("unexpected wire type {w}"),
        }
        out.extend_from_slice(&model[start..pos]);
    }
    assert_eq!(replaced, set.len(), "every key must exist in the model");
    out
}

/// Bytes that would act on a terminal: ESC, BEL, CR, DEL, the C1 CSI (U+009B) and the bidi override U+202E.
pub fn terminal_controls(bytes: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(bytes);
    s.chars()
        .filter(|&c| {
            (c < ' ' && c != '\n')
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}
