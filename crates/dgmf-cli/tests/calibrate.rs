//! `dgmf calibrate` on the analytic model, whose answer is known: the data are N(μ(x), s²) per element, so
//! a reference drawn independently of a 16-member ensemble differs from the ensemble mean by
//! N(0, s²·(1 + 1/16)) while the ensemble std estimates s: the calibrated scale is √(17/16) ≈ 1.03.

mod common;

use common::*;
use dgmf::ndarray::{ArrayD, IxDyn};
use std::path::Path;

/// A calibration directory for the analytic model: `n` queries spread over its parameter box at level 2,
/// and as reference one sample per query drawn with a seed the ensemble does not use.
fn analytic_cases(dir: &Path, n: usize) {
    let params: Vec<f32> = (0..n)
        .flat_map(|i| {
            let t = i as f32 / (n - 1) as f32;
            [t, 2.0 * (1.0 - t) - 1.0]
        })
        .collect();
    let write = |name: &str, shape: &[usize], v: Vec<f32>| {
        let a = ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
        dgmf_cli::npy::write_array(&dir.join(name), &a).unwrap();
    };
    write("params.npy", &[n, 2], params);
    write("fidelity.npy", &[n], vec![2.0; n]);
    let o = dgmf(
        &[
            "predict",
            &model("analytic_score.onnx"),
            "--params-file",
            dir.join("params.npy").to_str().unwrap(),
            "--fidelity",
            "2",
            "--samples",
            "1",
            "--seed",
            "977",
            "-q",
            "--out",
            dir.join("u.npy").to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o).1);
}

fn calibrate(args: &[&str]) -> std::process::Output {
    let mut v = vec!["calibrate"];
    v.extend(args);
    dgmf(&v, &[])
}

#[test]
fn calibration_fits_the_known_scale_and_writes_it_into_the_model() {
    let dir = tempfile::tempdir().unwrap();
    analytic_cases(dir.path(), 200);
    let m = model("analytic_score.onnx");
    let out = dir.path().join("calibrated.onnx");
    let report = dir.path().join("report.json");
    let data = dir.path().to_str().unwrap();
    let o = calibrate(&[
        &m,
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--report-json",
        report.to_str().unwrap(),
        "--sampler",
        "heun",
        "--steps",
        "12",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let k = json["fitted_scale"].as_f64().unwrap();
    assert!(
        (0.93..1.15).contains(&k),
        "fitted scale {k}, expected ≈ 1.03"
    );
    let after = json["after"]["coverage_2sigma"].as_f64().unwrap();
    assert!(
        (0.945..0.965).contains(&after),
        "±2σ coverage after {after}"
    );
    assert_eq!(json["before"]["points"], 200 * 24);
    assert_eq!(json["current_scale"], serde_json::json!([]));
    assert_eq!(
        json["sampled"], json["before"],
        "no scale yet: reported = sampled"
    );
    // The written model carries the scale and, as its recommended sampler, the one the scale holds
    // for; calibrating it again (no sampler named: the recommended one) starts from the scale.
    let info = dgmf(&["info", out.to_str().unwrap()], &[]);
    let shown = text(&info).0;
    assert!(shown.contains("std scale  ["), "{shown}");
    assert!(
        shown.contains("sampler    heun steps=12 schedule=karras denoise=1 (23 NFE; the model's"),
        "{shown}"
    );
    let again = calibrate(&[out.to_str().unwrap(), "--data", data]);
    let (stdout, stderr) = text(&again);
    assert!(again.status.success(), "{stderr}");
    let current = stdout
        .lines()
        .find(|l| l.starts_with("current"))
        .unwrap()
        .to_string();
    assert!(current.contains(&(k as f32).to_string()), "{current}");
    assert!(
        current.contains(&format!("{:.1} %", 100.0 * after)),
        "the calibrated model covers what the fit promised: {current} vs {after}"
    );
}

/// `calibrate` takes every sampler setting `predict` takes (one set of flags) and writes them all into
/// the model's recommended sampler: a few-step student's `consistency` with its `sigma_last`, say.
#[test]
fn calibration_writes_every_sampler_setting_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    analytic_cases(dir.path(), 8);
    let out = dir.path().join("calibrated.onnx");
    let o = calibrate(&[
        &model("analytic_score.onnx"),
        "--data",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--sampler",
        "consistency",
        "--steps",
        "2",
        "--sigma-last",
        "0.25",
        "--schedule",
        "karras",
        "--no-denoise",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let shown = text(&dgmf(&["info", out.to_str().unwrap()], &[])).0;
    assert!(
        shown.contains("sampler    consistency steps=2 schedule=karras denoise=0 sigma_last=0.25"),
        "{shown}"
    );
}

#[test]
fn calibration_refuses_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    analytic_cases(dir.path(), 8);
    let m = model("analytic_score.onnx");
    let data = dir.path().to_str().unwrap();
    let o = calibrate(&[&m, "--data", data, "--samples", "1"]);
    assert_one_line_error(
        &o,
        "--samples: a std needs 2 or more samples per query, got 1",
    );
    let o = calibrate(&[&m, "--data", data, "--out", "/nonexistent/dir/m.onnx"]);
    assert_one_line_error(&o, "cannot write into the directory /nonexistent/dir");
    // Arrays that do not fit the model: named with their shapes.
    let bad = ArrayD::from_shape_vec(IxDyn(&[8, 3]), vec![0.5f32; 24]).unwrap();
    dgmf_cli::npy::write_array(&dir.path().join("params.npy"), &bad).unwrap();
    let o = calibrate(&[&m, "--data", data]);
    assert_one_line_error(&o, "params.npy has shape [8, 3]; expected [8, 2]");
    std::fs::remove_file(dir.path().join("params.npy")).unwrap();
    let o = calibrate(&[&m, "--data", data]);
    assert_one_line_error(&o, "params.npy");
    // Rows the fit cannot use: a reference that is not finite, a fidelity that is not a level, none at all.
    let good = ArrayD::from_shape_vec(IxDyn(&[8, 2]), vec![0.5f32; 16]).unwrap();
    dgmf_cli::npy::write_array(&dir.path().join("params.npy"), &good).unwrap();
    let u = dir.path().join("u.npy");
    let saved = std::fs::read(&u).unwrap();
    let mut bad_u = dgmf_cli::npy::read_f64(&u).unwrap().mapv(|v| v as f32);
    bad_u[[3, 1, 2, 0]] = f32::NAN;
    dgmf_cli::npy::write_array(&u, &bad_u).unwrap();
    let o = calibrate(&[&m, "--data", data]);
    assert_one_line_error(
        &o,
        "u.npy row 3 holds NaN: the reference solutions must be finite",
    );
    std::fs::write(&u, saved).unwrap();
    let o = calibrate(&[&m, "--data", data, "--limit", "0"]);
    assert_one_line_error(&o, "no rows to calibrate on");
    let fid = ArrayD::from_shape_vec(IxDyn(&[8]), vec![2.5f32; 8]).unwrap();
    dgmf_cli::npy::write_array(&dir.path().join("fidelity.npy"), &fid).unwrap();
    let o = calibrate(&[&m, "--data", data]);
    assert_one_line_error(
        &o,
        "fidelity.npy row 0: fidelity 2.5 is not a level index; this model has 3 discrete levels 0..=2",
    );
    // A directory that is not there.
    let o = calibrate(&[&m, "--data", "/nonexistent"]);
    assert_one_line_error(&o, "/nonexistent");
}

/// `calibrate` shares `predict`'s output rules and never harms the model: it refuses before running when an
/// output names the model (other than `--out` itself), a device or FIFO, or an unwritable directory; a fit
/// no model can hold (errors beyond float32) writes nothing; `--out MODEL` rewrites it in place, loadable.
#[test]
fn calibration_never_destroys_the_model_it_calibrates() {
    let dir = tempfile::tempdir().unwrap();
    analytic_cases(dir.path(), 24);
    let data = dir.path().to_str().unwrap();
    let m = dir.path().join("model.onnx");
    std::fs::copy(model("analytic_score.onnx"), &m).unwrap();
    let original = std::fs::read(&m).unwrap();
    let ms = m.to_str().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let fifo = fifo.to_str().unwrap();
    for (args, want) in [
        (vec!["--report-json", ms], "is the model"),
        (vec!["--out", ms, "--report-json", ms], "name the same file"),
        (vec!["--out", fifo], "not a regular file"),
        (
            vec!["--report-json", "/proc/dgmf-report.json"],
            "cannot write into the directory /proc",
        ),
    ] {
        let mut v = vec![ms, "--data", data, "--samples", "4"];
        v.extend(args.iter().copied());
        let o = calibrate(&v);
        let (out, err) = text(&o);
        assert!(!o.status.success(), "{args:?}: {out}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out.contains("wrote"), "{args:?}: success printed: {out}");
        assert_eq!(
            std::fs::read(&m).unwrap(),
            original,
            "{args:?}: the model changed"
        );
    }
    assert!(std::fs::metadata(fifo).unwrap().file_type().is_fifo_like());

    // References beyond float32 (u = 1e300, finite in f64): refused, the model untouched.
    let huge = dir.path().join("huge");
    std::fs::create_dir(&huge).unwrap();
    for f in ["params.npy", "fidelity.npy"] {
        std::fs::copy(dir.path().join(f), huge.join(f)).unwrap();
    }
    // A float64 .npy by hand: version 1.0 header padded to 64 bytes, then the values.
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (24, 2, 3, 4), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    (0..24 * 24).for_each(|_| bytes.extend(1e300f64.to_le_bytes()));
    std::fs::write(huge.join("u.npy"), bytes).unwrap();
    let o = calibrate(&[
        ms,
        "--data",
        huge.to_str().unwrap(),
        "--samples",
        "4",
        "--out",
        ms,
    ]);
    let (out, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("finite float32"),
        "{out}{err}"
    );
    assert_eq!(std::fs::read(&m).unwrap(), original);

    // In place: the rewritten model loads and predicts, with the new scale.
    let o = calibrate(&[ms, "--data", data, "--samples", "4", "--out", ms]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("wrote"));
    let info = dgmf(&["info", ms], &[]);
    assert!(
        info.status.success() && text(&info).0.contains("calibrated"),
        "{}",
        text(&info).0
    );
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// Hostile calibration directories: each refused with one line that names the file and the fix, before
/// anything runs (a device, FIFO or directory in place of an array, a header claiming 77 TB, zero cases,
/// arrays of other shapes or dtypes, case ids beyond 2^53, `--data` naming a file).
#[test]
fn hostile_calibration_directories_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::create_dir(&good).unwrap();
    analytic_cases(&good, 8);
    let m = model("analytic_score.onnx");
    let npy = |d: &Path, name: &str, shape: &[usize], v: Vec<f32>| {
        let a = ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
        dgmf_cli::npy::write_array(&d.join(name), &a).unwrap();
    };
    type Spoil = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Spoil, &str)> = vec![
        (
            "/dev/zero",
            Box::new(|d| {
                std::fs::remove_file(d.join("u.npy")).unwrap();
                std::os::unix::fs::symlink("/dev/zero", d.join("u.npy")).unwrap();
            }),
            "u.npy: it is a character device; only regular files are read",
        ),
        (
            "fifo",
            Box::new(|d| {
                std::fs::remove_file(d.join("u.npy")).unwrap();
                mkfifo(&d.join("u.npy"));
            }),
            "u.npy: it is a FIFO (named pipe); only regular files are read",
        ),
        (
            "directory",
            Box::new(|d| {
                std::fs::remove_file(d.join("params.npy")).unwrap();
                std::fs::create_dir(d.join("params.npy")).unwrap();
            }),
            "params.npy: it is a directory",
        ),
        (
            "huge claim",
            Box::new(|d| std::fs::write(d.join("u.npy"), npy_header("(8, 2, 3, 400000000000)")).unwrap()),
            "u.npy: not a readable .npy file: the header's shape needs",
        ),
        (
            "object array",
            Box::new(|d| {
                let mut b = dgmf_cli::npy::encode_header("|O", "(8,)");
                b.extend([0x80, 0x04, 0x4e, 0x2e]); // a pickle: never unpickled
                std::fs::write(d.join("fidelity.npy"), b).unwrap();
            }),
            "dtype '|O'",
        ),
        (
            "zero cases",
            Box::new(move |d| {
                npy(d, "params.npy", &[0, 2], vec![]);
                npy(d, "fidelity.npy", &[0], vec![]);
                npy(d, "u.npy", &[0, 2, 3, 4], vec![]);
            }),
            "no rows to calibrate on",
        ),
        (
            "u rows",
            Box::new(move |d| npy(d, "u.npy", &[7, 2, 3, 4], vec![0.0; 7 * 24])),
            "u.npy has shape [7, 2, 3, 4]; expected [8, 2, 3, 4] (as many rows as fidelity.npy)",
        ),
        (
            "u shape",
            Box::new(move |d| npy(d, "u.npy", &[8, 24], vec![0.0; 8 * 24])),
            "u.npy has shape [8, 24]; expected [8, 2, 3, 4]",
        ),
        (
            "case rows",
            Box::new(move |d| npy(d, "case.npy", &[3], vec![1.0; 3])),
            "case.npy has shape [3]; expected [8] (as many rows as fidelity.npy)",
        ),
        (
            "case ids",
            Box::new(move |d| npy(d, "case.npy", &[8], vec![1e20; 8])),
            "case.npy row 0 is 1.0000000200408773e20; case ids are whole numbers of magnitude at most 2^53",
        ),
        (
            "missing",
            Box::new(|d| std::fs::remove_file(d.join("fidelity.npy")).unwrap()),
            "fidelity.npy: No such file",
        ),
    ];
    for (i, (what, spoil, want)) in cases.iter().enumerate() {
        let d = dir.path().join(format!("case{i}"));
        std::fs::create_dir(&d).unwrap();
        for f in ["params.npy", "fidelity.npy", "u.npy"] {
            std::fs::copy(good.join(f), d.join(f)).unwrap();
        }
        spoil(&d);
        let o = dgmf_within(60, None, &["calibrate", &m, "--data", d.to_str().unwrap()]);
        assert!(
            text(&o).1.contains(want),
            "{what}: `{}` lacks `{want}`",
            text(&o).1
        );
        assert_one_line_error(&o, want);
    }
    // Extra arrays are ignored (a data directory may hold more than the fit reads).
    std::fs::copy(good.join("u.npy"), good.join("notes.npy")).unwrap();
    let o = calibrate(&[
        &m,
        "--data",
        good.to_str().unwrap(),
        "--samples",
        "2",
        "--steps",
        "4",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let file = good.join("u.npy");
    assert_one_line_error(
        &calibrate(&[&m, "--data", file.to_str().unwrap()]),
        "not a directory; give the directory that holds params.npy, fidelity.npy and u.npy",
    );
}

/// `--out` through a symbolic link rewrites the file it leads to (the link stays, the file keeps its mode);
/// a link to a device or to nothing is refused; a kill at any moment of an in-place rewrite leaves the
/// original or the complete new model, and the new model predicts the same mean, bit for bit, with the std
/// multiplied by the fitted scale.
#[test]
fn recalibrating_in_place_is_atomic_through_links_and_changes_only_the_std() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    analytic_cases(d, 24);
    let data = d.to_str().unwrap();
    let v3 = d.join("v3.onnx");
    std::fs::copy(model("analytic_score.onnx"), &v3).unwrap();
    std::fs::set_permissions(&v3, std::fs::Permissions::from_mode(0o640)).unwrap();
    let original = std::fs::read(&v3).unwrap();
    symlink("v3.onnx", d.join("current.onnx")).unwrap();
    symlink("/dev/null", d.join("null.onnx")).unwrap();
    symlink("nothing.onnx", d.join("dangling.onnx")).unwrap();
    let cur = d.join("current.onnx");
    let cur = cur.to_str().unwrap();
    let sampler = ["--samples", "4", "--sampler", "heun", "--steps", "6"];
    for (out, want) in [
        ("null.onnx", "not a regular file"),
        ("dangling.onnx", "a symbolic link that leads to no file"),
    ] {
        let out = d.join(out);
        let mut args = vec![cur, "--data", data, "--out", out.to_str().unwrap()];
        args.extend(sampler);
        assert_one_line_error(&calibrate(&args), want);
    }
    assert!(!d.join("nothing.onnx").exists());

    // Kills spread over the whole run (load, ensemble, write): the model is always whole.
    let mut args = vec!["calibrate", cur, "--data", data, "--out", cur];
    args.extend(sampler);
    let start = std::time::Instant::now();
    let o = dgmf(&args, &[]);
    assert!(o.status.success(), "{}", text(&o).1);
    let run = start.elapsed();
    let calibrated = std::fs::read(&v3).unwrap();
    assert_ne!(calibrated, original);
    for k in 0..12u32 {
        std::fs::write(&v3, &original).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dgmf"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(run * k / 10);
        let _ = child.kill();
        child.wait().unwrap();
        let now = std::fs::read(&v3).unwrap();
        assert!(
            now == original || now == calibrated,
            "kill {k}/10 of the run: the model is neither the original nor the calibrated one"
        );
    }
    std::fs::write(&v3, &calibrated).unwrap();
    let meta = std::fs::symlink_metadata(d.join("current.onnx")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    let mode = std::fs::metadata(&v3).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the rewritten file keeps its mode");

    // Same seed, same sampler: the mean is bit-identical, the std is k times the original's.
    let predict = |m: &Path, tag: &str| {
        let (mean, std) = (
            d.join(format!("{tag}_mean.npy")),
            d.join(format!("{tag}_std.npy")),
        );
        let o = dgmf(
            &[
                "predict",
                m.to_str().unwrap(),
                "--params",
                "0.3,-0.4",
                "--fidelity",
                "1",
                "--samples",
                "5",
                "--sampler",
                "heun",
                "--steps",
                "6",
                "-q",
                "--out",
                mean.to_str().unwrap(),
                "--std",
                std.to_str().unwrap(),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o).1);
        (read_npy(&mean).unwrap().1, read_npy(&std).unwrap().1)
    };
    let plain = d.join("plain.onnx");
    std::fs::write(&plain, &original).unwrap();
    let (mean0, std0) = predict(&plain, "plain");
    let (mean1, std1) = predict(&v3, "calibrated");
    assert_eq!(mean0, mean1, "the mean is untouched, bit for bit");
    let info = text(&dgmf(&["info", "--json", v3.to_str().unwrap()], &[])).0;
    let json: serde_json::Value = serde_json::from_str(&info).unwrap();
    let k = json["std_scale"][0].as_f64().unwrap() as f32;
    for (a, b) in std0.iter().zip(&std1) {
        let want = k * *a as f32;
        assert!(
            (*b as f32 - want).abs() <= 1e-6 * want.abs(),
            "{b} vs {k}·{a}"
        );
    }
}

#[test]
fn calibrating_an_ensemble_with_uneven_samples_warns() {
    let dir = tempfile::tempdir().unwrap();
    analytic_cases(dir.path(), 8);
    let m = model("analytic_ensemble.onnx");
    let data = dir.path().to_str().unwrap();
    let o = calibrate(&[&m, "--data", data, "--samples", "4", "--steps", "4"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("member 0 draws one sample more") && err.contains("the fitted scale"),
        "{err}"
    );
    let o = calibrate(&[&m, "--data", data, "--samples", "6", "--steps", "4"]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
    // Without --samples: 16 rounded up to a multiple of the 3 members, and no warning.
    let o = calibrate(&[&m, "--data", data, "--steps", "4"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success() && !err.contains("warning"), "{err}");
    assert!(out.contains("8 cases, 18 samples each"), "{out}");
    // A single network keeps 16.
    let o = calibrate(&[
        &model("analytic_score.onnx"),
        "--data",
        data,
        "--steps",
        "4",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("8 cases, 16 samples each"));
}
