//! The engine refusing what it cannot serve: contract violations, invalid requests, misbehaving networks,
//! cancellation and time limits, each with an error that names its cause.

mod common;

use common::requests::*;
use common::{load, models_dir};
use dgmf::{ErrorKind, FidelityValue, Model, Query, Request, SessionOptions};

#[test]
fn each_contract_violation_names_its_cause() {
    let cases = [
        (
            "missing_contract",
            ErrorKind::Contract,
            "`dgmf.contract` is missing",
        ),
        (
            "contract_v2",
            ErrorKind::Contract,
            "implements contract version 1",
        ),
        ("sde_vp", ErrorKind::Contract, "variance-exploding"),
        (
            "sigma_range",
            ErrorKind::Contract,
            "0 < sigma_min < sigma_max",
        ),
        ("sigma_nan", ErrorKind::Contract, "dgmf.sigma_min: `abc`"),
        (
            "unknown_output",
            ErrorKind::Contract,
            "dgmf.output is `velocity`",
        ),
        (
            "shape_mismatch",
            ErrorKind::Contract,
            "`z` has dims [batch, 2, 3, 4] but the contract expects [batch, 2, 3, 5]",
        ),
        (
            "param_lengths",
            ErrorKind::Contract,
            "must have equal length",
        ),
        (
            "param_count",
            ErrorKind::Contract,
            "`params` has dims [batch, 3]",
        ),
        (
            "fidelity_k",
            ErrorKind::Contract,
            "`fidelity` has dims [batch, 3] but the contract expects [batch, 4]",
        ),
        (
            "fidelity_kind",
            ErrorKind::Contract,
            "dgmf.fidelity is `ordinal:3`",
        ),
        (
            "sampler_spec",
            ErrorKind::Contract,
            "dgmf.sampler: steps = 1; heun needs 2 to 100000 noise levels",
        ),
        ("missing_sigma", ErrorKind::Contract, "no input `sigma`"),
        (
            "extra_input",
            ErrorKind::Contract,
            "unexpected model input `foo`",
        ),
        ("coords_no_meta", ErrorKind::Contract, "no dgmf.coord_names"),
        (
            "members_no_input",
            ErrorKind::Contract,
            "dgmf.members = 2 but the model has no `member` input",
        ),
        (
            "member_no_key",
            ErrorKind::Contract,
            "has a `member` input but no dgmf.members key",
        ),
        ("members_one", ErrorKind::Contract, "dgmf.members is `1`"),
        (
            "members_too_many",
            ErrorKind::Contract,
            "dgmf.members is `65`",
        ),
        (
            "coord_meta_no_input",
            ErrorKind::Contract,
            "no `coords` input",
        ),
        ("z_rank", ErrorKind::Contract, "`z` has rank 2"),
        ("int_params", ErrorKind::Contract, "element type int64"),
        ("two_outputs", ErrorKind::Contract, "has 2 outputs"),
        // Stock ONNX Runtime reads ./dgmf_secret.bin into the prediction for this file.
        (
            "external_hidden_tag",
            ErrorKind::ModelLoad,
            "invalid key value: 4294967402",
        ),
        ("sigma_huge", ErrorKind::Contract, "sigma_max ≤ 1.8e19"),
        (
            "scale_huge",
            ErrorKind::Contract,
            "dgmf.data_scale = 1e300 is outside the float32 range",
        ),
        ("scale_tiny", ErrorKind::Contract, "zero in float32"),
        (
            "param_range_huge",
            ErrorKind::Contract,
            "dgmf.param_max = 1e39 is outside the float32 range",
        ),
        (
            "shape_overflow",
            ErrorKind::Contract,
            "more than 2147483647 values",
        ),
        (
            "levels_overflow",
            ErrorKind::Contract,
            "dgmf.fidelity is `discrete:18446744073709551615`",
        ),
        (
            "shift_len",
            ErrorKind::Contract,
            "dgmf.data_shift has 3 entries",
        ),
        (
            "ir_too_new",
            ErrorKind::ModelLoad,
            "IR version 14, but ONNX Runtime 1.31 accepts IR ≤ 13",
        ),
        (
            "opset_too_new",
            ErrorKind::ModelLoad,
            "opset 27, but ONNX Runtime 1.31 accepts opset ≤ 26",
        ),
        ("not_onnx", ErrorKind::ModelLoad, "not a valid ONNX model"),
        (
            "external_data",
            ErrorKind::ModelLoad,
            "stores a tensor outside the file (external_data entries in initializer",
        ),
    ];
    for (name, kind, want) in cases {
        let path = models_dir().join("bad").join(format!("{name}.onnx"));
        let e = Model::load(&path, &SessionOptions::default()).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(e.message().contains(want), "{name}: `{e}` lacks `{want}`");
        assert!(
            e.message().contains(&format!("{name}.onnx")),
            "{name}: the error names the file"
        );
    }
    let e = Model::load(
        models_dir().join("no_such_model.onnx"),
        &SessionOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ModelLoad);
    assert!(e.message().contains("cannot read model file"), "{e}");
}

#[test]
fn each_invalid_request_names_its_cause() {
    let model = load("analytic_score.onnx");
    let base = request("heun", Some(5), 2);
    let with = |f: &dyn Fn(&mut Request)| {
        let mut r = base.clone();
        f(&mut r);
        model.predict(&r, None).unwrap_err()
    };
    type Edit = Box<dyn Fn(&mut Request)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|r| r.queries[0].params[1] = f64::NAN), "parameter `b` = NaN is not a finite number"),
        (Box::new(|r| r.queries[0].params[0] = f64::INFINITY), "parameter `a` = inf is not a finite"),
        (Box::new(|r| r.queries[0].params[1] = 1.5), "parameter `b` = 1.5 is outside the model's range [-1, 1]"),
        (Box::new(|r| r.queries[0].params.pop().map(|_| ()).unwrap()), "1 parameters given, but the model takes 2 (a, b)"),
        (Box::new(|r| r.queries[0].fidelity = FidelityValue::Level(3)), "fidelity level 3 is out of range: the model has 3 levels (0..=2: coarse, medium, fine)"),
        (Box::new(|r| r.queries[0].fidelity = FidelityValue::Value(0.5)), "give a level index"),
        (Box::new(|r| r.queries[0].coords = vec![1.0]), "1 coordinates given, but the model takes 0"),
        (Box::new(|r| r.n_samples = 0), "n_samples = 0"),
        (Box::new(|r| r.max_batch = 0), "max_batch = 0"),
        (Box::new(|r| r.queries.clear()), "no queries"),
        (Box::new(|r| r.sampler.steps = 1), "needs 2 to 100000 noise levels"),
        (Box::new(|r| r.sampler.steps = 1_000_000_000_000), "needs 2 to 100000 noise levels"),
        (Box::new(|r| r.sampler.steps = usize::MAX), "needs 2 to 100000 noise levels"),
        (
            Box::new(|r| {
                r.sampler = dgmf::SamplerConfig::new(dgmf::SamplerKind::PC);
                r.sampler.corrector_steps = usize::MAX;
            }),
            "at most 100 Langevin steps",
        ),
        (
            Box::new(|r| {
                r.allow_extrapolation = true;
                r.queries[0].params[0] = 1e39;
            }),
            "beyond the float32 range",
        ),
        (
            Box::new(|r| {
                r.sampler = dgmf::SamplerConfig::new(dgmf::SamplerKind::CONSISTENCY);
                r.sampler.sigma_last = Some(1e9);
            }),
            "sigma_last = 1000000000 is outside the model's noise range",
        ),
        (
            // A memory limit above what the machine has: refused cleanly, never an abort or an OOM kill.
            Box::new(|r| {
                r.memory_limit = usize::MAX;
                r.n_samples = 1 << 36;
                r.max_batch = 1 << 36;
            }),
            "GiB of memory",
        ),
        (
            Box::new(|r| {
                r.n_samples = 1 << 40;
                r.max_batch = usize::MAX;
            }),
            "above the memory limit of 4.00 GiB",
        ),
        (
            Box::new(|r| {
                r.n_samples = usize::MAX;
                r.queries.push(r.queries[0].clone());
            }),
            "more bytes than the address space",
        ),
        (
            Box::new(|r| {
                r.keep_samples = true;
                r.n_samples = 100_000;
                r.memory_limit = 1 << 20;
            }),
            "all samples kept",
        ),
    ];
    for (edit, want) in cases {
        let e = with(&*edit);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains(want), "`{e}` lacks `{want}`");
    }
    let mut r = base.clone();
    r.queries[0].params[1] = 1.5;
    r.allow_extrapolation = true;
    assert!(
        model.predict(&r, None).is_ok(),
        "extrapolation is allowed on request"
    );
}

#[test]
fn progress_reports_and_cancels() {
    let model = load("analytic_score.onnx");
    let mut req = request("heun", Some(10), 10);
    req.max_batch = 4;
    let mut seen = Vec::new();
    model
        .predict(
            &req,
            Some(&mut |p| {
                seen.push(p);
                true
            }),
        )
        .unwrap();
    let total = req.sampler.nfe() * 3;
    assert_eq!(seen.len(), total);
    assert!(seen
        .iter()
        .enumerate()
        .all(|(i, p)| p.done == i + 1 && p.total == total));
    let e = model.predict(&req, Some(&mut |p| p.done < 5)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
}

#[test]
fn metadata_is_never_silently_dropped() {
    let bytes = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let opts = SessionOptions::default();
    // Appending another tool's entry keeps the model loadable (the helper is right)...
    Model::from_bytes(&with_metadata(&bytes, b"other.note", b"x\xff"), &opts).unwrap();
    // ...a dgmf.* key the contract does not define is a typo or a newer contract, not something to skip.
    let e = Model::from_bytes(&with_metadata(&bytes, b"dgmf.note", b"x"), &opts).unwrap_err();
    assert!(
        e.message()
            .contains("metadata key `dgmf.note` is not a key of contract 1"),
        "{e}"
    );
    // ...a non-UTF-8 value used to be dropped by ONNX Runtime (defaults used); a key set twice is ambiguous.
    for (key, value, want) in [
        (
            &b"dgmf.note"[..],
            &b"2\xff"[..],
            "metadata `dgmf.note` is not valid UTF-8",
        ),
        (
            b"dgmf.sigma_max",
            b"10",
            "metadata key `dgmf.sigma_max` appears more than once",
        ),
        (
            b"dgmf.shape",
            b"\xff",
            "metadata `dgmf.shape` is not valid UTF-8",
        ),
    ] {
        let e = Model::from_bytes(&with_metadata(&bytes, key, value), &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Contract, "{e}");
        assert!(e.message().contains(want), "`{e}` lacks `{want}`");
    }
    // Model text reaches messages with its control characters escaped.
    let twice = with_metadata(
        &with_metadata(&bytes, b"dgmf.\x1b[2J", b"a"),
        b"dgmf.\x1b[2J",
        b"b",
    );
    let e = Model::from_bytes(&twice, &opts).unwrap_err();
    assert!(
        e.message().contains("dgmf.\\u{1b}[2J") && !e.message().contains('\x1b'),
        "{e}"
    );
}

#[test]
fn misbehaving_networks_are_errors_not_results() {
    // Infinite only at σ_min (the last level): the error names the level and the row.
    let m = load_bad("inf_at_sigma_min.onnx");
    let mut req = request("heun", Some(5), 3);
    req.queries.push(query());
    let e = m.predict(&req, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Inference, "{e}");
    assert!(
        e.message().contains("σ = 0.01") && e.message().contains("query 0, sample 0"),
        "{e}"
    );
    // A sampler that never evaluates at σ_min gets finite results from the same model: no false alarm.
    let mut ok = request("ancestral", Some(5), 3);
    ok.sampler.denoise = false;
    let p = m.predict(&ok, None).unwrap();
    assert!(p.mean.iter().all(|v| v.is_finite()));
    // The right number of values in the wrong layout.
    let m = load_bad("permuted_output.onnx");
    let e = m.predict(&request("heun", Some(5), 1), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Inference, "{e}");
    assert!(
        e.message().contains("dims [1, 4, 3, 2] where [1, 2, 3, 4]"),
        "{e}"
    );
}

/// A bad model loaded twice: network calls through ONNX Runtime's I/O binding (the default), and without.
fn bound_and_unbound(name: &str) -> [(bool, Model); 2] {
    let path = models_dir().join("bad").join(name);
    [false, true].map(|unbound_calls| {
        let opts = SessionOptions {
            unbound_calls,
            ..Default::default()
        };
        (unbound_calls, Model::load(&path, &opts).unwrap())
    })
}

#[test]
fn an_output_whose_dims_change_after_the_first_call_is_named() {
    // Right dims at sigma_max, permuted below it: the second call, through the I/O binding's output of
    // the first call's dims, must end in the engine's own error, as on the unbound path.
    for (unbound_calls, m) in bound_and_unbound("permuted_after_sigma_max.onnx") {
        let e = m.predict(&request("heun", Some(5), 1), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Inference, "{e}");
        assert!(
            e.message().contains("dims [1, 4, 3, 2] where [1, 2, 3, 4]"),
            "unbound {unbound_calls}: {e}"
        );
    }
}

#[test]
fn a_time_limit_stops_a_bound_network_call() {
    // The first evaluation (at sigma_max) finishes; the next never does, on tensors bound to the session
    // since the first call (ONNX Runtime's I/O binding): the time limit must stop it there too, as on the
    // unbound path.
    for (unbound_calls, m) in bound_and_unbound("endless_after_sigma_max.onnx") {
        let mut req = request("heun", Some(5), 1);
        req.time_limit = Some(std::time::Duration::from_millis(500));
        let mut done = 0;
        let mut progress = |p: dgmf::Progress| {
            done = p.done;
            true
        };
        let e = m.predict(&req, Some(&mut progress)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        assert!(e.message().contains("time limit of 0.500 s"), "{e}");
        assert_eq!(
            done, 1,
            "unbound {unbound_calls}: the first call finished, the second was stopped"
        );
    }
}

#[test]
fn a_time_limit_stops_a_network_that_never_finishes() {
    // A Loop of 2^62 iterations inside the network: only ONNX Runtime's terminate flag can stop it.
    let m = load_bad("endless_loop.onnx");
    let mut req = request("heun", Some(5), 1);
    req.time_limit = Some(std::time::Duration::from_millis(500));
    let start = std::time::Instant::now();
    let e = m.predict(&req, None).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(e.message().contains("time limit of 0.500 s"), "{e}");
    // Generous bound: it must end, not be fast (a hang would never get here).
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    // The model's session is usable again afterwards (the flag belongs to that prediction's run options).
    let ok = load("analytic_score.onnx");
    let mut quick = request("heun", Some(5), 1);
    quick.time_limit = Some(std::time::Duration::from_secs(600));
    ok.predict(&quick, None).unwrap();
    quick.time_limit = Some(std::time::Duration::ZERO);
    assert!(ok
        .predict(&quick, None)
        .unwrap_err()
        .message()
        .contains("time_limit = 0"));
}

/// `set_metadata` (what `dgmf calibrate` writes with) on a file whose metadata a hostile or careless
/// exporter wrote: duplicate entries of the key, another tool's non-UTF-8 and 1 MB entries, entries before
/// the graph. Every entry of the key is replaced by one, everything else is kept byte for byte, and the
/// result loads and predicts bit-identically apart from the std.
#[test]
fn set_metadata_rewrites_hostile_metadata_into_a_model_that_predicts_the_same() {
    let bytes = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let opts = SessionOptions::default();
    let big = vec![b'y'; 1 << 20];
    let mut hostile = metadata_entry(b"other.blob", b"\xff\xfe not UTF-8");
    hostile.extend(metadata_entry(b"dgmf.std_scale", b"7"));
    hostile.extend(&bytes);
    hostile.extend(metadata_entry(b"other.big", &big));
    hostile.extend(metadata_entry(b"dgmf.std_scale", b"nan"));
    let e = Model::from_bytes(&hostile, &opts).unwrap_err();
    assert!(e.message().contains("appears more than once"), "{e}");
    let fixed = dgmf::onnx_header::set_metadata(&hostile, "dgmf.std_scale", "2").unwrap();
    let meta = dgmf::onnx_header::read_header(&fixed).unwrap().metadata;
    let values = |key: &[u8]| -> Vec<Vec<u8>> {
        meta.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(values(b"dgmf.std_scale"), [b"2".to_vec()]);
    assert_eq!(values(b"other.big"), [big]);
    assert_eq!(values(b"other.blob"), [b"\xff\xfe not UTF-8".to_vec()]);
    let size = |v: &[u8]| metadata_entry(b"dgmf.std_scale", v).len();
    assert_eq!(
        fixed.len(),
        hostile.len() - size(b"7") - size(b"nan") + size(b"2"),
        "nothing but the key's entries changed"
    );
    let mut req = request("heun", Some(6), 4);
    req.queries = vec![query()];
    let plain = Model::from_bytes(&bytes, &opts)
        .unwrap()
        .predict(&req, None)
        .unwrap();
    let scaled = Model::from_bytes(&fixed, &opts)
        .unwrap()
        .predict(&req, None)
        .unwrap();
    assert_eq!(scaled.mean, plain.mean, "the mean, bit for bit");
    let (a, b) = (plain.std.unwrap(), scaled.std.unwrap());
    assert!(
        a.iter().zip(b.iter()).all(|(x, y)| *y == 2.0 * *x),
        "the std, times 2 exactly"
    );
}

#[test]
fn the_std_scale_calibration_multiplies_the_std_and_nothing_else() {
    let bytes = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let opts = SessionOptions::default();
    let with =
        |value: &str| dgmf::onnx_header::set_metadata(&bytes, "dgmf.std_scale", value).unwrap();
    let mut req = request("heun", Some(8), 6);
    req.queries = vec![
        query(),
        Query {
            fidelity: FidelityValue::Level(0),
            ..query()
        },
    ];
    let plain = Model::from_bytes(&bytes, &opts)
        .unwrap()
        .predict(&req, None)
        .unwrap();
    let std = |p: &dgmf::Prediction| p.std.clone().unwrap();
    // One value for every level; then one per level (the queries are at levels 2 and 0).
    for (value, factors) in [("2.5", [2.5f32, 2.5]), ("1,1.5,0.5", [0.5, 1.0])] {
        let model = Model::from_bytes(&with(value), &opts).unwrap();
        assert_eq!(model.contract().std_scale.len(), value.split(',').count());
        let scaled = model.predict(&req, None).unwrap();
        assert_eq!(scaled.mean, plain.mean, "the mean is untouched");
        for (q, k) in factors.iter().enumerate() {
            let (a, b) = (std(&scaled), std(&plain));
            for (x, y) in a
                .index_axis(dgmf::ndarray::Axis(0), q)
                .iter()
                .zip(b.index_axis(dgmf::ndarray::Axis(0), q))
            {
                assert!(
                    (x - k * y).abs() <= 1e-6 * (k * y).abs(),
                    "{value}: query {q}: {x} vs {k}·{y}"
                );
            }
        }
    }
    for (value, want) in [
        ("0", "entry 0 is not a positive number"),
        ("-1", "entry -1 is not a positive number"),
        ("1e-60", "is not a positive number"),
        ("nan", "dgmf.std_scale"),
        (
            "1,2",
            "has 2 entries; expected 1 or one per fidelity level (3)",
        ),
    ] {
        let e = Model::from_bytes(&with(value), &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Contract, "{e}");
        assert!(e.message().contains(want), "`{e}` lacks `{want}`");
    }
}
