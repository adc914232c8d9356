//! Differential check of `dgmf::onnx_header::read_header` against full decodes of the real ONNX schema.
//!
//! `read_header` walks the model with hand-written decode-only visitors that know where tensors live. This
//! target decodes the same bytes with prost types generated from onnx.proto itself (fuzz/build.rs; the
//! file of the pinned Python `onnx` package), and walks the result with a walk that build.rs *generates
//! from the schema's descriptors* (every field that can lead to a TensorProto, at any depth) — so a place
//! the hand-written visitors forget is not forgotten here too. Two full decodes are made:
//!
//! - **real**: onnx.proto as shipped. A tensor is external if `external_data` is non-empty or
//!   `data_location` (an int32 enum, as protobuf stores it) is set and non-zero.
//! - **lenient**: the same schema with every `string` field read as `bytes` (C++ protobuf, ONNX Runtime's
//!   parser, does not check UTF-8 in proto2; prost does) and `data_location` read as `repeated int64` (every
//!   occurrence kept, at full 64-bit width, packed or not). A tensor is external if `external_data` is
//!   non-empty or any occurrence of `data_location` is non-zero. This is the conservative reading that
//!   `read_header` implements on purpose: it refuses a model in which *any* occurrence of field 14 is
//!   non-zero as an int64, even one that a later occurrence overwrites or that protobuf truncates to 0.
//!
//! What is checked:
//!
//! (a) The real decode succeeds (then the lenient one must too, with the same ir_version, graph presence,
//!     opsets, metadata and tensor count, and `real external ⇒ lenient external`). `read_header` must
//!     refuse exactly the models it refuses on purpose after decoding — bytes 4..8 = "ORTM", no
//!     ir_version, ir_version < 1, no graph, a negative opset version, checked in that order with the
//!     reason in the message — and accept every other one, with the same ir_version, opsets (domain as
//!     lossy UTF-8) and metadata entries (raw bytes, in file order), and
//!     `external_data.is_some() == lenient external` *exactly*: never missing a tensor that protobuf sees
//!     as external (safety), never refusing a clean model except for the conservative reading above
//!     (precision).
//!
//! (b) The real decode fails. prost's generated code is stricter than C++ protobuf: it rejects a known
//!     field sent with another wire type (C++ keeps it as an unknown field) and a non-UTF-8 `string` (C++
//!     accepts it in proto2), and `read_header`'s visitors skip both for the fields they do not read. So
//!     `read_header` may accept or refuse such bytes, and nothing is asserted about acceptance itself. But:
//!     - if the lenient decode succeeds (the real one failed only on UTF-8, or on a packed
//!       `data_location`), everything in (a) is asserted against the lenient decode, except that
//!       `read_header` may also refuse a model as external whose only extra finding is a `data_location`
//!       in another wire type ("a malformed data_location", refused on purpose);
//!     - if both fail (a wire-type mismatch somewhere), no full decode exists to compare with. Then, when
//!       `read_header` accepts the model as clean, neither decoder's error may lie at or inside a
//!       TensorProto's `external_data` (13) or `data_location` (14) field: the decoder had reached a tensor
//!       field that points outside the file along a path of messages it had decoded, so the visitors must
//!       have reached it too, and they refuse on any field 13 and on any non-varint or non-zero field 14.
//!
//! What is NOT checked:
//! - Bytes that both full decodes reject for a reason other than a field 13/14 of a tensor: when
//!   `read_header` accepts them, whether C++ protobuf would see an external tensor *after* the point where
//!   prost stopped is not known to this target (it sees only prost's first error).
//! - Anything prost's wire reader itself does differently from C++ protobuf (keys wider than 32 bits,
//!   recursion limits, over-long varints): all three decoders here share that reader, so they agree by
//!   construction. Those cases are covered by unit tests in crates/dgmf/src/onnx_header.rs, not by this target.
//! - The place description in `external_data` (only whether it is `Some`), and `check_supported`.
#![no_main]
use dgmf::onnx_header::{read_header, OnnxHeader};
use libfuzzer_sys::fuzz_target;

/// What the generated walk found: how many tensors it visited, and whether any points outside the file.
#[derive(Debug, Default)]
pub struct Walk {
    tensors: usize,
    external: bool,
}

impl Walk {
    pub fn tensor(&mut self, entries: bool, location: bool) {
        self.tensors += 1;
        self.external |= entries || location;
    }
}

/// `data_location` as each schema stores it.
pub trait Location {
    fn external(&self) -> bool;
}

/// Real schema: `optional DataLocation` (int32, last occurrence wins).
impl Location for Option<i32> {
    fn external(&self) -> bool {
        self.is_some_and(|v| v != 0)
    }
}

/// Lenient schema: `repeated int64` (every occurrence).
impl Location for Vec<i64> {
    fn external(&self) -> bool {
        self.iter().any(|&v| v != 0)
    }
}

/// Everything compared, from one full decode.
#[derive(Debug, PartialEq)]
pub struct Full {
    ir_version: Option<i64>,
    has_graph: bool,
    opsets: Vec<(Vec<u8>, i64)>,
    metadata: Vec<(Vec<u8>, Vec<u8>)>,
    tensors: usize,
    external: bool,
}

/// A `string` (real) or `bytes` (lenient) field, unset reading as empty.
pub fn bytes<T: AsRef<[u8]>>(s: &Option<T>) -> Vec<u8> {
    s.as_ref().map(|s| s.as_ref().to_vec()).unwrap_or_default()
}

macro_rules! schema {
    ($name:ident, $dir:literal) => {
        mod $name {
            #[allow(clippy::all, dead_code)]
            pub mod pb {
                include!(concat!(env!("OUT_DIR"), "/", $dir, "/onnx.rs"));
            }
            include!(concat!(env!("OUT_DIR"), "/walk.rs"));

            pub fn decode(data: &[u8]) -> Result<crate::Full, prost::DecodeError> {
                let m = <pb::ModelProto as prost::Message>::decode(data)?;
                let mut w = crate::Walk::default();
                visit_model_proto(&m, &mut w);
                Ok(crate::Full {
                    ir_version: m.ir_version,
                    has_graph: m.graph.is_some(),
                    opsets: m
                        .opset_import
                        .iter()
                        .map(|o| (crate::bytes(&o.domain), o.version.unwrap_or(0)))
                        .collect(),
                    metadata: m
                        .metadata_props
                        .iter()
                        .map(|e| (crate::bytes(&e.key), crate::bytes(&e.value)))
                        .collect(),
                    tensors: w.tensors,
                    external: w.external,
                })
            }
        }
    };
}

schema!(real, "real");
schema!(lenient, "lenient");

/// The refusals `read_header` makes on purpose after decoding, in its order, as its message words them.
fn refused_on_purpose(data: &[u8], f: &Full) -> Option<&'static str> {
    if data.get(4..8) == Some(b"ORTM") {
        return Some(".ort format");
    }
    match f.ir_version {
        None => return Some("no ir_version"),
        Some(v) if v < 1 => return Some("ir_version"),
        Some(_) => {}
    }
    if !f.has_graph {
        return Some("no graph");
    }
    if f.opsets.iter().any(|&(_, v)| v < 0) {
        return Some("opset version");
    }
    None
}

/// (a) against `full`; `exact`: the real decode succeeded, so external must agree exactly.
fn check(data: &[u8], full: &Full, header: &dgmf::Result<OnnxHeader>, exact: bool) {
    let h = match (refused_on_purpose(data, full), header) {
        (Some(why), Err(e)) => {
            assert!(
                e.message().contains(why),
                "refused for `{e}`, expected `{why}`; full decode {full:?}"
            );
            return;
        }
        (Some(why), Ok(h)) => {
            panic!("read_header accepted a model it must refuse ({why}): {h:?}; full {full:?}")
        }
        (None, Err(e)) => {
            panic!("read_header refused a model that decodes in full: {e}; full {full:?}")
        }
        (None, Ok(h)) => h,
    };
    assert_eq!(Some(h.ir_version as i64), full.ir_version, "ir_version");
    let opsets: Vec<(String, u64)> = full
        .opsets
        .iter()
        .map(|(d, v)| (String::from_utf8_lossy(d).into_owned(), *v as u64))
        .collect();
    assert_eq!(h.opsets, opsets, "opsets");
    assert_eq!(h.metadata, full.metadata, "metadata");
    // Safety: a tensor that points outside the file is never let through.
    assert!(
        !full.external || h.external_data.is_some(),
        "read_header missed external data; full decode {full:?}"
    );
    // Precision: a clean model is not refused as external, except on purpose.
    if let (Some(place), false) = (&h.external_data, full.external) {
        assert!(
            !exact && place.contains("malformed data_location"),
            "read_header found external data ({place}) that the full decode does not see; full {full:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let header = read_header(data);
    match (real::decode(data), lenient::decode(data)) {
        (Ok(r), Ok(l)) => {
            assert_eq!(
                (r.ir_version, r.has_graph, &r.opsets, &r.metadata, r.tensors),
                (l.ir_version, l.has_graph, &l.opsets, &l.metadata, l.tensors),
                "the real and the lenient decode disagree"
            );
            assert!(
                !r.external || l.external,
                "lenient decode is not conservative: {r:?} {l:?}"
            );
            check(data, &l, &header, true);
        }
        (Ok(r), Err(e)) => {
            panic!("the lenient decode failed where the real one did not: {e}; {r:?}")
        }
        (Err(_), Ok(l)) => check(data, &l, &header, false),
        (Err(re), Err(le)) => {
            if let Ok(OnnxHeader {
                external_data: None,
                ..
            }) = &header
            {
                for e in [re.to_string(), le.to_string()] {
                    assert!(
                        !e.contains("TensorProto.external_data") && !e.contains("TensorProto.data_location"),
                        "read_header accepted as clean a model whose decode failed at a tensor's field 13/14: {e}"
                    );
                }
            }
        }
    }
});
