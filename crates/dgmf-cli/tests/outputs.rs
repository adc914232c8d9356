//! Output files: checked before predicting, written whole or not at all.

mod common;

use common::*;
use std::process::Command;

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
    assert_one_line_error(&o, "--std: a std needs 2 or more samples per query, got 1");
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
