//! The `dgmf` binary: what a user sees, including how it fails.

use std::path::Path;
use std::process::{Command, Output};

/// The analytic test models (tests/models/gen_analytic.py) at the workspace root.
fn models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models")
}

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

/// An .npy file the CLI wrote, as (shape, values).
fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>), dgmf::error::Error> {
    let a = dgmf_cli::npy::read_f64(path)?;
    Ok((a.shape().to_vec(), a.iter().copied().collect()))
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
        let mut args = vec![
            "predict",
            &m,
            "--params-file",
            csv.to_str().unwrap(),
            "--fidelity",
            "1",
        ];
        args.extend([
            "--samples",
            "4",
            "--sampler",
            "pc",
            "--steps",
            "50",
            "--seed",
            "3",
            "-q",
        ]);
        args.extend(extra);
        dgmf(&args, &[])
    };
    let o = run(&[
        "--out",
        mean.to_str().unwrap(),
        "--std",
        std.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("nfe        100 per sample"), "{out}");
    assert!(out.contains("ms in ONNX Runtime"), "{out}");
    for path in [&mean, &std] {
        let (shape, values) = read_npy(path).unwrap();
        assert_eq!(shape, vec![3, 2, 3, 4]);
        assert!(values.iter().all(|v| v.is_finite()));
    }
    // The same seed gives the same file, with another batch size.
    let again = dir.join("again.npy");
    assert!(run(&["--max-batch", "5", "--out", again.to_str().unwrap()])
        .status
        .success());
    assert_eq!(
        std::fs::read(&mean).unwrap(),
        std::fs::read(&again).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn coords_file_pairs_rows_with_queries_and_report_json_is_written() {
    let dir = std::env::temp_dir().join(format!("dgmf-cli-coords-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("p.csv");
    let k = dir.join("k.csv");
    std::fs::write(&p, "0.2,0.3\n0.2,0.3\n").unwrap();
    std::fs::write(&k, "0.1\n0.9\n").unwrap();
    let m = model("analytic_coords.onnx");
    let report = dir.join("r.json");
    let run = |coords: &[&str], out: &std::path::Path| {
        let mut args = vec!["predict", &m, "--params-file", p.to_str().unwrap()];
        args.extend(coords);
        args.extend(["--fidelity", "2", "-q", "--out", out.to_str().unwrap()]);
        args.extend(["--report-json", report.to_str().unwrap()]);
        let o = dgmf(&args, &[]);
        assert!(o.status.success(), "{}", text(&o).1);
        read_npy(out).unwrap().1
    };
    let both = run(
        &["--coords-file", k.to_str().unwrap()],
        &dir.join("both.npy"),
    );
    let first = run(&["--coords", "0.1"], &dir.join("first.npy"));
    let second = run(&["--coords", "0.9"], &dir.join("second.npy"));
    // Row i of --coords-file goes with query i: the same stream and inputs give the same bits.
    assert_eq!(both[..8], first[..8]);
    assert_eq!(both[8..], second[8..]);
    assert_ne!(both[8..], first[8..]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("valid JSON");
    assert_eq!(json["sampler"], "ancestral");
    assert_eq!(json["queries"], 2);
    assert_eq!(json["nfe"], 30);
    assert!(json["wall_ms"].as_f64().is_some_and(|w| w > 0.0), "{json}");
    // A coords file whose row count does not match the queries is refused with both counts.
    std::fs::write(&k, "0.1\n").unwrap();
    let o = dgmf(
        &[
            "predict",
            &m,
            "--params-file",
            p.to_str().unwrap(),
            "--coords-file",
            k.to_str().unwrap(),
            "--fidelity",
            "2",
            "-q",
        ],
        &[],
    );
    let err = text(&o).1;
    assert!(!o.status.success());
    assert!(
        err.contains("has 1 rows but there are 2 parameter rows"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_requests_fail_with_a_message() {
    let m = model("analytic_score.onnx");
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "predict",
                &m,
                "--params",
                "0.5,0",
                "--fidelity",
                "0",
                "--repeat",
                "0",
            ],
            "--repeat 0: give at least 1 run",
        ),
        (
            &["predict", &m, "--params", "0.5,7", "--fidelity", "0"],
            "parameter `b` = 7 is outside the model's range [-1, 1]",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "9"],
            "fidelity level 9 is out of range",
        ),
        (
            &["predict", &m, "--params", "0.5,x", "--fidelity", "0"],
            "--params: `x` is not a number",
        ),
        (
            &[
                "predict",
                &m,
                "--params",
                "0.5,0",
                "--fidelity",
                "0",
                "--sampler",
                "ddim",
            ],
            "unknown sampler `ddim`",
        ),
        (
            &[
                "predict",
                &m,
                "--params",
                "0.5,0",
                "--fidelity",
                "0",
                "--sampler",
                "edm",
                "--churn",
                "40,0.05",
            ],
            "--churn takes four numbers S_CHURN,S_MIN,S_MAX,S_NOISE; got 2",
        ),
        (
            &[
                "predict",
                &m,
                "--params",
                "0.5,0",
                "--fidelity",
                "0",
                "--sampler",
                "edm",
                "--churn",
                "-1,0,1,1",
            ],
            "EDM churn settings must be finite and non-negative",
        ),
        (
            &["info", "/nonexistent/model.onnx"],
            "cannot read model file /nonexistent/model.onnx",
        ),
    ];
    for (args, want) in cases {
        assert_one_line_error(&dgmf(args, &[]), want);
    }
}

#[test]
fn missing_or_broken_runtime_gives_the_documented_error() {
    let m = model("analytic_score.onnx");
    let o = dgmf(
        &["info", &m],
        &[("DGMF_ORT_LIB", "/nonexistent/libonnxruntime.so.1.31.1")],
    );
    // The list of paths tried is joined into the one error line.
    assert_one_line_error(&o, "ONNX Runtime could not be loaded. Tried: ");
    let (_, err) = text(&o);
    assert!(
        err.contains("/nonexistent/libonnxruntime.so.1.31.1 ($DGMF_ORT_LIB): not found"),
        "{err}"
    );
    assert!(err.contains("scripts/fetch-ort.sh"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // A file that is not a shared library.
    let o = dgmf(&["info", &m, "--ort-lib", &m], &[]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("(path given by the caller): is not a usable shared library (no ELF header)"),
        "{err}"
    );

    // A shared library that is not ONNX Runtime (the helper library shipped beside it in the wheel).
    let other = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../third_party/onnxruntime/libonnxruntime_providers_shared.so");
    let o = dgmf(&["info", &m, "--ort-lib", other.to_str().unwrap()], &[]);
    assert!(
        text(&o)
            .1
            .contains("is not ONNX Runtime (no OrtGetApiBase symbol)"),
        "{}",
        text(&o).1
    );

    // An unavailable execution provider is an error unless fallback is allowed.
    let o = dgmf(&["info", &m, "--provider", "cuda"], &[]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("execution provider `cuda`"), "{err}");
    let o = dgmf(&["info", &m, "--provider", "cuda", "--allow-fallback"], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("provider   cpu (fallback:"), "{out}");
}

// ---------------------------------------------------------------------------------------------------------
// Hardening: untrusted query files, atomic outputs, strict numbers, terminal safety, one-line errors.

/// Runs dgmf in `cwd` (or the test's directory) and kills it after `secs`: a hang fails the test instead of
/// blocking it for ever.
fn dgmf_within(secs: u64, cwd: Option<&std::path::Path>, args: &[&str]) -> Output {
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
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
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
fn assert_one_line_error(o: &Output, want: &str) {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(1), "stdout {out}\nstderr {err}");
    assert!(
        err.starts_with("dgmf: error: ") && err.ends_with('\n') && err.matches('\n').count() == 1,
        "not one error line: {err:?}"
    );
    assert!(err.contains(want), "`{err}` lacks `{want}`");
    assert!(!err.contains("panicked"), "{err}");
}

fn predict_args<'a>(m: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["predict", m, "--fidelity", "1", "-q"];
    v.extend(rest);
    v
}

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn query_files_that_are_not_regular_files_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("analytic_score.onnx");
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.npy")).unwrap();
    mkfifo(&d.join("pipe.csv"));
    mkfifo(&d.join("pipe.npy"));
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    for (file, want) in [
        ("/dev/zero".to_owned(), "it is a character device"),
        (p("zero.csv"), "it is a character device"),
        (p("zero.npy"), "it is a character device"),
        // Opening a FIFO for reading waits for a writer unless done without blocking: the run must end.
        (p("pipe.csv"), "it is a FIFO"),
        (p("pipe.npy"), "it is a FIFO"),
    ] {
        let o = dgmf_within(20, None, &predict_args(&m, &["--params-file", &file]));
        assert_one_line_error(&o, &format!("cannot read --params-file {file}: {want}"));
    }
    // The same for a coordinates file.
    let mc = model("analytic_coords.onnx");
    let o = dgmf_within(
        20,
        None,
        &predict_args(
            &mc,
            &["--params", "0.2,0.3", "--coords-file", &p("pipe.csv")],
        ),
    );
    assert_one_line_error(&o, "cannot read --coords-file");
    assert!(text(&o).1.contains("FIFO"));
}

/// An .npy header for a float64 array of `shape`, padded as NumPy does.
fn npy_header(shape: &str) -> Vec<u8> {
    dgmf_cli::npy::encode_header("<f8", shape)
}

#[test]
fn query_files_larger_than_the_memory_limit_are_refused_from_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("analytic_score.onnx");
    // 8 GiB that take no disk space: a CSV of zero bytes, and an .npy whose header matches its size
    // ([2^29, 2] float64), so only the memory limit can refuse it. Reading either would take many seconds.
    let csv = dir.path().join("huge.csv");
    std::fs::File::create(&csv)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let npy = dir.path().join("huge.npy");
    let header = npy_header("(536870912, 2)");
    std::fs::write(&npy, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&npy)
        .unwrap()
        .set_len(header.len() as u64 + (8 << 30))
        .unwrap();
    for (f, want) in [
        (&csv, "it holds 8589934592 bytes"),
        (&npy, "huge.npy: it holds 85899347"),
    ] {
        let start = std::time::Instant::now();
        let o = dgmf_within(
            60,
            None,
            &predict_args(&m, &["--params-file", f.to_str().unwrap()]),
        );
        assert_one_line_error(&o, want);
        assert!(
            text(&o)
                .1
                .contains("memory limit (--memory-limit 4096 MiB)"),
            "{}",
            text(&o).1
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}: the file was read",
            start.elapsed()
        );
    }
    // The limit is the request's --memory-limit: 1 MiB refuses a 2 MiB CSV that the default accepts.
    let csv = dir.path().join("two_mib.csv");
    let mut body = String::from("a,b\n");
    while body.len() < 2 << 20 {
        body.push_str("0.125,0.25\n");
    }
    std::fs::write(&csv, &body).unwrap();
    let args = [
        "--params-file",
        csv.to_str().unwrap(),
        "--memory-limit",
        "1",
    ];
    let o = dgmf_within(60, None, &predict_args(&m, &args));
    assert_one_line_error(
        &o,
        "more than the memory limit (--memory-limit 1 MiB) leaves",
    );
    // .npy: the data must be exactly what the header's shape needs, and the shape must not overflow.
    let npy = dir.path().join("short.npy");
    let mut bytes = npy_header("(3, 2)");
    bytes.extend([0u8; 40]);
    std::fs::write(&npy, &bytes).unwrap();
    let o = dgmf_within(
        20,
        None,
        &predict_args(&m, &["--params-file", npy.to_str().unwrap()]),
    );
    assert_one_line_error(&o, "shape needs 8 more data bytes than the file holds");
    std::fs::write(&npy, npy_header("(4294967296, 4294967296, 2)")).unwrap();
    let o = dgmf_within(
        20,
        None,
        &predict_args(&m, &["--params-file", npy.to_str().unwrap()]),
    );
    assert_one_line_error(&o, "more elements than can be addressed");
}

/// Runs a prediction from `csv` and returns the number of queries written to --out.
fn rows_predicted(csv: &str) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.csv");
    std::fs::write(&q, csv).unwrap();
    let out = dir.path().join("out.npy");
    let m = model("analytic_score.onnx");
    let args = [
        "--params-file",
        q.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = dgmf_within(60, None, &predict_args(&m, &args));
    if !o.status.success() {
        assert_one_line_error(&o, "--params-file");
        return Err(text(&o).1);
    }
    Ok(read_npy(&out).unwrap().0[0])
}

#[test]
fn csv_rows_are_never_silently_dropped() {
    // A UTF-8 BOM before numbers: the first row is data, not a header.
    assert_eq!(rows_predicted("\u{feff}0.1,0.2\n0.3,0.4\n"), Ok(2));
    // A BOM before a header, CRLF line ends, comments and blank lines.
    assert_eq!(
        rows_predicted("\u{feff}a,b\r\n# comment\r\n\r\n0.1,0.2\r\n0.3,0.4\r\n0.5,0.6"),
        Ok(3)
    );
    for (csv, want) in [
        // A typo in the first line is not a header.
        (
            "0.1,0.2x\n0.3,0.4\n",
            "line 1, field 2: `0.2x` is not a number",
        ),
        // Nor is a line whose fields merely start like numbers.
        (
            "0.1x,0.2x\n0.3,0.4\n",
            "line 1, field 1: `0.1x` is not a number",
        ),
        (
            "a,b\n0.1,0.2\n0.3,0.4x\n",
            "line 3, field 2: `0.4x` is not a number",
        ),
        ("a,b\n0.1,,\n", "line 2, field 2: an empty value"),
        (
            "a,b\n0.1,nan\n",
            "line 2, field 2: `nan` is not a finite number",
        ),
        (
            "a,b\n-inf,0\n",
            "line 2, field 1: `-inf` is not a finite number",
        ),
        ("a,b\n1e999,0\n", "`1e999` is not a finite number"),
        ("a,b\n0.1,0.2,0.3\n", "line 2: 3 values, expected 2"),
        (
            "a,b,c\n0.1,0.2\n",
            "line 1: the header names 3 columns, expected 2",
        ),
        ("a,b\n", "no queries in the file"),
        ("a,b\nc,d\n", "line 2, field 1: `c` is not a number"),
    ] {
        let e = rows_predicted(csv).unwrap_err();
        assert!(e.contains(want), "{csv:?}: `{e}` lacks `{want}`");
    }
}

#[test]
fn numbers_on_the_command_line_are_exact() {
    let m = model("analytic_score.onnx");
    let mcont = model("analytic_continuous.onnx");
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "predict",
                &mcont,
                "--params",
                "0.5,0",
                "--fidelity",
                "0.5,999",
            ],
            "--fidelity `0.5,999`: this model takes one fidelity value in [0.5, 4], got 2",
        ),
        (
            &["predict", &mcont, "--params", "0.5,0", "--fidelity", "nan"],
            "--fidelity: `nan` is not a finite number",
        ),
        (
            &["predict", &mcont, "--params", "0.5,0", "--fidelity", ""],
            "--fidelity: an empty value",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "1,2"],
            "--fidelity `1,2`: this model takes one 0-based level index, an integer in 0..=2",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "1.0"],
            "--fidelity `1.0`: this model takes one 0-based level index",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "-1"],
            "--fidelity `-1`: this model takes one 0-based level index",
        ),
        (
            &["predict", &m, "--params", "nan,0", "--fidelity", "0"],
            "--params: `nan` is not a finite number (NaN and infinity are not accepted)",
        ),
        (
            &["predict", &m, "--params", "0.5,inf", "--fidelity", "0"],
            "--params: `inf` is not a finite number",
        ),
        (
            &["predict", &m, "--params", "0.5,,0", "--fidelity", "0"],
            "--params: an empty value (in `0.5,,0`)",
        ),
    ];
    for (args, want) in cases {
        assert_one_line_error(&dgmf_within(60, None, args), want);
    }
    // The accepted forms still work.
    let o = dgmf_within(
        60,
        None,
        &[
            "predict",
            &mcont,
            "--params",
            "0.5, 0",
            "--fidelity",
            " 2.5 ",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o).1);
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn outputs_are_checked_before_predicting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = model("analytic_score.onnx");
    std::fs::write(d.join("somefile.txt"), "x").unwrap();
    mkfifo(&d.join("pipe"));
    let base = ["--params", "0.5,0", "--samples", "2"];
    // Two flags naming one file, also when spelled differently (relative to the working directory).
    for (a, b) in [
        ("a.npy", "a.npy"),
        ("a.npy", "./a.npy"),
        ("sub/../a.npy", "a.npy"),
    ] {
        std::fs::create_dir_all(d.join("sub")).unwrap();
        let mut args = predict_args(&m, &base);
        args.extend(["--out", a, "--std", b]);
        let o = dgmf_within(60, Some(d), &args);
        assert_one_line_error(
            &o,
            &format!("--out {a} and --std {b} name the same file: give each output its own path"),
        );
        // Refused before the prediction ran: no report, no file.
        assert_eq!(text(&o).0, "", "the prediction ran");
        assert!(!d.join("a.npy").exists());
    }
    let mut args = predict_args(&m, &base);
    args.extend(["--all-samples", "s.npy", "--report-json", "./s.npy"]);
    assert_one_line_error(
        &dgmf_within(60, Some(d), &args),
        "--all-samples s.npy and --report-json ./s.npy name the same file",
    );
    // A directory that does not exist or is a regular file, a directory, a FIFO: refused before predicting,
    // naming the path.
    // (Tests may run as root, for whom a read-only permission bit does not stop a write.)
    for flag in ["--out", "--std", "--all-samples", "--report-json"] {
        for (path, want) in [
            (
                "missing/out.npy",
                "cannot write into the directory missing: No such file",
            ),
            (
                "somefile.txt/out.npy",
                "cannot write into the directory somefile.txt: it is not a directory",
            ),
            ("sub", "it is a directory"),
            (".", "not a file name"),
            // A FIFO of the test's own, not /dev/null: if the check ever broke, the rename would replace
            // the node, which must not be a system one.
            ("pipe", "it is not a regular file"),
        ] {
            let mut args = predict_args(&m, &base);
            args.extend([flag, path]);
            let o = dgmf_within(60, Some(d), &args);
            assert_one_line_error(&o, &format!("{flag} {path}: {want}"));
            assert_eq!(text(&o).0, "", "the prediction ran");
        }
    }
    // --std without an ensemble fails before predicting too.
    let mut args = predict_args(&m, &["--params", "0.5,0"]);
    args.extend(["--std", "s.npy"]);
    let o = dgmf_within(60, Some(d), &args);
    assert_one_line_error(&o, "--std needs --samples 2 or more");
    assert_eq!(text(&o).0, "");
    assert_eq!(files_in(d), ["pipe", "somefile.txt", "sub"]);
}

#[test]
fn outputs_are_written_whole_and_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = model("analytic_score.onnx");
    // An old file at the target is replaced by a new one, not rewritten in place: a reader that has the
    // old one open keeps reading it whole (written in place, it would see it truncated and rewritten).
    std::fs::write(d.join("mean.npy"), vec![7u8; 100_000]).unwrap();
    let mut reader = std::fs::File::open(d.join("mean.npy")).unwrap();
    let mut args = predict_args(&m, &["--params", "0.5,0", "--samples", "3"]);
    args.extend([
        "--out",
        "mean.npy",
        "--std",
        "std.npy",
        "--all-samples",
        "all.npy",
        "--report-json",
        "r.json",
    ]);
    let o = dgmf_within(60, Some(d), &args);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(files_in(d), ["all.npy", "mean.npy", "r.json", "std.npy"]);
    let mut old = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut old).unwrap();
    assert!(
        old == vec![7u8; 100_000],
        "the open file changed under its reader"
    );
    for (f, shape) in [
        ("mean.npy", vec![1, 2, 3, 4]),
        ("std.npy", vec![1, 2, 3, 4]),
        ("all.npy", vec![1, 3, 2, 3, 4]),
    ] {
        let (s, v) = read_npy(&d.join(f)).unwrap();
        assert_eq!(s, shape, "{f}");
        assert!(v.iter().all(|x| x.is_finite()));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(json["samples"], 3);
}

#[test]
fn concurrent_writers_of_one_output_leave_one_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Writers of different sizes (k * 25 queries): writing in place, a short file written over a long one
    // would keep the long one's tail.
    for k in 1..=4 {
        let rows: String = (0..k * 25)
            .map(|i| format!("{},0.5\n", i as f64 / 100.0))
            .collect();
        std::fs::write(d.join(format!("q{k}.csv")), rows).unwrap();
    }
    for round in 0..3 {
        let children: Vec<_> = (1..=4)
            .map(|k| {
                Command::new(env!("CARGO_BIN_EXE_dgmf"))
                    .args([
                        "predict",
                        &model("analytic_score.onnx"),
                        "--fidelity",
                        "1",
                        "-q",
                    ])
                    .args(["--params-file", &format!("q{k}.csv"), "--out", "same.npy"])
                    .current_dir(d)
                    .env_remove("DGMF_ORT_LIB")
                    .env_remove("ORT_DYLIB_PATH")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let out = d.join("same.npy");
        let (shape, values) =
            read_npy(&out).unwrap_or_else(|e| panic!("round {round}: not a whole .npy file: {e}"));
        let n = shape[0];
        assert!([25, 50, 75, 100].contains(&n), "{shape:?}");
        assert_eq!(shape[1..], [2, 3, 4]);
        assert_eq!(values.len(), n * 24);
        // Exactly header + data: nothing trails.
        let header = 128;
        assert_eq!(
            std::fs::metadata(&out).unwrap().len(),
            (header + 4 * n * 24) as u64
        );
        let mut want: Vec<String> = (1..=4).map(|k| format!("q{k}.csv")).collect();
        want.push("same.npy".into());
        assert_eq!(files_in(d), want, "temporary files left");
    }
}

fn varint(bytes: &[u8], pos: &mut usize) -> u64 {
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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `model`'s ONNX bytes with the values of some `metadata_props` entries (ModelProto field 14,
/// StringStringEntryProto {1: key, 2: value}) replaced: the top-level fields are copied, the entries named
/// in `set` re-encoded. No key is duplicated.
fn with_metadata(model: &[u8], set: &[(&str, &str)]) -> Vec<u8> {
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
fn terminal_controls(bytes: &[u8]) -> Vec<String> {
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

#[test]
fn model_strings_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\x1b[2J\x1b]0;owned\x07";
    let about = "safe\u{202e}txt.exe\u{9b}31m\x7f\r";
    let bytes = with_metadata(
        &std::fs::read(models_dir().join("analytic_score.onnx")).unwrap(),
        &[
            ("dgmf.name", name),
            ("dgmf.description", about),
            ("dgmf.param_names", "a\x1b[31m,b"),
            ("dgmf.fidelity_labels", "coarse,\u{2066}medium,fine"),
        ],
    );
    // The file name carries escapes too (the source path is printed).
    let path = dir.path().join("m\x1b[5m.onnx");
    std::fs::write(&path, bytes).unwrap();
    let p = path.to_str().unwrap();

    let o = dgmf_within(60, None, &["info", p]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(terminal_controls(&o.stdout), Vec::<String>::new(), "{out}");
    for want in [
        "name       evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}",
        "about      safe\\u{202e}txt.exe\\u{9b}31m\\u{7f}\\u{d}",
        "  a\\u{1b}[31m",
        "(coarse, \\u{2066}medium, fine)",
        "m\\u{1b}[5m.onnx",
    ] {
        assert!(out.contains(want), "missing `{want}` in\n{out}");
    }

    // JSON: the same strings as \uXXXX escapes, which decode back to the originals.
    let o = dgmf_within(60, None, &["info", "--json", p]);
    assert!(o.status.success());
    assert_eq!(terminal_controls(&o.stdout), Vec::<String>::new());
    let json = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        json.contains("\\u001b[2J")
            && json.contains("\\u202e")
            && json.contains("\\u009b")
            && json.contains("\\u007f"),
        "{json}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["name"], name);
    assert_eq!(v["description"], about);
    assert_eq!(v["params"][0]["name"], "a\x1b[31m");

    // The predict report (it prints output paths).
    let out_path = dir.path().join("out\x1b[1m.npy");
    let o = dgmf_within(
        60,
        None,
        &[
            "predict",
            p,
            "--params",
            "0.5,0",
            "--fidelity",
            "1",
            "-q",
            "--out",
            out_path.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(terminal_controls(&o.stdout), Vec::<String>::new());
    assert!(text(&o).0.contains("out\\u{1b}[1m.npy"), "{}", text(&o).0);

    // Error messages quote model metadata and paths: one line, escaped.
    let o = dgmf_within(
        60,
        None,
        &["predict", p, "--params", "0.5,7", "--fidelity", "1"],
    );
    assert_one_line_error(&o, "parameter `b` = 7 is outside");
    let o = dgmf_within(
        60,
        None,
        &["predict", p, "--params", "7,0", "--fidelity", "1"],
    );
    assert_one_line_error(&o, "parameter `a\\u{1b}[31m` = 7");
    assert_eq!(terminal_controls(&o.stderr), Vec::<String>::new());
    let o = dgmf_within(60, None, &["info", "/nonexistent/\x1b[31mred\nline.onnx"]);
    assert_one_line_error(&o, "/nonexistent/\\u{1b}[31mred\\u{a}line.onnx");
    assert_eq!(terminal_controls(&o.stderr), Vec::<String>::new());
}

#[test]
fn usage_errors_are_one_line_with_status_1() {
    let m = model("analytic_score.onnx");
    for (args, want) in [
        (vec![], "no command given"),
        (
            vec!["predict", &m],
            "the following required arguments were not provided: --fidelity <FIDELITY>",
        ),
        (
            vec!["predict", &m, "--fidelity", "0", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (
            vec!["predict", &m, "--fidelity", "0", "--samples", "x"],
            "invalid value 'x' for '--samples <SAMPLES>'",
        ),
        (
            vec![
                "predict",
                &m,
                "--fidelity",
                "0",
                "--samples",
                "\u{202e}9\u{9b}",
            ],
            "invalid value '\\u{202e}9\\u{9b}'",
        ),
        (vec!["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    ] {
        let o = dgmf_within(60, None, &args);
        assert_one_line_error(&o, want);
        assert_eq!(terminal_controls(&o.stderr), Vec::<String>::new());
    }
    let o = dgmf_within(60, None, &["--help"]);
    assert!(o.status.success());
    assert!(text(&o).0.contains("Usage: dgmf"));
}

#[test]
fn a_closed_standard_output_is_an_error_not_a_panic() {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here.
    let (read, write) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    let o = Command::new(env!("CARGO_BIN_EXE_dgmf"))
        .args(["info", &model("analytic_score.onnx")])
        .env_remove("DGMF_ORT_LIB")
        .env_remove("ORT_DYLIB_PATH")
        .stdout(std::process::Stdio::from(write))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_one_line_error(&o, "cannot write to standard output");
}

#[test]
fn hostile_models_fail_with_one_line_and_write_nothing() {
    let dir = std::env::temp_dir().join(format!("dgmf-cli-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Stock ONNX Runtime would read this file into the prediction of external_hidden_tag.onnx.
    std::fs::write(dir.join("dgmf_secret.bin"), [0x42u8; 96]).unwrap();
    let bad = |name: &str| models_dir().join("bad").join(name).display().to_string();
    let out = dir.join("mean.npy");
    let out_s = out.display().to_string();
    for (name, want) in [
        ("external_hidden_tag.onnx", "invalid key value"),
        ("external_data.onnx", "stores a tensor outside the file"),
        ("shape_overflow.onnx", "more than 2147483647 values"),
        ("levels_overflow.onnx", "discrete:18446744073709551615"),
        ("sigma_huge.onnx", "sigma_max ≤ 1.8e19"),
        ("scale_huge.onnx", "outside the float32 range"),
        ("inf_at_sigma_min.onnx", "at noise level σ = 0.01"),
        ("permuted_output.onnx", "dims [1, 4, 3, 2]"),
    ] {
        let m = bad(name);
        let o = dgmf_within(
            60,
            Some(&dir),
            &predict_args(&m, &["--params", "0.5,0.5", "--out", &out_s]),
        );
        assert_one_line_error(&o, want);
        assert!(!out.exists(), "{name}: no output file after a failure");
    }
    // A parameter far beyond float32, even when extrapolating: an error, not an all-NaN file.
    let m = model("analytic_score.onnx");
    let o = dgmf_within(
        60,
        Some(&dir),
        &predict_args(
            &m,
            &["--params", "0.5,1e39", "--extrapolate", "--out", &out_s],
        ),
    );
    assert_one_line_error(&o, "beyond the float32 range");
    assert!(!out.exists());
    // Absurd sampler settings: refused before anything runs.
    for (flags, want) in [
        (
            &["--steps", "1000000000000"][..],
            "2 to 100000 noise levels",
        ),
        (
            &[
                "--sampler",
                "pc",
                "--corrector-steps",
                "18446744073709551615",
            ],
            "at most 100 Langevin",
        ),
        (&["--threads", "1000000"], "at most 1024"),
    ] {
        let mut args = predict_args(&m, &["--params", "0.5,0.5"]);
        args.extend(flags);
        assert_one_line_error(&dgmf_within(60, Some(&dir), &args), want);
    }
    // A network evaluation that never ends (a Loop of 2^62 iterations) is stopped by --time-limit.
    let endless = bad("endless_loop.onnx");
    let o = dgmf_within(
        60,
        Some(&dir),
        &predict_args(
            &endless,
            &[
                "--params",
                "0.5,0.5",
                "--time-limit",
                "0.5",
                "--out",
                &out_s,
            ],
        ),
    );
    assert_one_line_error(&o, "time limit of 0.500 s");
    assert!(!out.exists());
    for bad_limit in ["0", "-1", "nan", "inf"] {
        let o = dgmf_within(
            60,
            Some(&dir),
            &predict_args(&m, &["--params", "0.5,0.5", "--time-limit", bad_limit]),
        );
        assert_one_line_error(&o, "--time-limit");
    }
    // A memory limit above what the machine has: a clean error, never an abort.
    let o = dgmf_within(
        60,
        Some(&dir),
        &predict_args(
            &m,
            &[
                "--params",
                "0.5,0.5",
                "--memory-limit",
                "18446744073709551615",
                "--samples",
                "68719476736",
                "--max-batch",
                "68719476736",
            ],
        ),
    );
    assert_one_line_error(&o, "GiB of memory");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn png_pictures_show_the_fields_with_their_scale() {
    let dir = std::env::temp_dir().join(format!("dgmf-cli-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (prefix, mean) = (dir.join("pic"), dir.join("mean.npy"));
    let m = model("analytic_score.onnx");
    let o = dgmf_within(
        60,
        None,
        &predict_args(
            &m,
            &[
                "--params",
                "0.3,-0.6",
                "--samples",
                "3",
                "--png",
                prefix.to_str().unwrap(),
                "--out",
                mean.to_str().unwrap(),
            ],
        ),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let (_, values) = read_npy(&mean).unwrap();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    for what in ["mean", "std"] {
        let path = dir.join(format!("pic_{what}.png"));
        let decoder = png::Decoder::new(std::fs::File::open(&path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        let text: std::collections::HashMap<String, String> = reader
            .info()
            .uncompressed_latin1_text
            .iter()
            .map(|t| (t.keyword.clone(), t.text.clone()))
            .collect();
        let (pmin, pmax): (f32, f32) = (
            text["dgmf.min"].parse().unwrap(),
            text["dgmf.max"].parse().unwrap(),
        );
        assert!(pmin <= pmax);
        if what == "mean" {
            // The stored scale is the field's, and the first pixel of the first panel has its value's colour.
            assert_eq!(
                (pmin as f64, pmax as f64),
                (lo as f32 as f64, hi as f32 as f64)
            );
            let px = |x: usize, y: usize| {
                let i = (y * frame.width as usize + x) * 3;
                [buf[i], buf[i + 1], buf[i + 2]]
            };
            let t = (values[0] as f32 - pmin) / (pmax - pmin);
            assert_eq!(px(8, 8), dgmf_cli::picture::colour(t));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
