//! `multipart/form-data` uploads, parsed as they stream in (ch08 uploads;
//! RFC 7578, RFC 2046 §5.1.1).
//!
//! A browser form with `enctype="multipart/form-data"` sends each of its
//! fields as one *part* of a single body. The parts are separated by a
//! *boundary*, a string the browser picked so that it appears nowhere in
//! the data, and named in the request's `Content-Type`:
//!
//! ```text
//! Content-Type: multipart/form-data; boundary=----WebKitFormBoundaryx8C
//!
//! ------WebKitFormBoundaryx8C
//! Content-Disposition: form-data; name="title"
//!
//! Holiday
//! ------WebKitFormBoundaryx8C
//! Content-Disposition: form-data; name="photo"; filename="beach.jpg"
//! Content-Type: image/jpeg
//!
//! <the bytes of the file>
//! ------WebKitFormBoundaryx8C--
//! ```
//!
//! (every line ends in CRLF). Three pieces, all sans-I/O:
//!
//! - [`boundary`] reads the boundary out of the `Content-Type`;
//! - [`Parser`] turns the body into [`Event`]s: a part starts (its name,
//!   file name and type), some of its data, the part ends, the body ends.
//!   It never holds a whole part, so a 1 GiB upload costs a few KiB;
//! - [`sanitize_filename`] turns the sender's file name into one that is
//!   safe to create in a directory, or refuses it.
//!
//! # The grammar
//!
//! RFC 2046 §5.1.1 (<https://www.rfc-editor.org/rfc/rfc2046#section-5.1.1>),
//! which RFC 7578 §4.1 (<https://www.rfc-editor.org/rfc/rfc7578#section-4.1>)
//! uses as it is:
//!
//! ```text
//! dash-boundary := "--" boundary
//! multipart-body := [preamble CRLF]
//!                   dash-boundary transport-padding CRLF
//!                   body-part *encapsulation
//!                   close-delimiter transport-padding
//!                   [CRLF epilogue]
//! transport-padding := *LWSP-char
//!                      ; Composers MUST NOT generate
//!                      ; non-zero length transport
//!                      ; padding, but receivers MUST
//!                      ; be able to handle padding
//!                      ; added by message transports.
//! encapsulation := delimiter transport-padding
//!                  CRLF body-part
//! delimiter := CRLF dash-boundary
//! close-delimiter := delimiter "--"
//! body-part := MIME-part-headers [CRLF *OCTET]
//! ```
//!
//! The CRLF before a boundary belongs to the delimiter, not to the data:
//! a part whose data is `hello` is sent as `hello\r\n--boundary`.
//!
//! # Decisions
//!
//! - **Held-back bytes: the caller keeps them.** Data that might be the
//!   start of a delimiter (a final `\r\n--bou`) cannot be handed out until
//!   the next bytes decide. [`Parser::next`] does not copy it anywhere: it
//!   returns how many bytes it *consumed*, and the caller keeps the rest in
//!   its own buffer and appends the next read to it (the contract of
//!   [`crate::request::parse_head`]). After [`Event::NeedMore`], at most
//!   [`Parser::max_held`] bytes (`boundary.len() + 3`) are left unconsumed,
//!   so a caller's buffer never grows past that plus one read. Part heads
//!   are consumed as they come, line by line, into a buffer of the parser's
//!   own, capped by `max_part_head`.
//! - **A line that starts with the delimiter is a delimiter.** RFC 2046
//!   §5.1.1: "The boundary delimiter MUST NOT appear inside any of the
//!   encapsulated parts, on a line by itself or as a prefix of any line",
//!   and "it is sufficient that the boundary appear in its entirety
//!   following the CRLF". So `\r\n--boundaryX` ends the part and then is
//!   refused (400), it is not data. Go's `mime/multipart` reads it as data;
//!   we do not guess, and need no look-ahead past the delimiter.
//! - **CRLF only.** A body with bare LF line endings is refused (400,
//!   [`MultipartError::BadDelimiter`] at the first boundary line). RFC 2046
//!   says CRLF, every browser, curl and every HTTP library sends CRLF, and
//!   two parsers that disagree on where a line ends see different parts
//!   (the argument of RFC 9112 §2.2 in `request.rs`).
//! - **`filename*` is ignored.** RFC 7578 §4.2: "NOTE: The encoding method
//!   described in \[RFC5987\], which would add a "filename*" parameter to the
//!   Content-Disposition header field, MUST NOT be used." Browsers send the
//!   name as raw UTF-8 in `filename` instead. Reading `filename*` as well
//!   would give a sender two file names, and two readers two answers.
//! - **Backslashes in quoted strings.** In a part's `Content-Disposition`,
//!   `\` escapes only `"` and `\` (curl's `--form-escape`); any other
//!   backslash is itself, so a Windows path `C:\Users\me\cv.pdf` is not
//!   mangled into `C:Usersmecv.pdf`. Browsers never escape this way (the
//!   HTML form encoder turns `"`, CR and LF into `%22`, `%0D`, `%0A`). In
//!   the request's `Content-Type`, an HTTP field, every quoted-pair is
//!   read (RFC 9110 §5.6.4).
//! - **No percent-decoding.** Names and file names are handed back as sent
//!   (`a%22b.txt` stays that): RFC 7578 §5.1.1's percent-encoding is a MAY,
//!   and a name that really contains `%22` could not be told apart.
//! - **UTF-8.** Names, file names and content types must be valid UTF-8,
//!   or the part is refused (400): RFC 7578 §5.1.2 says the file name
//!   encoding "is typically UTF-8", and a lossy conversion would no longer
//!   be the raw name (two names could become one).
//! - **An empty form is fine.** `--boundary--` alone (no part at all) is
//!   [`Event::End`] with no parts: the grammar wants one part, but a form
//!   with nothing to send arrives like that, and Go reads it so too.
//! - **Other part header fields are ignored**, `Content-Transfer-Encoding`
//!   included (RFC 7578 §4.8: "Other header fields MUST NOT be included
//!   and MUST be ignored"; §4.7: senders MUST NOT generate it).
//! - **Statuses** ([`MultipartError::status`]): a malformed body is 400; a
//!   `Content-Type` that is not `multipart/form-data` is 415; too many parts
//!   or too large a part head is 413 (Content Too Large), not 431: a part
//!   head is content of the request, not one of its header fields.

use std::fmt;

use crate::limits::Limits;
use crate::request::{is_tchar, trim_ows};
use crate::status::StatusCode;

/// The longest boundary, in bytes (RFC 2046 §5.1.1: `0*69<bchars>
/// bcharsnospace`, 1 to 70 characters).
pub const MAX_BOUNDARY: usize = 70;

/// The longest file name [`sanitize_filename`] lets through, in bytes:
/// `NAME_MAX` on Linux filesystems (ext4, XFS, btrfs) and the limit of
/// most others. A longer name would fail at `open`, later and less clearly.
pub const MAX_FILENAME_BYTES: usize = 255;

/// 415 Unsupported Media Type (RFC 9110 §15.5.16).
const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode::UNSUPPORTED_MEDIA_TYPE;

/// Why an upload was refused. Every variant answers with exactly one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartError {
    /// The request's `Content-Type` is not `multipart/form-data`
    /// (RFC 9110 §15.5.16 → 415).
    NotFormData,
    /// `multipart/form-data` without a valid boundary: none, two, broken
    /// parameters, or not 1–70 `bchars` (RFC 2046 §5.1.1 → 400).
    BadBoundary,
    /// A boundary line that is neither `--boundary`, padding and CRLF nor
    /// `--boundary--`: a line that starts with the delimiter and goes on,
    /// one `-` only, a CR without LF, a bare LF (→ 400).
    BadDelimiter,
    /// A part head line that is not `name: value` (RFC 9112 §5 rules, as
    /// for the request head): a bare CR or LF, obs-fold, a control byte, no
    /// colon; or a `Content-Type` that is empty, twice, or not UTF-8 (→ 400).
    BadPartHead,
    /// The part has no `Content-Disposition: form-data` with a `name`, has
    /// two, has broken or repeated parameters, or a name or file name that
    /// is not UTF-8 (RFC 7578 §4.2: "Each part MUST contain a
    /// Content-Disposition header field" → 400).
    BadDisposition,
    /// A part head longer than `max_part_head` (→ 413).
    PartHeadTooLarge,
    /// More than `max_parts` parts (→ 413).
    TooManyParts,
    /// The body ended before the close delimiter `--boundary--` (→ 400).
    Truncated,
}

impl MultipartError {
    /// The status a client gets for this error.
    pub const fn status(self) -> StatusCode {
        use MultipartError::*;
        match self {
            NotFormData => UNSUPPORTED_MEDIA_TYPE,
            BadBoundary | BadDelimiter | BadPartHead | BadDisposition | Truncated => {
                StatusCode::BAD_REQUEST
            }
            PartHeadTooLarge | TooManyParts => StatusCode::CONTENT_TOO_LARGE,
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} ({})", self.status())
    }
}

impl std::error::Error for MultipartError {}

// ANCHOR: boundary
/// The boundary of a `multipart/form-data` body, from the request's
/// `Content-Type` value: `multipart/form-data; boundary=AaB03x` gives
/// `AaB03x`. The media type and the parameter name are case-insensitive;
/// the value is a token or a quoted string (RFC 9110 §8.3.1, §5.6.6).
///
/// ```text
/// media-type = type "/" subtype parameters
/// boundary := 0*69<bchars> bcharsnospace
/// bchars := bcharsnospace / " "
/// bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" /
///                  "+" / "_" / "," / "-" / "." /
///                  "/" / ":" / "=" / "?"
/// ```
///
/// Another media type is [`MultipartError::NotFormData`] (415); a missing,
/// repeated or invalid boundary is [`MultipartError::BadBoundary`] (400).
pub fn boundary(content_type: &[u8]) -> Result<Vec<u8>, MultipartError> {
    let value = trim_ows(content_type);
    let end = value
        .iter()
        .position(|&b| matches!(b, b';' | b' ' | b'\t'))
        .unwrap_or(value.len());
    let (media_type, params) = value.split_at_checked(end).unwrap_or((value, b""));
    if !media_type.eq_ignore_ascii_case(b"multipart/form-data") {
        return Err(MultipartError::NotFormData);
    }
    let params = parameters(params, Escapes::QuotedPair);
    let mut found = None;
    for (name, value) in params.ok_or(MultipartError::BadBoundary)? {
        let is_boundary = name.eq_ignore_ascii_case(b"boundary");
        if is_boundary && found.replace(value).is_some() {
            return Err(MultipartError::BadBoundary);
        }
    }
    let boundary = found.ok_or(MultipartError::BadBoundary)?;
    match boundary.split_last() {
        Some((&last, rest))
            if rest.len() < MAX_BOUNDARY
                && last != b' '
                && boundary.iter().all(|&b| is_bchar(b)) =>
        {
            Ok(boundary)
        }
        _ => Err(MultipartError::BadBoundary),
    }
}
// ANCHOR_END: boundary

/// `bchars` (RFC 2046 §5.1.1): `bcharsnospace` and the space.
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+_,-./:=?".contains(&b)
}

/// How a backslash inside a quoted string is read (see the module docs).
#[derive(Debug, Clone, Copy)]
enum Escapes {
    /// RFC 9110 §5.6.4: `\` and any one HTAB, SP, VCHAR or obs-text byte.
    QuotedPair,
    /// Only `\"` and `\\` are escapes; any other `\` is a literal one.
    QuoteAndBackslash,
}

/// Parameters after a media type or disposition type (RFC 9110 §5.6.6),
/// values unquoted; `None` if they do not follow the grammar. No whitespace
/// around `=`: "no whitespace is allowed" there, and browsers send none.
///
/// ```text
/// parameters      = *( OWS ";" OWS [ parameter ] )
/// parameter       = parameter-name "=" parameter-value
/// parameter-name  = token
/// parameter-value = ( token / quoted-string )
/// ```
fn parameters(mut s: &[u8], escapes: Escapes) -> Option<Vec<(&[u8], Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        s = skip_ows(s);
        if s.is_empty() {
            return Some(out);
        }
        s = skip_ows(s.strip_prefix(b";")?);
        if s.is_empty() || s.starts_with(b";") {
            continue; // `[ parameter ]`: an empty one is allowed
        }
        let (name, rest) = split_token(s);
        let rest = rest.strip_prefix(b"=")?;
        if name.is_empty() {
            return None;
        }
        let (value, rest) = match rest.strip_prefix(b"\"") {
            Some(quoted) => quoted_string(quoted, escapes)?,
            None => {
                let (token, rest) = split_token(rest);
                (!token.is_empty()).then(|| (token.to_vec(), rest))?
            }
        };
        out.push((name, value));
        s = rest;
    }
}

/// `s` split after its leading `tchar`s (a token, perhaps empty).
fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|&&b| is_tchar(b)).count();
    s.split_at_checked(n).unwrap_or((s, b""))
}

/// `s` without its leading `OWS = *( SP / HTAB )`.
fn skip_ows(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    s.get(n..).unwrap_or_default()
}

/// The rest of a quoted string whose opening `"` is already gone: its
/// unescaped value, and what follows the closing `"` (`None` if there is
/// none, or a byte the grammar does not allow).
///
/// ```text
/// quoted-string  = DQUOTE *( qdtext / quoted-pair ) DQUOTE
/// qdtext         = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
/// quoted-pair    = "\" ( HTAB / SP / VCHAR / obs-text )
/// ```
fn quoted_string(s: &[u8], escapes: Escapes) -> Option<(Vec<u8>, &[u8])> {
    let mut value = Vec::new();
    let mut bytes = s.iter().enumerate();
    while let Some((i, &b)) = bytes.next() {
        let next = s.get(i + 1).copied();
        match (b, escapes, next) {
            (b'"', _, _) => return Some((value, s.get(i + 1..)?)),
            (b'\\', Escapes::QuotedPair, Some(c)) if is_quoted_pair_char(c) => {
                value.push(c);
                bytes.next();
            }
            (b'\\', Escapes::QuoteAndBackslash, Some(c @ (b'"' | b'\\'))) => {
                value.push(c);
                bytes.next();
            }
            (b'\\', Escapes::QuoteAndBackslash, _) => value.push(b),
            (b, _, _) if is_qdtext(b) => value.push(b),
            _ => return None,
        }
    }
    None
}

/// `qdtext` (RFC 9110 §5.6.4): anything but controls, DEL, `"` and `\`.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// The byte after the `\` of a quoted-pair: anything but controls and DEL.
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

/// What a part's head says (RFC 7578 §4.2, §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field's name: `name` in `Content-Disposition`, as sent (no
    /// percent-decoding). Several parts may share it (RFC 7578 §4.3: the
    /// files of one `<input multiple>`).
    pub name: String,
    /// `filename` in `Content-Disposition`, exactly as sent: it may hold
    /// directories, `..`, anything. `Some("")` is a file input with no file
    /// chosen. Never use it as a path; see [`sanitize_filename`].
    pub filename: Option<String>,
    /// The part's `Content-Type`, as sent; `None` if there was none
    /// (RFC 7578 §4.4: then it is `text/plain`). Browsers send one for
    /// files only; it is the sender's claim, not a fact about the bytes.
    pub content_type: Option<String>,
}

/// What [`Parser::next`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part begins; its data follows.
    PartStart(Part),
    /// Some of the current part's data: a slice of the input, never empty,
    /// and certainly not the start of a delimiter. A part's data is the
    /// concatenation of its `Data` events.
    Data(&'a [u8]),
    /// The current part's data is complete.
    PartEnd,
    /// The close delimiter: the body is complete. Whatever follows is the
    /// epilogue, consumed and ignored; every later call returns `End` again.
    End,
    /// Nothing more can be decided without more input: keep the unconsumed
    /// bytes (at most [`Parser::max_held`]), append the next read, call again.
    NeedMore,
}

// ANCHOR: state
/// Where the parser is in the `multipart-body` grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet: the body may open with the dash-boundary itself.
    Start,
    /// In the preamble, looking for the first delimiter.
    Preamble,
    /// Just read `--boundary`: `--`, padding or CR comes next.
    AfterBoundary,
    /// Read the first `-` of the `--` that closes the body.
    CloseDash,
    /// In transport padding (SP / HTAB) after a boundary.
    Padding,
    /// Read the CR that ends a boundary line; LF must follow.
    DelimiterLf,
    /// In a part's head, on a header line (or at its start).
    Head,
    /// Read the CR that ends a head line; LF must follow.
    HeadLf,
    /// In a part's data, looking for the next delimiter.
    Body,
    /// Read the close delimiter; the rest is epilogue.
    Done,
    /// Returned this error; every later call returns it again.
    Failed(MultipartError),
}
// ANCHOR_END: state

/// A streaming `multipart/form-data` parser for one request body.
///
/// Feed it the body as it arrives; it hands back [`Event`]s and how many
/// bytes it consumed. Drop the consumed bytes, keep the rest, and append
/// the next read. Call [`Parser::finish`] when the body is over.
///
/// ```
/// use rawhttp::limits::Limits;
/// use rawhttp::multipart::{self, Event, Parser};
///
/// let boundary = multipart::boundary(b"multipart/form-data; boundary=XyZ")?;
/// let mut parser = Parser::new(&boundary, &Limits::default());
/// let reads: [&[u8]; 2] = [
///     b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhel",
///     b"lo\r\n--XyZ--\r\n",
/// ];
/// let (mut buf, mut value) = (Vec::new(), Vec::new());
/// 'reads: for read in reads {
///     buf.extend_from_slice(read);
///     loop {
///         let (event, used) = parser.next(&buf)?;
///         let need_more = event == Event::NeedMore;
///         match event {
///             Event::PartStart(part) => assert_eq!(part.name, "note"),
///             Event::Data(bytes) => value.extend_from_slice(bytes),
///             Event::PartEnd | Event::NeedMore => {}
///             Event::End => break 'reads,
///         }
///         buf.drain(..used);
///         if need_more {
///             continue 'reads;
///         }
///     }
/// }
/// parser.finish()?;
/// assert_eq!(value, b"hello");
/// # Ok::<(), multipart::MultipartError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    state: State,
    /// `CRLF--boundary`, what ends a part (and the preamble).
    delimiter: Vec<u8>,
    /// The head line being read, without its CRLF (at most `max_part_head`
    /// bytes): a head line is checked only once it is complete.
    line: Vec<u8>,
    /// Bytes of the current part's head so far, CRLFs included.
    head_len: usize,
    /// `(name, filename)` from this part's `Content-Disposition`, once seen.
    disposition: Option<(String, Option<String>)>,
    /// This part's `Content-Type`, once seen.
    content_type: Option<String>,
    /// Parts begun so far.
    parts: usize,
    /// See [`crate::limits::MAX_PART_HEAD`].
    max_part_head: usize,
    /// See [`crate::limits::MAX_PARTS`].
    max_parts: usize,
}

/// What [`Parser::next`] returns.
type Next<'a> = Result<(Event<'a>, usize), MultipartError>;

/// Where a search for the delimiter stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The delimiter starts here.
    Found(usize),
    /// No delimiter, and none can start in the first this-many bytes; the
    /// rest (shorter than the delimiter) is a prefix of it.
    Clear(usize),
}

impl Parser {
    /// A parser for a body whose boundary is `boundary`, as returned by
    /// [`boundary`]. (Any bytes work without panicking, but only a valid
    /// boundary can be matched by a valid body.) Of `limits` it uses
    /// `max_part_head` and `max_parts`; the body's total size is the
    /// caller's limit (`max_body_bytes`, enforced before the parser).
    pub fn new(boundary: &[u8], limits: &Limits) -> Parser {
        let mut delimiter = Vec::with_capacity(boundary.len() + 4);
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary);
        Parser {
            state: State::Start,
            delimiter,
            line: Vec::new(),
            head_len: 0,
            disposition: None,
            content_type: None,
            parts: 0,
            max_part_head: limits.max_part_head,
            max_parts: limits.max_parts,
        }
    }

    /// The most bytes [`Parser::next`] leaves unconsumed when it returns
    /// [`Event::NeedMore`]: one less than the delimiter `CRLF--boundary`,
    /// so `boundary.len() + 3`. A caller's buffer must hold this many bytes
    /// plus at least one more to make progress.
    pub fn max_held(&self) -> usize {
        self.delimiter.len().saturating_sub(1)
    }

    /// The next event in `input`, and how many bytes of `input` it consumed.
    ///
    /// `input` is what the caller has of the body and has not yet seen
    /// consumed: the bytes left over from the last call, then the new read.
    /// Call in a loop; after [`Event::NeedMore`] read more first. After an
    /// error the parser is spent: every later call returns the same error.
    pub fn next<'a>(
        &mut self,
        input: &'a [u8],
    ) -> Result<(Event<'a>, usize), MultipartError> {
        let got = self.advance(input);
        if let Err(e) = got {
            self.state = State::Failed(e);
        }
        got
    }

    /// Call once the whole body has been fed: `Ok` if the close delimiter
    /// was seen, else [`MultipartError::Truncated`] (or the error already
    /// returned). A body that stops early must not pass for a complete one.
    pub fn finish(&self) -> Result<(), MultipartError> {
        use State::*;
        match self.state {
            Done => Ok(()),
            Failed(e) => Err(e),
            Start | Preamble | AfterBoundary | CloseDash | Padding | DelimiterLf
            | Head | HeadLf | Body => Err(MultipartError::Truncated),
        }
    }

    // ANCHOR: next_scan
    /// The state machine behind [`Parser::next`]: one match, on the state
    /// and the input left.
    fn advance<'a>(&mut self, input: &'a [u8]) -> Next<'a> {
        use MultipartError::*;
        use State::*;
        let mut at = 0;
        loop {
            let rest = input.get(at..).unwrap_or_default();
            if matches!(self.state, Head | HeadLf) && !rest.is_empty() {
                // Every byte of a head counts, the CRLFs included.
                self.head_len = self.head_len.saturating_add(1);
                if self.head_len > self.max_part_head {
                    return Err(PartHeadTooLarge);
                }
            }
            // The first boundary may open the body, without a CRLF before it.
            let dash_boundary = self.delimiter.get(2..).unwrap_or_default();
            let (next, used) = match (self.state, rest) {
                (Failed(e), _) => return Err(e),
                (Done, _) => return Ok((Event::End, input.len())),
                (Start, _) if rest.starts_with(dash_boundary) => {
                    (AfterBoundary, dash_boundary.len())
                }
                (Start, _) if dash_boundary.starts_with(rest) => {
                    return Ok((Event::NeedMore, at));
                }
                (Start, _) => (Preamble, 0),
                (Preamble, _) => match find_delimiter(rest, &self.delimiter) {
                    Scan::Found(i) => (AfterBoundary, i + self.delimiter.len()),
                    Scan::Clear(n) => return Ok((Event::NeedMore, at + n)),
                },
                (Body, _) => {
                    let n = match find_delimiter(rest, &self.delimiter) {
                        Scan::Found(0) => {
                            self.state = AfterBoundary;
                            return Ok((Event::PartEnd, at + self.delimiter.len()));
                        }
                        Scan::Found(n) | Scan::Clear(n) => n,
                    };
                    return Ok(match rest.get(..n) {
                        Some(data @ [_, ..]) => (Event::Data(data), at + n),
                        _ => (Event::NeedMore, at),
                    });
                }
                // ANCHOR_END: next_scan
                // ANCHOR: next_lines
                // From here on, one byte at a time (the states that scan
                // are all matched above; the compiler checks the rest).
                (_, []) => return Ok((Event::NeedMore, at)),
                // close-delimiter := delimiter "--"; the rest is epilogue.
                (AfterBoundary, [b'-', ..]) => (CloseDash, 1),
                (CloseDash, [b'-', ..]) => {
                    self.state = Done;
                    return Ok((Event::End, input.len()));
                }
                // transport-padding := *LWSP-char, then CRLF.
                (AfterBoundary | Padding, [b' ' | b'\t', ..]) => (Padding, 1),
                (AfterBoundary | Padding, [b'\r', ..]) => (DelimiterLf, 1),
                (DelimiterLf, [b'\n', ..]) => {
                    self.begin_part()?;
                    (Head, 1)
                }
                // `--boundaryX`, `--boundary-x`, a bare LF, a CR without LF.
                (AfterBoundary | CloseDash | Padding | DelimiterLf, [_, ..]) => {
                    return Err(BadDelimiter);
                }
                // Head lines end in CRLF; a bare LF or CR is refused, as in
                // the request head (RFC 9112 §2.2).
                (Head, [b'\r', ..]) => (HeadLf, 1),
                (Head, [b'\n', ..]) => return Err(BadPartHead),
                (Head, [b, ..]) => {
                    self.line.push(*b);
                    (Head, 1)
                }
                // The empty line: the head is complete, the data begins.
                (HeadLf, [b'\n', ..]) if self.line.is_empty() => {
                    let part = self.end_head()?;
                    self.state = Body;
                    return Ok((Event::PartStart(part), at + 1));
                }
                (HeadLf, [b'\n', ..]) => {
                    self.head_line()?;
                    (Head, 1)
                }
                (HeadLf, [_, ..]) => return Err(BadPartHead),
            };
            self.state = next;
            at += used;
        }
    }
    // ANCHOR_END: next_lines

    /// A boundary line has ended: a part begins (if there may be another).
    fn begin_part(&mut self) -> Result<(), MultipartError> {
        self.parts = self.parts.saturating_add(1);
        if self.parts > self.max_parts {
            return Err(MultipartError::TooManyParts);
        }
        self.line.clear();
        self.head_len = 0;
        self.disposition = None;
        self.content_type = None;
        Ok(())
    }

    /// One complete head line (in `self.line`). RFC 7578 §4.8: only
    /// `Content-Disposition` and `Content-Type` mean anything; the rest
    /// "MUST be ignored", but must still be well-formed field lines.
    fn head_line(&mut self) -> Result<(), MultipartError> {
        let line = std::mem::take(&mut self.line);
        crate::request::check_field_line(&line)
            .map_err(|_| MultipartError::BadPartHead)?;
        let colon = line.iter().position(|&b| b == b':');
        let Some((name, value)) = colon.and_then(|at| line.split_at_checked(at)) else {
            return Err(MultipartError::BadPartHead);
        };
        let value = trim_ows(value.get(1..).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"content-disposition") {
            if self.disposition.is_some() {
                return Err(MultipartError::BadDisposition);
            }
            self.disposition = Some(disposition(value)?);
        } else if name.eq_ignore_ascii_case(b"content-type") {
            if self.content_type.is_some() || value.is_empty() {
                return Err(MultipartError::BadPartHead);
            }
            let value = String::from_utf8(value.to_vec());
            self.content_type = Some(value.map_err(|_| MultipartError::BadPartHead)?);
        }
        // Keep the buffer (and its capacity) for the next line.
        self.line = line;
        self.line.clear();
        Ok(())
    }

    /// The empty line after the head: the part, if it said what it is.
    fn end_head(&mut self) -> Result<Part, MultipartError> {
        let (name, filename) = self
            .disposition
            .take()
            .ok_or(MultipartError::BadDisposition)?;
        let content_type = self.content_type.take();
        Ok(Part {
            name,
            filename,
            content_type,
        })
    }
}

/// `Content-Disposition: form-data; name="field"; filename="a.txt"`
/// (RFC 7578 §4.2; RFC 2183 §2 for the header): `(name, filename)`.
///
/// ```text
/// disposition := "Content-Disposition" ":"
///                disposition-type
///                *(";" disposition-parm)
/// ```
///
/// The parameters follow RFC 9110 §5.6.6, as in `Content-Type`.
///
/// > Each part MUST contain a Content-Disposition header field \[RFC2183\]
/// > where the disposition type is "form-data". The Content-Disposition
/// > header field MUST also contain an additional parameter of "name"
///
/// A repeated `name` or `filename` is refused: which one a reader picks is
/// exactly where two readers (a filter in front, the server behind) would
/// disagree. Other parameters, `filename*` among them, are ignored.
fn disposition(value: &[u8]) -> Result<(String, Option<String>), MultipartError> {
    let bad = MultipartError::BadDisposition;
    let (kind, params) = split_token(value);
    if !kind.eq_ignore_ascii_case(b"form-data") {
        return Err(bad);
    }
    let (mut name, mut filename) = (None, None);
    for (key, value) in parameters(params, Escapes::QuoteAndBackslash).ok_or(bad)? {
        let slot = if key.eq_ignore_ascii_case(b"name") {
            &mut name
        } else if key.eq_ignore_ascii_case(b"filename") {
            &mut filename
        } else {
            continue;
        };
        if slot.is_some() {
            return Err(bad);
        }
        *slot = Some(String::from_utf8(value).map_err(|_| bad)?);
    }
    Ok((name.ok_or(bad)?, filename))
}

// ANCHOR: find_delimiter
/// Look for `delimiter` (`CRLF--boundary`) in `hay`.
///
/// Every delimiter starts with CR, so only a CR can start one; and the
/// boundary holds no CR, so no byte is looked at more than twice: linear.
fn find_delimiter(hay: &[u8], delimiter: &[u8]) -> Scan {
    let mut from = 0;
    while let Some(i) = hay
        .get(from..)
        .and_then(|h| h.iter().position(|&b| b == b'\r'))
    {
        let start = from + i;
        let candidate = hay.get(start..).unwrap_or_default();
        if candidate.starts_with(delimiter) {
            return Scan::Found(start);
        }
        if delimiter.starts_with(candidate) {
            // `hay` ends in what may become a delimiter: hold it back.
            return Scan::Clear(start);
        }
        from = start + 1;
    }
    Scan::Clear(hay.len())
}
// ANCHOR_END: find_delimiter

// ANCHOR: sanitize_filename
/// A file name from a part that is safe to create inside a directory of
/// ours, or `None` if there is nothing safe to keep. RFC 7578 §4.2: "do
/// not use the file name blindly, check and possibly change to match local
/// file system conventions if applicable, and do not use directory path
/// information that may be present."
///
/// - Directories are stripped, at both `/` and `\` (whatever our OS: old
///   browsers on Windows sent `C:\Users\me\cv.pdf`): only the last
///   component is kept.
/// - Refused: an empty name (`""`, `dir/`), a leading dot (`.`, `..`, and
///   hidden files such as `.htaccess` or `.bashrc`), any control character
///   (NUL, which ends a C path; CR and LF, which forge log lines; ESC, DEL,
///   C1), more than [`MAX_FILENAME_BYTES`] bytes.
///
/// Not handled, so still the caller's job: two uploads with the same name
/// (never overwrite; add a suffix or pick the stored name yourself),
/// Windows-only hazards (`CON`, `a.txt:stream`, trailing dots and spaces),
/// look-alike and bidi-override characters (U+202E), and trusting the
/// extension: `cv.pdf` may hold anything.
pub fn sanitize_filename(raw: &str) -> Option<String> {
    // `rsplit` yields at least one (possibly empty) piece.
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let refused = name.is_empty()
        || name.starts_with('.')
        || name.len() > MAX_FILENAME_BYTES
        || name.chars().any(char::is_control);
    (!refused).then(|| name.to_owned())
}
// ANCHOR_END: sanitize_filename

#[cfg(test)]
mod tests {
    use super::*;
    use MultipartError::*;

    /// What a caller reassembles: each part's head and data, and how the
    /// body ended (`finish`, or the first error).
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        parts: Vec<(Part, Vec<u8>)>,
        end: Result<(), MultipartError>,
    }

    /// Feed `reads` in order, as a connection would: keep what `next` did
    /// not consume, append the next read. Checks the event order and the
    /// bound on held-back bytes on the way.
    fn run(boundary: &[u8], limits: &Limits, reads: &[&[u8]]) -> Outcome {
        let mut parser = Parser::new(boundary, limits);
        let (mut buf, mut parts) = (Vec::new(), Vec::<(Part, Vec<u8>)>::new());
        let mut in_part = false;
        for read in reads {
            buf.extend_from_slice(read);
            loop {
                let (event, used) = match parser.next(&buf) {
                    Ok(got) => got,
                    Err(e) => {
                        // Spent: the same error again, and from `finish`.
                        assert_eq!(parser.next(b"more"), Err(e));
                        assert_eq!(parser.finish(), Err(e));
                        return Outcome { parts, end: Err(e) };
                    }
                };
                assert!(used <= buf.len(), "{used} of {}", buf.len());
                let need_more = event == Event::NeedMore;
                match event {
                    Event::PartStart(part) => {
                        assert!(!in_part, "PartStart inside a part");
                        in_part = true;
                        parts.push((part, Vec::new()));
                    }
                    Event::Data(data) => {
                        assert!(in_part && !data.is_empty(), "{data:?}");
                        parts.last_mut().unwrap().1.extend_from_slice(data);
                    }
                    Event::PartEnd => {
                        assert!(in_part, "PartEnd outside a part");
                        in_part = false;
                    }
                    Event::End => {
                        assert!(!in_part, "End inside a part");
                        assert_eq!(used, buf.len(), "End consumes the epilogue");
                    }
                    Event::NeedMore => {}
                }
                buf.drain(..used);
                if need_more {
                    assert!(buf.len() <= parser.max_held(), "held {}", buf.len());
                    break;
                }
                if buf.is_empty() && parser.finish().is_ok() {
                    break; // after `End` with nothing left: wait for the next read
                }
            }
        }
        Outcome {
            parts,
            end: parser.finish(),
        }
    }

    /// `body` whole, at every split into two reads, and one byte per read:
    /// all give the same outcome. Returns it.
    fn run_all_ways(
        name: &str,
        boundary: &[u8],
        limits: &Limits,
        body: &[u8],
    ) -> Outcome {
        let whole = run(boundary, limits, &[body]);
        for cut in 0..=body.len() {
            let two = run(boundary, limits, &[&body[..cut], &body[cut..]]);
            assert_eq!(two, whole, "{name} split at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(boundary, limits, &bytes), whole, "{name} byte by byte");
        whole
    }

    /// (name, filename, content type, data) of one expected part.
    type Want = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        &'static [u8],
    );

    const CHROMIUM: &[u8] = b"----WebKitFormBoundary7MA4YWxkTrZu0gW";
    const FIREFOX: &[u8] = b"---------------------------735323031399963166993862150";
    const RFC: &[u8] = b"AaB03x";
    const CD: &str = "Content-Disposition: form-data";

    /// (case, boundary, body, the parts it holds).
    type GoodCase = (&'static str, &'static [u8], &'static [u8], &'static [Want]);

    const GOOD: &[GoodCase] = &[
        (
            "chromium_text_and_file",
            CHROMIUM,
            b"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n\
              Content-Disposition: form-data; name=\"title\"\r\n\
              \r\n\
              Holiday\r\n\
              ------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n\
              Content-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n\
              Content-Type: image/jpeg\r\n\
              \r\n\
              \xff\xd8\xff\xe0JFIF\r\n\x00\r\n\
              ------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
            &[
                ("title", None, None, b"Holiday"),
                (
                    "photo",
                    Some("beach.jpg"),
                    Some("image/jpeg"),
                    b"\xff\xd8\xff\xe0JFIF\r\n\x00",
                ),
            ],
        ),
        (
            "firefox_utf8_text_and_file",
            FIREFOX,
            b"-----------------------------735323031399963166993862150\r\n\
              Content-Disposition: form-data; name=\"comment\"\r\n\
              \r\n\
              caf\xc3\xa9 \xe2\x82\xac\r\n\
              -----------------------------735323031399963166993862150\r\n\
              Content-Disposition: form-data; name=\"notes\"; filename=\"r\xc3\xa9sum\xc3\xa9.txt\"\r\n\
              Content-Type: text/plain\r\n\
              \r\n\
              line 1\r\nline 2\r\n\r\n\
              -----------------------------735323031399963166993862150--\r\n",
            &[
                ("comment", None, None, "café €".as_bytes()),
                (
                    "notes",
                    Some("résumé.txt"),
                    Some("text/plain"),
                    b"line 1\r\nline 2\r\n",
                ),
            ],
        ),
        (
            "empty_file_and_empty_field",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"upload\"; filename=\"\"\r\n\
              Content-Type: application/octet-stream\r\n\
              \r\n\
              \r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"empty\"\r\n\
              \r\n\
              \r\n\
              --AaB03x--\r\n",
            &[
                ("upload", Some(""), Some("application/octet-stream"), b""),
                ("empty", None, None, b""),
            ],
        ),
        (
            "file_holds_dash_boundary_without_crlf",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\
              \r\n\
              x--AaB03x\r\n-- AaB03x\n--AaB03x\r--AaB03x--AaB03x--\r\n\
              --AaB03x--\r\n",
            &[(
                "f",
                Some("a.txt"),
                None,
                b"x--AaB03x\r\n-- AaB03x\n--AaB03x\r--AaB03x--AaB03x--",
            )],
        ),
        (
            "file_holds_partial_delimiters",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\
              \r\n\
              a\r\n--AaB03\r\n--AaB0\r\n--\r\n-\r\r\n--AaB03y\r\r\r\
              \r\n--AaB03x--",
            &[(
                "f",
                Some("a.bin"),
                None,
                b"a\r\n--AaB03\r\n--AaB0\r\n--\r\n-\r\r\n--AaB03y\r\r\r",
            )],
        ),
        (
            "transport_padding_after_boundaries",
            RFC,
            b"--AaB03x \t \r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              1\r\n\
              --AaB03x\t\r\n\
              Content-Disposition: form-data; name=\"b\"\r\n\
              \r\n\
              2\r\n\
              --AaB03x--  \r\n",
            &[("a", None, None, b"1"), ("b", None, None, b"2")],
        ),
        (
            "preamble_and_epilogue",
            RFC,
            b"This is the preamble.\r\n--AaB03 is not it, \r\n-AaB03x neither.\r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              1\r\n\
              --AaB03x--\r\n\
              This is the epilogue.\r\n--AaB03x\r\nContent-Disposition: form-data; name=\"b\"",
            &[("a", None, None, b"1")],
        ),
        (
            "empty_preamble_with_its_crlf",
            RFC,
            b"\r\n--AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              1\r\n\
              --AaB03x--",
            &[("a", None, None, b"1")],
        ),
        (
            "quoted_boundary_with_colon_and_space",
            b"gc0p Jq0M:08jU534c0p",
            b"--gc0p Jq0M:08jU534c0p\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              1\r\n\
              --gc0p Jq0M:08jU534c0p--\r\n",
            &[("a", None, None, b"1")],
        ),
        (
            "boundary_text_starts_the_content",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              --AaB03x is the boundary, AaB03x\r\n\
              --AaB03x--\r\n",
            &[("a", None, None, b"--AaB03x is the boundary, AaB03x")],
        ),
        (
            "data_ends_in_cr_before_the_delimiter",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              x\r\r\n--AaB03x--",
            &[("a", None, None, b"x\r")],
        ),
        ("empty_form", RFC, b"--AaB03x--\r\n", &[]),
        ("empty_form_after_preamble", RFC, b"hi\r\n--AaB03x--\r\n", &[]),
        (
            "no_crlf_after_close_delimiter",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              1\r\n\
              --AaB03x--",
            &[("a", None, None, b"1")],
        ),
        (
            "names_case_insensitive_other_fields_ignored",
            RFC,
            b"--AaB03x\r\n\
              X-Ignored: yes\r\n\
              content-disposition:Form-Data;NAME=a ; FileName=\"b.txt\" ; size=3\r\n\
              CONTENT-TYPE:  text/plain; charset=utf-8  \r\n\
              Content-Transfer-Encoding: base64\r\n\
              \r\n\
              abc\r\n\
              --AaB03x--",
            &[("a", Some("b.txt"), Some("text/plain; charset=utf-8"), b"abc")],
        ),
        (
            "filename_escapes_and_windows_path",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"q\\\"n\"; filename=\"a\\\"b\\\\c.txt\"\r\n\
              \r\n\
              1\r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"w\"; filename=\"C:\\Users\\me\\cv.pdf\"\r\n\
              \r\n\
              2\r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"p\"; filename=\"a%22b %0D.txt\"\r\n\
              \r\n\
              3\r\n\
              --AaB03x--",
            &[
                ("q\"n", Some("a\"b\\c.txt"), None, b"1"),
                ("w", Some("C:\\Users\\me\\cv.pdf"), None, b"2"),
                ("p", Some("a%22b %0D.txt"), None, b"3"),
            ],
        ),
        (
            "filename_star_ignored",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%E2%82%AC.txt\r\n\
              \r\n\
              1\r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"b\"; filename=\"euro.txt\"; filename*=UTF-8''%E2%82%AC.txt\r\n\
              \r\n\
              2\r\n\
              --AaB03x--",
            &[("a", None, None, b"1"), ("b", Some("euro.txt"), None, b"2")],
        ),
        (
            "two_files_one_name",
            RFC,
            b"--AaB03x\r\n\
              Content-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\
              \r\n\
              A\r\n\
              --AaB03x\r\n\
              Content-Disposition: form-data; name=\"files\"; filename=\"b.txt\"\r\n\
              \r\n\
              B\r\n\
              --AaB03x--",
            &[
                ("files", Some("a.txt"), None, b"A"),
                ("files", Some("b.txt"), None, b"B"),
            ],
        ),
        (
            "one_byte_boundary",
            b"-",
            b"---\r\n\
              Content-Disposition: form-data; name=\"a\"\r\n\
              \r\n\
              --\r\n-\r\n-- x\r\n\
              -----",
            &[("a", None, None, b"--\r\n-\r\n-- x")],
        ),
    ];

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn good_bodies_whole_at_every_split_and_byte_by_byte() {
        for &(name, boundary, body, want) in GOOD {
            let got = run_all_ways(name, boundary, &limits(), body);
            let want: Vec<(Part, Vec<u8>)> = want
                .iter()
                .map(|&(field, filename, content_type, data)| {
                    let part = Part {
                        name: field.into(),
                        filename: filename.map(Into::into),
                        content_type: content_type.map(Into::into),
                    };
                    (part, data.to_vec())
                })
                .collect();
            assert_eq!(
                got,
                Outcome {
                    parts: want,
                    end: Ok(())
                },
                "{name}"
            );
        }
    }

    /// (case, body with boundary `AaB03x`, the error).
    const BAD: &[(&str, &[u8], MultipartError)] = &[
        ("empty_body", b"", Truncated),
        ("no_boundary_at_all", b"name=value\r\n", Truncated),
        (
            "preamble_ends_in_partial_delimiter",
            b"x\r\n--AaB0",
            Truncated,
        ),
        ("ends_after_first_boundary", b"--AaB03x", Truncated),
        (
            "ends_in_head",
            b"--AaB03x\r\nContent-Disposition: form",
            Truncated,
        ),
        (
            "missing_close_delimiter",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",
            Truncated,
        ),
        (
            "ends_after_last_delimiter",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--AaB03x",
            Truncated,
        ),
        (
            "ends_after_one_close_dash",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--AaB03x-",
            Truncated,
        ),
        (
            "lf_only_line_endings",
            b"--AaB03x\nContent-Disposition: form-data; name=\"a\"\n\nvalue\n--AaB03x--\n",
            BadDelimiter,
        ),
        // RFC 2046 §5.1.1: the delimiter may not be "a prefix of any line".
        (
            "content_line_starting_with_the_boundary",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--AaB03xyz\r\n",
            BadDelimiter,
        ),
        ("first_boundary_then_junk", b"--AaB03xyz\r\n", BadDelimiter),
        (
            "preamble_line_then_junk",
            b"hi\r\n--AaB03x.\r\n",
            BadDelimiter,
        ),
        (
            "one_dash_close",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--AaB03x-\r\n",
            BadDelimiter,
        ),
        ("cr_without_lf_after_boundary", b"--AaB03x\rX", BadDelimiter),
        ("padding_then_junk", b"--AaB03x  x\r\n", BadDelimiter),
        ("vertical_tab_as_padding", b"--AaB03x\x0b\r\n", BadDelimiter),
        (
            "bare_lf_in_head",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\n\r\n",
            BadPartHead,
        ),
        (
            "bare_cr_in_head",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\rX\r\n\r\n",
            BadPartHead,
        ),
        (
            "obs_fold_in_head",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\nX-A: b\r\n c\r\n\r\n",
            BadPartHead,
        ),
        (
            "head_line_without_colon",
            b"--AaB03x\r\nhello\r\n\r\n",
            BadPartHead,
        ),
        (
            "space_before_colon",
            b"--AaB03x\r\nContent-Disposition : form-data; name=\"a\"\r\n\r\n",
            BadPartHead,
        ),
        (
            "control_byte_in_filename",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\x01\"\r\n\r\n",
            BadPartHead,
        ),
        (
            "close_delimiter_inside_head",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n--AaB03x--\r\n",
            BadPartHead,
        ),
        (
            "two_content_types",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\
              Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\n",
            BadPartHead,
        ),
        (
            "empty_content_type",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type:\r\n\r\n",
            BadPartHead,
        ),
        (
            "non_utf8_content_type",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: \xff\r\n\r\n",
            BadPartHead,
        ),
        (
            "no_head_at_all",
            b"--AaB03x\r\n\r\nvalue\r\n--AaB03x--",
            BadDisposition,
        ),
        (
            "no_content_disposition",
            b"--AaB03x\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--AaB03x--",
            BadDisposition,
        ),
        (
            "attachment_not_form_data",
            b"--AaB03x\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "no_name",
            b"--AaB03x\r\nContent-Disposition: form-data; filename=\"a.txt\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "two_names",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "two_filenames",
            b"--AaB03x\r\nContent-Disposition: form-data; name=a; filename=x; FILENAME=y\r\n\r\n",
            BadDisposition,
        ),
        (
            "two_content_dispositions",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\
              Content-Disposition: form-data; name=\"b\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "unterminated_quoted_name",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\r\n\r\n",
            BadDisposition,
        ),
        (
            "escaped_closing_quote",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\\\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "space_around_equals",
            b"--AaB03x\r\nContent-Disposition: form-data; name = \"a\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "junk_after_quoted_value",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"b\r\n\r\n",
            BadDisposition,
        ),
        (
            "non_utf8_name",
            b"--AaB03x\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\n",
            BadDisposition,
        ),
        (
            "non_utf8_filename",
            b"--AaB03x\r\nContent-Disposition: form-data; name=a; filename=\"\xc3(\"\r\n\r\n",
            BadDisposition,
        ),
    ];

    #[test]
    fn bad_bodies_whole_at_every_split_and_byte_by_byte() {
        for &(name, body, want) in BAD {
            let got = run_all_ways(name, RFC, &limits(), body);
            assert_eq!(got.end, Err(want), "{name}");
        }
    }

    /// A body of `parts` parts, each with a head of exactly `head` bytes
    /// (CRLFs and the empty line included).
    fn body_with(parts: usize, head: usize) -> Vec<u8> {
        let first = format!("{CD}; name=\"a\"\r\nX-Pad: ");
        let pad = head - first.len() - "\r\n\r\n".len();
        let mut body = Vec::new();
        for _ in 0..parts {
            body.extend_from_slice(b"--AaB03x\r\n");
            body.extend_from_slice(first.as_bytes());
            body.extend(std::iter::repeat_n(b'p', pad));
            body.extend_from_slice(b"\r\n\r\nvalue\r\n");
        }
        body.extend_from_slice(b"--AaB03x--\r\n");
        body
    }

    #[test]
    fn part_head_at_limit_and_one_over() {
        for max in [MAX_PART_HEAD_SMALL, crate::limits::MAX_PART_HEAD] {
            let limits = Limits {
                max_part_head: max,
                ..Limits::default()
            };
            let at = run(RFC, &limits, &[&body_with(2, max)]);
            assert_eq!((at.parts.len(), at.end), (2, Ok(())), "{max}: at N");
            let over = run(RFC, &limits, &[&body_with(2, max + 1)]);
            assert_eq!(over.end, Err(PartHeadTooLarge), "{max}: at N+1");
        }
        // Every split agrees, at the limit and over it.
        let limits = Limits {
            max_part_head: MAX_PART_HEAD_SMALL,
            ..Limits::default()
        };
        for head in [MAX_PART_HEAD_SMALL, MAX_PART_HEAD_SMALL + 1] {
            run_all_ways("head", RFC, &limits, &body_with(1, head));
        }
    }

    /// A head limit small enough to test every split of.
    const MAX_PART_HEAD_SMALL: usize = 64;

    #[test]
    fn parts_at_limit_and_one_over() {
        for max in [1, 2, crate::limits::MAX_PARTS] {
            let limits = Limits {
                max_parts: max,
                ..Limits::default()
            };
            let at = run(RFC, &limits, &[&body_with(max, 60)]);
            assert_eq!((at.parts.len(), at.end), (max, Ok(())), "{max}: at N");
            let over = run(RFC, &limits, &[&body_with(max + 1, 60)]);
            assert_eq!(over.parts.len(), max, "{max}: N parts before the error");
            assert_eq!(over.end, Err(TooManyParts), "{max}: at N+1");
        }
    }

    #[test]
    fn held_back_bytes_are_the_possible_delimiter_only() {
        let head = b"--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n";
        let mut p = Parser::new(RFC, &limits());
        assert!(matches!(p.next(head), Ok((Event::PartStart(_), n)) if n == head.len()));
        // Nine bytes that might become `\r\n--AaB03x`: none is data yet.
        assert_eq!(p.next(b"\r\n--AaB03"), Ok((Event::NeedMore, 0)));
        assert_eq!(p.max_held(), RFC.len() + 3);
        // One more byte decides: not a delimiter, all of it is data.
        assert_eq!(
            p.next(b"\r\n--AaB03!"),
            Ok((Event::Data(b"\r\n--AaB03!"), 10))
        );
        // Data up to a possible delimiter, then the rest is held.
        assert_eq!(p.next(b"abc\r\n-"), Ok((Event::Data(b"abc"), 3)));
        assert_eq!(p.next(b"\r\n-"), Ok((Event::NeedMore, 0)));
        assert_eq!(p.next(b"\r\n--AaB03x"), Ok((Event::PartEnd, 10)));
        assert_eq!(p.next(b"--epilogue"), Ok((Event::End, 10)));
        assert_eq!(p.next(b"more"), Ok((Event::End, 4)));
        assert_eq!(p.finish(), Ok(()));
    }

    #[test]
    fn statuses() {
        let table = [
            (NotFormData, 415),
            (BadBoundary, 400),
            (BadDelimiter, 400),
            (BadPartHead, 400),
            (BadDisposition, 400),
            (PartHeadTooLarge, 413),
            (TooManyParts, 413),
            (Truncated, 400),
        ];
        for (e, code) in table {
            assert_eq!(e.status().as_u16(), code, "{e:?}");
        }
        assert_eq!(
            TooManyParts.to_string(),
            "TooManyParts (413 Content Too Large)"
        );
    }

    /// (case, `Content-Type` value, the boundary or the error).
    type BoundaryCase = (
        &'static str,
        &'static [u8],
        Result<&'static [u8], MultipartError>,
    );

    const BOUNDARIES: &[BoundaryCase] = &[
        (
            "chromium",
            b"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            Ok(b"----WebKitFormBoundary7MA4YWxkTrZu0gW"),
        ),
        (
            "case_insensitive",
            b"Multipart/Form-Data; BOUNDARY=AaB03x",
            Ok(b"AaB03x"),
        ),
        (
            "quoted",
            b"multipart/form-data; boundary=\"gc0pJq0M:08jU534c0p\"",
            Ok(b"gc0pJq0M:08jU534c0p"),
        ),
        (
            "quoted_space_inside",
            b"multipart/form-data; boundary=\"a b\"",
            Ok(b"a b"),
        ),
        (
            "quoted_pair",
            b"multipart/form-data; boundary=\"a\\b\\=c\"",
            Ok(b"ab=c"),
        ),
        (
            "other_parameters",
            b"multipart/form-data; charset=utf-8; boundary=x; q=\"y;z\"",
            Ok(b"x"),
        ),
        (
            "ows_and_empty_parameters",
            b"  multipart/form-data ;; boundary=x ;  ",
            Ok(b"x"),
        ),
        (
            "seventy_chars",
            b"multipart/form-data; boundary=1234567890123456789012345678901234567890123456789012345678901234567890",
            Ok(b"1234567890123456789012345678901234567890123456789012345678901234567890"),
        ),
        (
            "seventy_one_chars",
            b"multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901",
            Err(BadBoundary),
        ),
        ("one_char", b"multipart/form-data; boundary=-", Ok(b"-")),
        (
            "ends_in_space",
            b"multipart/form-data; boundary=\"ab \"",
            Err(BadBoundary),
        ),
        ("empty", b"multipart/form-data; boundary=\"\"", Err(BadBoundary)),
        ("no_boundary", b"multipart/form-data", Err(BadBoundary)),
        (
            "no_boundary_other_param",
            b"multipart/form-data; charset=utf-8",
            Err(BadBoundary),
        ),
        (
            "two_boundaries",
            b"multipart/form-data; boundary=a; Boundary=b",
            Err(BadBoundary),
        ),
        ("no_value", b"multipart/form-data; boundary", Err(BadBoundary)),
        ("not_a_bchar", b"multipart/form-data; boundary=\"a@b\"", Err(BadBoundary)),
        ("not_a_token", b"multipart/form-data; boundary=a@b", Err(BadBoundary)),
        ("tchar_not_bchar", b"multipart/form-data; boundary=a*b", Err(BadBoundary)),
        (
            "unterminated_quote",
            b"multipart/form-data; boundary=\"abc",
            Err(BadBoundary),
        ),
        (
            "space_around_equals",
            b"multipart/form-data; boundary = x",
            Err(BadBoundary),
        ),
        ("no_semicolon", b"multipart/form-data boundary=x", Err(BadBoundary)),
        ("text_plain", b"text/plain", Err(NotFormData)),
        (
            "multipart_mixed",
            b"multipart/mixed; boundary=x",
            Err(NotFormData),
        ),
        (
            "urlencoded",
            b"application/x-www-form-urlencoded",
            Err(NotFormData),
        ),
        (
            "longer_subtype",
            b"multipart/form-datax; boundary=x",
            Err(NotFormData),
        ),
        ("empty_content_type", b"", Err(NotFormData)),
    ];

    #[test]
    fn boundaries() {
        for &(name, content_type, want) in BOUNDARIES {
            assert_eq!(boundary(content_type), want.map(<[u8]>::to_vec), "{name}");
        }
    }

    const FILENAMES: &[(&str, &str, Option<&str>)] = &[
        ("plain", "cv.pdf", Some("cv.pdf")),
        ("utf8", "résumé €.pdf", Some("résumé €.pdf")),
        ("spaces_kept", "a b .txt", Some("a b .txt")),
        ("windows_path", "C:\\Users\\me\\cv.pdf", Some("cv.pdf")),
        ("unix_path", "/etc/passwd", Some("passwd")),
        ("traversal", "../../etc/passwd", Some("passwd")),
        ("mixed_separators", "a\\b/c\\d.txt", Some("d.txt")),
        ("percent_not_decoded", "%2e%2e%2fx", Some("%2e%2e%2fx")),
        ("empty", "", None),
        ("directory_only", "dir/", None),
        ("dot", ".", None),
        ("dot_dot", "..", None),
        ("ends_in_dot_dot", "a/..", None),
        ("hidden_file", ".htaccess", None),
        ("nul", "a\0b.txt", None),
        ("newline", "a\r\nb.txt", None),
        ("escape", "a\x1b[31m.txt", None),
        ("del", "a\x7f", None),
        ("c1_control", "a\u{85}b", None),
    ];

    #[test]
    fn sanitized_filenames() {
        for &(name, raw, want) in FILENAMES {
            assert_eq!(sanitize_filename(raw).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn filename_length_at_limit_and_one_over() {
        // 255 bytes: 127 two-byte `é` and one `a`; then one byte more.
        let at = format!("{}a", "é".repeat(127));
        assert_eq!(at.len(), MAX_FILENAME_BYTES);
        assert_eq!(sanitize_filename(&format!("dir/{at}")), Some(at.clone()));
        assert_eq!(sanitize_filename(&format!("{at}b")), None);
    }
}
