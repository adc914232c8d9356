//! Query files (`--params-file`, `--coords-file`) and numbers on the command line: untrusted input,
//! read within the memory limit, never silently dropped or rounded.

mod common;

use common::*;

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
            "--fidelity `0.5,999`: give one fidelity (a level index or value), got 2 numbers",
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
            "--fidelity `1,2`: give one fidelity (a level index or value), got 2 numbers",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "1.5"],
            "--fidelity `1.5`: fidelity 1.5 is not a level index; this model has 3 discrete levels 0..=2",
        ),
        (
            &["predict", &m, "--params", "0.5,0", "--fidelity", "-1"],
            "--fidelity `-1`: fidelity -1 is not a level index",
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
