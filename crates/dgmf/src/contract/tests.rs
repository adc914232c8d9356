use super::*;

fn meta() -> BTreeMap<String, String> {
    [
        ("dgmf.contract", "1"),
        ("dgmf.sde", "ve"),
        ("dgmf.sigma_min", "0.01"),
        ("dgmf.sigma_max", "10"),
        ("dgmf.output", "score"),
        ("dgmf.shape", "2,3,4"),
        ("dgmf.param_names", "a,b"),
        ("dgmf.param_min", "0,-1"),
        ("dgmf.param_max", "1,1"),
        ("dgmf.fidelity", "discrete:3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn spec(name: &str, dims: &[i64]) -> TensorSpec {
    TensorSpec {
        name: name.into(),
        elem: Ok(ElemType::F32),
        dims: Some(dims.to_vec()),
    }
}

fn inputs() -> Vec<TensorSpec> {
    vec![
        spec("z", &[-1, 2, 3, 4]),
        spec("sigma", &[-1]),
        spec("params", &[-1, 2]),
        spec("fidelity", &[-1, 3]),
    ]
}

fn outputs() -> Vec<TensorSpec> {
    vec![spec("out", &[-1, 2, 3, 4])]
}

fn err(meta: &BTreeMap<String, String>, inputs: &[TensorSpec], outputs: &[TensorSpec]) -> String {
    Contract::from_parts(meta, inputs, outputs)
        .unwrap_err()
        .message()
        .to_string()
}

#[test]
fn accepts_a_valid_model() {
    let c = Contract::from_parts(&meta(), &inputs(), &outputs()).unwrap();
    assert_eq!(c.shape, vec![2, 3, 4]);
    assert_eq!(c.sample_len(), 24);
    assert_eq!(c.channel_len(), 12);
    assert_eq!(
        c.fidelity,
        Fidelity::Discrete {
            levels: 3,
            labels: None
        }
    );
    assert_eq!(c.data_shift, vec![0.0]);
    assert_eq!(c.data_scale, vec![1.0]);
    assert_eq!(
        c.params[1],
        Variable {
            name: "b".into(),
            min: -1.0,
            max: 1.0
        }
    );
}

#[test]
fn names_each_broken_key() {
    let cases: [(&str, Option<&str>, &str); 10] = [
        ("dgmf.contract", None, "`dgmf.contract` is missing"),
        ("dgmf.contract", Some("2"), "implements contract version 1"),
        ("dgmf.sde", Some("vp"), "only the variance-exploding"),
        (
            "dgmf.sigma_min",
            Some("abc"),
            "dgmf.sigma_min: `abc` is not a finite",
        ),
        (
            "dgmf.sigma_min",
            Some("20"),
            "need 0 < sigma_min < sigma_max",
        ),
        ("dgmf.output", Some("velocity"), "dgmf.output is `velocity`"),
        ("dgmf.shape", Some("2,0"), "dgmf.shape is `2,0`"),
        ("dgmf.param_min", Some("0"), "must have equal length"),
        (
            "dgmf.fidelity",
            Some("ordinal:3"),
            "dgmf.fidelity is `ordinal:3`",
        ),
        (
            "dgmf.data_shift",
            Some("1,2,3"),
            "dgmf.data_shift has 3 entries",
        ),
    ];
    for (key, value, want) in cases {
        let mut m = meta();
        match value {
            Some(v) => m.insert(key.into(), v.into()),
            None => m.remove(key),
        };
        let e = err(&m, &inputs(), &outputs());
        assert!(e.contains(want), "{key}={value:?}: got `{e}`");
    }
}

#[test]
fn checks_the_graph_signature() {
    let m = meta();
    let mut extra = inputs();
    extra.push(spec("foo", &[-1, 1]));
    assert!(err(&m, &extra, &outputs()).contains("unexpected model input `foo`"));
    let missing: Vec<_> = inputs().into_iter().filter(|i| i.name != "sigma").collect();
    assert!(err(&m, &missing, &outputs()).contains("no input `sigma`"));
    let mut wrong = inputs();
    wrong[0] = spec("z", &[-1, 2, 3, 5]);
    assert!(err(&m, &wrong, &outputs()).contains("`z` has dims [batch, 2, 3, 5]"));
    wrong[0] = spec("z", &[-1, 24]);
    assert!(err(&m, &wrong, &outputs()).contains("`z` has rank 2"));
    wrong[0] = spec("z", &[1, 2, 3, 4]);
    assert!(err(&m, &wrong, &outputs()).contains("fixed batch dimension"));
    let mut p = inputs();
    p[2] = spec("params", &[-1, 3]);
    assert!(err(&m, &p, &outputs()).contains("dgmf.param_names"));
    let mut int = inputs();
    int[2].elem = Err("int64".into());
    assert!(err(&m, &int, &outputs()).contains("element type int64"));
    let two = vec![outputs()[0].clone(), spec("aux", &[-1, 1])];
    assert!(err(&m, &inputs(), &two).contains("2 outputs"));
    let mut coords = inputs();
    coords.push(spec("coords", &[-1, 1]));
    assert!(err(&m, &coords, &outputs()).contains("no dgmf.coord_names"));
    let mut mc = meta();
    mc.insert("dgmf.coord_names".into(), "t".into());
    mc.insert("dgmf.coord_min".into(), "0".into());
    mc.insert("dgmf.coord_max".into(), "3".into());
    assert!(err(&mc, &inputs(), &outputs()).contains("no `coords` input"));
    let c = Contract::from_parts(&mc, &coords, &outputs()).unwrap();
    assert_eq!(c.coords.len(), 1);
}

#[test]
fn continuous_fidelity_and_affine() {
    let mut m = meta();
    m.insert("dgmf.fidelity".into(), "continuous:0.5:4".into());
    m.insert("dgmf.data_shift".into(), "1,-2".into());
    m.insert("dgmf.data_scale".into(), "2".into());
    let mut i = inputs();
    i[3] = spec("fidelity", &[-1, 1]);
    let c = Contract::from_parts(&m, &i, &outputs()).unwrap();
    assert_eq!(c.fidelity, Fidelity::Continuous { lo: 0.5, hi: 4.0 });
    assert_eq!(c.data_shift, vec![1.0, -2.0]);
    assert_eq!(c.data_scale, vec![2.0]);
    m.insert("dgmf.fidelity_labels".into(), "x".into());
    m.insert("dgmf.fidelity".into(), "discrete:3".into());
    assert!(err(&m, &inputs(), &outputs()).contains("1 labels"));
}

#[test]
fn a_recommended_sampler_is_read_and_checked() {
    let c = Contract::from_parts(&meta(), &inputs(), &outputs()).unwrap();
    assert_eq!(c.sampler, None);
    let mut m = meta();
    m.insert("dgmf.sampler".into(), "ancestral steps=6".into());
    let c = Contract::from_parts(&m, &inputs(), &outputs()).unwrap();
    let s = c.sampler.unwrap();
    assert_eq!((s.kind.name(), s.steps), ("ancestral", 6));
    m.insert("dgmf.sampler".into(), "ancestral steps=1".into());
    let e = err(&m, &inputs(), &outputs());
    assert!(
        e.starts_with("dgmf.sampler: steps = 1") && e.contains("ancestral steps=8"),
        "{e}"
    );
}
