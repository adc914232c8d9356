//! The walk over a model's graphs, nodes, attributes and functions that finds every tensor that could
//! store its data outside the file, and the quantization operators (see the parent module for why).

use prost::bytes::Buf;
use prost::encoding::{bytes as pb_bytes, int64, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use super::QUANT_OPS;

/// The first external-data finding of a walk: the reason, then the places from the tensor outwards.
#[derive(Debug, Default)]
pub(super) struct Found {
    path: Option<Vec<String>>,
}

impl Found {
    fn reason(&mut self, why: impl FnOnce() -> String) {
        if self.path.is_none() {
            self.path = Some(vec![why()]);
        }
    }

    /// Adopts a child's finding (if this message has none yet), adding the child's place.
    pub(super) fn adopt(&mut self, child: Found, place: impl FnOnce() -> String) {
        if let (None, Some(mut path)) = (&self.path, child.path) {
            path.push(place());
            self.path = Some(path);
        }
    }

    pub(super) fn describe(self) -> Option<String> {
        self.path
            .map(|p| format!("{} in {}", p[0], p[1..].join(" of ")))
    }
}

/// The protobuf messages that can (transitively) hold tensors, and what they hold (onnx.proto, IR 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Kind {
    #[default]
    Graph,
    Function,
    TrainingInfo,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
}

impl Kind {
    /// The message kind held by `field` of this kind, with how to describe the place.
    fn child(self, field: u32) -> Option<(Kind, &'static str)> {
        use Kind::*;
        Some(match (self, field) {
            (Graph, 1) | (Function, 7) => (Node, "node"),
            (Graph, 5) => (Tensor, "initializer"),
            (Graph, 15) => (SparseTensor, "sparse initializer"),
            (Function, 11) => (Attribute, "default attribute"),
            (TrainingInfo, 1) => (Graph, "training initialization graph"),
            (TrainingInfo, 2) => (Graph, "training algorithm graph"),
            (Node, 5) => (Attribute, "attribute"),
            (Attribute, 5 | 10) => (Tensor, "tensor"),
            (Attribute, 6 | 11) => (Graph, "subgraph"),
            (Attribute, 22 | 23) => (SparseTensor, "sparse tensor"),
            (SparseTensor, 1) => (Tensor, "values"),
            (SparseTensor, 2) => (Tensor, "indices"),
            _ => return None,
        })
    }
}

/// TensorProto fields: its name, and the two that point outside the file.
const TENSOR_NAME: u32 = 8;
const TENSOR_EXTERNAL_DATA: u32 = 13;
const TENSOR_DATA_LOCATION: u32 = 14;
/// The `name` field of the messages that have one, for messages that say where a tensor is.
fn name_field(kind: Kind) -> Option<u32> {
    match kind {
        Kind::Graph => Some(2),
        Kind::Node => Some(3),
        Kind::Attribute | Kind::Function => Some(1),
        Kind::Tensor => Some(TENSOR_NAME),
        Kind::TrainingInfo | Kind::SparseTensor => None,
    }
}

/// NodeProto's `op_type` field.
const NODE_OP_TYPE: u32 = 4;

/// A decode-only visitor over one message of `kind`: it keeps the message's name, the first
/// external-data finding below it and whether a quantization operator is below it, and skips
/// everything else.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub(super) kind: Kind,
    pub(super) name: Vec<u8>,
    pub(super) found: Found,
    pub(super) quantized: bool,
}

impl Scan {
    pub(super) fn new(kind: Kind) -> Self {
        Scan {
            kind,
            ..Default::default()
        }
    }

    pub(super) fn label(&self, what: &str) -> String {
        if self.name.is_empty() {
            what.to_string()
        } else {
            format!(
                "{what} `{}`",
                crate::error::printable(&String::from_utf8_lossy(&self.name))
            )
        }
    }
}

impl Message for Scan {
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> std::result::Result<(), DecodeError> {
        if Some(tag) == name_field(self.kind) && wire_type == WireType::LengthDelimited {
            return pb_bytes::merge(wire_type, &mut self.name, buf, ctx);
        }
        if self.kind == Kind::Node && tag == NODE_OP_TYPE && wire_type == WireType::LengthDelimited
        {
            let mut op = Vec::new();
            pb_bytes::merge(wire_type, &mut op, buf, ctx)?;
            self.quantized |= QUANT_OPS.iter().any(|q| q.as_bytes() == op.as_slice());
            return Ok(());
        }
        if self.kind == Kind::Tensor && tag == TENSOR_EXTERNAL_DATA {
            self.found.reason(|| "external_data entries".into());
            return skip_field(wire_type, tag, buf, ctx);
        }
        if self.kind == Kind::Tensor && tag == TENSOR_DATA_LOCATION {
            // Anything but DEFAULT (0) is refused; so is the field in another wire type, which C++
            // protobuf would keep as an unknown field (refusing is safe).
            if wire_type != WireType::Varint {
                self.found.reason(|| "a malformed data_location".into());
                return skip_field(wire_type, tag, buf, ctx);
            }
            let mut location = 0i64;
            int64::merge(wire_type, &mut location, buf, ctx)?;
            if location != 0 {
                self.found
                    .reason(|| format!("data_location = {location} (EXTERNAL is 1)"));
            }
            return Ok(());
        }
        match self.kind.child(tag) {
            Some((kind, what)) => {
                let mut child = Scan::new(kind);
                message::merge(wire_type, &mut child, buf, ctx)?;
                let place = child.label(what);
                self.quantized |= child.quantized;
                self.found.adopt(child.found, || place);
                Ok(())
            }
            None => skip_field(wire_type, tag, buf, ctx),
        }
    }
    decode_only!();
}
