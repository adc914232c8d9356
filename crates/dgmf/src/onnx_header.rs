//! What libdgmf reads from an ONNX file before ONNX Runtime sees it: the IR version and opset imports (to
//! refuse too-new models with a precise message), the metadata map (the model contract), and whether any
//! tensor anywhere in the file stores its data outside it.
//!
//! A model is untrusted input. ONNX Runtime honours a TensorProto's `data_location = EXTERNAL` and
//! `external_data` entries by opening the named file (relative to the working directory when the model
//! comes from memory) — or, with the location `*/_ORT_MEM_ADDR_/*`, by reading process memory. So every
//! place a tensor can live is visited: graph initializers, sparse initializers, node attributes (`t`,
//! `tensors`, `sparse_tensor(s)`), subgraphs (`g`, `graphs`: If/Loop/Scan bodies) at any depth, training
//! info graphs and model-local functions (their nodes and default attributes).
//!
//! The bytes are decoded with prost's wire-format decoder, not by hand, so keys, varints, lengths, groups
//! and unknown fields are read as protobuf reads them. Where prost is stricter than the C++ protobuf inside
//! ONNX Runtime (it rejects keys wider than 32 bits, which C++ truncates to their low 32 bits; a known
//! field with another wire type, which C++ skips as unknown) the model is refused: refusing is always
//! safe, and no file that protobuf reads differently from us reaches ONNX Runtime. The visitors store
//! nothing but what is asked, so a hostile file cannot make the walk allocate in proportion to its node
//! count. Nesting is bounded by prost's recursion limit (100 messages, about 33 levels of subgraphs).

use prost::bytes::Buf;
use prost::encoding::{bytes as pb_bytes, int64, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::error::{Error, ErrorKind, Result};

/// prost's `Message` for the decode-only visitors: they are never encoded.
macro_rules! decode_only {
    () => {
        fn encode_raw(&self, _buf: &mut impl prost::bytes::BufMut) {}
        fn encoded_len(&self) -> usize {
            0
        }
        fn clear(&mut self) {
            *self = Default::default();
        }
    };
}

mod scan;
use scan::{Found, Kind, Scan};

/// Newest ONNX IR version ONNX Runtime 1.31 accepts.
pub const MAX_IR_VERSION: u64 = 13;
/// Newest default-domain opset ONNX Runtime 1.31 accepts.
pub const MAX_OPSET: u64 = 26;

/// What the header of a ModelProto says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxHeader {
    pub ir_version: u64,
    /// (domain, version) pairs; the default domain is "" (or "ai.onnx").
    pub opsets: Vec<(String, u64)>,
    /// Where the first tensor stored outside the file was found (e.g. "initializer `w` of the main
    /// graph"), if any.
    pub external_data: Option<String>,
    /// The `metadata_props` entries in file order, as raw bytes (the contract decides what is valid).
    pub metadata: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether any node (at any depth) is an integer-quantization operator ([`QUANT_OPS`]): an int8
    /// model, e.g. a QDQ copy from `dgmf_train.quantize`.
    pub quantized: bool,
}

/// Operators that only appear in integer-quantized graphs (QDQ pairs and ONNX's integer kernels).
pub const QUANT_OPS: [&str; 7] = [
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
];

impl OnnxHeader {
    /// Default-domain opset, if imported.
    pub fn default_opset(&self) -> Option<u64> {
        self.opsets
            .iter()
            .find(|(d, _)| d.is_empty() || d == "ai.onnx")
            .map(|&(_, v)| v)
    }

    /// Rejects models newer than the runtime understands, and models that reference external data (a
    /// model is untrusted input: its paths must never make the runtime open files), with the fix.
    pub fn check_supported(&self) -> Result<()> {
        if let Some(place) = &self.external_data {
            return Err(Error::new(
                ErrorKind::ModelLoad,
                format!(
                    "the model stores a tensor outside the file ({place}); libdgmf loads single-file models \
                     only, so that no path inside a model is ever opened: re-export with external_data=False \
                     (torch) or onnx.save_model(model, path, save_as_external_data=False)"
                ),
            ));
        }
        if self.ir_version > MAX_IR_VERSION {
            return Err(Error::new(
                ErrorKind::ModelLoad,
                format!(
                    "the model uses ONNX IR version {}, but ONNX Runtime 1.31 accepts IR ≤ {MAX_IR_VERSION}: \
                     re-export it with an older exporter setting (e.g. torch.onnx.export(..., opset_version=17)) \
                     or lower model.ir_version with the onnx package",
                    self.ir_version
                ),
            ));
        }
        if let Some(v) = self.default_opset().filter(|&v| v > MAX_OPSET) {
            return Err(Error::new(
                ErrorKind::ModelLoad,
                format!(
                    "the model imports ONNX opset {v}, but ONNX Runtime 1.31 accepts opset ≤ {MAX_OPSET}: \
                     re-export it with opset_version ≤ {MAX_OPSET} (17–20 are well tested)"
                ),
            ));
        }
        Ok(())
    }
}

fn not_onnx(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::ModelLoad,
        format!("the file is not a valid ONNX model ({why}); export one with torch.onnx.export or the onnx package"),
    )
}

/// Decodes the ModelProto in `bytes`. Errors are `ModelLoad` and say why.
pub fn read_header(bytes: &[u8]) -> Result<OnnxHeader> {
    // ONNX Runtime takes bytes with "ORTM" at offset 4 as its own flatbuffer format, which the protobuf
    // walk cannot vouch for (libdgmf also forces the ONNX format when it creates a session).
    if bytes.get(4..8) == Some(b"ORTM") {
        return Err(Error::new(
            ErrorKind::ModelLoad,
            "the file is in ONNX Runtime's own .ort format, which libdgmf does not load: give it the .onnx \
             model the .ort file was converted from",
        ));
    }
    let mut model = ModelScan::default();
    model
        .merge(bytes)
        .map_err(|e| not_onnx(format!("protobuf: {e}")))?;
    let ir_version = match model.ir_version {
        None => return Err(not_onnx("no ir_version")),
        Some(v) if v < 1 => return Err(not_onnx(format!("ir_version {v}"))),
        Some(v) => v as u64,
    };
    if !model.has_graph {
        return Err(not_onnx("no graph"));
    }
    let mut opsets = Vec::with_capacity(model.opsets.len());
    for o in model.opsets {
        if o.version < 0 {
            return Err(not_onnx(format!("opset version {}", o.version)));
        }
        opsets.push((
            String::from_utf8_lossy(&o.domain).into_owned(),
            o.version as u64,
        ));
    }
    Ok(OnnxHeader {
        ir_version,
        opsets,
        external_data: model.found.describe(),
        quantized: model.quantized,
        metadata: model
            .metadata
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect(),
    })
}

/// OperatorSetIdProto: domain (1), version (2).
#[derive(Debug, Default)]
struct Opset {
    domain: Vec<u8>,
    version: i64,
}

/// StringStringEntryProto: key (1), value (2).
#[derive(Debug, Default)]
struct Entry {
    key: Vec<u8>,
    value: Vec<u8>,
}

/// ModelProto: ir_version (1), graph (7), opset_import (8), metadata_props (14), training_info (20),
/// functions (25).
#[derive(Debug, Default)]
struct ModelScan {
    ir_version: Option<i64>,
    has_graph: bool,
    opsets: Vec<Opset>,
    metadata: Vec<Entry>,
    found: Found,
    quantized: bool,
}

impl Message for Opset {
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> std::result::Result<(), DecodeError> {
        match tag {
            1 => pb_bytes::merge(wire_type, &mut self.domain, buf, ctx),
            2 => int64::merge(wire_type, &mut self.version, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }
    decode_only!();
}

impl Message for Entry {
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> std::result::Result<(), DecodeError> {
        match tag {
            1 => pb_bytes::merge(wire_type, &mut self.key, buf, ctx),
            2 => pb_bytes::merge(wire_type, &mut self.value, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }
    decode_only!();
}

impl Message for ModelScan {
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> std::result::Result<(), DecodeError> {
        let (kind, what) = match tag {
            1 => {
                let mut v = 0;
                int64::merge(wire_type, &mut v, buf, ctx)?;
                self.ir_version = Some(v);
                return Ok(());
            }
            8 => {
                let mut o = Opset::default();
                message::merge(wire_type, &mut o, buf, ctx)?;
                self.opsets.push(o);
                return Ok(());
            }
            14 => {
                let mut e = Entry::default();
                message::merge(wire_type, &mut e, buf, ctx)?;
                self.metadata.push(e);
                return Ok(());
            }
            7 => {
                self.has_graph = true;
                (Kind::Graph, "the main graph")
            }
            20 => (Kind::TrainingInfo, "training info"),
            25 => (Kind::Function, "function"),
            _ => return skip_field(wire_type, tag, buf, ctx),
        };
        let mut child = Scan::new(kind);
        message::merge(wire_type, &mut child, buf, ctx)?;
        let place = if kind == Kind::Graph {
            what.to_string()
        } else {
            child.label(what)
        };
        self.quantized |= child.quantized;
        self.found.adopt(child.found, || place);
        Ok(())
    }
    decode_only!();
}

mod edit;
pub use edit::set_metadata;

#[cfg(test)]
pub(crate) mod tests;
