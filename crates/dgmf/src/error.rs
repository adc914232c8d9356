//! One error type for the whole engine. Each variant maps to one C status code (see `capi`), and every
//! message names what is wrong and, where there is one, how to fix it.

use std::fmt;

/// The kind of failure, stable across releases (the C ABI exposes it as `dgmf_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A request argument is invalid (NaN parameter, level out of range, zero samples, ...).
    InvalidArgument,
    /// A caller-provided output buffer is too small.
    BufferTooSmall,
    /// The model file does not honour the dgmf model contract (missing key, shape mismatch, ...).
    Contract,
    /// The model file could not be read or parsed as ONNX.
    ModelLoad,
    /// The ONNX Runtime shared library could not be found or loaded.
    RuntimeNotFound,
    /// A requested execution provider (CUDA, TensorRT) could not be registered.
    ProviderUnavailable,
    /// The caller cancelled the run through the progress callback.
    Cancelled,
    /// ONNX Runtime reported an error while running the network.
    Inference,
    /// An I/O error outside model loading (writing outputs, reading query files).
    Io,
    /// A bug in libdgmf (a caught panic, a broken invariant).
    Internal,
}

/// An engine error: a kind plus a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error with `message` made safe to print: messages quote untrusted text (model metadata, names,
    /// ONNX Runtime's own messages about the graph), so controls are escaped and a message is one line.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.chars().any(is_unsafe_char) {
            message = printable(&message).into_owned();
        }
        Error {
            kind,
            message: bounded(message),
        }
    }
    /// The same error with `place` in front ("query 3: …", "--fidelity `x`: …"): the engine decides and
    /// words the rule, each door says where the value came from.
    pub fn context(self, place: impl fmt::Display) -> Self {
        Error::new(self.kind, format!("{place}: {}", self.message))
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }
    pub(crate) fn contract(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Contract, message)
    }
    pub(crate) fn inference(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Inference, message)
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `text` with every character that could act on a terminal or reorder what is shown — C0 and C1
/// controls, DEL, line/paragraph separators and the Unicode bidi controls — written as `\u{…}`. Model
/// files are untrusted: their strings go through this before they reach a message or a terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        if is_unsafe_char(ch) {
            out.push_str(&format!("\\u{{{:x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out.into()
}

/// The longest run of non-space characters a message shows whole, and how much of a longer one it keeps.
const MAX_RUN: usize = 256;
const RUN_HEAD: usize = 96;
const RUN_TAIL: usize = 32;

/// `message` with every run of non-space characters longer than [`MAX_RUN`] cut in its middle, so a
/// 100 KB metadata value quoted in a message neither floods a terminal or log nor hides the fix that
/// follows it; paths and numbers (far shorter) are shown whole.
fn bounded(message: String) -> String {
    if !message.split(' ').any(|w| w.chars().count() > MAX_RUN) {
        return message;
    }
    let words: Vec<String> = message
        .split(' ')
        .map(|w| {
            let n = w.chars().count();
            if n <= MAX_RUN {
                return w.to_string();
            }
            let head: String = w.chars().take(RUN_HEAD).collect();
            let tail: String = w.chars().skip(n - RUN_TAIL).collect();
            format!(
                "{head}…[{} more bytes]…{tail}",
                w.len() - head.len() - tail.len()
            )
        })
        .collect();
    words.join(" ")
}

/// Whether `ch` is a control, a line separator or a bidi control (see [`printable`]).
pub fn is_unsafe_char(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_acts_on_a_terminal() {
        assert_eq!(printable("plain σ_max 32x32"), "plain σ_max 32x32");
        assert_eq!(printable("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(printable("\u{7f}\u{9b}\n\t"), "\\u{7f}\\u{9b}\\u{a}\\u{9}");
        assert_eq!(printable("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
    }

    #[test]
    fn long_quoted_text_is_cut_in_its_middle_and_the_fix_survives() {
        let value = format!("a{}z", "é".repeat(100_000));
        let e = Error::contract(format!(
            "dgmf.shape is `{value}`; expected a list such as 1,32,32"
        ));
        let m = e.message();
        assert!(m.len() < 400, "{} bytes", m.len());
        assert!(m.starts_with("dgmf.shape is `aé"), "{m}");
        assert!(m.ends_with("éz`; expected a list such as 1,32,32"), "{m}");
        assert!(m.contains("…[199754 more bytes]…"), "{m}");
        let short = "a path /very/long/but/normal/path.npy is fine";
        assert_eq!(Error::contract(short).message(), short);
    }
}
