//! Setting one metadata entry of an ONNX file (how `dgmf calibrate` writes `dgmf.std_scale`): the
//! ModelProto's top-level fields are copied byte for byte, except the `metadata_props` entries with that key,
//! and one new entry is appended. Nothing else is re-encoded, so the graph and its weights stay exactly as
//! they were, and protobuf's rule that repeated fields may appear anywhere makes the result a valid model.

use prost::encoding::{decode_key, encode_key, encode_varint, skip_field, DecodeContext, WireType};
use prost::Message;

use super::{read_header, Entry};
use crate::error::{Error, ErrorKind, Result};

/// ModelProto.metadata_props.
const METADATA_PROPS: u32 = 14;

/// The bytes of the ONNX model `bytes` with metadata entry `key` set to `value` (replacing every entry with
/// that key). The model is checked as a load checks it first (versions, external data), so this never
/// passes on a file the engine would refuse.
pub fn set_metadata(bytes: &[u8], key: &str, value: &str) -> Result<Vec<u8>> {
    read_header(bytes)?;
    let bad =
        |e: prost::DecodeError| Error::new(ErrorKind::ModelLoad, format!("not an ONNX model: {e}"));
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len() + key.len() + value.len() + 32)
        .map_err(|_| Error::new(ErrorKind::Internal, "cannot allocate a copy of the model"))?;
    let mut rest = bytes;
    while !rest.is_empty() {
        let start = bytes.len() - rest.len();
        let (tag, wire_type) = decode_key(&mut rest).map_err(bad)?;
        let mut value_bytes = rest;
        skip_field(wire_type, tag, &mut rest, DecodeContext::default()).map_err(bad)?;
        let field = &bytes[start..bytes.len() - rest.len()];
        if tag == METADATA_PROPS && wire_type == WireType::LengthDelimited {
            // Skip the length prefix, then read the entry as the walk reads it.
            let len = prost::encoding::decode_varint(&mut value_bytes).map_err(bad)? as usize;
            let payload = value_bytes.get(..len).unwrap_or(value_bytes);
            let entry = Entry::decode(payload).map_err(bad)?;
            if entry.key == key.as_bytes() {
                continue;
            }
        }
        out.extend_from_slice(field);
    }
    let mut entry = Vec::new();
    for (number, text) in [(1, key), (2, value)] {
        encode_key(number, WireType::LengthDelimited, &mut entry);
        encode_varint(text.len() as u64, &mut entry);
        entry.extend_from_slice(text.as_bytes());
    }
    encode_key(METADATA_PROPS, WireType::LengthDelimited, &mut out);
    encode_varint(entry.len() as u64, &mut out);
    out.extend_from_slice(&entry);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/models/analytic_score.onnx"
        );
        std::fs::read(path).unwrap()
    }

    fn entries(bytes: &[u8], key: &str) -> Vec<String> {
        let h = read_header(bytes).unwrap();
        h.metadata
            .iter()
            .filter(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
            .collect()
    }

    #[test]
    fn sets_replaces_and_keeps_everything_else() {
        let original = model();
        let once = set_metadata(&original, "dgmf.std_scale", "2.5").unwrap();
        assert_eq!(entries(&once, "dgmf.std_scale"), ["2.5"]);
        let twice = set_metadata(&once, "dgmf.std_scale", "1.25,1,0.5").unwrap();
        assert_eq!(entries(&twice, "dgmf.std_scale"), ["1.25,1,0.5"]);
        // Every other byte is where it was: removing the entry gives back the original.
        let header = read_header(&original).unwrap();
        assert_eq!(
            read_header(&twice).unwrap().metadata.len(),
            header.metadata.len() + 1
        );
        assert_eq!(&twice[..original.len()], &original[..]);
        // A file the engine refuses is refused here too.
        assert!(set_metadata(b"not a model", "k", "v").is_err());
    }
}
