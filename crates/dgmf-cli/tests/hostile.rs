//! Hostile models and misuse: one error line, exit status 1, nothing written, the terminal safe.

mod common;

use common::*;
use std::process::Command;

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
fn a_closed_standard_output_ends_quietly_not_with_a_panic() {
    // A reader that has gone (`| grep -q`, `| head`) took what it wanted: success, nothing on stderr.
    for args in [
        vec!["info".to_string(), model("analytic_score.onnx")],
        vec!["samplers".into()],
    ] {
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
            .args(&args)
            .env_remove("DGMF_ORT_LIB")
            .env_remove("ORT_DYLIB_PATH")
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
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

/// `dgmf.sampler` and `dgmf.std_scale` as a hostile exporter writes them, and strings of any length: each
/// model is refused with one short line naming the key (or, for free text, shown cut to one line), and a
/// `dgmf.*` key the contract does not define (a typo such as `dgmf.std_scal`) is refused, not ignored.
#[test]
fn hostile_sampler_scale_and_long_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let recommends = std::fs::read(models_dir().join("analytic_recommends.onnx")).unwrap();
    let long = "x".repeat(100_000);
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let refused: Vec<(Vec<u8>, &str)> = vec![
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun steps=0")]),
            "dgmf.sampler: steps = 0; heun needs 2 to 100000",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun steps=1000000000000")]),
            "steps = 1000000000000; heun needs 2 to 100000",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun steps=-3")]),
            "steps=`-3` is not a whole number",
        ),
        (
            append_entry(&base, "dgmf.std_scale", "1,,2"),
            "dgmf.std_scale: `` is not a finite decimal number",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun steps=4 steps=5")]),
            "sets `steps` twice",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun foo=3")]),
            "`foo` is not a setting of heun",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "")]),
            "dgmf.sampler: sampler spec is empty (no sampler name); expected a sampler spec",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", "heun\x1b[31m")]),
            "unknown sampler `heun\\u{1b}[31m`",
        ),
        (
            with_metadata(&recommends, &[("dgmf.sampler", &long)]),
            "sampler spec is 100000 bytes long; a spec is at most 256 bytes",
        ),
        (
            with_metadata(&base, &[("dgmf.shape", &long)]),
            "more bytes]…",
        ),
        (
            with_metadata(&base, &[("dgmf.param_min", &long)]),
            "is not a finite decimal number",
        ),
        (
            append_entry(&base, "dgmf.std_scale", "nan"),
            "`nan` is not a finite decimal number",
        ),
        (
            append_entry(&base, "dgmf.std_scale", "1e39"),
            "outside the float32 range",
        ),
        (
            append_entry(&base, "dgmf.std_scale", "-2"),
            "entry -2 is not a positive number",
        ),
        (
            append_entry(&base, "dgmf.std_scale", "1,2,3,4"),
            "has 4 entries; expected 1 or one per fidelity level (3)",
        ),
        (
            append_entry(
                &append_entry(&base, "dgmf.std_scale", "2"),
                "dgmf.std_scale",
                "3",
            ),
            "`dgmf.std_scale` appears more than once",
        ),
        (
            append_entry(&base, "dgmf.std_scal", "2"),
            "metadata key `dgmf.std_scal` is not a key of contract 1 (a typo?)",
        ),
        (
            append_entry(&base, &format!("dgmf.{long}"), "2"),
            "is not a key of contract 1",
        ),
    ];
    for (i, (bytes, want)) in refused.into_iter().enumerate() {
        let p = write(&format!("bad{i}.onnx"), bytes);
        for cmd in ["info", "predict"] {
            let o = dgmf_within(
                60,
                None,
                &[cmd, &p, "--params", "0.5,0", "--fidelity", "1"]
                    [..if cmd == "info" { 2 } else { 6 }],
            );
            assert_one_line_error(&o, want);
            assert!(
                o.stderr.len() < 1200,
                "{cmd} {i}: a {} byte message",
                o.stderr.len()
            );
            assert_eq!(terminal_controls(&o.stderr), Vec::<String>::new());
        }
    }
    // Free text of any length is shown cut to one line by `info`, whole by `info --json`.
    let p = write(
        "long.onnx",
        with_metadata(&base, &[("dgmf.description", &long), ("dgmf.name", &long)]),
    );
    let o = dgmf_within(60, None, &["info", &p]);
    let out = text(&o).0;
    assert!(
        o.status.success() && out.len() < 3000,
        "{} bytes",
        out.len()
    );
    assert!(
        out.contains("… (100000 characters; --json shows all)"),
        "{out}"
    );
    let o = dgmf_within(60, None, &["info", "--json", &p]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["description"].as_str().unwrap().len(), 100_000);
    // Keys of other tools are none of the contract's business, whatever they hold.
    let p = write(
        "foreign.onnx",
        append_entry(&base, "onnx.other_tool", &long),
    );
    assert!(dgmf_within(60, None, &["info", &p]).status.success());
}

/// `model` with one more metadata entry appended (ModelProto field 14 may repeat anywhere).
fn append_entry(model: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, key.as_bytes());
    put_bytes(&mut entry, 2, value.as_bytes());
    let mut out = model.to_vec();
    put_bytes(&mut out, 14, &entry);
    out
}
