//! Validators and conditional requests (ch08, static files; RFC 9110 §8.8, §13).
//!
//! A client that has a copy of a file asks "send it only if it changed"
//! (`If-None-Match`, `If-Modified-Since`: a 304 saves the body), or "do this
//! only if it has not changed" (`If-Match`, `If-Unmodified-Since`: a 412
//! prevents a lost update), or "send me the rest, if it is still the same
//! file" (`If-Range`). Each question is asked about a *validator* the server
//! handed out with an earlier response: an entity-tag (`ETag`) or a date
//! (`Last-Modified`).
//!
//! Everything here is sans-I/O: the caller stats the file, builds
//! [`Validators`] from its length and mtime, and passes the parsed request
//! and the clock in. The static-file handler then does:
//!
//! ```text
//! let v = Validators::for_file(len, mtime_secs, mtime_nanos, now);
//! match evaluate(&req, &v, now).response(&v, cache_control) {
//!     Some(response) => response,             // 304 or 412, no file read
//!     None => v.add_fields(serve_the_file()), // 200, or 206 if if_range_holds
//! }
//! ```
//!
//! # The order of evaluation (RFC 9110 §13.2.2)
//!
//! <https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2>: "A recipient
//! cache or origin server MUST evaluate the request preconditions defined by
//! this specification in the following order". [`evaluate`] does steps 1–4;
//! step 5 is [`if_range_holds`], which only a handler serving ranges needs.
//!
//! ```text
//!  1. If-Match?  ─ yes → a tag matches (strong), or "*"? ─ no ──→ 412
//!     │ no                 │ yes
//!  2. If-Unmodified-Since? │
//!     │ one valid date → modified after it? ─ yes ──────────────→ 412
//!     ▼ ◀──────────────────┘
//!  3. If-None-Match? ─ yes → a tag matches (weak), or "*"? ─ yes → 304 GET/HEAD
//!     │ no                 │ no                                    412 others
//!     │                    └──────────────────────────────────┐
//!  4. GET/HEAD with If-Modified-Since?                        │
//!     │ one valid date, not after now → not modified since? ─ yes → 304
//!     ▼ ◀─────────────────────────────────────────────────────┘
//!  5. Proceed. GET with Range and If-Range: if_range_holds → 206, else 200.
//! ```
//!
//! Entity-tags come first because they are exact; dates are a fallback with
//! one-second resolution. The "lost update" checks (1, 2) come before the
//! cache checks (3, 4), so a 412 is never hidden behind a 304. Steps 1 and 2
//! let a server answer 2xx instead of 412 "if it can be determined that the
//! state-changing request has already succeeded"; serving files changes no
//! state, so we never do.
//!
//! Whatever we cannot read (a garbled list, an invalid date, two dates where
//! one belongs) fails the safe way: an unreadable `If-Match` matches nothing
//! (412), an unreadable date is ignored, as RFC 9110 §13.1.3 and §13.1.4
//! require. Ignoring a condition is always safe for GET: the client gets the
//! full 200 it would have got without asking.

use crate::date::{imf_fixdate, parse_http_date};
use crate::request::{Request, trim_ows};
use crate::response::Response;
use crate::status::StatusCode;

/// `412 Precondition Failed` (RFC 9110 §15.5.13).
pub const PRECONDITION_FAILED: StatusCode = StatusCode::PRECONDITION_FAILED;

/// The validators of one representation (RFC 9110 §8.8): sent with a 200
/// ([`Validators::add_fields`]), and what a conditional request is checked
/// against ([`evaluate`], [`if_range_holds`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Validators {
    /// The `ETag` field value: a whole entity-tag, quotes and any `W/`
    /// included, such as [`file_etag`] makes. A value that is not a valid
    /// entity-tag is still sent, but matches no condition.
    pub etag: Option<String>,
    /// The `Last-Modified` time, in seconds since the epoch.
    /// [`if_range_holds`] takes an exact match as a *strong* validator; that
    /// is honest only if, as [`Validators::for_file`] ensures, we never send
    /// a Last-Modified whose second has not ended yet.
    pub last_modified: Option<u64>,
}

impl Validators {
    /// The validators of a file of `len` bytes whose mtime is `mtime_secs`
    /// seconds and `mtime_nanos` nanoseconds after the epoch, at time `now`.
    ///
    /// While the file's mtime is the current second (or later: a clock
    /// behind the file system's), the file may change again without its
    /// mtime changing ([`file_etag`] says when). Then its ETag is marked
    /// weak and Last-Modified is left out. From the next second on, any
    /// client holding our validators got them after the mtime's second was
    /// over, so they describe the final bytes of that second: the ETag is
    /// strong, and Last-Modified is strong in the sense of RFC 9110 §8.8.2.2
    /// (the origin server "reliably knows that the associated representation
    /// did not change twice during the second covered by the presented
    /// validator"). Apache weakens its ETags in the same window.
    ///
    /// Leaving Last-Modified out is allowed: it is a SHOULD, "for which a
    /// last modification date can be reasonably and consistently determined"
    /// (RFC 9110 §8.8.2.1). We do not replace a future mtime with `now`, as
    /// that section requires of a server that does send one: a Last-Modified
    /// that moves every second validates nothing.
    pub fn for_file(len: u64, mtime_secs: u64, mtime_nanos: u32, now: u64) -> Validators {
        let etag = file_etag(len, mtime_secs, mtime_nanos);
        if mtime_secs < now {
            Validators {
                etag: Some(etag),
                last_modified: Some(mtime_secs),
            }
        } else {
            Validators {
                etag: Some(format!("W/{etag}")),
                last_modified: None,
            }
        }
    }

    /// [`Validators::etag`], parsed; `None` if absent or not an entity-tag.
    pub fn entity_tag(&self) -> Option<EntityTag<'_>> {
        EntityTag::parse(self.etag.as_deref()?.as_bytes())
    }

    /// Add the `ETag` and `Last-Modified` fields a 200 (or 206) response
    /// carries, so that the client can ask conditionally next time.
    pub fn add_fields(&self, mut response: Response) -> Response {
        if let Some(etag) = &self.etag {
            response = response.with_header("ETag", etag.clone());
        }
        if let Some(secs) = self.last_modified {
            response = response.with_header("Last-Modified", http_date(secs));
        }
        response
    }
}

/// `secs` as an IMF-fixdate `String` (ASCII by construction).
fn http_date(secs: u64) -> String {
    imf_fixdate(secs).iter().map(|&b| char::from(b)).collect()
}

// ANCHOR: file_etag
/// A strong entity-tag for a file: its length, mtime seconds and mtime
/// nanoseconds in hex, `"<len>-<secs>.<nanos>"`: `"1a-5f3e0c2b.0"`.
///
/// A strong ETag promises the same bytes (RFC 9110 §8.8.1). Hashing the
/// file would cost a full read per request, so length and mtime stand in
/// for the bytes. That is honest if files are *replaced* (written in full,
/// or written aside and renamed over): every change then gets a new mtime.
/// It breaks if a file is edited in place twice, to the same length, within
/// one mtime tick (a kernel clock tick on Linux, 1 s on some file systems,
/// 2 s on FAT), or if a tool sets the mtime back (`cp -p`, `rsync -t`).
/// [`Validators::for_file`] covers the first case for the file's current
/// second, by weakening the tag. The opposite error is cheap: `touch`
/// changes the tag of unchanged bytes, and costs one needless 200.
pub fn file_etag(len: u64, mtime_secs: u64, mtime_nanos: u32) -> String {
    // Hex digits, `-` and `.` are all `etagc`, and the tag never needs escaping.
    format!("\"{len:x}-{mtime_secs:x}.{mtime_nanos:x}\"")
}
// ANCHOR_END: file_etag

/// One entity-tag (RFC 9110 §8.8.3), borrowed from a field value.
///
/// ```text
/// entity-tag = [ weak ] opaque-tag
/// weak       = %s"W/"
/// opaque-tag = DQUOTE *etagc DQUOTE
/// etagc      = %x21 / %x23-7E / obs-text
///            ; VCHAR, except double quotes, plus obs-text
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTag<'a> {
    /// `W/`: the tag changes when the meaning does, not necessarily with
    /// every byte, so it is good for caching but not for ranges or writes.
    pub weak: bool,
    /// The `etagc` bytes between the quotes: `1` for `W/"1"`.
    pub opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// A whole field value as exactly one entity-tag (`ETag`, `If-Range`).
    /// Case matters: `w/"1"` is not a weak tag, it is not a tag.
    pub fn parse(v: &'a [u8]) -> Option<EntityTag<'a>> {
        match split_entity_tag(v)? {
            (tag, []) => Some(tag),
            _ => None,
        }
    }
}

// ANCHOR: etag_compare
impl EntityTag<'_> {
    /// Strong comparison (RFC 9110 §8.8.3.2): "two entity tags are
    /// equivalent if both are not weak and their opaque-tags match
    /// character-by-character". For `If-Match` and `If-Range`, where a
    /// byte that changed matters (a write, a range spliced into a copy).
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: "two entity tags are equivalent if their
    /// opaque-tags match character-by-character, regardless of either or
    /// both being tagged as 'weak'". For `If-None-Match`, where a copy
    /// that means the same is good enough to keep using.
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}
// ANCHOR_END: etag_compare

/// The entity-tag at the front of `v`, and the bytes after it.
fn split_entity_tag(v: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, v) = match v.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let inner = v.strip_prefix(b"\"")?;
    // `etagc` has no DQUOTE, so the first one closes the tag.
    let (opaque, rest) = inner.split_at(inner.iter().position(|&b| b == b'"')?);
    let rest = rest.strip_prefix(b"\"")?;
    opaque
        .iter()
        .all(|&b| is_etagc(b))
        .then_some((EntityTag { weak, opaque }, rest))
}

/// `etagc = %x21 / %x23-7E / obs-text`, `obs-text = %x80-FF`.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

/// An `If-Match` or `If-None-Match` field value.
///
/// ```text
/// If-Match      = "*" / #entity-tag
/// If-None-Match = "*" / #entity-tag
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList<'a> {
    /// `*`: whatever the current representation is.
    Any,
    /// The entity-tags listed, in order; maybe none (`#` allows that).
    Tags(Vec<EntityTag<'a>>),
}

/// Parse the field lines of one list field (pass
/// `req.headers_named("If-None-Match")`), read as one list: RFC 9110 §5.3
/// combines repeated lines "in order, with each field line value separated
/// by a comma".
///
/// `#entity-tag` is a list with OWS around the commas, and a recipient MUST
/// accept empty elements (RFC 9110 §5.6.1.2): `, "a",, "b" ,` is two tags.
/// An opaque-tag may itself hold a comma (`"a,b"` is one tag), so the list
/// is read tag by tag, never split at commas. `None` if any element is not
/// an entity-tag, or `*` is not alone.
pub fn parse_tag_list<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Option<TagList<'a>> {
    let mut tags = Vec::new();
    let mut star = false;
    for line in lines {
        let mut rest = trim_ows(line);
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix(b",") {
                rest = trim_ows(after); // an empty element
                continue;
            }
            let after = match rest.strip_prefix(b"*") {
                Some(after) if !star && tags.is_empty() => {
                    star = true;
                    after
                }
                Some(_) => return None, // `*` after other elements
                None => {
                    let (tag, after) = split_entity_tag(rest)?;
                    tags.push(tag);
                    after
                }
            };
            rest = trim_ows(after);
            if !(rest.is_empty() || rest.starts_with(b",")) {
                return None; // two elements without a comma between them
            }
        }
    }
    match (star, tags.is_empty()) {
        (true, true) => Some(TagList::Any),
        (true, false) => None, // `*, "a"`: elements after `*`
        (false, _) => Some(TagList::Tags(tags)),
    }
}

/// What to do with a request after [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the request as if it had no preconditions (then, for a GET
    /// with `Range`, ask [`if_range_holds`]).
    Proceed,
    /// `304 Not Modified`: the client's copy is current. Send
    /// [`not_modified`], not the file.
    NotModified,
    /// `412 Precondition Failed`: the client asked for the method only if
    /// the representation is the one it knows, and it is not.
    PreconditionFailed,
}

impl Precondition {
    /// The response to send instead of serving the request: `None` for
    /// [`Precondition::Proceed`], [`not_modified`] for a 304, a short
    /// `text/plain` 412. `cache_control` is the `Cache-Control` value the
    /// 200 would carry (a 304 must repeat it).
    pub fn response(
        self,
        v: &Validators,
        cache_control: Option<&str>,
    ) -> Option<Response> {
        match self {
            Precondition::Proceed => None,
            Precondition::NotModified => Some(not_modified(v, cache_control)),
            Precondition::PreconditionFailed => Some(Response::text(
                PRECONDITION_FAILED,
                "412 Precondition Failed\n",
            )),
        }
    }
}

// ANCHOR: evaluate
/// Evaluate a request's preconditions against the validators of the
/// selected representation, in the order of RFC 9110 §13.2.2 (module docs).
/// `now` is the server's clock, in seconds since the epoch.
///
/// Call it only when the request would get a 2xx without its
/// preconditions: "A server MUST ignore all received preconditions if its
/// response to the same request without those conditions [...] would have
/// been a status code other than a 2xx (Successful) or 412 (Precondition
/// Failed)" (§13.2.1). So `v` describes a representation that exists, and
/// `*` always matches it.
pub fn evaluate(req: &Request<'_>, v: &Validators, now: u64) -> Precondition {
    use Precondition::*;
    // §13.2.1: these methods select no representation to check.
    if matches!(req.method, "CONNECT" | "OPTIONS" | "TRACE") {
        return Proceed;
    }
    let current = v.entity_tag();
    let get_or_head = matches!(req.method, "GET" | "HEAD");
    let if_match = list_matches(req, "If-Match", current, EntityTag::strong_eq);
    let if_none_match = list_matches(req, "If-None-Match", current, EntityTag::weak_eq);
    // 1. If-Match, else 2. If-Unmodified-Since.
    if let Some(matched) = if_match {
        if !matched {
            return PreconditionFailed;
        }
    } else if let Some(date) = one_date(req, "If-Unmodified-Since", now) {
        // Without a Last-Modified, "A recipient MAY ignore" it (§13.1.4).
        if v.last_modified.is_some_and(|modified| modified > date) {
            return PreconditionFailed;
        }
    }
    // 3. If-None-Match, else 4. If-Modified-Since (GET and HEAD only).
    if let Some(matched) = if_none_match {
        if matched {
            return if get_or_head {
                NotModified
            } else {
                PreconditionFailed
            };
        }
    } else if get_or_head {
        // A date ahead of our clock did not come from us: ignored (below).
        let since = one_date(req, "If-Modified-Since", now).filter(|&date| date <= now);
        if let (Some(date), Some(modified)) = (since, v.last_modified) {
            if modified <= date {
                return NotModified;
            }
        }
    }
    Proceed
}
// ANCHOR_END: evaluate

// Deviation (RFC 9110 §13.1.3 no longer says it; RFC 2616 §14.25 did: "A
// date which is later than the server's current time is invalid"): we ignore
// an If-Modified-Since after `now`, as Apache does. Such a date did not come
// from our Last-Modified; a 304 for it could keep a client on a stale copy
// until its clock catches up, while a 200 is always a correct answer.

/// Whether the list field `name` matches `current` by `eq`; `None` when the
/// request has no `name` field at all. `*` always matches (see
/// [`evaluate`]); a list we cannot parse matches nothing, so a garbled
/// If-Match fails (412) and a garbled If-None-Match gets the full response.
fn list_matches<'v>(
    req: &Request<'_>,
    name: &str,
    current: Option<EntityTag<'v>>,
    eq: impl Fn(&EntityTag<'v>, &EntityTag<'_>) -> bool,
) -> Option<bool> {
    let mut lines = req.headers_named(name).peekable();
    lines.peek()?;
    Some(match parse_tag_list(lines) {
        Some(TagList::Any) => true,
        Some(TagList::Tags(tags)) => {
            current.is_some_and(|c| tags.iter().any(|t| eq(&c, t)))
        }
        None => false,
    })
}

/// The date in field `name`, if the request has exactly one such line and
/// it is a valid HTTP-date. "A recipient MUST ignore the If-Modified-Since
/// header field if the received field value is not a valid HTTP-date, the
/// field value has more than one member" (RFC 9110 §13.1.3; §13.1.4 says
/// the same of If-Unmodified-Since). A date has a comma in it, so one line
/// holding two dates is simply not a valid HTTP-date.
fn one_date(req: &Request<'_>, name: &str, now: u64) -> Option<u64> {
    let mut lines = req.headers_named(name);
    let date = parse_http_date(lines.next()?, now)?;
    lines.next().is_none().then_some(date)
}

// ANCHOR: if_range
/// Whether `If-Range` still describes the representation (RFC 9110
/// §13.1.5): if so, serve the `Range` (206); if not, ignore it (200).
///
/// ```text
/// If-Range = entity-tag / HTTP-date
/// ```
///
/// "A valid entity-tag can be distinguished from a valid HTTP-date by
/// examining the first three characters for a DQUOTE." An entity-tag holds
/// if it matches ours by strong comparison, so a weak tag (theirs or ours)
/// never does. A date holds if it is exactly our Last-Modified and is a
/// strong validator (§8.8.2.2); we take every Last-Modified we have as
/// strong, because [`Validators::for_file`] sends none until its second is
/// over. A Last-Modified set by hand gets no such check.
///
/// §13.2.2 step 5 asks only for a GET with both `Range` and `If-Range`.
/// `If-Range` is one value: with two field lines, do not call this; the
/// field is invalid, and the Range is ignored.
pub fn if_range_holds(if_range: &[u8], v: &Validators, now: u64) -> bool {
    if if_range.iter().take(3).any(|&b| b == b'"') {
        match (EntityTag::parse(if_range), v.entity_tag()) {
            (Some(theirs), Some(ours)) => theirs.strong_eq(&ours),
            _ => false,
        }
    } else {
        parse_http_date(if_range, now).is_some_and(|date| v.last_modified == Some(date))
    }
}
// ANCHOR_END: if_range

/// The 304 response for [`Precondition::NotModified`]: no body, and the
/// fields RFC 9110 §15.4.5 requires.
///
/// > The server generating a 304 response MUST generate any of the
/// > following header fields that would have been sent in a 200 (OK)
/// > response to the same request: Content-Location, Date, ETag, and Vary;
/// > Cache-Control and Expires
///
/// `Date` is always written by [`Response::encode`]; `ETag` comes from `v`;
/// `cache_control` must be what the 200 sends. The static handler sends no
/// Content-Location, Vary or Expires; a handler that does must add them
/// here too (`.with_header`). `Last-Modified` only without an ETag: "a
/// sender SHOULD NOT generate representation metadata other than the above
/// listed fields unless said metadata exists for the purpose of guiding
/// cache updates (e.g., Last-Modified might be useful if the response does
/// not have an ETag field)". No Content-Type, and no Content-Length: a 304
/// is bodiless, and `encode` writes neither body nor length for it.
pub fn not_modified(v: &Validators, cache_control: Option<&str>) -> Response {
    let mut response = Response::new(StatusCode::NOT_MODIFIED);
    match (&v.etag, v.last_modified) {
        (Some(etag), _) => response = response.with_header("ETag", etag.clone()),
        (None, Some(secs)) => {
            response = response.with_header("Last-Modified", http_date(secs))
        }
        (None, None) => {}
    }
    if let Some(cc) = cache_control {
        response = response.with_header("Cache-Control", cc.to_owned());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Field, Framing, TargetForm, Version};
    use std::borrow::Cow;

    /// Last-Modified of the representation in the tests: RFC 9110's example date.
    const MODIFIED: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
    const AT: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";
    const AT_RFC850: &[u8] = b"Sunday, 06-Nov-94 08:49:37 GMT";
    const AT_ASCTIME: &[u8] = b"Sun Nov  6 08:49:37 1994";
    /// A second before and after [`AT`].
    const BEFORE: &[u8] = b"Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &[u8] = b"Sun, 06 Nov 1994 08:49:38 GMT";
    const BEFORE_RFC850: &[u8] = b"Sunday, 06-Nov-94 08:49:36 GMT";
    const BEFORE_ASCTIME: &[u8] = b"Sun Nov  6 08:49:36 1994";
    /// The server's clock: noon, Monday 15 June 2026.
    const NOW: u64 = 1_781_524_800;
    const AT_NOW: &[u8] = b"Mon, 15 Jun 2026 12:00:00 GMT";
    const AFTER_NOW: &[u8] = b"Mon, 15 Jun 2026 12:00:01 GMT";

    /// ETag `"v2"`, Last-Modified [`MODIFIED`].
    fn full() -> Validators {
        Validators {
            etag: Some("\"v2\"".into()),
            last_modified: Some(MODIFIED),
        }
    }

    fn request<'a>(method: &'a str, headers: &[(&'a str, &'a [u8])]) -> Request<'a> {
        Request {
            method,
            target: "/f",
            form: TargetForm::Origin,
            version: Version::Http11,
            headers: headers
                .iter()
                .map(|&(name, value)| Field { name, value })
                .collect(),
            framing: Framing::None,
            body: b"",
        }
    }

    #[test]
    fn entity_tags() {
        // (name, field value, Some((weak, opaque)) if it is one entity-tag)
        type Case = (&'static str, &'static [u8], Option<(bool, &'static [u8])>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("strong", b"\"xyzzy\"", Some((false, b"xyzzy"))),
            ("weak", b"W/\"xyzzy\"", Some((true, b"xyzzy"))),
            ("empty_opaque", b"\"\"", Some((false, b""))),
            ("weak_empty_opaque", b"W/\"\"", Some((true, b""))),
            ("comma_inside", b"\"a,b\"", Some((false, b"a,b"))),
            ("backslash_inside", b"\"a\\b\"", Some((false, b"a\\b"))),
            ("file_etag_shape", b"\"1a-5f3e0c2b.0\"", Some((false, b"1a-5f3e0c2b.0"))),
            // etagc = %x21 / %x23-7E / obs-text, at each edge.
            ("x20_space", b"\"a b\"", None),
            ("x21_bang", b"\"!\"", Some((false, b"!"))),
            ("x23_hash", b"\"#\"", Some((false, b"#"))),
            ("x7e_tilde", b"\"~\"", Some((false, b"~"))),
            ("x7f_del", b"\"\x7f\"", None),
            ("x80_obs_text", b"\"\x80\"", Some((false, b"\x80"))),
            ("xff_obs_text", b"\"\xff\"", Some((false, b"\xff"))),
            ("tab", b"\"\t\"", None),
            ("nul", b"\"\0\"", None),
            // Shapes that are not one entity-tag.
            ("unquoted", b"xyzzy", None),
            ("lowercase_w", b"w/\"xyzzy\"", None),
            ("space_after_w", b"W/ \"xyzzy\"", None),
            ("w_alone", b"W/", None),
            ("unterminated", b"\"xyzzy", None),
            ("one_quote", b"\"", None),
            ("single_quotes", b"'xyzzy'", None),
            ("trailing_bytes", b"\"a\"b", None),
            ("two_tags", b"\"a\", \"b\"", None),
            ("leading_space", b" \"a\"", None),
            ("star", b"*", None),
            ("empty", b"", None),
        ];
        for &(name, input, want) in cases {
            let got = EntityTag::parse(input).map(|t| (t.weak, t.opaque));
            assert_eq!(got, want, "case {name}");
            if want.is_some() {
                for cut in 0..input.len() {
                    assert_eq!(EntityTag::parse(&input[..cut]), None, "{name} @ {cut}");
                }
            }
        }
    }

    #[test]
    fn rfc_comparison_table() {
        // RFC 9110 §8.8.3.2's table, row for row: (ETag 1, ETag 2, strong, weak).
        type Case = (&'static str, &'static [u8], &'static [u8], bool, bool);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("weak_weak_same", b"W/\"1\"", b"W/\"1\"", false, true),
            ("weak_weak_different", b"W/\"1\"", b"W/\"2\"", false, false),
            ("weak_strong_same", b"W/\"1\"", b"\"1\"", false, true),
            ("strong_strong_same", b"\"1\"", b"\"1\"", true, true),
            // And a few of our own.
            ("strong_strong_different", b"\"1\"", b"\"2\"", false, false),
            ("case_matters", b"\"a\"", b"\"A\"", false, false),
            ("prefix_is_not_equal", b"\"1\"", b"\"12\"", false, false),
            ("empty_tags", b"\"\"", b"\"\"", true, true),
        ];
        for &(name, a, b, strong, weak) in cases {
            let (Some(a), Some(b)) = (EntityTag::parse(a), EntityTag::parse(b)) else {
                panic!("case {name}: test tags must parse");
            };
            assert_eq!(a.strong_eq(&b), strong, "case {name}: strong");
            assert_eq!(a.weak_eq(&b), weak, "case {name}: weak");
            // Both comparisons are symmetric.
            assert_eq!(b.strong_eq(&a), strong, "case {name}: strong, swapped");
            assert_eq!(b.weak_eq(&a), weak, "case {name}: weak, swapped");
        }
    }

    #[test]
    fn tag_lists() {
        fn strong(opaque: &[u8]) -> EntityTag<'_> {
            EntityTag {
                weak: false,
                opaque,
            }
        }
        let weak_b = EntityTag {
            weak: true,
            opaque: b"b",
        };
        let tags = |t: &[EntityTag<'static>]| Some(TagList::Tags(t.to_vec()));
        type Case = (
            &'static str,
            &'static [&'static [u8]],
            Option<TagList<'static>>,
        );
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("one", &[b"\"a\""], tags(&[strong(b"a")])),
            (
                "two",
                &[b"\"a\", \"b\""],
                tags(&[strong(b"a"), strong(b"b")]),
            ),
            (
                "no_space",
                &[b"\"a\",\"b\""],
                tags(&[strong(b"a"), strong(b"b")]),
            ),
            (
                "ows_tabs",
                &[b"\"a\" \t,\t W/\"b\""],
                tags(&[strong(b"a"), weak_b]),
            ),
            (
                "empty_elements",
                &[b", \"a\",, \"b\" ,"],
                tags(&[strong(b"a"), strong(b"b")]),
            ),
            ("empty_value", &[b""], tags(&[])),
            ("only_commas", &[b" , ,"], tags(&[])),
            (
                "comma_in_a_tag",
                &[b"\"a,b\", \"c\""],
                tags(&[strong(b"a,b"), strong(b"c")]),
            ),
            (
                "two_lines",
                &[b"\"a\"", b"\"b\""],
                tags(&[strong(b"a"), strong(b"b")]),
            ),
            ("star", &[b"*"], Some(TagList::Any)),
            ("star_and_empty_elements", &[b"*,", b""], Some(TagList::Any)),
            ("star_then_tag", &[b"*, \"a\""], None),
            ("tag_then_star", &[b"\"a\", *"], None),
            ("star_twice", &[b"*, *"], None),
            ("star_over_two_lines", &[b"*", b"\"a\""], None),
            ("star_glued", &[b"*\"a\""], None),
            ("unquoted", &[b"a"], None),
            ("missing_comma", &[b"\"a\" \"b\""], None),
            ("garbage_after", &[b"\"a\" x"], None),
            ("unterminated", &[b"\"a\", \"b"], None),
            ("lowercase_w", &[b"w/\"a\""], None),
            ("bad_second_line", &[b"\"a\"", b"b"], None),
        ];
        for (name, lines, want) in cases {
            let got = parse_tag_list(lines.iter().copied());
            assert_eq!(&got, want, "case {name}");
        }
    }

    #[test]
    fn file_etags() {
        #[rustfmt::skip]
        let cases: &[(&str, u64, u64, u32, &str)] = &[
            ("zero", 0, 0, 0, "\"0-0.0\""),
            ("typical", 26, 0x5f3e_0c2b, 0, "\"1a-5f3e0c2b.0\""),
            ("nanos", 4096, 1_781_524_800, 999_999_999, "\"1000-6a2fe940.3b9ac9ff\""),
            ("max", u64::MAX, u64::MAX, u32::MAX, "\"ffffffffffffffff-ffffffffffffffff.ffffffff\""),
        ];
        for &(name, len, secs, nanos, want) in cases {
            let etag = file_etag(len, secs, nanos);
            assert_eq!(etag, want, "case {name}");
            let parsed = EntityTag::parse(etag.as_bytes());
            assert_eq!(
                parsed.map(|t| t.weak),
                Some(false),
                "case {name}: a strong tag"
            );
        }
        // Length and each part of the mtime all change the tag.
        let tag = file_etag(1, 2, 3);
        assert_ne!(tag, file_etag(2, 2, 3));
        assert_ne!(tag, file_etag(1, 3, 3));
        assert_ne!(tag, file_etag(1, 2, 4));
    }

    #[test]
    fn validators_for_file() {
        let strong = file_etag(26, NOW - 1, 5);
        // (name, mtime, want weak ETag, want Last-Modified); the edge at N and N + 1.
        #[rustfmt::skip]
        let cases: &[(&str, u64, bool, Option<u64>)] = &[
            ("a_day_old", NOW - 86_400, false, Some(NOW - 86_400)),
            ("one_second_old", NOW - 1, false, Some(NOW - 1)),
            ("this_second", NOW, true, None),
            ("in_the_future", NOW + 1, true, None),
        ];
        for &(name, mtime, weak, last_modified) in cases {
            let v = Validators::for_file(26, mtime, 5, NOW);
            assert_eq!(v.entity_tag().map(|t| t.weak), Some(weak), "case {name}");
            assert_eq!(v.last_modified, last_modified, "case {name}");
            let bare = file_etag(26, mtime, 5);
            let etag = v.etag.as_deref().unwrap_or_default();
            assert_eq!(etag.strip_prefix("W/").unwrap_or(etag), bare, "case {name}");
        }
        assert_eq!(Validators::for_file(26, NOW - 1, 5, NOW).etag, Some(strong));
    }

    #[test]
    fn evaluate_table() {
        use Precondition::*;
        const IM: &str = "If-Match";
        const IUS: &str = "If-Unmodified-Since";
        const INM: &str = "If-None-Match";
        const IMS: &str = "If-Modified-Since";
        const V1: &[u8] = b"\"v1\"";
        const V2: &[u8] = b"\"v2\"";
        const W2: &[u8] = b"W/\"v2\"";
        // Validators: ETag "v2" and Last-Modified AT, or none at all.
        const FULL: bool = true;
        const BARE: bool = false;
        const TWO_DATES: &[u8] =
            b"Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT";
        type Fields = &'static [(&'static str, &'static [u8])];
        #[rustfmt::skip]
        let cases: &[(&str, &str, Fields, bool, Precondition)] = &[
            ("no_preconditions", "GET", &[], FULL, Proceed),
            ("unrelated_field", "GET", &[("Accept", b"*/*")], FULL, Proceed),
            // 1. If-Match: strong comparison; false → 412, for GET too.
            ("im_same", "PUT", &[(IM, V2)], FULL, Proceed),
            ("im_other", "PUT", &[(IM, V1)], FULL, PreconditionFailed),
            ("im_other_get", "GET", &[(IM, V1)], FULL, PreconditionFailed),
            ("im_in_list", "PUT", &[(IM, b"\"v1\", \"v2\"")], FULL, Proceed),
            ("im_second_line", "PUT", &[(IM, V1), (IM, V2)], FULL, Proceed),
            ("im_star", "PUT", &[(IM, b"*")], FULL, Proceed),
            ("im_weak_tag", "PUT", &[(IM, W2)], FULL, PreconditionFailed),
            ("im_garbled", "PUT", &[(IM, b"v2")], FULL, PreconditionFailed),
            ("im_empty", "PUT", &[(IM, b"")], FULL, PreconditionFailed),
            ("im_lowercase_name", "PUT", &[("if-match", V1)], FULL, PreconditionFailed),
            ("im_star_no_etag", "PUT", &[(IM, b"*")], BARE, Proceed),
            ("im_tag_no_etag", "PUT", &[(IM, V2)], BARE, PreconditionFailed),
            // 2. If-Unmodified-Since, only without If-Match.
            ("ius_same_second", "PUT", &[(IUS, AT)], FULL, Proceed),
            ("ius_second_after", "PUT", &[(IUS, AFTER)], FULL, Proceed),
            ("ius_second_before", "PUT", &[(IUS, BEFORE)], FULL, PreconditionFailed),
            ("ius_second_before_get", "GET", &[(IUS, BEFORE)], FULL, PreconditionFailed),
            ("ius_rfc850", "PUT", &[(IUS, BEFORE_RFC850)], FULL, PreconditionFailed),
            ("ius_asctime", "PUT", &[(IUS, BEFORE_ASCTIME)], FULL, PreconditionFailed),
            ("ius_invalid", "PUT", &[(IUS, b"yesterday")], FULL, Proceed),
            ("ius_two_lines_ignored", "PUT", &[(IUS, BEFORE), (IUS, BEFORE)], FULL, Proceed),
            ("ius_list_ignored", "PUT", &[(IUS, TWO_DATES)], FULL, Proceed),
            ("ius_no_last_modified", "PUT", &[(IUS, BEFORE)], BARE, Proceed),
            ("im_beats_ius", "PUT", &[(IM, V2), (IUS, BEFORE)], FULL, Proceed),
            // 3. If-None-Match: weak comparison; false → 304 for GET/HEAD, else 412.
            ("inm_same_get", "GET", &[(INM, V2)], FULL, NotModified),
            ("inm_same_head", "HEAD", &[(INM, V2)], FULL, NotModified),
            ("inm_same_post", "POST", &[(INM, V2)], FULL, PreconditionFailed),
            ("inm_same_put", "PUT", &[(INM, V2)], FULL, PreconditionFailed),
            ("inm_weak_tag_matches", "GET", &[(INM, W2)], FULL, NotModified),
            ("inm_other", "GET", &[(INM, V1)], FULL, Proceed),
            ("inm_in_list", "GET", &[(INM, b"\"v1\", W/\"v2\"")], FULL, NotModified),
            ("inm_second_line", "GET", &[(INM, V1), (INM, V2)], FULL, NotModified),
            ("inm_star_get", "GET", &[(INM, b"*")], FULL, NotModified),
            ("inm_star_put", "PUT", &[(INM, b"*")], FULL, PreconditionFailed),
            ("inm_star_no_etag", "GET", &[(INM, b"*")], BARE, NotModified),
            ("inm_tag_no_etag", "GET", &[(INM, V2)], BARE, Proceed),
            ("inm_garbled", "GET", &[(INM, b"v2")], FULL, Proceed),
            ("inm_empty", "GET", &[(INM, b"")], FULL, Proceed),
            // Precedence: steps 1 and 2 before 3; step 3 instead of 4.
            ("im_fail_beats_inm", "GET", &[(IM, V1), (INM, V2)], FULL, PreconditionFailed),
            ("ius_fail_beats_inm", "GET", &[(INM, V2), (IUS, BEFORE)], FULL, PreconditionFailed),
            ("im_pass_then_inm", "GET", &[(IM, V2), (INM, V2)], FULL, NotModified),
            ("inm_miss_beats_ims", "GET", &[(INM, V1), (IMS, AT)], FULL, Proceed),
            ("inm_hit_beats_ims", "GET", &[(INM, V2), (IMS, BEFORE)], FULL, NotModified),
            ("garbled_inm_beats_ims", "GET", &[(INM, b"v2"), (IMS, AT)], FULL, Proceed),
            ("ius_pass_then_ims", "GET", &[(IUS, AT), (IMS, AT)], FULL, NotModified),
            // 4. If-Modified-Since: GET and HEAD only; one valid date, not after now.
            ("ims_same_second", "GET", &[(IMS, AT)], FULL, NotModified),
            ("ims_second_after", "GET", &[(IMS, AFTER)], FULL, NotModified),
            ("ims_second_before", "GET", &[(IMS, BEFORE)], FULL, Proceed),
            ("ims_head", "HEAD", &[(IMS, AT)], FULL, NotModified),
            ("ims_rfc850", "GET", &[(IMS, AT_RFC850)], FULL, NotModified),
            ("ims_asctime", "GET", &[(IMS, AT_ASCTIME)], FULL, NotModified),
            ("ims_lowercase_name", "GET", &[("if-modified-since", AT)], FULL, NotModified),
            ("ims_at_now", "GET", &[(IMS, AT_NOW)], FULL, NotModified),
            ("ims_after_now_ignored", "GET", &[(IMS, AFTER_NOW)], FULL, Proceed),
            ("ims_invalid", "GET", &[(IMS, b"Sun, 06 nov 1994 08:49:37 GMT")], FULL, Proceed),
            ("ims_two_lines_ignored", "GET", &[(IMS, AT), (IMS, AT)], FULL, Proceed),
            ("ims_list_ignored", "GET", &[(IMS, TWO_DATES)], FULL, Proceed),
            ("ims_post_ignored", "POST", &[(IMS, AT)], FULL, Proceed),
            ("ims_put_ignored", "PUT", &[(IMS, AT)], FULL, Proceed),
            ("ims_no_last_modified", "GET", &[(IMS, AT)], BARE, Proceed),
            // §13.2.1: methods that select no representation ignore them all.
            ("options_ignores_im", "OPTIONS", &[(IM, V1)], FULL, Proceed),
            ("trace_ignores_inm", "TRACE", &[(INM, b"*")], FULL, Proceed),
            ("connect_ignores_ius", "CONNECT", &[(IUS, BEFORE)], FULL, Proceed),
        ];
        for &(name, method, fields, with_validators, want) in cases {
            let v = if with_validators {
                full()
            } else {
                Validators::default()
            };
            let req = request(method, fields);
            assert_eq!(evaluate(&req, &v, NOW), want, "case {name}");
        }
    }

    #[test]
    fn if_range() {
        // (name, If-Range value, want), against ETag "v2" and Last-Modified AT.
        #[rustfmt::skip]
        let cases: &[(&str, &[u8], bool)] = &[
            ("etag_same", b"\"v2\"", true),
            ("etag_other", b"\"v1\"", false),
            ("etag_weak", b"W/\"v2\"", false),
            ("etag_list", b"\"v2\", \"v1\"", false),
            ("etag_unterminated", b"\"v2", false),
            ("date_exact", AT, true),
            ("date_exact_rfc850", AT_RFC850, true),
            ("date_exact_asctime", AT_ASCTIME, true),
            ("date_second_before", BEFORE, false),
            ("date_second_after", AFTER, false),
            ("date_invalid", b"Sun, 06 Nov 1994 08:49:37 UTC", false),
            ("garbage", b"v2", false),
            ("empty", b"", false),
        ];
        for &(name, value, want) in cases {
            assert_eq!(if_range_holds(value, &full(), NOW), want, "case {name}");
        }
        // Our side matters too: a weak ETag and a missing date never hold.
        let weak = Validators {
            etag: Some("W/\"v2\"".into()),
            last_modified: None,
        };
        assert!(!if_range_holds(b"\"v2\"", &weak, NOW), "our_etag_weak");
        assert!(!if_range_holds(AT, &weak, NOW), "no_last_modified");
        // A file changed this second has neither a strong ETag nor a date yet.
        let fresh = Validators::for_file(26, NOW, 0, NOW);
        let tag = file_etag(26, NOW, 0);
        assert!(
            !if_range_holds(tag.as_bytes(), &fresh, NOW),
            "fresh_file_etag"
        );
        let settled = Validators::for_file(26, NOW, 0, NOW + 1);
        assert!(
            if_range_holds(tag.as_bytes(), &settled, NOW + 1),
            "settled_file_etag"
        );
    }

    fn encoded(r: &Response) -> String {
        let mut out = Vec::new();
        let date = crate::date::imf_fixdate(NOW);
        r.encode(
            &mut out,
            &date,
            crate::response::ConnectionHeader::Omit,
            false,
            true,
        );
        String::from_utf8(out).expect("test responses are ASCII")
    }

    #[test]
    fn not_modified_responses() {
        let r = not_modified(&full(), Some("max-age=60"));
        assert_eq!(r.check(), Ok(()));
        assert_eq!(
            encoded(&r),
            "HTTP/1.1 304 Not Modified\r\nDate: Mon, 15 Jun 2026 12:00:00 GMT\r\n\
             Server: rawhttp\r\nETag: \"v2\"\r\nCache-Control: max-age=60\r\n\r\n"
        );
        // Without an ETag, Last-Modified is what guides the cache update.
        let dated = Validators {
            etag: None,
            last_modified: Some(MODIFIED),
        };
        let r = not_modified(&dated, None);
        assert_eq!(
            r.headers,
            [(
                Cow::from("Last-Modified"),
                Cow::from("Sun, 06 Nov 1994 08:49:37 GMT")
            )]
        );
        assert!(r.body.is_empty() && r.content_type.is_none() && r.stream.is_none());
    }

    #[test]
    fn precondition_responses() {
        let v = full();
        assert!(Precondition::Proceed.response(&v, None).is_none());
        let r = Precondition::NotModified.response(&v, Some("no-cache"));
        assert_eq!(r.map(|r| r.status), Some(StatusCode::NOT_MODIFIED));
        let Some(r) = Precondition::PreconditionFailed.response(&v, None) else {
            panic!("412 has a response");
        };
        assert_eq!(r.status.as_u16(), 412);
        assert_eq!(&*r.body, b"412 Precondition Failed\n");
        assert_eq!(r.check(), Ok(()));
    }

    #[test]
    fn add_fields_for_a_200() {
        let r = full().add_fields(Response::text(StatusCode::OK, "x"));
        assert_eq!(r.check(), Ok(()));
        assert_eq!(
            r.headers,
            [
                (Cow::from("ETag"), Cow::from("\"v2\"")),
                (
                    Cow::from("Last-Modified"),
                    Cow::from("Sun, 06 Nov 1994 08:49:37 GMT")
                ),
            ]
        );
        let none = Validators::default().add_fields(Response::new(StatusCode::OK));
        assert!(none.headers.is_empty());
    }
}
