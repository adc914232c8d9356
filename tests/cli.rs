//! The `dgmf` binary: what a user sees, including how it fails.

mod common;

use std::process::{Command, Output};

use common::models_dir;

fn dgmf(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgmf"));
    cmd.args(args)
        .env_remove("DGMF_ORT_LIB")
        .env_remove("ORT_DYLIB_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dgmf")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn model(name: &str) -> String {
    models_dir().join(name).display().to_string()
}

#[test]
fn info_shows_the_contract() {
    let o = dgmf(&["info", &model("analytic_score.onnx")], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for want in [
        "shape      [2, 3, 4]",
        "a            [0, 1]",
        "discrete, 3 levels 0..=2 (coarse, medium, fine)",
        "provider   cpu",
        "ONNX Runtime 1.",
    ] {
        assert!(out.contains(want), "missing `{want}` in\n{out}");
    }
    let o = dgmf(&["info", "--json", &model("analytic_coords.onnx")], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["shape"], serde_json::json!([1, 8]));
    assert_eq!(v["coords"][0]["name"], "t");
    assert_eq!(v["fidelity"]["levels"], 3);
}

#[test]
fn predict_writes_numpy_files() {
    let dir = std::env::temp_dir().join(format!("dgmf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mean, std) = (dir.join("mean.npy"), dir.join("std.npy"));
    let csv = dir.join("q.csv");
    std::fs::write(&csv, "a,b\n0.1,0.2\n0.5,-0.5\n0.9,0.0\n").unwrap();
    let m = model("analytic_score.onnx");
    let run = |extra: &[&str]| {
        let mut args = vec!["predict", &m, "--params-file", csv.to_str().unwrap(), "--fidelity", "1"];
        args.extend(["--samples", "4", "--sampler", "pc", "--steps", "50", "--seed", "3", "-q"]);
        args.extend(extra);
        dgmf(&args, &[])
    };
    let o = run(&["--out", mean.to_str().unwrap(), "--std", std.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("nfe        100 per sample"), "{out}");
    assert!(out.contains("ms in ONNX Runtime"), "{out}");
    for path in [&mean, &std] {
        let (shape, values) = dgmf::npy::read_f64(path).unwrap();
        assert_eq!(shape, vec![3, 2, 3, 4]);
        assert!(values.iter().all(|v| v.is_finite()));
    }
    // The same seed gives the same file, with another batch size.
    let again = dir.join("again.npy");
    run(&["--max-batch", "5", "--out", again.to_str().unwrap()]);
