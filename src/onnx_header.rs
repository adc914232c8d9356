//! Reads the two facts ONNX Runtime needs before it can even parse a model — the IR version and the
//! opset imports — straight from the protobuf bytes. ORT's own message for a too-new model is obscure;
//! reading them first lets the engine say "IR 14 > 13, re-export with opset ≤ 26" instead.

use crate::error::{Error, ErrorKind, Result};

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
    /// Whether any tensor (initializer, attribute, subgraph, function) refers to an external data file.
    pub external_data: bool,
}

impl OnnxHeader {
    /// Default-domain opset, if imported.
    pub fn default_opset(&self) -> Option<u64> {
        self.opsets
            .iter()
            .find(|(d, _)| d.is_empty() || d == "ai.onnx")
            .map(|&(_, v)| v)
    }

    /// Rejects models newer than the runtime understands, and models that reference external data files
    /// (a model is untrusted input: its paths must never make the runtime open files), with the fix.
    pub fn check_supported(&self) -> Result<()> {
        if self.external_data {
            return Err(Error::new(
                ErrorKind::ModelLoad,
                "the model stores tensors in external data files; libdgmf loads single-file models only, so \
                 that no path inside a model is ever opened: re-export with external_data=False (torch) or \
                 onnx.save_model(model, path, save_as_external_data=False)",
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

fn not_onnx(why: &str) -> Error {
    Error::new(
        ErrorKind::ModelLoad,
        format!("the file is not a valid ONNX model ({why}); export one with torch.onnx.export or the onnx package"),
    )
}

/// A cursor over protobuf wire-format bytes.
struct Wire<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| not_onnx("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(not_onnx("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| not_onnx("a field runs past the end of the file"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Next (field number, value); length-delimited values come back as bytes, others as a varint.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Int(self.varint()?),
            1 => Value::Bytes(self.take(8)?),
            2 => {
                let n = self.varint()?;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Bytes(self.take(4)?),
            w => return Err(not_onnx(&format!("unsupported protobuf wire type {w}"))),
        };
        Ok(Some((key >> 3, value)))
    }
}

enum Value<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

/// Parses the ModelProto fields 1 (ir_version) and 8 (opset_import), skipping the rest.
pub fn read_header(bytes: &[u8]) -> Result<OnnxHeader> {
    let mut wire = Wire { bytes, pos: 0 };
    let mut ir_version = None;
    let mut opsets = Vec::new();
    let mut has_graph = false;
    let mut external_data = false;
    while let Some((field, value)) = wire.field()? {
        match (field, value) {
            (1, Value::Int(v)) => ir_version = Some(v),
            (7, Value::Bytes(g)) => {
                has_graph = true;
                external_data |= scan(g, Message::Graph, 0)?;
            }
            (8, Value::Bytes(b)) => opsets.push(read_opset(b)?),
            (25, Value::Bytes(f)) => external_data |= scan(f, Message::Function, 0)?,
            (1 | 7 | 8 | 25, _) => return Err(not_onnx("a header field has the wrong wire type")),
            _ => {}
        }
    }
    let ir_version = ir_version.ok_or_else(|| not_onnx("no ir_version"))?;
    if !has_graph {
        return Err(not_onnx("no graph"));
    }
    Ok(OnnxHeader {
        ir_version,
        opsets,
        external_data,
    })
}

/// The protobuf messages that can (transitively) hold tensors.
#[derive(Clone, Copy)]
enum Message {
    Graph,
    Function,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
}

/// Subgraphs nest; real models stay far below this, hostile ones do not get to exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Whether a message refers to external data: a TensorProto with data_location = EXTERNAL (field 14 = 1)
/// or external_data entries (field 13), anywhere below `bytes`.
fn scan(bytes: &[u8], kind: Message, depth: usize) -> Result<bool> {
    if depth > MAX_DEPTH {
        return Err(not_onnx("subgraphs nested deeper than 64 levels"));
    }
    let mut wire = Wire { bytes, pos: 0 };
    let mut found = false;
    while let Some((field, value)) = wire.field()? {
        // Which fields hold which messages (onnx.proto, IR version 10).
        let child = match (kind, field) {
            (Message::Graph, 1) | (Message::Function, 7) => Some(Message::Node),
            (Message::Graph, 5) => Some(Message::Tensor),
            (Message::Graph, 15) => Some(Message::SparseTensor),
            (Message::Node, 5) => Some(Message::Attribute),
            (Message::Attribute, 5 | 10) => Some(Message::Tensor),
            (Message::Attribute, 6 | 11) => Some(Message::Graph),
            (Message::Attribute, 22 | 23) => Some(Message::SparseTensor),
            (Message::SparseTensor, 1 | 2) => Some(Message::Tensor),
            (Message::Tensor, 13) => return Ok(true),
            (Message::Tensor, 14) => {
                if matches!(value, Value::Int(1)) {
                    return Ok(true);
                }
                None
            }
            _ => None,
        };
        if let (Some(child), Value::Bytes(b)) = (child, value) {
            found |= scan(b, child, depth + 1)?;
        }
    }
    Ok(found)
}

fn read_opset(bytes: &[u8]) -> Result<(String, u64)> {
    let mut wire = Wire { bytes, pos: 0 };
    let (mut domain, mut version) = (String::new(), 0);
    while let Some((field, value)) = wire.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => domain = String::from_utf8_lossy(b).into_owned(),
            (2, Value::Int(v)) => version = v,
            _ => {}
        }
    }
    Ok((domain, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn model(ir: u64, opset: u64) -> Vec<u8> {
        let mut opset_msg = vec![0x0a, 0x00, 0x10];
        varint(opset, &mut opset_msg);
        let mut m = vec![0x08];
        varint(ir, &mut m);
        m.extend([0x12, 0x03, b'a', b'b', b'c']); // producer_name, skipped
        m.extend([0x3a, 0x00]); // empty graph
        m.push(0x42);
        varint(opset_msg.len() as u64, &mut m);
        m.extend(opset_msg);
        m
    }

    #[test]
    fn reads_ir_and_opset() {
        let h = read_header(&model(10, 17)).unwrap();
        assert_eq!(
            h,
            OnnxHeader {
                ir_version: 10,
                opsets: vec![(String::new(), 17)],
                external_data: false,
            }
        );
        assert_eq!(h.default_opset(), Some(17));
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
        ] {
            assert_eq!(read_header(bytes).unwrap_err().kind(), ErrorKind::ModelLoad);
        }
        let mut truncated = model(10, 17);
        truncated.truncate(truncated.len() - 2);
        assert!(read_header(&truncated).is_err());
    }
}
