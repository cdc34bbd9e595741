//! Byte ranges: the `Range` request field, `Content-Range`, and
//! `multipart/byteranges` bodies (ch08, static files; RFC 9110 §14).
//!
//! A client that has part of a file, or wants only part of it (a download
//! resuming, a video player seeking), sends `Range: bytes=…`
//! ([RFC 9110 §14.2](https://www.rfc-editor.org/rfc/rfc9110#section-14.2)).
//! This module works out what that asks for and frames the answer. It reads
//! no file and touches no socket: the handler that serves files does, and
//! uses it like this.
//!
//! 1. Only for GET, and only if the request has exactly one `Range` field.
//!    RFC 9110 §14.2: "A server MUST ignore a Range header field received
//!    with a request method that is unrecognized or for which range handling
//!    is not defined. For this specification, GET is the only method for
//!    which range handling is defined." (Two `Range` lines are not a valid
//!    field: `Range` is not a list. Joined with a comma, they would parse
//!    as invalid anyway, and be ignored.)
//! 2. `parse_range(value, len, &limits)`, with `len` the file's length, and:
//!
//! | [`parse_range`] answers | the response |
//! |---|---|
//! | [`RangeAnswer::Ignore`] | 200 and the whole file, as if no `Range` had been sent |
//! | [`RangeAnswer::Unsatisfiable`] | 416, `Content-Range:` [`unsatisfied_range`]`(len)` |
//! | [`RangeAnswer::Satisfiable`], one range | 206, `Content-Range:` [`content_range`], those bytes |
//! | [`RangeAnswer::Satisfiable`], more | 206, a [`ByteRanges`] body (`multipart/byteranges`) |
//!
//! One range is never sent as multipart. RFC 9110 §15.3.7.2: "A server MUST
//! NOT generate a multipart response to a request for a single range, since
//! a client that does not request multiple parts might not support multipart
//! responses." (It MAY send one part when several were asked for, but a
//! plain 206 is simpler and every client reads it.)
//!
//! ```
//! use rawhttp::limits::Limits;
//! use rawhttp::range::{ByteRanges, Part, RangeAnswer, new_boundary, parse_range};
//!
//! let file = vec![b'x'; 1000];
//! let len = file.len() as u64;
//! let answer = parse_range(b"bytes=0-9, 500-509", len, &Limits::default());
//! let RangeAnswer::Satisfiable(ranges) = answer else { panic!("{answer:?}") };
//! assert_eq!(ranges, [(0, 9), (500, 509)]);
//!
//! let body = ByteRanges::new(ranges, len, Some("text/plain"), new_boundary())?;
//! let mut sent = Vec::new();
//! for part in body.parts() {
//!     match part {
//!         Part::Bytes(framing) => sent.extend_from_slice(&framing),
//!         // The handler reads these from the file; here the file is in memory.
//!         Part::File { first, last } => {
//!             sent.extend_from_slice(&file[first as usize..=last as usize])
//!         }
//!     }
//! }
//! assert_eq!(sent.len() as u64, body.content_length());
//! assert!(body.content_type().starts_with("multipart/byteranges; boundary="));
//! # Ok::<(), &'static str>(())
//! ```
//!
//! Whether the `Range` is looked at at all is the handler's to decide too.
//! RFC 9110 §14.2: "The Range header field is evaluated after evaluating the
//! precondition header fields defined in Section 13.1, and only if the
//! result in absence of the Range header field would be a 200 (OK)
//! response" (so `If-Range`, §13.1.5, comes first). A 200 for a file may
//! carry `Accept-Ranges: bytes` (RFC 9110 §14.3), so clients know to ask.

use std::cmp::Ordering;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{self, AtomicU64};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::limits::Limits;
use crate::request::trim_ows;

/// Ranges closer than this many bytes are merged into one (see [`coalesce`]).
///
/// RFC 9110 §15.3.7.2 gives both the permission and the number: "a server
/// MAY coalesce any of the ranges that overlap, or that are separated by a
/// gap that is smaller than the overhead of sending multiple parts", and
/// "the typical overhead between each part of a multipart/byteranges is
/// around 80 bytes". Sending a gap of fewer bytes costs less than framing
/// another part. Not configurable: it is protocol policy, not a budget.
pub const COALESCE_GAP: u64 = 80;

/// What a `Range` field asks of a representation `len` bytes long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// Answer 200 with the whole representation, as if there were no `Range`.
    ///
    /// The unit is not `bytes` (RFC 9110 §14.2: "An origin server MUST
    /// ignore a Range header field that contains a range unit it does not
    /// understand"); or the value is invalid (§14.2: a server "MAY ignore or
    /// reject a Range header field that contains an invalid
    /// ranges-specifier"); or it has more than `limits.max_ranges` specs
    /// ([`crate::limits::MAX_RANGES`]); or `len` is 0 (see [`parse_range`]).
    Ignore,
    /// Answer 206 with these inclusive `(first, last)` byte offsets: each has
    /// `first <= last < len`; they do not overlap and are at least
    /// [`COALESCE_GAP`] bytes apart (see [`coalesce`]), so together they are
    /// never longer than the representation; and they come in the order the
    /// client asked for them.
    Satisfiable(Vec<(u64, u64)>),
    /// Answer 416 with `Content-Range:` [`unsatisfied_range`]`(len)`: the
    /// value is valid, but no spec names a byte the representation has
    /// (RFC 9110 §14.1.2, §15.5.17).
    Unsatisfiable,
}

/// One `range-spec` of the `bytes` unit, as written. Numbers too large for
/// a `u64` are kept as `u64::MAX` (see [`number`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `int-range`: from `first`, to `last` or (if absent) the end.
    Int { first: u64, last: Option<u64> },
    /// `suffix-range`: the last `n` bytes.
    Suffix(u64),
}

// ANCHOR: parse_range
/// Decide what the `Range` field `value` asks of a representation of `len`
/// bytes (RFC 9110 §14.1.2, §14.2). See [`RangeAnswer`] for each answer.
///
/// Validity comes first: one bad spec and the whole field is ignored,
/// before any spec is held against `len` (RFC 9110 §14.1.1: "A
/// ranges-specifier is invalid if it contains any range-spec that is invalid
/// or undefined for the indicated range-unit.").
///
/// An empty representation (`len == 0`) is always `Ignore`, a 200 with an
/// empty body. RFC 9110 §14.2: a server "MAY ignore a Range header field
/// when the selected representation has no content". The alternative is
/// awkward both ways: `bytes=-5` would be satisfiable (§14.1.2) yet no
/// `first-last` can name zero bytes in a `Content-Range`, and `bytes=0-`,
/// what a resuming download sends, would get a 416 it must recover from.
pub fn parse_range(value: &[u8], len: u64, limits: &Limits) -> RangeAnswer {
    let Some(specs) = parse_specs(value, limits.max_ranges) else {
        return RangeAnswer::Ignore;
    };
    let Some(end) = len.checked_sub(1) else {
        return RangeAnswer::Ignore;
    };
    let ranges: Vec<(u64, u64)> = specs.iter().filter_map(|s| resolve(*s, end)).collect();
    if ranges.is_empty() {
        RangeAnswer::Unsatisfiable
    } else {
        RangeAnswer::Satisfiable(coalesce(&ranges))
    }
}

/// The bytes one spec names in a representation whose last offset is `end`,
/// or `None` if it names none (RFC 9110 §14.1.2): "a valid bytes
/// range-spec is satisfiable if it is either: an int-range with a first-pos
/// that is less than the current length of the selected representation or
/// a suffix-range with a non-zero suffix-length."
fn resolve(spec: Spec, end: u64) -> Option<(u64, u64)> {
    match spec {
        Spec::Int { first, .. } if first > end => None,
        // "If the last-pos value is absent, or if the value is greater than
        // or equal to the current length of the representation data, the
        // byte range is interpreted as the remainder of the representation."
        Spec::Int { first, last } => Some((first, last.map_or(end, |l| l.min(end)))),
        Spec::Suffix(0) => None,
        // "If the selected representation is shorter than the specified
        // suffix-length, the entire representation is used." The last `n`
        // start at `len - n`, which is `end - (n - 1)` (n >= 1 here).
        Spec::Suffix(n) => Some((end.saturating_sub(n - 1), end)),
    }
}
// ANCHOR_END: parse_range

// ANCHOR: range_set
/// Split `value` into its specs, or `None` if it is not a valid `bytes`
/// ranges-specifier or has more than `max` specs.
///
/// ```text
/// ranges-specifier = range-unit "=" range-set
/// range-unit       = token
/// range-set        = 1#range-spec
/// range-spec       = int-range
///                  / suffix-range
///                  / other-range
/// ```
///
/// (RFC 9110 §14.1, §14.1.1.) "All range unit names are case-insensitive".
/// `1#` is a list (RFC 9110 §5.6.1, §5.6.1.2): specs are separated by commas with
/// optional whitespace around them, and a recipient "MUST parse and ignore
/// a reasonable number of empty list elements". We also accept OWS right
/// after the `=`: RFC 9110 §14.1.2's own example is `bytes= 0-999, …`.
/// `other-range` is "undefined" for bytes ("Byte ranges do not use the
/// other-range specifier"), so anything else makes the whole value invalid.
fn parse_specs(value: &[u8], max: usize) -> Option<Vec<Spec>> {
    let value = trim_ows(value);
    let eq = value.iter().position(|&b| b == b'=')?;
    let (unit, set) = (value.get(..eq)?, value.get(eq + 1..)?);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for element in set.split(|&b| b == b',').map(trim_ows) {
        if element.is_empty() {
            continue;
        }
        if specs.len() == max {
            return None; // One spec too many: see `limits::MAX_RANGES`.
        }
        specs.push(parse_spec(element)?);
    }
    // `1#`: at least one, so `bytes=` and `bytes=,` are invalid.
    (!specs.is_empty()).then_some(specs)
}
// ANCHOR_END: range_set

// ANCHOR: range_spec
/// One `range-spec` of the `bytes` unit (RFC 9110 §14.1.1):
///
/// ```text
/// int-range     = first-pos "-" [ last-pos ]
/// first-pos     = 1*DIGIT
/// last-pos      = 1*DIGIT
/// suffix-range  = "-" suffix-length
/// suffix-length = 1*DIGIT
/// ```
///
/// "An int-range is invalid if the last-pos value is present and less than
/// the first-pos." That is decided on the digits, so that it holds even for
/// numbers beyond a `u64`.
fn parse_spec(spec: &[u8]) -> Option<Spec> {
    let dash = spec.iter().position(|&b| b == b'-')?;
    let (first, last) = (spec.get(..dash)?, spec.get(dash + 1..)?);
    match (first, last) {
        ([], digits) => Some(Spec::Suffix(number(digits)?)),
        (first, []) => Some(Spec::Int {
            first: number(first)?,
            last: None,
        }),
        (first, last) => {
            let (f, l) = (number(first)?, number(last)?);
            let valid = compare_decimal(last, first) != Ordering::Less;
            valid.then_some(Spec::Int {
                first: f,
                last: Some(l),
            })
        }
    }
}
// ANCHOR_END: range_spec

/// `1*DIGIT` as a number, or `None` if `digits` is empty or holds anything
/// but ASCII digits (no sign, no space: `str::parse` would accept `+5`).
///
/// A number too large for a `u64` becomes `u64::MAX`. RFC 9110 §14.1.2:
/// "recipients MUST anticipate potentially large decimal numerals and
/// prevent parsing errors due to integer conversion overflows." Such a
/// number is still a number, and no representation is 2^64 bytes long: a
/// `first-pos` that large is past the end (unsatisfiable), a `last-pos` is
/// clamped to the end, a `suffix-length` means the whole file. `u64::MAX`
/// gives each of these the same answer as the true value would.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = u64::from(b.is_ascii_digit().then(|| b - b'0')?);
        Some(
            n.checked_mul(10)
                .and_then(|n| n.checked_add(digit))
                .unwrap_or(u64::MAX),
        )
    })
}

/// Compare two `1*DIGIT` strings by value, however long they are.
fn compare_decimal(a: &[u8], b: &[u8]) -> Ordering {
    let significant =
        |d: &[u8]| -> usize { d.iter().position(|&c| c != b'0').unwrap_or(d.len()) };
    let a = a.get(significant(a)..).unwrap_or_default();
    let b = b.get(significant(b)..).unwrap_or_default();
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

// ANCHOR: coalesce
/// Merge ranges that overlap, touch, or are fewer than [`COALESCE_GAP`]
/// bytes apart; keep the order the client asked in.
///
/// RFC 9110 §15.3.7.2 allows the merging "regardless of the order in which
/// the corresponding range-spec appeared", and asks that parts still come in
/// that order: a server "SHOULD send the parts in the same order that the
/// corresponding range-spec appeared in the received Range header field,
/// excluding those ranges that were deemed unsatisfiable or that were
/// coalesced into other ranges." So a merged range takes the place of the
/// earliest spec in it.
///
/// The ranges that come out are disjoint, so together they are never longer
/// than the representation, however many times a client asks for the same
/// bytes (`bytes=0-,0-,0-,…` is one range). Each `(first, last)` must have
/// `first <= last`; [`parse_range`] only makes such ranges.
pub fn coalesce(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    // (first, last, where the earliest of its specs was in the request)
    let mut by_start: Vec<(u64, u64, usize)> = ranges
        .iter()
        .enumerate()
        .map(|(at, &(f, l))| (f, l, at))
        .collect();
    by_start.sort_unstable();
    let mut merged: Vec<(u64, u64, usize)> = Vec::with_capacity(by_start.len());
    for (first, last, at) in by_start {
        match merged.last_mut() {
            // `first - prev_last - 1` bytes lie between them: fewer than
            // COALESCE_GAP when `first <= prev_last + COALESCE_GAP`.
            Some(prev) if first <= prev.1.saturating_add(COALESCE_GAP) => {
                prev.1 = prev.1.max(last);
                prev.2 = prev.2.min(at);
            }
            _ => merged.push((first, last, at)),
        }
    }
    merged.sort_unstable_by_key(|&(_, _, at)| at);
    merged
        .into_iter()
        .map(|(first, last, _)| (first, last))
        .collect()
}
// ANCHOR_END: coalesce

// ANCHOR: content_range
/// The `Content-Range` value for bytes `first..=last` of `len`, as sent with
/// a 206 and in each part of a multipart one (RFC 9110 §14.4):
///
/// ```text
/// Content-Range       = range-unit SP
///                       ( range-resp / unsatisfied-range )
///
/// range-resp          = incl-range "/" ( complete-length / "*" )
/// incl-range          = first-pos "-" last-pos
/// unsatisfied-range   = "*/" complete-length
///
/// complete-length     = 1*DIGIT
/// ```
///
/// We always know the length, so never send `*` for it. The caller passes a
/// range from [`parse_range`], so `first <= last < len`.
pub fn content_range(first: u64, last: u64, len: u64) -> String {
    format!("bytes {first}-{last}/{len}")
}

/// The `Content-Range` value for a 416 (RFC 9110 §14.4, §15.5.17): "A server
/// that generates a 416 response to a byte-range request SHOULD generate a
/// Content-Range header field specifying the current length of the selected
/// representation".
pub fn unsatisfied_range(len: u64) -> String {
    format!("bytes */{len}")
}
// ANCHOR_END: content_range

/// One piece of a `multipart/byteranges` body, in the order it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Framing to send as it is: a boundary line and a part's fields, or the
    /// closing boundary.
    Bytes(Vec<u8>),
    /// The file's bytes at offsets `first..=last` (inclusive, like
    /// `Content-Range`), for the caller to read and send.
    File {
        /// Offset of the first byte.
        first: u64,
        /// Offset of the last byte (inclusive).
        last: u64,
    },
}

impl Part {
    /// How many bytes this piece puts on the wire.
    pub fn len(&self) -> u64 {
        match self {
            Part::Bytes(bytes) => bytes.len() as u64,
            Part::File { first, last } => last.saturating_sub(*first).saturating_add(1),
        }
    }

    /// Whether the piece is empty (only ever an empty `Bytes`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A `multipart/byteranges` body (RFC 9110 §14.6), as framing pieces and
/// references to the file: it never holds the file's bytes, so a 16-part
/// answer about a 4 GiB file costs about a kilobyte of memory.
///
/// Its length is known before a byte is sent ([`ByteRanges::content_length`]),
/// so the response can carry `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRanges {
    /// The parts' ranges, in the order they are sent.
    ranges: Vec<(u64, u64)>,
    /// The representation's length, for each part's `Content-Range`.
    len: u64,
    /// The representation's `Content-Type`, repeated in each part.
    content_type: Option<String>,
    /// The boundary: tchars only, so the `Content-Type` needs no quotes.
    boundary: String,
    /// The whole body's length, computed once by `new`.
    content_length: u64,
}

impl ByteRanges {
    // ANCHOR: byteranges_new
    /// A body for `ranges` (inclusive, as [`parse_range`] gives them) of a
    /// representation of `len` bytes whose type is `content_type`.
    ///
    /// RFC 9110 §15.3.7.2: "the server SHOULD generate that same
    /// Content-Type header field in the header area of each body part" as
    /// a 200 would have had; pass `None` only if a 200 would have none.
    ///
    /// `boundary` should come from [`new_boundary`]. It must be 1 to 70
    /// characters (RFC 2046 §5.1.1) from the part of RFC 2046's `bchars`
    /// that are also `tchar`s (letters, digits and `'+-._`): then it never
    /// needs quotes in the `Content-Type`, and RFC 9110 §14.6 warns that
    /// "some existing implementations handle a quoted boundary string
    /// incorrectly".
    ///
    /// An error is a bug in the caller, never something a client sent:
    /// no ranges, a range outside `len`, a bad boundary or content type, or
    /// a body longer than `u64::MAX`.
    pub fn new(
        ranges: Vec<(u64, u64)>,
        len: u64,
        content_type: Option<&str>,
        boundary: String,
    ) -> Result<ByteRanges, &'static str> {
        if ranges.is_empty() {
            return Err("multipart/byteranges needs at least one range");
        }
        if ranges
            .iter()
            .any(|&(first, last)| first > last || last >= len)
        {
            return Err("a range is empty or outside the representation");
        }
        let boundary_ok =
            (1..=70).contains(&boundary.len()) && boundary.bytes().all(is_boundary_char);
        if !boundary_ok {
            return Err("boundary must be 1 to 70 of A-Z a-z 0-9 ' + - . _");
        }
        if content_type.is_some_and(|ct| !is_field_value(ct)) {
            return Err("control byte in Content-Type");
        }
        let content_type = content_type.map(str::to_owned);
        let mut body = ByteRanges {
            ranges,
            len,
            content_type,
            boundary,
            content_length: 0,
        };
        body.content_length = body
            .parts()
            .try_fold(0u64, |total, part| total.checked_add(part.len()))
            .ok_or("multipart/byteranges body longer than u64::MAX")?;
        Ok(body)
    }
    // ANCHOR_END: byteranges_new

    // ANCHOR: byteranges
    /// The pieces of the body, in order: for each range, a [`Part::Bytes`]
    /// with its boundary line and fields, then a [`Part::File`] for its
    /// bytes; after the last, a [`Part::Bytes`] with the closing boundary.
    ///
    /// RFC 2046 §5.1.1 (multipart bodies):
    ///
    /// ```text
    /// multipart-body := [preamble CRLF]
    ///                   dash-boundary transport-padding CRLF
    ///                   body-part *encapsulation
    ///                   close-delimiter transport-padding
    ///                   [CRLF epilogue]
    /// dash-boundary := "--" boundary
    /// encapsulation := delimiter transport-padding
    ///                  CRLF body-part
    /// delimiter := CRLF dash-boundary
    /// close-delimiter := delimiter "--"
    /// ```
    ///
    /// The CRLF before each later boundary belongs to the boundary, not to
    /// the file bytes before it. The first boundary has none (an empty
    /// preamble), and the body ends with one (an empty epilogue). The
    /// iterator owns what it yields (it is `'static`), so it can move into a
    /// streamed response.
    pub fn parts(&self) -> impl Iterator<Item = Part> + Send + 'static {
        let mut parts = Vec::with_capacity(2 * self.ranges.len() + 1);
        for (i, &(first, last)) in self.ranges.iter().enumerate() {
            // The delimiter's CRLF, except before the first boundary.
            let mut head = String::from(if i == 0 { "" } else { "\r\n" });
            head.push_str(&format!("--{}\r\n", self.boundary));
            if let Some(ct) = &self.content_type {
                head.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            let range = content_range(first, last, self.len);
            head.push_str(&format!("Content-Range: {range}\r\n\r\n"));
            parts.push(Part::Bytes(head.into_bytes()));
            parts.push(Part::File { first, last });
        }
        let close = format!("\r\n--{}--\r\n", self.boundary);
        parts.push(Part::Bytes(close.into_bytes()));
        parts.into_iter()
    }
    // ANCHOR_END: byteranges

    /// The length of the whole body: what [`ByteRanges::parts`] adds up to.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// The response's `Content-Type`: `multipart/byteranges; boundary=…`.
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// The boundary this body uses.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }
}

/// Whether `b` may appear in a boundary we send: RFC 2046 §5.1.1's
/// `bcharsnospace` (`DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," /
/// "-" / "." / "/" / ":" / "=" / "?"`) without those that are not `tchar`s
/// (RFC 9110 §5.6.2) and would need quoting.
fn is_boundary_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'+-._".contains(&b)
}

/// Whether `s` can be sent as a field value: no CR, LF or other control
/// bytes (RFC 9110 §5.5), the rule `Response::check` applies too.
fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A fresh boundary: 32 hexadecimal digits, 128 bits that no one outside
/// the process can predict.
///
/// RFC 2046 §5.1.1 wants a body part "with the delimiter not occurring
/// anywhere in the body part". We do not read the file to check: the
/// framing, and its `Content-Length`, are committed before the file is read,
/// and checking the bytes as they go could only cut the response off half
/// way. Instead the boundary is random. Each of its two halves is a keyed
/// hash (SipHash today) of a process-wide counter and the time, under a
/// fresh [`RandomState`]. std draws those keys from "a high quality, secure
/// source of randomness provided by the host" (the `HashMap` docs), and
/// without them the hash cannot be guessed: that is what protects `HashMap`
/// from collision attacks. Not cryptography we vouch for, but enough here:
/// an ordinary file of `n` bytes holds a given 128-bit string with
/// probability about `n / 2^128` at most (for a terabyte, under 2^-88), and
/// a file crafted to hold it would need the boundary before the response
/// that uses it exists.
pub fn new_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half = |which: u8| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u8(which);
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a case expects: `RangeAnswer` without the `Vec`, so it can be a `const`.
    #[derive(Debug, Clone, Copy)]
    enum Want {
        Ignore,
        Unsat,
        Sat(Ranges),
    }
    use Want::*;

    impl Want {
        fn answer(self) -> RangeAnswer {
            match self {
                Ignore => RangeAnswer::Ignore,
                Unsat => RangeAnswer::Unsatisfiable,
                Sat(r) => RangeAnswer::Satisfiable(r.to_vec()),
            }
        }
    }

    /// Inclusive byte ranges, as a table column.
    type Ranges = &'static [(u64, u64)];

    const MAX: u64 = u64::MAX;
    const HUGE: &str = "99999999999999999999999"; // > u64::MAX

    /// (name, Range value, representation length, expected answer)
    const CASES: &[(&str, &[u8], u64, Want)] = &[
        // RFC 9110 §14.1.2's examples, on its representation of 10000 bytes.
        ("first_500", b"bytes=0-499", 10000, Sat(&[(0, 499)])),
        ("second_500", b"bytes=500-999", 10000, Sat(&[(500, 999)])),
        ("suffix_500", b"bytes=-500", 10000, Sat(&[(9500, 9999)])),
        ("open_ended", b"bytes=9500-", 10000, Sat(&[(9500, 9999)])),
        (
            "first_and_last_byte",
            b"bytes=0-0,-1",
            10000,
            Sat(&[(0, 0), (9999, 9999)]),
        ),
        (
            "rfc_three_with_ows",
            b"bytes= 0-999, 4500-5499, -1000",
            10000,
            Sat(&[(0, 999), (4500, 5499), (9000, 9999)]),
        ),
        (
            "rfc_adjacent",
            b"bytes=500-600,601-999",
            10000,
            Sat(&[(500, 999)]),
        ),
        (
            "rfc_overlapping",
            b"bytes=500-700,601-999",
            10000,
            Sat(&[(500, 999)]),
        ),
        // Clamping.
        (
            "last_pos_clamped",
            b"bytes=9000-20000",
            10000,
            Sat(&[(9000, 9999)]),
        ),
        (
            "last_pos_at_len",
            b"bytes=0-10000",
            10000,
            Sat(&[(0, 9999)]),
        ),
        (
            "suffix_longer_than_file",
            b"bytes=-20000",
            10000,
            Sat(&[(0, 9999)]),
        ),
        (
            "suffix_exactly_file",
            b"bytes=-10000",
            10000,
            Sat(&[(0, 9999)]),
        ),
        ("whole_file", b"bytes=0-", 10000, Sat(&[(0, 9999)])),
        ("last_byte", b"bytes=9999-9999", 10000, Sat(&[(9999, 9999)])),
        (
            "last_byte_open",
            b"bytes=9999-",
            10000,
            Sat(&[(9999, 9999)]),
        ),
        ("one_byte_file", b"bytes=0-0", 1, Sat(&[(0, 0)])),
        ("one_byte_file_suffix", b"bytes=-5", 1, Sat(&[(0, 0)])),
        ("leading_zeros", b"bytes=000-010", 10000, Sat(&[(0, 10)])),
        // Coalescing (COALESCE_GAP = 80) and order.
        (
            "small_file_first_and_last",
            b"bytes=0-0,-1",
            50,
            Sat(&[(0, 49)]),
        ),
        ("gap_79_merged", b"bytes=0-9,89-99", 10000, Sat(&[(0, 99)])),
        (
            "gap_80_kept",
            b"bytes=0-9,90-99",
            10000,
            Sat(&[(0, 9), (90, 99)]),
        ),
        (
            "same_range_twice",
            b"bytes=0-99,0-99",
            10000,
            Sat(&[(0, 99)]),
        ),
        ("contained", b"bytes=0-999,10-20", 10000, Sat(&[(0, 999)])),
        (
            "order_kept",
            b"bytes=5000-5099,0-99",
            10000,
            Sat(&[(5000, 5099), (0, 99)]),
        ),
        (
            "merged_takes_first_place",
            b"bytes=100-199,9000-9099,150-300",
            10000,
            Sat(&[(100, 300), (9000, 9099)]),
        ),
        (
            "merged_takes_earliest_place",
            b"bytes=9000-9099,150-300,100-199",
            10000,
            Sat(&[(9000, 9099), (100, 300)]),
        ),
        (
            "chain_merged",
            b"bytes=0-9,50-59,100-109",
            10000,
            Sat(&[(0, 109)]),
        ),
        (
            "suffix_and_open_merged",
            b"bytes=-100,9950-",
            10000,
            Sat(&[(9900, 9999)]),
        ),
        // Syntax that is fine.
        ("unit_upper", b"BYTES=0-0", 10000, Sat(&[(0, 0)])),
        ("unit_mixed", b"Bytes=0-0", 10000, Sat(&[(0, 0)])),
        (
            "tab_around_comma",
            b"bytes=0-0\t,\t500-500",
            10000,
            Sat(&[(0, 0), (500, 500)]),
        ),
        (
            "spaces_around_comma",
            b"bytes=0-0 , 500-500",
            10000,
            Sat(&[(0, 0), (500, 500)]),
        ),
        (
            "empty_elements",
            b"bytes=,0-0,,500-500,",
            10000,
            Sat(&[(0, 0), (500, 500)]),
        ),
        ("value_ows", b" bytes=0-0 ", 10000, Sat(&[(0, 0)])),
        // Unsatisfiable: valid, but no byte of the file.
        ("first_pos_at_len", b"bytes=10000-", 10000, Unsat),
        ("first_pos_beyond", b"bytes=20000-30000", 10000, Unsat),
        ("suffix_zero", b"bytes=-0", 10000, Unsat),
        ("all_unsatisfiable", b"bytes=10000-,-0", 10000, Unsat),
        (
            "one_of_two_satisfiable",
            b"bytes=20000-,0-0",
            10000,
            Sat(&[(0, 0)]),
        ),
        // Numbers beyond u64: still numbers (see `number`).
        (
            "u64_max_first_pos",
            b"bytes=18446744073709551615-",
            10000,
            Unsat,
        ),
        (
            "u64_max_plus_one_first_pos",
            b"bytes=18446744073709551616-",
            10000,
            Unsat,
        ),
        (
            "huge_first_pos",
            b"bytes=99999999999999999999999-",
            10000,
            Unsat,
        ),
        (
            "huge_last_pos",
            b"bytes=0-99999999999999999999999",
            10000,
            Sat(&[(0, 9999)]),
        ),
        (
            "huge_suffix",
            b"bytes=-99999999999999999999999",
            10000,
            Sat(&[(0, 9999)]),
        ),
        (
            "huge_both_equal",
            b"bytes=99999999999999999999999-99999999999999999999999",
            10000,
            Unsat,
        ),
        (
            // Both saturate to u64::MAX, but last < first: invalid.
            "huge_both_reversed",
            b"bytes=99999999999999999999999-99999999999999999999998",
            10000,
            Ignore,
        ),
        (
            "long_zeros_ordered",
            b"bytes=5-0000000000000000000000000007",
            10000,
            Sat(&[(5, 7)]),
        ),
        (
            "long_zeros_reversed",
            b"bytes=5-0000000000000000000000000004",
            10000,
            Ignore,
        ),
        ("largest_file", b"bytes=0-", MAX, Sat(&[(0, MAX - 1)])),
        (
            "largest_file_suffix",
            b"bytes=-1",
            MAX,
            Sat(&[(MAX - 1, MAX - 1)]),
        ),
        (
            "largest_file_last_byte",
            b"bytes=18446744073709551614-",
            MAX,
            Sat(&[(MAX - 1, MAX - 1)]),
        ),
        (
            "largest_file_past_end",
            b"bytes=18446744073709551615-",
            MAX,
            Unsat,
        ),
        // An empty file: always ignored (see `parse_range`).
        ("empty_file_int_range", b"bytes=0-", 0, Ignore),
        ("empty_file_suffix", b"bytes=-5", 0, Ignore),
        ("empty_file_suffix_zero", b"bytes=-0", 0, Ignore),
        ("empty_file_invalid", b"bytes=5-3", 0, Ignore),
        // Ignored: not bytes, or not valid.
        ("other_unit", b"items=0-5", 10000, Ignore),
        ("unit_prefix", b"bytesx=0-5", 10000, Ignore),
        ("unit_singular", b"byte=0-5", 10000, Ignore),
        ("empty_unit", b"=0-5", 10000, Ignore),
        ("no_equals", b"bytes", 10000, Ignore),
        ("empty_value", b"", 10000, Ignore),
        ("empty_set", b"bytes=", 10000, Ignore),
        ("only_commas", b"bytes=,, ,", 10000, Ignore),
        ("dash_only", b"bytes=-", 10000, Ignore),
        ("reversed", b"bytes=5-3", 10000, Ignore),
        ("reversed_among_good", b"bytes=0-1,5-3", 10000, Ignore),
        (
            "reversed_unsatisfiable",
            b"bytes=20000-10000",
            10000,
            Ignore,
        ),
        ("ows_before_equals", b"bytes =0-1", 10000, Ignore),
        ("ows_inside_spec", b"bytes=0 - 1", 10000, Ignore),
        ("ows_after_dash", b"bytes=0- 1", 10000, Ignore),
        ("plus_sign", b"bytes=+0-1", 10000, Ignore),
        ("double_dash", b"bytes=--1", 10000, Ignore),
        ("two_dashes", b"bytes=0-1-2", 10000, Ignore),
        ("no_dash", b"bytes=5", 10000, Ignore),
        ("other_range", b"bytes=abc", 10000, Ignore),
        ("hex", b"bytes=0x10-0x20", 10000, Ignore),
        ("trailing_garbage", b"bytes=0-1x", 10000, Ignore),
        ("trailing_element", b"bytes=0-1,x", 10000, Ignore),
        ("parameter", b"bytes=0-1;q=1", 10000, Ignore),
        ("two_fields_joined", b"bytes=0-1, bytes=5-6", 10000, Ignore),
        ("crlf", b"bytes=0-1\r\n", 10000, Ignore),
        ("nul", b"bytes=0-1\0", 10000, Ignore),
        (
            "arabic_indic_digit",
            "bytes=0-\u{661}".as_bytes(),
            10000,
            Ignore,
        ),
        ("unit_latin1", b"byt\xe9s=0-1", 10000, Ignore),
    ];

    #[test]
    fn parse_range_table() {
        let limits = Limits::default();
        for &(name, value, len, want) in CASES {
            assert_eq!(
                parse_range(value, len, &limits),
                want.answer(),
                "case {name}"
            );
        }
        assert!(HUGE.parse::<u64>().is_err(), "HUGE must not fit a u64");
    }

    /// Not a streaming parser (the field value is complete when we see it),
    /// so no prefix test: but garbage after a good value must not be taken
    /// as part of it, and a trailing comma (an empty element) changes nothing.
    #[test]
    fn trailing_bytes() {
        let limits = Limits::default();
        for &(name, value, len, want) in CASES {
            if matches!(want, Ignore) || len == 0 {
                continue;
            }
            for junk in [&b"x"[..], b"-", b"/", b";", b",x", b", bytes=0-1"] {
                let got = parse_range(&[value, junk].concat(), len, &limits);
                assert_eq!(got, RangeAnswer::Ignore, "case {name} + {junk:?}");
            }
            for harmless in [&b","[..], b" ", b"\t", b" , ,"] {
                let got = parse_range(&[value, harmless].concat(), len, &limits);
                assert_eq!(got, want.answer(), "case {name} + {harmless:?}");
            }
        }
    }

    /// `count` specs, far enough apart that none are merged.
    fn spread(count: usize) -> Vec<u8> {
        let specs: Vec<String> = (0..count)
            .map(|i| format!("{0}-{1}", i * 1000, i * 1000 + 9))
            .collect();
        format!("bytes={}", specs.join(",")).into_bytes()
    }

    #[test]
    fn max_ranges_at_limit_and_one_more() {
        let limits = Limits::default();
        let n = crate::limits::MAX_RANGES;
        let len = 1_000_000;
        let at = parse_range(&spread(n), len, &limits);
        let want: Vec<(u64, u64)> =
            (0..n as u64).map(|i| (i * 1000, i * 1000 + 9)).collect();
        assert_eq!(at, RangeAnswer::Satisfiable(want), "at MAX_RANGES");
        assert_eq!(
            parse_range(&spread(n + 1), len, &limits),
            RangeAnswer::Ignore,
            "MAX_RANGES + 1"
        );

        // Specs count as written, before merging: n copies of one range are one
        // range, n + 1 are too many.
        let same =
            |count: usize| format!("bytes={}", vec!["0-0"; count].join(",")).into_bytes();
        assert_eq!(
            parse_range(&same(n), len, &limits),
            RangeAnswer::Satisfiable(vec![(0, 0)])
        );
        assert_eq!(parse_range(&same(n + 1), len, &limits), RangeAnswer::Ignore);

        // Unsatisfiable specs count too; empty list elements do not.
        let mut unsat = spread(n - 1);
        unsat.extend_from_slice(b",2000000-");
        assert!(
            matches!(parse_range(&unsat, len, &limits), RangeAnswer::Satisfiable(r) if r.len() == n - 1)
        );
        unsat.extend_from_slice(b",,,");
        assert!(matches!(
            parse_range(&unsat, len, &limits),
            RangeAnswer::Satisfiable(_)
        ));
        unsat.extend_from_slice(b",-0");
        assert_eq!(parse_range(&unsat, len, &limits), RangeAnswer::Ignore);
    }

    #[test]
    fn max_ranges_from_env() {
        let limits =
            Limits::from_lookup(|v| (v == "RAWHTTP_MAX_RANGES").then(|| "2".into()))
                .expect("a valid limit");
        assert_eq!(limits.max_ranges, 2);
        assert!(matches!(
            parse_range(&spread(2), 10_000, &limits),
            RangeAnswer::Satisfiable(_)
        ));
        assert_eq!(
            parse_range(&spread(3), 10_000, &limits),
            RangeAnswer::Ignore
        );
        let zero =
            Limits::from_lookup(|v| (v == "RAWHTTP_MAX_RANGES").then(|| "0".into()));
        assert!(zero.is_err(), "0 is not a limit");
    }

    /// A small deterministic generator (xorshift64*), so the property tests
    /// need no `rand` and fail the same way every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// Whatever a client asks, the answer stays inside the file, has no
    /// overlaps, keeps COALESCE_GAP between parts, covers every byte asked
    /// for, and adds up to no more than the file: the amplification guard.
    #[test]
    fn answers_never_exceed_the_file() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let limits = Limits::default();
        for round in 0..5000 {
            let len = match round % 4 {
                0 => 1 + rng.below(10),
                1 => 1 + rng.below(1000),
                2 => 1 + rng.below(1 << 40),
                _ => MAX - rng.below(1000),
            };
            let count = 1 + rng.below(limits.max_ranges as u64) as usize;
            let mut asked = Vec::new();
            let specs: Vec<String> = (0..count)
                .map(|_| {
                    let a = rng.below(len.saturating_add(len / 4).max(2));
                    let b = a.saturating_add(rng.below(len / 2 + 2));
                    match rng.below(3) {
                        0 => {
                            asked.push((a, b.min(len - 1)));
                            format!("{a}-{b}")
                        }
                        1 => {
                            asked.push((a, len - 1));
                            format!("{a}-")
                        }
                        _ => {
                            asked.push((len.saturating_sub(b), len - 1));
                            format!("-{b}")
                        }
                    }
                })
                .collect();
            let value = format!("bytes={}", specs.join(","));
            let ranges = match parse_range(value.as_bytes(), len, &limits) {
                RangeAnswer::Satisfiable(r) => r,
                RangeAnswer::Unsatisfiable => {
                    assert!(asked.iter().all(|&(a, _)| a >= len), "{value}");
                    continue;
                }
                RangeAnswer::Ignore => panic!("valid value ignored: {value}"),
            };
            assert!(ranges.len() <= count, "{value}");
            let mut sorted = ranges.clone();
            sorted.sort_unstable();
            let mut total: u128 = 0;
            for (i, &(first, last)) in sorted.iter().enumerate() {
                assert!(first <= last && last < len, "{value} -> {ranges:?}");
                total += u128::from(last - first) + 1;
                if let Some(&(_, prev_last)) =
                    i.checked_sub(1).and_then(|p| sorted.get(p))
                {
                    assert!(
                        first > prev_last.saturating_add(COALESCE_GAP),
                        "{value} -> {ranges:?}"
                    );
                }
            }
            assert!(total <= u128::from(len), "{value} -> {ranges:?}");
            for &(a, b) in asked.iter().filter(|&&(a, b)| a < len && a <= b) {
                let covered = ranges.iter().any(|&(f, l)| f <= a && b <= l);
                assert!(covered, "{value}: ({a}, {b}) not in {ranges:?}");
            }
        }
    }

    #[test]
    fn coalesce_keeps_request_order() {
        // (name, input, output)
        let cases: &[(&str, Ranges, Ranges)] = &[
            ("empty", &[], &[]),
            ("one", &[(5, 9)], &[(5, 9)]),
            (
                "descending_apart",
                &[(9000, 9009), (0, 9)],
                &[(9000, 9009), (0, 9)],
            ),
            ("descending_merged", &[(50, 59), (0, 9)], &[(0, 59)]),
            ("bridge", &[(0, 9), (1000, 1009), (5, 1000)], &[(0, 1009)]),
            (
                "merged_into_earliest",
                &[(5000, 5009), (200, 300), (30, 39), (100, 150)],
                &[(5000, 5009), (30, 300)],
            ),
            (
                "at_the_top",
                &[(MAX - 10, MAX), (MAX - 100, MAX - 50)],
                &[(MAX - 100, MAX)],
            ),
        ];
        for &(name, input, output) in cases {
            assert_eq!(coalesce(input), output, "case {name}");
        }
    }

    #[test]
    fn content_range_values() {
        // RFC 9110 §14.4's examples.
        assert_eq!(content_range(42, 1233, 1234), "bytes 42-1233/1234");
        assert_eq!(content_range(0, 0, 1), "bytes 0-0/1");
        assert_eq!(unsatisfied_range(1234), "bytes */1234");
        assert_eq!(
            content_range(0, MAX - 1, MAX),
            format!("bytes 0-{}/{MAX}", MAX - 1)
        );
    }

    /// A file whose bytes differ from their neighbours, so a part shifted by
    /// one byte cannot pass.
    fn fake_file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// What the caller does: framing as it is, file parts read from the file.
    fn assemble(body: &ByteRanges, file: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in body.parts() {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(&bytes),
                Part::File { first, last } => {
                    out.extend_from_slice(&file[first as usize..=last as usize])
                }
            }
        }
        out
    }

    #[test]
    fn byteranges_exact_bytes() {
        let file = b"0123456789abcdefghij";
        let ranges = vec![(0, 1), (18, 19)];
        let body =
            ByteRanges::new(ranges, 20, Some("text/plain"), "SEP".into()).expect("valid");
        let want: &[u8] = b"--SEP\r\n\
            Content-Type: text/plain\r\n\
            Content-Range: bytes 0-1/20\r\n\
            \r\n\
            01\r\n\
            --SEP\r\n\
            Content-Type: text/plain\r\n\
            Content-Range: bytes 18-19/20\r\n\
            \r\n\
            ij\r\n\
            --SEP--\r\n";
        assert_eq!(
            assemble(&body, file).escape_ascii().to_string(),
            want.escape_ascii().to_string()
        );
        assert_eq!(body.content_length(), want.len() as u64);
        assert_eq!(body.content_type(), "multipart/byteranges; boundary=SEP");
        assert_eq!(body.boundary(), "SEP");
    }

    /// Build a body, send it, and read it back as a client would: split on
    /// the delimiter, check each part's fields and bytes against the file.
    #[test]
    fn byteranges_round_trip() {
        let file = fake_file(100_000);
        let len = file.len() as u64;
        // (name, ranges, content type)
        let cases: &[(&str, Ranges, Option<&str>)] = &[
            ("two", &[(0, 99), (5000, 5099)], Some("application/pdf")),
            (
                "descending",
                &[(99_000, 99_999), (0, 0)],
                Some("text/html; charset=utf-8"),
            ),
            (
                "no_content_type",
                &[(10, 20), (30_000, 30_000), (99_999, 99_999)],
                None,
            ),
            ("one_part", &[(0, 99_999)], Some("image/png")),
        ];
        for &(name, ranges, content_type) in cases {
            let boundary = new_boundary();
            let body =
                ByteRanges::new(ranges.to_vec(), len, content_type, boundary.clone())
                    .expect(name);
            let sent = assemble(&body, &file);
            assert_eq!(sent.len() as u64, body.content_length(), "case {name}");
            let sum: u64 = body.parts().map(|p| p.len()).sum();
            assert_eq!(sum, body.content_length(), "case {name}");

            // RFC 2046 §5.1.1: every delimiter is CRLF "--" boundary; the
            // first may go without its CRLF (the preamble is empty).
            let wire = [b"\r\n".as_slice(), &sent].concat();
            let delimiter = format!("\r\n--{boundary}").into_bytes();
            let pieces = split(&wire, &delimiter);
            assert_eq!(pieces.first(), Some(&&b""[..]), "case {name}: preamble");
            assert_eq!(pieces.last(), Some(&&b"--\r\n"[..]), "case {name}: close");
            let parts = &pieces[1..pieces.len() - 1];
            assert_eq!(parts.len(), ranges.len(), "case {name}");
            for (part, &(first, last)) in parts.iter().zip(ranges) {
                let part = part.strip_prefix(b"\r\n").expect("CRLF after the boundary");
                let end = part
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .expect("fields end");
                let fields =
                    String::from_utf8(part[..end].to_vec()).expect("ASCII fields");
                let mut want = String::new();
                if let Some(ct) = content_type {
                    want.push_str(&format!("Content-Type: {ct}\r\n"));
                }
                want.push_str(&format!("Content-Range: bytes {first}-{last}/{len}"));
                assert_eq!(fields, want, "case {name}");
                let data = &part[end + 4..];
                assert_eq!(data, &file[first as usize..=last as usize], "case {name}");
            }
        }
    }

    fn split<'a>(haystack: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = haystack;
        while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
            out.push(&rest[..at]);
            rest = &rest[at + needle.len()..];
        }
        out.push(rest);
        out
    }

    #[test]
    fn byteranges_refuses_caller_bugs() {
        let ok = |r: Vec<(u64, u64)>, ct: Option<&str>, b: &str| {
            ByteRanges::new(r, 100, ct, b.into())
        };
        let b70 = "b".repeat(70);
        let b71 = "b".repeat(71);
        // (name, result, accepted?)
        let cases = [
            ("fine", ok(vec![(0, 99)], Some("text/plain"), "x"), true),
            ("boundary_70", ok(vec![(0, 0)], None, &b70), true),
            ("boundary_71", ok(vec![(0, 0)], None, &b71), false),
            ("boundary_empty", ok(vec![(0, 0)], None, ""), false),
            ("boundary_space", ok(vec![(0, 0)], None, "a b"), false),
            (
                "boundary_needs_quotes",
                ok(vec![(0, 0)], None, "a:b"),
                false,
            ),
            ("boundary_crlf", ok(vec![(0, 0)], None, "a\r\nb"), false),
            (
                "boundary_all_chars",
                ok(vec![(0, 0)], None, "aZ09'+-._"),
                true,
            ),
            ("no_ranges", ok(vec![], None, "x"), false),
            ("last_at_len", ok(vec![(0, 100)], None, "x"), false),
            ("reversed", ok(vec![(5, 4)], None, "x"), false),
            (
                "content_type_crlf",
                ok(vec![(0, 0)], Some("text/plain\r\nX: y"), "x"),
                false,
            ),
            (
                "content_type_tab",
                ok(vec![(0, 0)], Some("text/plain;\tq=1"), "x"),
                true,
            ),
        ];
        for (name, got, accepted) in cases {
            assert_eq!(got.is_ok(), accepted, "case {name}: {got:?}");
        }
        // Ranges that add up past u64::MAX (only a caller can make those).
        let huge =
            ByteRanges::new(vec![(0, MAX - 1), (0, MAX - 1)], MAX, None, "x".into());
        assert!(huge.is_err(), "{huge:?}");
    }

    #[test]
    fn boundaries_are_fresh_and_valid() {
        let file = fake_file(1 << 16);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let b = new_boundary();
            assert_eq!(b.len(), 32, "{b}");
            assert!(b.bytes().all(|c| c.is_ascii_hexdigit()), "{b}");
            assert!(
                ByteRanges::new(vec![(0, 0)], 1, None, b.clone()).is_ok(),
                "{b}"
            );
            assert_eq!(split(&file, b.as_bytes()).len(), 1, "{b} in the file");
            assert!(seen.insert(b), "a boundary repeated");
        }
    }
}
