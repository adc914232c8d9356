//! Generates, for the `onnx_differential` fuzz target, two full decoders of the real ONNX schema and a
//! walk over every place a TensorProto can live, all derived from onnx.proto itself:
//!
//! - `$OUT_DIR/real/onnx.rs`: prost types for onnx.proto as shipped (what protobuf sees);
//! - `$OUT_DIR/lenient/onnx.rs`: the same schema with every `string` field turned into `bytes` (so invalid
//!   UTF-8 cannot fail the decode; C++ protobuf does not check UTF-8 in proto2 either) and
//!   `TensorProto.data_location` turned into `repeated int64` (every occurrence kept, at full width, in
//!   either encoding), i.e. the most conservative reading of "this tensor points outside the file";
//! - `$OUT_DIR/walk.rs`: one `visit_*` function per message type that can (transitively) contain a
//!   TensorProto, visiting every such field. It is generated from the schema's descriptors, not written
//!   by hand, so it cannot share a forgotten place with the hand-written visitors in src/onnx_header.rs.
//!
//! onnx.proto is not vendored: it is the file of the pinned Python `onnx` package (tests/requirements.txt),
//! whose path scripts/fuzz.sh exports as DGMF_ONNX_PROTO.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

const ENV: &str = "DGMF_ONNX_PROTO";
const TENSOR: &str = ".onnx.TensorProto";

fn main() {
    println!("cargo:rerun-if-env-changed={ENV}");
    println!("cargo:rerun-if-changed=build.rs");
    let proto = match env::var_os(ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "\n\n{ENV} is not set: the fuzz targets need onnx.proto from the pinned Python `onnx` package \
             (tests/requirements.txt). Run scripts/fuzz.sh (it exports it), or:\n  \
             export {ENV}=\"$(python3 -c 'import onnx,os;print(os.path.dirname(onnx.__file__))')/onnx.proto\"\n\n"
        ),
    };
    println!("cargo:rerun-if-changed={}", proto.display());
    let text = fs::read_to_string(&proto)
        .unwrap_or_else(|e| panic!("{ENV}={}: cannot read it: {e}", proto.display()));
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    let real = compile(&out.join("real"), &text);
    compile(&out.join("lenient"), &lenient(&text));
    fs::write(out.join("walk.rs"), walk(&real)).unwrap();
}

/// Writes `text` as DIR/onnx.proto, compiles it with protox and generates DIR/onnx.rs with prost-build.
fn compile(dir: &Path, text: &str) -> FileDescriptorSet {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("onnx.proto"), text).unwrap();
    let fds = protox::compile(["onnx.proto"], [dir])
        .unwrap_or_else(|e| panic!("protox cannot compile {}/onnx.proto: {e:?}", dir.display()));
    prost_build::Config::new()
        .out_dir(dir)
        .compile_fds(fds.clone())
        .unwrap_or_else(|e| panic!("prost-build failed for {}: {e}", dir.display()));
    assert!(
        dir.join("onnx.rs").exists(),
        "prost-build wrote no onnx.rs (is the package still `onnx`?)"
    );
    fds
}

/// The lenient schema: `string` → `bytes` in every field declaration; data_location → repeated int64.
fn lenient(text: &str) -> String {
    const LOCATION: &str = "optional DataLocation data_location = 14;";
    assert_eq!(
        text.matches(LOCATION).count(),
        1,
        "onnx.proto no longer declares `{LOCATION}`: update fuzz/build.rs"
    );
    let text = text.replace(LOCATION, "repeated int64 data_location = 14;");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (code, comment) = match line.find("//") {
            Some(i) => line.split_at(i),
            None => (line, ""),
        };
        // `string` as a whole token in code is always a field type (proto2 has no other use for it).
        let mut code = code.to_string();
        let mut from = 0;
        while let Some(i) = code[from..].find("string").map(|i| i + from) {
            let before = code[..i].chars().next_back();
            let after = code[i + 6..].chars().next();
            let ident =
                |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"');
            if !ident(before) && !ident(after) {
                code.replace_range(i..i + 6, "bytes");
                from = i + 5;
            } else {
                from = i + 6;
            }
        }
        out.push_str(&code);
        out.push_str(comment);
        out.push('\n');
    }
    assert!(
        !out.contains("optional string") && !out.contains("repeated string"),
        "string fields left in the lenient schema"
    );
    out
}

/// Rust path (relative to the generated module) of the message `.onnx.A.B`: `a::B`.
fn rust_type(full: &str) -> String {
    let parts: Vec<&str> = full.trim_start_matches(".onnx.").split('.').collect();
    let (last, outer) = parts.split_last().unwrap();
    let mut path: Vec<String> = outer.iter().map(|p| snake(p)).collect();
    path.push(last.to_string());
    format!("pb::{}", path.join("::"))
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit()) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn field_ident(name: &str) -> String {
    let ident = snake(name);
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
        "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override",
        "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

fn collect(prefix: &str, msgs: &[DescriptorProto], all: &mut BTreeMap<String, DescriptorProto>) {
    for m in msgs {
        let full = format!("{prefix}.{}", m.name());
        collect(&full, &m.nested_type, all);
        all.insert(full, m.clone());
    }
}

/// The walk: `visit_*` for each message that can contain a TensorProto, calling `Walk::tensor` on each.
fn walk(fds: &FileDescriptorSet) -> String {
    let mut all = BTreeMap::new();
    for f in &fds.file {
        assert_eq!(f.package(), "onnx");
        collect(".onnx", &f.message_type, &mut all);
    }
    let tensor = &all[TENSOR];
    for (number, name) in [(13, "external_data"), (14, "data_location")] {
        assert!(
            tensor
                .field
                .iter()
                .any(|f| f.number() == number && f.name() == name),
            "TensorProto field {number} is no longer `{name}`: update fuzz/build.rs"
        );
    }
    // Fixed point: the messages from which a TensorProto is reachable.
    let mut reach: BTreeSet<String> = [TENSOR.to_string()].into();
    loop {
        let before = reach.len();
        for (name, m) in &all {
            if m.field
                .iter()
                .any(|f| f.r#type() == Type::Message && reach.contains(f.type_name()))
            {
                reach.insert(name.clone());
            }
        }
        if reach.len() == before {
            break;
        }
    }
    assert!(reach.contains(".onnx.ModelProto"));
    let mut code = String::from(
        "// Generated by fuzz/build.rs from onnx.proto: every field that can lead to a TensorProto.\n",
    );
    for name in &reach {
        let m = &all[name];
        let fname = snake(&name.trim_start_matches(".onnx.").replace('.', ""));
        writeln!(
            code,
            "#[allow(unused_variables)]\npub fn visit_{fname}(m: &{}, w: &mut crate::Walk) {{",
            rust_type(name)
        )
        .unwrap();
        if name == TENSOR {
            code.push_str("    w.tensor(!m.external_data.is_empty(), crate::Location::external(&m.data_location));\n");
        }
        for f in &m.field {
            if f.r#type() != Type::Message || !reach.contains(f.type_name()) {
                continue;
            }
            assert!(
                f.oneof_index.is_none(),
                "{name}.{} is in a oneof: teach fuzz/build.rs to walk oneofs",
                f.name()
            );
            let callee = format!(
                "visit_{}",
                snake(&f.type_name().trim_start_matches(".onnx.").replace('.', ""))
            );
            let ident = field_ident(f.name());
            match f.label() {
                Label::Repeated => writeln!(code, "    for x in &m.{ident} {{ {callee}(x, w); }}"),
                _ => writeln!(
                    code,
                    "    if let Some(x) = &m.{ident} {{ {callee}(x, w); }}"
                ),
            }
            .unwrap();
        }
        code.push_str("}\n");
    }
    code
}
