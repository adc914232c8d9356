//! The engine end to end through the real ONNX Runtime on the analytic models.

mod common;

use common::{load, models_dir, Analytic};
use dgmf::rng::NoiseStream;
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{ErrorKind, FidelityValue, Model, Query, Request, SessionOptions};

fn query() -> Query {
    Query {
        params: vec![0.3, -0.6],
        fidelity: FidelityValue::Level(2),
        coords: vec![],
    }
}

fn request(sampler: &str, steps: Option<usize>, samples: usize) -> Request {
    let mut cfg = SamplerConfig::new(SamplerKind::parse(sampler).unwrap());
    if let Some(s) = steps {
        cfg.steps = s;
    }
    let mut req = Request::new(vec![query()], cfg);
    req.n_samples = samples;
    req.seed = 11;
    req.max_batch = 512;
    req
}

/// Per-element mean within 5 standard errors (std/√M) plus `bias_mean`·std, and the pooled variance ratio
/// within 5 standard errors √(2/((M−1)·n)) plus `bias_var`. The biases bound each sampler's
/// discretization error; `ode` selects the deterministic-flow target (see `Analytic::target`).
#[allow(clippy::too_many_arguments)]
fn assert_matches(
    name: &str,
    truth: &Analytic,
    q: &Query,
    ode: bool,
    (mean, std): (&[f32], &[f32]),
    m: usize,
    bias_mean: f64,
    bias_var: f64,
) {
    let (want, sd) = truth.target(q, ode);
    let n = truth.len();
    let mut ratio = 0.0;
    for e in 0..n {
        let tol = 5.0 * sd[e] / (m as f64).sqrt() + bias_mean * sd[e];
        assert!(
            (mean[e] as f64 - want[e]).abs() < tol,
            "{name}: element {e}: mean {} vs {}",
            mean[e],
            want[e]
        );
        ratio += (std[e] as f64 / sd[e]).powi(2) / n as f64;
    }
    let se = (2.0 / ((m - 1) * n) as f64).sqrt();
    assert!(
        (ratio - 1.0).abs() < 5.0 * se + bias_var,
        "{name}: variance ratio {ratio} (se {se})"
    );
}

fn is_ode(name: &str) -> bool {
    matches!(name, "ode-euler" | "heun" | "dpmpp-2m")
}

#[test]
fn every_sampler_reproduces_the_known_distribution() {
    let model = load("analytic_score.onnx");
    let truth = Analytic::new("analytic_score.onnx");
    // (sampler, steps, mean allowance, variance allowance), in units of the std. Langevin correctors
    // inflate the variance by ≈ snr² plus the spread of per-sample norms, large at n = 24 (measured
    // 1.21; at n = 256 it is 1.04, see samplers/tests.rs). EDM's churn sits between the SDE and ODE
    // targets: it is checked against the SDE target with a mean allowance for the ODE part's prior offset.
    let cases = [
        ("em", None, 0.02, 0.04),
        ("reverse-diffusion", None, 0.02, 0.04),
        ("ancestral", None, 0.02, 0.04),
        ("pc", Some(500), 0.02, 0.3),
        ("pc-em", Some(500), 0.02, 0.3),
        ("pc-ancestral", Some(500), 0.02, 0.3),
        ("ode-euler", Some(200), 0.04, 0.04),
        ("heun", None, 0.04, 0.04),
        ("edm", Some(40), 0.2, 0.06),
        ("dpmpp-2m", Some(40), 0.02, 0.04),
    ];
    let m = 1000;
    for (name, steps, bias_mean, bias_var) in cases {
        let req = request(name, steps, m);
        let p = model.predict(&req, None).unwrap();
        assert_eq!(p.nfe, req.sampler.nfe());
        assert_eq!(p.network_calls, p.nfe * m.div_ceil(req.max_batch));
        let fields = (flat(&p.mean), flat(p.std.as_ref().unwrap()));
        assert_matches(
            name,
            &truth,
            &query(),
            is_ode(name),
            fields,
            m,
            bias_mean,
            bias_var,
        );
    }
}

#[test]
fn ode_samplers_land_on_the_exact_flow_of_each_sample() {
    let model = load("analytic_score.onnx");
    let truth = Analytic::new("analytic_score.onnx");
    let n = truth.len();
    for (name, steps, tol) in [
        ("heun", 40, 0.02),
        ("dpmpp-2m", 40, 0.02),
        ("heun", 200, 1e-3),
    ] {
        let mut req = request(name, Some(steps), 8);
        req.keep_samples = true;
        let p = model.predict(&req, None).unwrap();
        let samples = p.samples.unwrap();
        assert_eq!(
            samples.shape(),
            &[1, 8, 2, 3, 4],
            "[queries, samples, *shape]"
        );
        let samples = flat(&samples);
        for j in 0..8 {
            let mut xi = vec![0f32; n];
            NoiseStream::new(req.seed, j as u64).fill_normal(&mut xi);
            let want = truth.flow_u(&query(), &xi);
            for e in 0..n {
                let got = samples[j * n + e] as f64;
                assert!(
                    (got - want[e]).abs() < tol,
                    "{name}/{steps}: sample {j} element {e}: {got} vs {}",
                    want[e]
                );
            }
        }
    }
}

#[test]
fn score_eps_and_x0_models_agree() {
    let req = request("heun", Some(30), 4);
    let base = load("analytic_score.onnx").predict(&req, None).unwrap();
    for name in ["analytic_eps.onnx", "analytic_x0.onnx"] {
        let p = load(name).predict(&req, None).unwrap();
        for (a, b) in base.mean.iter().zip(&p.mean) {
            assert!((a - b).abs() < 1e-3, "{name}: {a} vs {b}");
        }
    }
}

#[test]
fn fp16_continuous_and_coords_models() {
    // float16 I/O: the same distribution; fp16 rounding (≈ 5e-4 relative) is far inside the tolerances.
    let fp16 = load("analytic_fp16.onnx");
    let truth = Analytic::new("analytic_fp16.onnx");
    let p = fp16.predict(&request("heun", None, 1000), None).unwrap();
    assert_matches(
        "fp16",
        &truth,
        &query(),
        true,
        (flat(&p.mean), flat(p.std.as_ref().unwrap())),
        1000,
        0.04,
        0.04,
    );

    let cont = load("analytic_continuous.onnx");
    let truth = Analytic::new("analytic_continuous.onnx");
    let q = Query {
        params: vec![0.8, 0.2],
        fidelity: FidelityValue::Value(1.7),
        coords: vec![],
    };
    let mut req = request("heun", None, 1000);
    req.queries = vec![q.clone()];
    let p = cont.predict(&req, None).unwrap();
    assert_matches(
        "continuous",
        &truth,
        &q,
        true,
        (flat(&p.mean), flat(p.std.as_ref().unwrap())),
        1000,
        0.04,
        0.04,
    );

    let coords = load("analytic_coords.onnx");
    let truth = Analytic::new("analytic_coords.onnx");
    let times = [0.0, 1.5, 3.0];
    let mut req = request("heun", None, 500);
    req.queries.clear();
    let p = coords
        .predict_coords(&[0.1, 0.9], FidelityValue::Level(1), &times, &req, None)
        .unwrap();
    assert_eq!(
        p.mean.len(),
        times.len() * truth.len(),
        "slices are stacked as [T, *shape]"
    );
    for (k, &t) in times.iter().enumerate() {
        let q = Query {
            params: vec![0.1, 0.9],
            fidelity: FidelityValue::Level(1),
            coords: vec![t],
        };
        let r = k * truth.len()..(k + 1) * truth.len();
        let fields = (&flat(&p.mean)[r.clone()], &flat(p.std.as_ref().unwrap())[r]);
        assert_matches("coords", &truth, &q, true, fields, 500, 0.04, 0.04);
    }
}

#[test]
fn results_do_not_depend_on_batching_or_threads() {
    let model = load("analytic_score.onnx");
    for sampler in ["pc", "heun", "edm"] {
        let mut req = request(sampler, Some(20), 6);
        req.queries.push(Query {
            params: vec![0.9, 0.9],
            fidelity: FidelityValue::Level(0),
            coords: vec![],
        });
        req.keep_samples = true;
        let reference = model.predict(&req, None).unwrap();
        for max_batch in [1, 5, 7, 64] {
            req.max_batch = max_batch;
            let p = model.predict(&req, None).unwrap();
            assert_eq!(
                p.samples, reference.samples,
                "{sampler}, max_batch {max_batch}"
            );
            assert_eq!(p.mean, reference.mean);
            assert_eq!(p.std, reference.std);
        }
        // Other intra-op thread counts (separate models, same runtime).
        for threads in [1, 2] {
            let opts = SessionOptions {
                intra_threads: threads,
                ..Default::default()
            };
            let m = Model::load(models_dir().join("analytic_score.onnx"), &opts).unwrap();
            assert_eq!(
                m.predict(&req, None).unwrap().samples,
                reference.samples,
                "{sampler}, {threads} threads"
            );
        }
        // Many host threads sharing the model: each borrows its own pooled session.
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| model.predict(&req, None).unwrap()))
                .collect();
            for h in handles {
                assert_eq!(
                    h.join().unwrap().samples,
                    reference.samples,
                    "{sampler}, host threads"
                );
            }
        });
    }
}

#[test]
fn loads_from_memory() {
    let bytes = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let m = Model::from_bytes(&bytes, &SessionOptions::default()).unwrap();
    assert_eq!(m.source(), "<memory>");
    assert_eq!(m.contract().shape, vec![2, 3, 4]);
    let req = request("heun", Some(10), 2);
    assert_eq!(
        m.predict(&req, None).unwrap().mean,
        load("analytic_score.onnx")
            .predict(&req, None)
            .unwrap()
            .mean
    );
}

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
        ("missing_sigma", ErrorKind::Contract, "no input `sigma`"),
        (
            "extra_input",
            ErrorKind::Contract,
            "unexpected model input `foo`",
        ),
        ("coords_no_meta", ErrorKind::Contract, "no dgmf.coord_names"),
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
        (Box::new(|r| r.sampler.steps = 1), "a schedule needs 2 to 100000 noise levels"),
        (Box::new(|r| r.sampler.steps = 1_000_000_000_000), "a schedule needs 2 to 100000 noise levels"),
        (Box::new(|r| r.sampler.steps = usize::MAX), "a schedule needs 2 to 100000 noise levels"),
        (
            Box::new(|r| {
                r.sampler = dgmf::SamplerConfig::new(dgmf::SamplerKind::Pc(dgmf::samplers::Predictor::ReverseDiffusion));
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

/// `bytes` with one more `metadata_props` entry (ModelProto field 14) appended: repeated protobuf fields
/// append, so this is how a file with a duplicate or non-UTF-8 entry looks.
fn with_metadata(bytes: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut entry = vec![0x0a, key.len() as u8];
    entry.extend_from_slice(key);
    entry.extend([0x12, value.len() as u8]);
    entry.extend_from_slice(value);
    let mut out = bytes.to_vec();
    out.extend([0x72, entry.len() as u8]);
    out.extend(entry);
    out
}

#[test]
fn metadata_is_never_silently_dropped() {
    let bytes = std::fs::read(models_dir().join("analytic_score.onnx")).unwrap();
    let opts = SessionOptions::default();
    // Appending a valid new entry keeps the model loadable (the helper is right)...
    Model::from_bytes(&with_metadata(&bytes, b"dgmf.note", b"x"), &opts).unwrap();
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

fn load_bad(name: &str) -> Model {
    Model::load(
        models_dir().join("bad").join(name),
        &SessionOptions::default(),
    )
    .unwrap()
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

/// A result array as the row-major buffer it is.
fn flat(a: &dgmf::ndarray::ArrayD<f32>) -> &[f32] {
    a.as_slice().expect("results are in standard layout")
}

#[test]
fn queries_from_arrays_and_results_as_arrays() {
    use dgmf::ndarray::array;
    let model = load("analytic_score.onnx");
    let params = array![[0.3, -0.6], [0.1, 0.2], [0.9, 0.9]];
    let fidelity = [
        FidelityValue::Level(2),
        FidelityValue::Level(0),
        FidelityValue::Level(1),
    ];
    let mut req = Request::from_arrays(
        params.view(),
        &fidelity,
        None,
        request("heun", Some(8), 1).sampler,
    )
    .unwrap();
    req.n_samples = 4;
    req.keep_samples = true;
    let p = model.predict(&req, None).unwrap();
    assert_eq!(p.mean.shape(), &[3, 2, 3, 4]);
    assert_eq!(p.std.as_ref().unwrap().shape(), &[3, 2, 3, 4]);
    assert_eq!(p.samples.as_ref().unwrap().shape(), &[3, 4, 2, 3, 4]);
    // The same queries built by hand give the same result.
    let by_hand: Vec<Query> = (0..3)
        .map(|i| Query {
            params: params.row(i).to_vec(),
            fidelity: fidelity[i],
            coords: vec![],
        })
        .collect();
    let mut req2 = req.clone();
    req2.queries = by_hand;
    assert_eq!(model.predict(&req2, None).unwrap().mean, p.mean);
    // One fidelity broadcasts; row counts must agree.
    assert_eq!(
        Query::rows(params.view(), &[FidelityValue::Level(1)], None)
            .unwrap()
            .len(),
        3
    );
    let e = Query::rows(params.view(), &fidelity[..2], None).unwrap_err();
    assert!(
        e.message()
            .contains("2 fidelity values for 3 parameter rows"),
        "{e}"
    );
    let coords = array![[0.5], [1.0]];
    let e = Query::rows(params.view(), &fidelity, Some(coords.view())).unwrap_err();
    assert!(
        e.message()
            .contains("2 coordinate rows for 3 parameter rows"),
        "{e}"
    );
}
