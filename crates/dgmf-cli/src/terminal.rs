//! What the tool prints: one escaped line at a time, so that nothing a model or a file contains can act on
//! the user's terminal (`dgmf::error::printable` is the rule), and JSON that is safe to print.

use dgmf::Error;

/// `s` safe to print on a terminal (the library's one rule, `dgmf::error::printable`): controls, DEL, C1
/// controls and the bidi controls become visible `\u{..}` escapes.
pub(crate) fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    dgmf::error::printable(s)
}

/// A multi-line message (clap's usage errors) as one printable line: the lines are joined, then controls are
/// escaped.
pub(crate) fn error_line(message: &str) -> String {
    let mut line = String::new();
    // Indented lines after one ending in ':' are a list ("Tried:" and each path): joined with ", ".
    let mut in_list = false;
    for raw in message.lines() {
        let part = raw.trim();
        if part.is_empty() {
            continue;
        }
        let indented = raw.starts_with(char::is_whitespace);
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') {
                " "
            } else if indented && in_list {
                ", "
            } else {
                "; "
            });
        }
        in_list = part.ends_with(':') || (indented && in_list);
        line.push_str(part);
    }
    escape_controls(&line).into_owned()
}

/// Standard output for results: each line is written with controls escaped, and a failed write (a closed
/// pipe, a full disk) is an error rather than a panic.
/// The error of a write to a standard output whose reader has gone (`dgmf info M | grep -q x`, `| head`):
/// the reader has what it wanted, so `main` ends quietly with success, as Unix filters do.
pub(crate) const READER_CLOSED: &str = "standard output was closed by its reader";

pub(crate) struct Out(std::io::StdoutLock<'static>);

impl Out {
    pub(crate) fn new() -> Self {
        Out(std::io::stdout().lock())
    }
    pub(crate) fn line(&mut self, text: &str) -> Result<(), Error> {
        use std::io::Write;
        writeln!(self.0, "{}", escape_controls(text))
            .and_then(|()| self.0.flush())
            .map_err(|e| {
                let message = if e.kind() == std::io::ErrorKind::BrokenPipe {
                    READER_CLOSED.to_string()
                } else {
                    format!("cannot write to standard output: {e}")
                };
                Error::new(dgmf::ErrorKind::Io, message)
            })
    }
}

/// `say!(out, "format", args...)`: one escaped line on standard output; returns from the function on a
/// write error.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        $out.line(&format!($($arg)*))?
    };
}

/// A JSON document as text that is safe to print: serde_json escapes C0 controls; the other characters
/// that act on a terminal (DEL, C1, line separators, bidi controls — `dgmf::error::is_unsafe_char`) can only
/// stand inside strings, where `\uXXXX` is their JSON escape.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if dgmf::error::is_unsafe_char(ch) {
            out.push_str(&format!("\\u{:04x}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_text_is_kept() {
        assert!(matches!(
            escape_controls("plain, ünïcode ✓"),
            std::borrow::Cow::Borrowed(_)
        ));
        for (raw, shown) in [
            ("\x1b[31mred", "\\u{1b}[31mred"),
            ("a\0b\tc\nd\re", "a\\u{0}b\\u{9}c\\u{a}d\\u{d}e"),
            ("del\x7f", "del\\u{7f}"),
            (
                "csi\u{9b}2J \u{80} \u{9f} \u{a0}",
                "csi\\u{9b}2J \\u{80} \\u{9f} \u{a0}",
            ),
            (
                "\u{202a}\u{202e}\u{2066}\u{2069}\u{2029}",
                "\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{2029}",
            ),
        ] {
            assert_eq!(escape_controls(raw), shown, "{raw:?}");
        }
        assert_eq!(
            json_text(&serde_json::json!("\x1b\u{9b}\u{202e}\x7f\"\\é")),
            "\"\\u001b\\u009b\\u202e\\u007f\\\"\\\\é\""
        );
    }

    #[test]
    fn error_messages_become_one_line() {
        assert_eq!(
            error_line("could not be loaded. Tried:\n  /a (env): not found\n  /b (project): bad\nTo fix: run x"),
            "could not be loaded. Tried: /a (env): not found, /b (project): bad; To fix: run x"
        );
        assert_eq!(
            error_line("name `a\x1b[2J`\nfake line"),
            "name `a\\u{1b}[2J`; fake line"
        );
    }
}
