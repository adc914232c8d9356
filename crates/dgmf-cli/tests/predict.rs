//! `dgmf info` and `dgmf predict`: what a user sees when things work, and the documented errors.

mod common;

use common::*;

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
    assert_eq!(v["precision"], "fp32");
    assert_eq!(v["sampler_from_model"], false);
    let o = dgmf(&["info", "--json", &model("analytic_recommends.onnx")], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["sampler"], "heun steps=4 schedule=karras denoise=1");
    assert_eq!(v["sampler_from_model"], true);
}

#[test]
fn info_shows_a_deep_ensembles_members() {
    let m = model("analytic_ensemble.onnx");
    let o = dgmf(&["info", &m], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("members    3 networks, a deep ensemble"),
        "{out}"
    );
    let o = dgmf(&["info", &m, "--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["members"], 3);
    let single = dgmf(&["info", &model("analytic_score.onnx")], &[]);
    assert!(
        !text(&single).0.contains("members"),
        "one network says nothing of members"
    );
}

#[test]
fn predict_warns_when_the_samples_do_not_weigh_an_ensembles_members_alike() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.npy");
    // dgmf predict FILE with `samples` samples: its standard error.
    let run = |file: &str, samples: &str| {
        let m = model(file);
        let mut args = vec!["predict", &m];
        args.extend("--params 0.3,-0.6 --fidelity 2 --steps 4 -q".split(' '));
        args.extend(["--samples", samples, "--out", out.to_str().unwrap()]);
        let o = dgmf(&args, &[]);
        assert!(o.status.success(), "{}", text(&o).1);
        text(&o).1
    };
    let ensemble = "analytic_ensemble.onnx";
    let two = run(ensemble, "2");
    assert!(
        two.contains("deep ensemble of 3 networks") && two.contains("member 2 draws no sample"),
        "{two}"
    );
    assert!(two.contains("--samples 3"), "{two}");
    let five = run(ensemble, "5");
    assert!(
        five.contains("members 0 to 1 draw one sample more") && five.contains("--samples 6"),
        "{five}"
    );
    assert!(
        !run(ensemble, "6").contains("warning"),
        "a multiple of 3 weighs them alike"
    );
    // One network has no members to weigh.
    assert!(!run("analytic_score.onnx", "5").contains("warning"));
}

/// A request the engine refuses gets its error alone: the warnings (uneven members, a costly declared
/// sampler) are for requests that run, and `--steps 0` once printed a cost of 2^64 − 1 evaluations.
#[test]
fn a_refused_request_gets_its_error_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let costly = dir.path().join("costly.onnx");
    let bytes = std::fs::read(model("analytic_recommends.onnx")).unwrap();
    let with = with_metadata(
        &bytes,
        &[("dgmf.sampler", "pc steps=200 corrector_steps=1")],
    );
    std::fs::write(&costly, with).unwrap();
    let ensemble = model("analytic_ensemble.onnx");
    for (m, extra, error) in [
        (ensemble.as_str(), "--params 0.3", "1 parameters given"),
        (
            ensemble.as_str(),
            "--params 0.3,-0.6 --steps 0",
            "steps = 0",
        ),
        (
            ensemble.as_str(),
            "--params 0.3,-0.6 --coord-values 0.5",
            "coordinate sweep",
        ),
        (
            costly.to_str().unwrap(),
            "--params 0.3,-0.6 --steps 0",
            "steps = 0",
        ),
        (
            costly.to_str().unwrap(),
            "--params 9,9",
            "outside the model's range",
        ),
    ] {
        let mut args = vec!["predict", m, "--fidelity", "2", "-q"];
        args.extend(extra.split(' '));
        let o = dgmf(&args, &[]);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{extra}: {err}");
        assert!(
            err.contains(error) && !err.contains("warning"),
            "{extra}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{extra}: {err}");
    }
}

#[test]
fn predict_uses_the_models_recommended_sampler_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let run = |extra: &[&str]| {
        let m = model("analytic_recommends.onnx");
        let mut args = vec![
            "predict",
            &m,
            "--params",
            "0.3,-0.6",
            "--fidelity",
            "2",
            "-q",
        ];
        args.extend(["--report-json", report.to_str().unwrap()]);
        args.extend(extra);
        let o = dgmf(&args, &[]);
        assert!(o.status.success(), "{}", text(&o).1);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        (
            v["sampler"].as_str().unwrap().to_string(),
            v["nfe"].as_u64().unwrap(),
        )
    };
    assert_eq!(run(&[]), ("heun".into(), 7));
    // --steps alone adjusts the recommended sampler; --sampler replaces it with that sampler's defaults.
    assert_eq!(run(&["--steps", "6"]), ("heun".into(), 11));
    assert_eq!(
        run(&["--sampler", "ancestral", "--steps", "5"]),
        ("ancestral".into(), 5)
    );
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
    // The same seed gives the same file, with another batch size, thread count, or without I/O binding.
    let again = dir.join("again.npy");
    for extra in [
        &["--max-batch", "5"][..],
        &["--threads", "1", "--noise-threads", "3"],
        &["--unbound-calls"],
    ] {
        let mut args = extra.to_vec();
        args.extend(["--out", again.to_str().unwrap()]);
        assert!(run(&args).status.success(), "{extra:?}");
        assert_eq!(
            std::fs::read(&mean).unwrap(),
            std::fs::read(&again).unwrap(),
            "{extra:?}"
        );
    }
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
            "invalid value 'ddim' for '--sampler <SAMPLER>'; [possible values: em, reverse-diffusion,",
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

/// A decoded picture: its pixels and text chunks.
struct Picture {
    width: usize,
    rgb: Vec<u8>,
    text: std::collections::HashMap<String, String>,
}

impl Picture {
    fn read(path: &std::path::Path) -> Picture {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        let text = reader
            .info()
            .uncompressed_latin1_text
            .iter()
            .map(|t| (t.keyword.clone(), t.text.clone()))
            .collect();
        Picture {
            width: frame.width as usize,
            rgb,
            text,
        }
    }

    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn scale(&self) -> (f32, f32) {
        (
            self.text["dgmf.min"].parse().unwrap(),
            self.text["dgmf.max"].parse().unwrap(),
        )
    }

    /// The panels' rectangles (x, y, width, height) from the `key` chunk.
    fn rects(&self, key: &str) -> Vec<[usize; 4]> {
        self.text[key]
            .split(';')
            .map(|r| {
                let v: Vec<usize> = r.split(',').map(|n| n.parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3]]
            })
            .collect()
    }

    /// Whether any pixel in the rectangle is black (text).
    fn has_text(&self, x: usize, y: usize, w: usize, h: usize) -> bool {
        (y..y + h).any(|yy| (x..x + w).any(|xx| self.px(xx, yy) == [0, 0, 0]))
    }
}

#[test]
fn png_pictures_show_the_fields_with_their_scale() {
    let dir = tempfile::tempdir().unwrap();
    let (prefix, mean) = (dir.path().join("pic"), dir.path().join("mean.npy"));
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
    let (shape, values) = read_npy(&mean).unwrap();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    for what in ["mean", "std"] {
        let pic = Picture::read(&dir.path().join(format!("pic_{what}.png")));
        let (pmin, pmax) = pic.scale();
        assert!(pmin <= pmax);
        assert_eq!(pic.text["dgmf.origin"], "lower-left");
        let [x, y, w, h] = pic.rects("dgmf.panels")[0];
        // A title above the panel, tick labels below it and on its left.
        assert!(pic.has_text(0, 0, pic.width, y.min(30)), "no title");
        assert!(pic.has_text(x, y + h + 1, w, 12), "no x axis labels");
        assert!(
            pic.has_text(x.saturating_sub(30), y, 30, h),
            "no y axis labels"
        );
        if what == "mean" {
            // The stored scale is the field's; node (0, 0) is at the lower left of the panel and the last
            // node at the upper right.
            assert_eq!(
                (pmin as f64, pmax as f64),
                (lo as f32 as f64, hi as f32 as f64)
            );
            let at = |v: f64| dgmf_cli::picture::colour((v as f32 - pmin) / (pmax - pmin));
            let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
            assert_eq!(pic.px(x, y + h - 1), at(values[0]));
            assert_eq!(pic.px(x + w - 1, y), at(values[rows * cols - 1]));
            assert_eq!(pic.px(x + w - 1, y + h - 1), at(values[cols - 1]));
        }
    }
}

/// `--reference`: the summary compares the mean with it, the pictures draw it beside the mean (and the
/// error beside the std) on one scale; a reference of the wrong shape or with non-finite values is refused
/// before the model runs, and an output may not overwrite it.
#[test]
fn a_reference_is_compared_and_drawn_beside_the_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("analytic_score.onnx");
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["--params", "0.3,-0.6", "--samples", "3"];
        args.extend(extra);
        dgmf_within(60, None, &predict_args(&m, &args))
    };
    let mean = p("mean.npy");
    let o = run(&["--out", &mean]);
    assert!(o.status.success(), "{}", text(&o).1);
    let (shape, values) = read_npy(std::path::Path::new(&mean)).unwrap();
    // The mean itself as the reference: zero error, and the reference panel is the mean panel's copy.
    let o = run(&["--reference", &mean, "--png", &p("r")]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("reference  rel. L2 of the mean 0.000 %"),
        "{out}"
    );
    assert!(out.contains("within ±1σ"), "{out}");
    let pic = Picture::read(&dir.path().join("r_mean.png"));
    let (a, b) = (pic.rects("dgmf.panels")[0], pic.rects("dgmf.beside")[0]);
    assert_eq!((a[2], a[3]), (b[2], b[3]));
    assert!(a[0] + a[2] <= b[0], "the reference is beside the mean");
    for (dx, dy) in [(0, 0), (a[2] / 2, a[3] / 3), (a[2] - 1, a[3] - 1)] {
        assert_eq!(pic.px(a[0] + dx, a[1] + dy), pic.px(b[0] + dx, b[1] + dy));
    }
    // A shifted reference: the error is reported, and the std picture holds |mean − reference|, which is
    // the largest value on its scale.
    let shifted = p("shifted.npy");
    let mut bytes = dgmf_cli::npy::encode_header(
        "<f8",
        &format!("{:?}", shape).replace('[', "(").replace(']', ",)"),
    );
    for v in &values {
        bytes.extend((v + 10.0).to_le_bytes());
    }
    std::fs::write(&shifted, bytes).unwrap();
    let o = run(&["--reference", &shifted, "--png", &p("s")]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(!out.contains("rel. L2 of the mean 0.000 %"), "{out}");
    let pic = Picture::read(&dir.path().join("s_std.png"));
    assert!((pic.scale().1 - 10.0).abs() < 1e-3, "{:?}", pic.scale());
    // Refused: a wrong shape (before the model runs), a NaN, an output naming the reference.
    let wrong = p("wrong.npy");
    let mut bytes = npy_header("(1, 5)");
    bytes.extend([0u8; 40]);
    std::fs::write(&wrong, bytes).unwrap();
    let o = run(&["--reference", &wrong]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
    assert!(
        text(&o).1.contains("--reference") && text(&o).1.contains("shape [1, 5]"),
        "{}",
        text(&o).1
    );
    let nan = p("nan.npy");
    let mut bytes = dgmf_cli::npy::encode_header(
        "<f8",
        &format!("{:?}", shape).replace('[', "(").replace(']', ",)"),
    );
    for k in 0..values.len() {
        bytes.extend((if k == 3 { f64::NAN } else { 0.0 }).to_le_bytes());
    }
    std::fs::write(&nan, bytes).unwrap();
    let o = run(&["--reference", &nan]);
    assert!(
        text(&o).1.contains("flat index 3") && text(&o).1.contains("not a finite"),
        "{}",
        text(&o).1
    );
    let o = run(&["--reference", &mean, "--out", &mean]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--reference"), "{}", text(&o).1);
}

/// A model's own dgmf.sampler far dearer than the library default (within the limits) runs, with a warning
/// first that gives its cost; naming --sampler, or a cheap declared sampler, gives none.
#[test]
fn a_costly_declared_sampler_is_announced_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model("analytic_recommends.onnx")).unwrap(); // it has a dgmf.sampler
    let costly = dir.path().join("costly.onnx");
    std::fs::write(
        &costly,
        with_metadata(
            &bytes,
            &[("dgmf.sampler", "pc steps=200 corrector_steps=1")],
        ),
    )
    .unwrap();
    let cheap = dir.path().join("cheap.onnx");
    std::fs::write(
        &cheap,
        with_metadata(&bytes, &[("dgmf.sampler", "heun steps=4")]),
    )
    .unwrap();
    let out = dir.path().join("m.npy");
    let run = |m: &std::path::Path, extra: &[&str]| {
        let mut v = vec![
            "predict",
            m.to_str().unwrap(),
            "--params",
            "0.3,-0.6",
            "--fidelity",
            "2",
        ];
        v.extend(["-q", "--out", out.to_str().unwrap()]);
        v.extend(extra);
        dgmf(&v, &[])
    };
    let o = run(&costly, &[]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: the model's dgmf.sampler `pc steps=200")
            && err.contains("costs 400 network evaluations per sample")
            && err.contains("13x the library default's 30"),
        "{err}"
    );
    for (m, extra) in [(&costly, &["--sampler", "heun"][..]), (&cheap, &[][..])] {
        let o = run(m, extra);
        assert!(
            o.status.success() && !text(&o).1.contains("warning"),
            "{}",
            text(&o).1
        );
    }
}

/// A query file is bounded by what its rows and their results need, before the rows are read: a 10⁷-row
/// .npy (sparse: the header says so, the size agrees) is refused from its size and header alone, and a CSV
/// stops as soon as its rows with their results pass --memory-limit.
#[test]
fn a_huge_query_file_is_refused_before_its_rows_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("q.npy");
    let mut bytes = npy_header("(10000000, 2)");
    let header = bytes.len() as u64;
    std::fs::write(&npy, &bytes).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&npy).unwrap();
    f.set_len(header + 10_000_000 * 16).unwrap(); // a hole: no disk, no memory
    let m = model("analytic_score.onnx");
    let out = dir.path().join("m.npy");
    let out = out.to_str().unwrap();
    let o = dgmf(
        &predict_args(&m, &["--params-file", npy.to_str().unwrap(), "--out", out]),
        &[],
    );
    assert_one_line_error(&o, "at least 9995911 rows that with their results need");
    // 5000 CSV rows of this model need ~3.3 MB with their results: refused under a 1 MiB limit.
    let csv = dir.path().join("q.csv");
    bytes.clear();
    (0..5000).for_each(|_| bytes.extend(b"0.3,-0.6\n"));
    std::fs::write(&csv, &bytes).unwrap();
    let o = dgmf(
        &predict_args(
            &m,
            &[
                "--params-file",
                csv.to_str().unwrap(),
                "--memory-limit",
                "1",
                "--out",
                out,
            ],
        ),
        &[],
    );
    assert_one_line_error(&o, "rows need");
    assert_one_line_error(
        &o,
        "with their results, more than the memory limit (--memory-limit 1 MiB)",
    );
}

/// `dgmf samplers` lists every sampler of the engine's table with its defaults and NFE (the list the C
/// header carries), and the library default last.
#[test]
fn samplers_lists_the_engine_table() {
    let o = dgmf(&["samplers"], &[]);
    assert!(o.status.success(), "{}", text(&o).1);
    let out = text(&o).0;
    let lines: Vec<&str> = out.lines().collect();
    let kinds: Vec<_> = dgmf::SamplerKind::all().collect();
    assert_eq!(lines.len(), kinds.len() + 1, "{out}");
    for (line, k) in lines.iter().zip(&kinds) {
        let c = dgmf::SamplerConfig::new(*k);
        assert!(
            line.starts_with(&format!("{:<17} {} levels", k.name(), c.steps)),
            "{line}"
        );
        assert!(line.contains(&format!(" {} NFE", c.nfe())), "{line}");
    }
    assert!(
        lines[kinds.len()].starts_with("default: ancestral steps=30"),
        "{out}"
    );
    let header = std::fs::read_to_string(models_dir().join("../../include/dgmf.h")).unwrap();
    for line in &lines {
        assert!(
            header.contains(&format!("//   {line}")),
            "the header lacks `{line}`"
        );
    }
}
