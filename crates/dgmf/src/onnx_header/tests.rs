use super::*;
use prost::encoding::encode_varint;

pub(crate) fn varint(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    encode_varint(v, &mut out);
    out
}

/// A length-delimited field.
pub(crate) fn ld(field: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = varint(field << 3 | 2);
    out.extend(varint(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

pub(crate) fn int(field: u64, v: u64) -> Vec<u8> {
    let mut out = varint(field << 3);
    out.extend(varint(v));
    out
}

pub(crate) fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn model_with_graph(ir: u64, opset: u64, graph: &[u8]) -> Vec<u8> {
    cat(&[
        int(1, ir),
        ld(2, b"abc"), // producer_name, skipped
        ld(7, graph),
        ld(8, &cat(&[ld(1, b""), int(2, opset)])),
    ])
}

fn model(ir: u64, opset: u64) -> Vec<u8> {
    model_with_graph(ir, opset, b"")
}

fn tensor(name: &[u8], extra: &[u8]) -> Vec<u8> {
    cat(&[
        int(1, 4),
        int(2, 1),
        ld(8, name),
        ld(9, &[0; 16]),
        extra.to_vec(),
    ])
}

fn external_entry() -> Vec<u8> {
    ld(13, &cat(&[ld(1, b"location"), ld(2, b"../../etc/passwd")]))
}

/// A node whose attribute holds `inner` in attribute field `field`.
fn node_with(field: u64, inner: &[u8]) -> Vec<u8> {
    cat(&[
        ld(3, b"n"),
        ld(4, b"Constant"),
        ld(5, &cat(&[ld(1, b"value"), ld(field, inner)])),
    ])
}

#[test]
fn reads_ir_opset_and_metadata() {
    let mut bytes = model(10, 17);
    bytes.extend(ld(14, &cat(&[ld(1, b"dgmf.contract"), ld(2, b"1")])));
    bytes.extend(ld(14, &cat(&[ld(1, b"k"), ld(2, b"\xff")])));
    let h = read_header(&bytes).unwrap();
    assert_eq!(h.ir_version, 10);
    assert_eq!(h.opsets, vec![(String::new(), 17)]);
    assert_eq!(h.default_opset(), Some(17));
    assert_eq!(h.external_data, None);
    assert_eq!(
        h.metadata,
        vec![
            (b"dgmf.contract".to_vec(), b"1".to_vec()),
            (b"k".to_vec(), b"\xff".to_vec())
        ]
    );
    h.check_supported().unwrap();
}

#[test]
fn rejects_newer_models_with_the_reason() {
    let e = read_header(&model(14, 17))
        .unwrap()
        .check_supported()
        .unwrap_err();
    assert!(
        e.message().contains("IR version 14") && e.message().contains("≤ 13"),
        "{e}"
    );
    let e = read_header(&model(10, 27))
        .unwrap()
        .check_supported()
        .unwrap_err();
    assert!(
        e.message().contains("opset 27") && e.message().contains("≤ 26"),
        "{e}"
    );
}

#[test]
fn rejects_garbage_without_panicking() {
    for bytes in [
        &b"this is not an onnx model\n"[..],
        &[],
        &[0x08],
        &[0x0a, 0xff, 0xff],
        &[0xff; 20],
        &[0x00, 0x00], // field number 0
        &[0x0c],       // an end-group key with no group
    ] {
        assert_eq!(read_header(bytes).unwrap_err().kind(), ErrorKind::ModelLoad);
    }
    let mut truncated = model(10, 17);
    truncated.truncate(truncated.len() - 2);
    assert!(read_header(&truncated).is_err());
    assert!(read_header(&int(1, 10))
        .unwrap_err()
        .message()
        .contains("no graph"));
}

fn external(graph: &[u8]) -> Option<String> {
    read_header(&model_with_graph(10, 17, graph))
        .unwrap()
        .external_data
}

#[test]
fn finds_external_data_wherever_a_tensor_can_live() {
    let ext = external_entry();
    let loc = int(14, 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "initializer",
            ld(5, &tensor(b"w", &ext)),
            "external_data entries in initializer `w` of the main graph",
        ),
        (
            "data_location",
            ld(5, &tensor(b"w", &loc)),
            "data_location = 1",
        ),
        // A 64-bit varint that protobuf truncates to int32 1 (EXTERNAL).
        (
            "wide data_location",
            ld(
                5,
                &tensor(b"w", &cat(&[varint(14 << 3), varint(1 << 32 | 1)])),
            ),
            "data_location = 4294967297",
        ),
        (
            "unknown data_location",
            ld(5, &tensor(b"w", &int(14, 7))),
            "data_location = 7",
        ),
        (
            "packed data_location",
            ld(5, &tensor(b"w", &ld(14, &[1]))),
            "malformed data_location",
        ),
        (
            "sparse initializer",
            ld(15, &ld(1, &tensor(b"v", &ext))),
            "values `v` of sparse initializer",
        ),
        (
            "sparse indices",
            ld(15, &ld(2, &tensor(b"i", &loc))),
            "indices `i`",
        ),
        (
            "Constant attribute",
            ld(1, &node_with(5, &tensor(b"c", &ext))),
            "tensor `c` of attribute `value` of node `n`",
        ),
        (
            "attribute tensor list",
            ld(1, &node_with(10, &tensor(b"c", &loc))),
            "attribute `value`",
        ),
        (
            "sparse attribute",
            ld(1, &node_with(22, &ld(1, &tensor(b"s", &ext)))),
            "sparse tensor",
        ),
        (
            "sparse attribute list",
            ld(1, &node_with(23, &ld(2, &tensor(b"s", &ext)))),
            "sparse tensor",
        ),
        (
            "subgraph list",
            ld(1, &node_with(11, &ld(5, &tensor(b"g", &ext)))),
            "subgraph",
        ),
    ];
    for (what, graph, want) in cases {
        let found = external(&graph).unwrap_or_else(|| panic!("{what}: not found"));
        assert!(found.contains(want), "{what}: `{found}` lacks `{want}`");
    }
    // If/Loop/Scan bodies nest: 20 levels down.
    let mut g = ld(5, &tensor(b"deep", &ext));
    for _ in 0..20 {
        g = ld(1, &node_with(6, &g));
    }
    assert!(external(&g).unwrap().contains("initializer `deep`"));
    // A clean graph with tensors everywhere is clean.
    let clean = cat(&[
        ld(5, &tensor(b"w", &int(14, 0))),
        ld(1, &node_with(5, &tensor(b"c", b""))),
    ]);
    assert_eq!(external(&clean), None);
}

#[test]
fn finds_external_data_in_training_info_and_functions() {
    let ext = external_entry();
    let train = cat(&[
        int(1, 10),
        ld(7, b""),
        ld(20, &ld(2, &ld(5, &tensor(b"t", &ext)))),
    ]);
    let found = read_header(&train).unwrap().external_data.unwrap();
    assert!(found.contains("training algorithm graph"), "{found}");
    let func = cat(&[
        int(1, 10),
        ld(7, b""),
        ld(
            25,
            &cat(&[ld(1, b"f"), ld(7, &node_with(5, &tensor(b"k", &ext)))]),
        ),
    ]);
    let found = read_header(&func).unwrap().external_data.unwrap();
    assert!(found.contains("of function `f`"), "{found}");
    let default_attr = cat(&[
        int(1, 10),
        ld(7, b""),
        ld(25, &ld(11, &ld(5, &tensor(b"d", &ext)))),
    ]);
    assert!(read_header(&default_attr).unwrap().external_data.is_some());
    let e = read_header(&default_attr)
        .unwrap()
        .check_supported()
        .unwrap_err();
    assert!(
        e.message().contains("outside the file")
            && e.message().contains("save_as_external_data=False"),
        "{e}"
    );
}

#[test]
fn keys_are_decoded_as_protobuf_decodes_them() {
    // Field 13 (external_data) with its key in five bytes. Padded with zero bits it is still field 13
    // for protobuf, and for us.
    let entry = ld(1, b"location");
    let mut padded = vec![0x80 | (13 << 3 | 2), 0x80, 0x80, 0x80, 0x00];
    padded.extend(varint(entry.len() as u64));
    padded.extend(&entry);
    let t = ld(5, &tensor(b"w", &padded));
    assert!(external(&t).is_some());
    // Bits above 32 in the key: C++ protobuf keeps the low 32 bits (field 13 again); a 64-bit reader
    // sees field 2^29 + 13 and skips it. prost refuses the key, so the model is refused.
    let mut wide = vec![0x80 | (13 << 3 | 2), 0x80, 0x80, 0x80, 0x10];
    wide.extend(varint(entry.len() as u64));
    wide.extend(&entry);
    let e = read_header(&model_with_graph(10, 17, &ld(5, &tensor(b"w", &wide)))).unwrap_err();
    assert!(e.message().contains("protobuf"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut g = ld(5, &tensor(b"deep", b""));
    for _ in 0..200 {
        g = ld(1, &node_with(6, &g));
    }
    let e = read_header(&model_with_graph(10, 17, &g)).unwrap_err();
    assert!(e.message().contains("recursion"), "{e}");
}

#[test]
fn refuses_the_ort_format() {
    let mut bytes = vec![0x08, 0x0a, 0x12, 0x04];
    bytes.extend(b"ORTM");
    let e = read_header(&bytes).unwrap_err();
    assert!(e.message().contains(".ort format"), "{e}");
}

#[test]
fn finds_quantization_operators_at_any_depth() {
    let node = |op: &[u8]| ld(1, &cat(&[ld(3, b"n"), ld(4, op)]));
    let plain = model_with_graph(8, 17, &cat(&[node(b"Conv"), node(b"Relu")]));
    assert!(!read_header(&plain).unwrap().quantized);
    for op in QUANT_OPS {
        let g = model_with_graph(8, 17, &cat(&[node(b"Conv"), node(op.as_bytes())]));
        assert!(read_header(&g).unwrap().quantized, "{op}");
    }
    // Inside an If branch (a node's graph attribute): still found.
    let branch = node(b"DequantizeLinear");
    let if_node = ld(
        1,
        &cat(&[
            ld(4, b"If"),
            ld(5, &cat(&[ld(1, b"then_branch"), ld(6, &branch)])),
        ]),
    );
    assert!(
        read_header(&model_with_graph(8, 17, &if_node))
            .unwrap()
            .quantized
    );
    // A name that merely contains the word is not an operator.
    let named = model_with_graph(
        8,
        17,
        &ld(1, &cat(&[ld(3, b"QuantizeLinear"), ld(4, b"Conv")])),
    );
    assert!(!read_header(&named).unwrap().quantized);
}
