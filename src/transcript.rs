//! The transcript format: one connection's exchange, every byte visible
//! (shared by the tests' snapshots, the book and the `compare` binary;
//! book: appendix-compare.md).
//!
//! A transcript is a list of sections, in the order things happened on one
//! connection. Each section starts with a heading line:
//!
//! ```text
//! --> client sends (27 bytes)
//! GET / HTTP/1.1\r\n
//! Host: a\r\n
//! \r\n
//! <-- server sends (117 bytes), then closes
//! HTTP/1.1 400 Bad Request\r\n
//! Date: [date]\r\n
//! ...
//! --> client closes its sending side
//! ```
//!
//! - `--> client sends (N bytes)`: one `write` of N bytes by the client.
//! - `--> client closes its sending side`: `shutdown(Write)`, a half-close.
//! - `<-- server sends (N bytes)`: what the client read as one unit: one
//!   response (framed by Content-Length or chunked), or, for the echo server,
//!   the N bytes it waited for.
//! - `<-- server sends (N bytes), then closes`: everything the server sent
//!   until it closed the connection (possibly nothing).
//!
//! The bytes under a heading are escaped by [`wire`] so that the file is
//! plain ASCII: `\r`, `\n`, `\t`, `\\` and `\xNN`; every `\n` byte also ends
//! the line in the file, so a response reads like the wire. A raw line break
//! in the file is therefore never data, and [`unescape`] simply drops it.
//! The byte count in the heading says where the section ends, so data that
//! happens to look like a heading cannot confuse [`parse`].
//!
//! The value of a `Date` field in a response head is the only thing changed:
//! [`redact_date`] replaces it with `[date]`, because it differs every run.
//!
//! A snapshot file is insta's `---` header followed by the transcript. The
//! header may carry a `description:`, which the test harness uses for what
//! the transcript itself cannot show. It is a list of notes separated by
//! `; ` ([`Transcript::notes`]):
//!
//! - `env: NAME=VALUE`: the server ran with this `RAWHTTP_*` override (a
//!   shorter timeout, a lower cap), so a server with default settings
//!   behaves differently;
//! - `signal: NAME`: the test sent the server a signal during the exchange;
//! - `raw stream`: the test did something to the socket that the transcript
//!   does not record;
//! - `step-specific`: the behaviour belongs to this step only; later steps
//!   answer differently, so `compare --upto` skips it at every later step.

use std::fmt;

// ANCHOR: wire
/// Render bytes so every one is visible and each `\n` ends a line.
pub fn wire(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            // A space that would end a line in the file is escaped, so that
            // tools that trim trailing whitespace cannot lose it.
            b' ' if matches!(bytes.get(i + 1), None | Some(b'\n')) => {
                out.push_str("\\x20")
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
// ANCHOR_END: wire

/// Replace the value of `Date` fields in a rendered response with `[date]`.
///
/// Only lines in a response head count (after a status line, before the
/// empty line), so a body that happens to contain `Date: ` is left alone.
pub fn redact_date(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut in_head = true;
    for line in rendered.split_inclusive('\n') {
        if in_head && line.starts_with("Date: ") && line.ends_with("\\r\\n\n") {
            out.push_str(REDACTED_DATE_LINE);
            out.push('\n');
        } else {
            out.push_str(line);
        }
        if line == "\\r\\n\n" {
            in_head = false;
        }
        if ends_with_status_line(line) {
            in_head = true;
        }
    }
    out
}

/// Whether a rendered line ends with a status line such as
/// `HTTP/1.1 200 OK\r\n`. Not only at the start: a pipelined response
/// follows the previous body on the same line when that body does not end
/// in a newline (`abcHTTP/1.1 200 OK\r\n`).
fn ends_with_status_line(line: &str) -> bool {
    let Some((_, rest)) = line.rsplit_once("HTTP/1.") else {
        return false;
    };
    let rest = rest.as_bytes();
    line.ends_with("\\r\\n\n")
        && matches!(rest, [minor, b' ', a, b, c, b' ' | b'\\', ..]
            if minor.is_ascii_digit() && [a, b, c].iter().all(|d| d.is_ascii_digit()))
}

// ANCHOR: unescape
/// The bytes that `text` (the output of [`wire`]) stands for.
///
/// The exact inverse of [`wire`]: `unescape(&wire(b)) == Ok(b)` for all
/// bytes `b`. Line breaks in `text` are layout, not data, and are dropped.
pub fn unescape(text: &str) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        unescape_line(line, &mut out)
            .map_err(|kind| FormatError { line: i + 1, kind })?;
    }
    Ok(out)
}

/// Append the bytes one file line (without its line break) stands for.
fn unescape_line(line: &str, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
    let mut bytes = line.bytes();
    while let Some(b) = bytes.next() {
        let byte = match b {
            b'\\' => match bytes.next() {
                Some(b'r') => b'\r',
                Some(b'n') => b'\n',
                Some(b't') => b'\t',
                Some(b'\\') => b'\\',
                Some(b'x') => {
                    let hi = bytes.next().and_then(hex_digit);
                    let lo = bytes.next().and_then(hex_digit);
                    match (hi, lo) {
                        (Some(hi), Some(lo)) => hi << 4 | lo,
                        _ => return Err(ErrorKind::BadEscape),
                    }
                }
                _ => return Err(ErrorKind::BadEscape),
            },
            // `wire` escapes everything else, so anything else is not ours.
            0x20..=0x7e => b,
            _ => return Err(ErrorKind::UnescapedByte(b)),
        };
        out.push(byte);
    }
    Ok(())
}
// ANCHOR_END: unescape

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ANCHOR: step
/// One thing that happened on the connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The client wrote these bytes, in one write.
    Send(Vec<u8>),
    /// The client shut down its sending side (a half-close).
    CloseWrite,
    /// The server sent these bytes (with `Date` redacted); if `then_closes`,
    /// it then closed the connection, and these are all it sent before.
    Expect {
        /// The bytes the client read.
        bytes: Vec<u8>,
        /// Whether the server closed the connection after them.
        then_closes: bool,
    },
}
// ANCHOR_END: step

/// A parsed transcript: the steps of one exchange, and the snapshot's
/// description, if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transcript {
    /// insta's `description:` (see the module docs for what it holds).
    pub description: Option<String>,
    /// What happened, in order.
    pub steps: Vec<Step>,
}

impl Transcript {
    /// The notes in the description (`env: …`, `signal: …`, `step-specific`),
    /// which are separated by `; `.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.description
            .as_deref()
            .unwrap_or("")
            .split("; ")
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }

    /// Render the steps back into transcript text (without a header):
    /// `parse(&t.render())` gives back `t`'s steps.
    pub fn render(&self) -> String {
        self.steps.iter().map(Step::to_string).collect()
    }
}

impl fmt::Display for Step {
    /// The section: its heading line, then the escaped bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Send(bytes) => {
                write!(f, "{SEND}{}{BYTES}\n{}", bytes.len(), wire(bytes))
            }
            Step::CloseWrite => writeln!(f, "{CLOSE_WRITE}"),
            Step::Expect { bytes, then_closes } => {
                let closes = if *then_closes { THEN_CLOSES } else { "" };
                let text = wire(bytes);
                let dates = text.lines().filter(|l| *l == REDACTED_DATE_LINE).count();
                let on_wire = bytes.len() + dates * (DATE_LEN - REDACTED.len());
                write!(f, "{EXPECT}{on_wire}{BYTES}{closes}\n{text}")
            }
        }
    }
}

// The heading lines, in pieces: `--> client sends (27 bytes)`. The wire
// trace (`crate::trace`) writes the same headings.
pub(crate) const SEND: &str = "--> client sends (";
pub(crate) const EXPECT: &str = "<-- server sends (";
pub(crate) const BYTES: &str = " bytes)";
pub(crate) const THEN_CLOSES: &str = ", then closes";
pub(crate) const CLOSE_WRITE: &str = "--> client closes its sending side";

/// What [`redact_date`] puts in place of the date.
const REDACTED: &str = "[date]";
/// A redacted `Date` line, as it appears in the file.
const REDACTED_DATE_LINE: &str = "Date: [date]\\r\\n";
/// The length of the date it replaced: an IMF-fixdate such as
/// `Sun, 06 Nov 1994 08:49:37 GMT` always has 29 characters (RFC 9110
/// §5.6.7). Headings count the bytes that were on the wire, so a redacted
/// line counts as this much longer than it looks.
const DATE_LEN: usize = 29;

// ANCHOR: parse
/// Parse a whole `.snap` file (or a bare transcript) into its steps.
///
/// insta's header (`---` … `---`) is skipped, except for its
/// `description:`. Each section's heading gives its byte count; the lines
/// under it are read until they add up to exactly that many bytes.
pub fn parse(snapshot_text: &str) -> Result<Transcript, FormatError> {
    let lines: Vec<&str> = snapshot_text.split('\n').collect();
    let mut transcript = Transcript::default();
    let mut at = 0; // index into `lines`
    let err = |at: usize, kind| FormatError { line: at + 1, kind };

    if lines.first() == Some(&"---") {
        at = 1;
        loop {
            let line = *lines
                .get(at)
                .ok_or(err(at - 1, ErrorKind::UnclosedHeader))?;
            at += 1;
            if line == "---" {
                break;
            }
            if let Some(value) = line.strip_prefix("description:") {
                let value = yaml_string(value.trim())
                    .ok_or(err(at - 1, ErrorKind::BadDescription))?;
                transcript.description = Some(value);
            }
        }
    }

    while let Some(&heading) = lines.get(at) {
        at += 1;
        if heading.is_empty() && lines[at..].iter().all(|l| l.is_empty()) {
            break; // the file's final line break
        }
        let (count, then_closes) = if heading == CLOSE_WRITE {
            transcript.steps.push(Step::CloseWrite);
            continue;
        } else if let Some(rest) = heading.strip_prefix(SEND) {
            (byte_count(rest.strip_suffix(BYTES)), None)
        } else if let Some(rest) = heading.strip_prefix(EXPECT) {
            match rest.strip_suffix(THEN_CLOSES) {
                Some(rest) => (byte_count(rest.strip_suffix(BYTES)), Some(true)),
                None => (byte_count(rest.strip_suffix(BYTES)), Some(false)),
            }
        } else {
            return Err(err(at - 1, ErrorKind::NotAHeading));
        };
        let count = count.ok_or(err(at - 1, ErrorKind::NotAHeading))?;

        // The data: whole lines until they add up to `count` bytes. A
        // redacted `Date` line stood for a longer one on the wire.
        let mut bytes = Vec::with_capacity(count);
        let mut on_wire = 0;
        while on_wire < count {
            let Some(&line) = lines.get(at) else {
                let short = ErrorKind::WrongCount {
                    declared: count,
                    found: on_wire,
                };
                return Err(err(at - 1, short));
            };
            let before = bytes.len();
            unescape_line(line, &mut bytes).map_err(|kind| err(at, kind))?;
            on_wire += bytes.len() - before;
            if then_closes.is_some() && line == REDACTED_DATE_LINE {
                on_wire += DATE_LEN - REDACTED.len();
            }
            at += 1;
        }
        if on_wire != count {
            return Err(err(
                at - 1,
                ErrorKind::WrongCount {
                    declared: count,
                    found: on_wire,
                },
            ));
        }
        transcript.steps.push(match then_closes {
            None => Step::Send(bytes),
            Some(then_closes) => Step::Expect { bytes, then_closes },
        });
    }
    Ok(transcript)
}
// ANCHOR_END: parse

/// `27` in `(27 bytes)`: ASCII digits only.
fn byte_count(digits: Option<&str>) -> Option<usize> {
    let digits = digits?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A one-line YAML scalar as insta writes it: plain, `'single'` or
/// `"double"` quoted (with JSON-like escapes).
fn yaml_string(value: &str) -> Option<String> {
    if let Some(inner) = value.strip_prefix('\'') {
        return Some(inner.strip_suffix('\'')?.replace("''", "'"));
    }
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_string());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    loop {
        match chars.next()? {
            '"' => return chars.as_str().is_empty().then_some(out),
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                other => other, // `\"`, `\\`, `\/`
            }),
            c => out.push(c),
        }
    }
}

/// Why a transcript could not be read, and on which line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// 1-based line number in the text given to [`parse`] or [`unescape`].
    pub line: usize,
    /// What is wrong there.
    pub kind: ErrorKind,
}

/// What is wrong with a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The insta header's closing `---` is missing.
    UnclosedHeader,
    /// The `description:` is not a one-line YAML string.
    BadDescription,
    /// A section was expected here, but the line is not a heading.
    NotAHeading,
    /// A backslash not followed by `r`, `n`, `t`, `\` or `xNN`.
    BadEscape,
    /// A byte [`wire`] would have escaped (a control byte, or non-ASCII).
    UnescapedByte(u8),
    /// The lines under a heading hold a different number of bytes.
    WrongCount {
        /// The count in the heading.
        declared: usize,
        /// The bytes the lines hold, as far as they were read.
        found: usize,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ErrorKind::UnclosedHeader => write!(f, "the `---` header is not closed"),
            ErrorKind::BadDescription => write!(f, "cannot read the description"),
            ErrorKind::NotAHeading => write!(
                f,
                "expected a section heading (`--> client sends (N bytes)`, \
                 `--> client closes its sending side`, `<-- server sends (N bytes)[, then closes]`)"
            ),
            ErrorKind::BadEscape => {
                write!(f, "bad escape (use \\r \\n \\t \\\\ or \\xNN)")
            }
            ErrorKind::UnescapedByte(b) => {
                write!(f, "byte 0x{b:02x} must be written as \\x{b:02x}")
            }
            ErrorKind::WrongCount { declared, found } => {
                write!(
                    f,
                    "the heading says {declared} bytes, the lines hold {found}"
                )
            }
        }
    }
}

impl std::error::Error for FormatError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_pipelined_responses_are_redacted() {
        let raw = b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        let r = redact_date(&wire(raw));
        assert_eq!(r.matches("Date: [date]").count(), 2, "{r}");
        // A body line that mentions a version is not a status line.
        assert!(!ends_with_status_line("version: HTTP/1.1\\n\n"));
        assert!(ends_with_status_line("HTTP/1.1 404 Not Found\\r\\n\n"));
    }

    #[test]
    fn wire_escapes_every_byte() {
        assert_eq!(
            wire(b"GET / HTTP/1.1\r\n\r\n"),
            "GET / HTTP/1.1\\r\\n\n\\r\\n\n"
        );
        assert_eq!(wire(b"a\x00\xff\\ \tb"), "a\\x00\\xff\\\\ \\tb\n");
        assert_eq!(wire(b"trailing "), "trailing\\x20\n");
    }

    #[test]
    fn date_is_the_only_redaction() {
        let r =
            wire(b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nDate: body\r\n");
        assert_eq!(
            redact_date(&r),
            "HTTP/1.1 200 OK\\r\\n\nDate: [date]\\r\\n\n\\r\\n\nDate: body\\r\\n\n"
        );
    }

    #[test]
    fn unescape_inverts_wire_for_every_byte_value() {
        for b in 0..=255u8 {
            for bytes in [
                vec![b],
                vec![b, b],
                vec![b' ', b],
                vec![b, b' '],
                vec![b'\\', b],
            ] {
                assert_eq!(unescape(&wire(&bytes)), Ok(bytes.clone()), "{bytes:x?}");
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&wire(&all)), Ok(all));
        assert_eq!(unescape(""), Ok(vec![]));
    }

    /// A small deterministic generator (xorshift), so the test needs no crate
    /// and a failure can be replayed.
    fn random_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                // Favour the bytes with special rules: CR, LF, space, backslash.
                match *seed % 8 {
                    0 => b"\r\n \\"[(*seed >> 8) as usize % 4],
                    _ => (*seed >> 16) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn unescape_inverts_wire_on_random_data() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000 {
            let bytes = random_bytes(&mut seed, round % 64);
            assert_eq!(unescape(&wire(&bytes)), Ok(bytes.clone()), "round {round}");
            let step = Step::Expect {
                bytes,
                then_closes: round % 2 == 0,
            };
            let parsed = parse(&step.to_string()).map(|t| t.steps);
            assert_eq!(parsed, Ok(vec![step]), "round {round}");
        }
    }

    #[test]
    fn unescape_rejects_what_wire_never_writes() {
        let bad = |line, kind| Err(FormatError { line, kind });
        assert_eq!(unescape("a\\q"), bad(1, ErrorKind::BadEscape));
        assert_eq!(unescape("ok\n\\x4"), bad(2, ErrorKind::BadEscape));
        assert_eq!(unescape("\\xg0"), bad(1, ErrorKind::BadEscape));
        assert_eq!(
            unescape("tab\there"),
            bad(1, ErrorKind::UnescapedByte(b'\t'))
        );
        assert_eq!(unescape("é"), bad(1, ErrorKind::UnescapedByte(0xc3)));
        assert_eq!(unescape("\\x4A\\x4a"), Ok(b"JJ".to_vec()));
    }

    const SNAP: &str = "---
source: tests/step01_echo.rs
description: \"env: RAWHTTP_IDLE_TIMEOUT_MS=200; step-specific\"
---
--> client sends (6 bytes)
hello\\n
<-- server sends (6 bytes)
hello\\n
--> client sends (10 bytes)
--> x\\r\\n
end
--> client closes its sending side
<-- server sends (0 bytes), then closes
";

    #[test]
    fn parses_a_snapshot_file() {
        let t = parse(SNAP).expect("parses");
        assert_eq!(
            t.description.as_deref(),
            Some("env: RAWHTTP_IDLE_TIMEOUT_MS=200; step-specific")
        );
        assert_eq!(
            t.notes().collect::<Vec<_>>(),
            ["env: RAWHTTP_IDLE_TIMEOUT_MS=200", "step-specific"]
        );
        assert_eq!(
            t.steps,
            [
                Step::Send(b"hello\n".to_vec()),
                Step::Expect {
                    bytes: b"hello\n".to_vec(),
                    then_closes: false
                },
                // Data that looks like a heading is data: the count says so.
                Step::Send(b"--> x\r\nend".to_vec()),
                Step::CloseWrite,
                Step::Expect {
                    bytes: vec![],
                    then_closes: true
                },
            ]
        );
        let body = SNAP
            .split_once("---\n--> ")
            .map(|(_, b)| format!("--> {b}"));
        assert_eq!(Some(t.render()), body);
    }

    #[test]
    fn parse_reports_the_line() {
        let err = |text: &str| parse(text).map_err(|e| (e.line, e.kind));
        assert_eq!(err("---\nsource: x\n"), Err((3, ErrorKind::UnclosedHeader)));
        // A redacted date counts as the 29 characters it replaced.
        let dated = "<-- server sends (37 bytes)\nDate: [date]\\r\\n\n";
        assert_eq!(err(dated).map(|t| t.steps.len()), Ok(1));
        assert_eq!(err("hello\n"), Err((1, ErrorKind::NotAHeading)));
        assert_eq!(
            err("--> client sends (x bytes)\n"),
            Err((1, ErrorKind::NotAHeading))
        );
        assert_eq!(
            err("--> client sends (+1 bytes)\nA\n"),
            Err((1, ErrorKind::NotAHeading))
        );
        // A line may not run past the count, and what follows the count is
        // a heading or nothing.
        let over = ErrorKind::WrongCount {
            declared: 2,
            found: 3,
        };
        assert_eq!(err("--> client sends (2 bytes)\nab\\n\n"), Err((2, over)));
        assert_eq!(
            err("--> client sends (3 bytes)\nab\\n\ncd\n"),
            Err((3, ErrorKind::NotAHeading))
        );
        assert_eq!(
            err("<-- server sends (3 bytes)\nab\n"),
            Err((
                3,
                ErrorKind::WrongCount {
                    declared: 3,
                    found: 2
                }
            ))
        );
        assert_eq!(
            err("--> client sends (2 bytes)\na\\r\n").map(|t| t.steps),
            Ok(vec![Step::Send(b"a\r".to_vec())])
        );
    }

    #[test]
    fn description_quoting() {
        assert_eq!(yaml_string("plain"), Some("plain".into()));
        assert_eq!(yaml_string("'it''s'"), Some("it's".into()));
        assert_eq!(
            yaml_string(r#""a: \"b\" \\ \u0041""#),
            Some("a: \"b\" \\ A".into())
        );
        assert_eq!(yaml_string("\"open"), None);
    }

    /// Every snapshot in the repository reads back, and renders to the same
    /// text: the format here and the harness's output agree.
    #[test]
    fn every_snapshot_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("snapshots/ exists") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_none_or(|e| e != "snap") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            let t = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let (_, body) = text.split_once("\n---\n").expect("insta header");
            assert_eq!(t.render(), body, "{}", path.display());
            seen += 1;
        }
        assert!(seen > 0, "no snapshots in {}", dir.display());
    }
}
