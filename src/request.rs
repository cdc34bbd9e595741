//! Request-head parsing (ch02; RFC 9112 §2–§6, RFC 9110 §5).
//!
//! Sans-I/O: [`parse_head`] looks at bytes and says what they are. It never
//! reads a socket, so every rule here is tested byte by byte in the table at
//! the bottom of this file. The caller (`conn.rs`) reads, calls again with
//! the whole buffer, and decides what to do with the answer.
//!
//! ```text
//! HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//! request-line   = method SP request-target SP HTTP-version
//! field-line     = field-name ":" OWS field-value OWS
//! ```
//!
//! **Line endings.** RFC 9112 §2.2 lets a recipient accept a bare LF as a line
//! terminator. We do not:
//!
//! Deviation (RFC 9112 §2.2: a server MAY accept a bare LF): we answer 400,
//! because two parsers that disagree on where a line ends is how requests
//! get smuggled past a proxy (RFC 9112 §11.2). A bare CR is invalid anyway
//! ("a recipient of such a bare CR MUST consider that element to be invalid").

use crate::error::ParseError;
use crate::limits::Limits;

/// The outcome of looking at a buffer: a complete value, or "need more bytes".
///
/// Incomplete input is not an error (httparse: "incomplete data is not
/// considered invalid"): the peer simply has not sent the rest yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole value, and how many bytes of the buffer it used.
    Complete(T),
    /// The buffer ends before the value does; read more and call again.
    Partial,
}

impl<T> Status<T> {
    /// Whether this is [`Status::Partial`].
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }

    /// Apply `f` to a complete value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Complete(t) => Status::Complete(f(t)),
            Status::Partial => Status::Partial,
        }
    }
}

/// The protocol version of a request. Only HTTP/1.x reaches a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: one request per connection unless the client asks to keep it.
    Http10,
    /// HTTP/1.1 (and 1.2 … 1.9, which RFC 9110 §6.2 says to treat as 1.1).
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The four shapes of request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`: what clients send to an origin server.
    Origin,
    /// `http://host/path?query`: what clients send to a proxy. A server MUST
    /// accept it too (RFC 9112 §3.2.2).
    Absolute,
    /// `host:port`: only with CONNECT (RFC 9112 §3.2.3).
    Authority,
    /// `*`: only with OPTIONS, "the server as a whole" (RFC 9112 §3.2.4).
    Asterisk,
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No Content-Length and no Transfer-Encoding: no body (rule 6).
    None,
    /// Exactly this many bytes follow the head (rule 5).
    Length(u64),
    /// `Transfer-Encoding: chunked`: the body is a series of chunks, each
    /// with its size, ending with a zero-size chunk (rule 4; RFC 9112 §7.1).
    /// Its length is known only once it has all arrived (ch06).
    Chunked,
}

impl Framing {
    /// The body length in bytes, when the head says it: 0 for
    /// [`Framing::None`], `n` for [`Framing::Length`], unknown (`None`)
    /// for [`Framing::Chunked`].
    pub fn body_len(self) -> Option<u64> {
        match self {
            Framing::None => Some(0),
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
        }
    }
}

/// One field line, borrowed from the read buffer.
///
/// The value is bytes, not `str`: RFC 9110 §5.5 allows obs-text (0x80–0xFF),
/// which need not be UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'b> {
    /// As the client spelled it; compare with `eq_ignore_ascii_case`.
    pub name: &'b str,
    /// With leading and trailing whitespace removed.
    pub value: &'b [u8],
}

/// A parsed request. Everything borrows the buffer it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'b> {
    /// The method token, case-sensitive (`GET`, not `get`: RFC 9110 §9.1).
    pub method: &'b str,
    /// The request-target exactly as sent.
    pub target: &'b str,
    /// Which of the four forms `target` has.
    pub form: TargetForm,
    /// The protocol version.
    pub version: Version,
    /// Every field line, in the order received, repeats kept.
    pub headers: Vec<Field<'b>>,
    /// How the body is delimited.
    pub framing: Framing,
    /// The body. [`parse_head`] leaves it empty; the connection fills it in
    /// once the bytes [`Request::framing`] announces have arrived.
    pub body: &'b [u8],
}

impl<'b> Request<'b> {
    /// The path part of the target: `/a/b` for `/a/b?c` or
    /// `http://h/a/b?c`, `/` for `http://h`, `*` for `OPTIONS *`, and `""`
    /// for CONNECT's `host:port`. Still percent-encoded.
    pub fn path(&self) -> &'b str {
        match self.form {
            TargetForm::Origin => split_query(self.target).0,
            TargetForm::Absolute => {
                let after_scheme =
                    self.target.split_once("://").map_or("", |(_, rest)| rest);
                let path_start =
                    after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
                match split_query(&after_scheme[path_start..]).0 {
                    "" => "/",
                    path => path,
                }
            }
            TargetForm::Asterisk => "*",
            TargetForm::Authority => "",
        }
    }

    /// The query, without its `?`; `None` when the target has no `?`.
    pub fn query(&self) -> Option<&'b str> {
        match self.form {
            TargetForm::Origin | TargetForm::Absolute => split_query(self.target).1,
            TargetForm::Asterisk | TargetForm::Authority => None,
        }
    }

    /// The value of the first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers_named(name).next()
    }

    /// The values of every field named `name`, in order.
    pub fn headers_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'b [u8]> + 's {
        self.headers
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// Whether the comma-separated list in the fields named `name` contains
    /// `token`, case-insensitively: `Connection: keep-alive, Close` has
    /// `close` (RFC 9110 §5.6.1, §7.6.1).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers_named(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|item| trim_ows(item).eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

fn split_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

// ANCHOR: parse_head
/// Parse a request head from the front of `buf`: `Partial` until `buf` holds the empty
/// line that ends the head (RFC 9112 §2.1; the caller reads more and calls again with
/// the whole buffer). On `Complete((request, n))` the head is `buf[..n]`; the bytes
/// after it (the body, the next pipelined request) are untouched, and `request.body`
/// is empty. Limits are checked *before* waiting for more, or a peer that never sends
/// the empty line would make us buffer forever.
pub fn parse_head<'b>(
    buf: &'b [u8],
    limits: &Limits,
) -> Result<Status<(Request<'b>, usize)>, ParseError> {
    // RFC 9112 §2.2: "a server that is expecting to receive and parse a
    // request-line SHOULD ignore at least one empty line (CRLF) received
    // prior to the request-line". Some clients send one after a POST body.
    let mut start = 0;
    while buf.get(start..start + 2) == Some(b"\r\n") {
        start += 2;
    }
    let Some(end) = find_head_end(buf, start) else {
        check_incomplete(&buf[start..], limits)?;
        return if buf.len() > limits.max_head_bytes {
            Err(ParseError::HeadTooLarge)
        } else {
            Ok(Status::Partial)
        };
    };
    if end > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }
    let mut lines = Lines {
        rest: &buf[start..end],
    };
    let request_line = lines.next().ok_or(ParseError::BadRequestLine)??;
    let (method, target, version) = parse_request_line(request_line, limits)?;

    let mut headers = Vec::with_capacity(16);
    for line in lines {
        let line = line?;
        if line.is_empty() {
            break; // the empty line that ends the head
        }
        if headers.len() == limits.max_headers {
            return Err(ParseError::TooManyHeaders);
        }
        headers.push(parse_field_line(line)?);
    }

    let form = target_form(method, target)?;
    let mut request = Request {
        method,
        target,
        form,
        version,
        headers,
        framing: Framing::None,
        body: &[],
    };
    check_host(&request)?;
    request.framing = body_framing(&request, limits)?;
    Ok(Status::Complete((request, end)))
}
// ANCHOR_END: parse_head

/// The index just past the empty line that ends the head, if `buf` has one.
/// Looks for LF followed by CRLF or by a bare LF (the latter is rejected by
/// the line parser with a clear 400, instead of waiting for a CRLF that a
/// bare-LF client will never send).
fn find_head_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut from = start;
    while let Some(i) = buf.get(from..)?.iter().position(|&b| b == b'\n') {
        let lf = from + i;
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => from = lf + 1,
        }
    }
    None
}

/// Reject an incomplete head early when it can already never be valid:
/// a request line that is too long, or a method with a non-token byte (a TLS
/// handshake sent to a plain-HTTP port, say) gets its answer now, instead of
/// after a timeout.
fn check_incomplete(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    if buf == b"\r" {
        return Ok(()); // the first half of an empty line before the request line
    }
    let line = match buf.iter().position(|&b| b == b'\n') {
        Some(lf) => &buf[..lf],
        None => buf,
    };
    let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    if !line[..method_end].iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadRequestLine);
    }
    // +1: the line may end in the CR of a CRLF whose LF has not arrived.
    if line.len() > limits.max_request_line + 1 {
        return Err(if method_end < line.len() {
            ParseError::TargetTooLong
        } else {
            ParseError::BadRequestLine
        });
    }
    Ok(())
}

/// Yields the lines of a complete head, each without its CRLF.
struct Lines<'b> {
    rest: &'b [u8],
}

impl<'b> Iterator for Lines<'b> {
    type Item = Result<&'b [u8], ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let lf = self.rest.iter().position(|&b| b == b'\n')?;
        let (line, rest) = (&self.rest[..lf], &self.rest[lf + 1..]);
        self.rest = rest;
        Some(match line.split_last() {
            Some((b'\r', line)) if !line.contains(&b'\r') => Ok(line),
            _ => Err(ParseError::BadLineEnding),
        })
    }
}

// ANCHOR: request_line
/// `request-line = method SP request-target SP HTTP-version` (RFC 9112 §3).
///
/// Exactly one SP between the parts: RFC 9112 §3 lets a server accept other
/// whitespace, but a lenient split is another place parsers disagree.
fn parse_request_line<'b>(
    line: &'b [u8],
    limits: &Limits,
) -> Result<(&'b str, &'b str, Version), ParseError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadRequestLine);
    }
    if line.len() > limits.max_request_line {
        return Err(ParseError::TargetTooLong);
    }
    // request-target: visible ASCII a URI may contain (RFC 3986 §2), so no
    // spaces, controls, non-ASCII, or `"<>\^`{|}#`.
    if target.is_empty() || !target.iter().all(|&b| is_uri_char(b)) {
        return Err(ParseError::BadRequestLine);
    }
    let version = parse_version(version)?;
    // Both are ASCII by now (tchar and URI characters), so these cannot fail;
    // the `map_err` keeps it that way if the checks above ever change.
    let method = std::str::from_utf8(method).map_err(|_| ParseError::BadRequestLine)?;
    let target = std::str::from_utf8(target).map_err(|_| ParseError::BadRequestLine)?;
    Ok((method, target, version))
}

/// `HTTP-version = HTTP-name "/" DIGIT "." DIGIT`, `HTTP-name = %s"HTTP"`.
fn parse_version(v: &[u8]) -> Result<Version, ParseError> {
    match *v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                // RFC 9110 §6.2: a higher minor version SHOULD be processed
                // as the highest minor version we implement.
                (b'1', _) => Ok(Version::Http11),
                _ => Err(ParseError::UnsupportedVersion),
            }
        }
        _ => Err(ParseError::BadRequestLine),
    }
}
// ANCHOR_END: request_line

/// Which form the target has, and whether it fits the method (RFC 9112 §3.2).
fn target_form(method: &str, target: &str) -> Result<TargetForm, ParseError> {
    let form = if target == "*" {
        TargetForm::Asterisk
    } else if target.starts_with('/') {
        TargetForm::Origin
    } else if method == "CONNECT" {
        TargetForm::Authority
    } else if is_absolute_uri(target) {
        TargetForm::Absolute
    } else {
        return Err(ParseError::BadRequestLine);
    };
    match (form, method) {
        (TargetForm::Asterisk, "OPTIONS") => Ok(form),
        (TargetForm::Asterisk, _) => Err(ParseError::BadRequestLine),
        (TargetForm::Authority, _) if is_host_port(target.as_bytes(), true) => Ok(form),
        (TargetForm::Authority, _) => Err(ParseError::BadRequestLine),
        (_, "CONNECT") => Err(ParseError::BadRequestLine),
        _ => Ok(form),
    }
}

/// `scheme "://" authority …` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_absolute_uri(target: &str) -> bool {
    let Some((scheme, rest)) = target.split_once("://") else {
        return false;
    };
    let mut chars = scheme.bytes();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    chars.next().is_some_and(|b| b.is_ascii_alphabetic())
        && chars.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && is_host_port(&rest.as_bytes()[..authority_end], false)
}

// ANCHOR: field_line
/// `field-line = field-name ":" OWS field-value OWS` (RFC 9112 §5).
fn parse_field_line(line: &[u8]) -> Result<Field<'_>, ParseError> {
    // RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB continues the
    // previous one). "A server that receives an obs-fold in a request message
    // [...] MUST either reject the message by sending a 400 (Bad Request) [...]
    // or replace each received obs-fold with one or more SP octets."
    if let Some(b' ' | b'\t') = line.first() {
        return Err(ParseError::ObsFold);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::BadHeader)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    // RFC 9112 §5.1: "No whitespace is allowed between the field name and
    // colon. [...] A server MUST reject, with a response status code of 400
    // (Bad Request), any received request message that contains whitespace
    // between a header field name and colon." That falls out of the token
    // check: SP and HTAB are not tchars.
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadHeader);
    }
    let value = trim_ows(value);
    // field-value = *field-content; field-vchar = VCHAR / obs-text, plus SP
    // and HTAB inside. CR, LF, NUL and other controls are never allowed
    // (RFC 9110 §5.5: "MUST either reject the message or replace each of those
    // characters with SP"; we reject).
    if !value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || (b > 0x20 && b != 0x7f))
    {
        return Err(ParseError::BadHeader);
    }
    // The name is all tchars, so ASCII, so valid UTF-8.
    let name = std::str::from_utf8(name).map_err(|_| ParseError::BadHeader)?;
    Ok(Field { name, value })
}
// ANCHOR_END: field_line

/// Check a field line without keeping it (trailer fields, ch06).
pub(crate) fn check_field_line(line: &[u8]) -> Result<(), ParseError> {
    parse_field_line(line).map(|_| ())
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
/// to any HTTP/1.1 request message that lacks a Host header field and to any
/// request message that contains more than one Host header field line or a
/// Host header field with an invalid field value."
fn check_host(request: &Request<'_>) -> Result<(), ParseError> {
    let mut hosts = request.headers_named("host");
    match (hosts.next(), hosts.next(), request.version) {
        (None, _, Version::Http11) => Err(ParseError::BadHost),
        (None, _, Version::Http10) => Ok(()),
        (Some(_), Some(_), _) => Err(ParseError::BadHost),
        // An empty Host is valid: the target had no authority (RFC 9110 §7.2).
        (Some(host), None, _) if host.is_empty() || is_host_port(host, false) => Ok(()),
        (Some(_), None, _) => Err(ParseError::BadHost),
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2 and §3.2.3,
/// <https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2>): the Host field,
/// the authority of an absolute-form target, and CONNECT's authority-form
/// (where, with `need_port`, the port is required, RFC 9112 §3.2.3).
///
/// ```text
/// host        = IP-literal / IPv4address / reg-name
/// port        = *DIGIT
/// ```
///
/// An IPv4address (`192.0.2.1`) is made of digits and dots, which reg-name
/// allows too, so the reg-name check accepts every IPv4address and there is
/// no separate branch for it. (`999.1.1.1` is no IPv4address, but it is a
/// valid reg-name, so it is valid syntax; a lookup would fail, not the parse.)
///
/// The host may not be empty here. RFC 9110 §4.2.1
/// (<https://www.rfc-editor.org/rfc/rfc9110#section-4.2.1>):
///
/// > A sender MUST NOT generate an "http" URI with an empty host identifier.
/// > A recipient that processes such a URI reference MUST reject it as invalid.
///
/// (An *empty Host field* is a different thing, allowed by RFC 9110 §7.2;
/// `check_host` handles it before calling this.) An empty port after the
/// colon (`a:`) is allowed, as the grammar says, except where the port is
/// required.
fn is_host_port(v: &[u8], need_port: bool) -> bool {
    let (host_ok, port) = match v {
        [b'[', rest @ ..] => {
            let Some(close) = rest.iter().position(|&b| b == b']') else {
                return false;
            };
            let (literal, after) = rest.split_at(close);
            let port = match after {
                [b']'] => None,
                [b']', b':', port @ ..] => Some(port),
                _ => return false,
            };
            (is_ip_literal(literal), port)
        }
        _ => {
            // A reg-name has no ":", so the first one starts the port (and
            // an unbracketed IPv6 address such as `::1` has an empty host).
            let mut parts = v.splitn(2, |&b| b == b':');
            let host = parts.next().unwrap_or_default();
            (!host.is_empty() && is_reg_name(host), parts.next())
        }
    };
    host_ok
        && match port {
            None => !need_port,
            Some(p) => p.iter().all(u8::is_ascii_digit) && !(need_port && p.is_empty()),
        }
}

/// What is between the brackets of an IP-literal (RFC 3986 §3.2.2).
///
/// ```text
/// IP-literal  = "[" ( IPv6address / IPvFuture  ) "]"
/// IPvFuture   = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
/// ```
///
/// RFC 6874 (<https://www.rfc-editor.org/rfc/rfc6874#section-4>) adds a
/// zone id (`[fe80::1%25eth0]`) to the URI syntax. We do
/// not accept it. RFC 9110 §4.1 takes `host` from RFC 3986, which has no
/// zone id, and RFC 6874 §4 itself says a request never carries one:
///
/// > An HTTP client, proxy, or other intermediary MUST remove any ZoneID
/// > attached to an outgoing URI, as it has only local significance at the
/// > sending host.
///
/// So a Host with a zone id is invalid, and RFC 9112 §3.2 makes that a 400.
fn is_ip_literal(inner: &[u8]) -> bool {
    // ABNF strings are case-insensitive (RFC 5234 §2.3), so "v" is also "V".
    let [b'v' | b'V', future @ ..] = inner else {
        return is_ipv6_address(inner);
    };
    let mut parts = future.splitn(2, |&b| b == b'.');
    let version = parts.next().unwrap_or_default();
    let Some(rest) = parts.next() else {
        return false;
    };
    !version.is_empty()
        && version.iter().all(u8::is_ascii_hexdigit)
        && !rest.is_empty()
        && rest
            .iter()
            .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

// ANCHOR: ipv6_address
/// RFC 3986 §3.2.2, in nine forms:
///
/// ```text
/// IPv6address =                            6( h16 ":" ) ls32
///             /                       "::" 5( h16 ":" ) ls32
///             / [               h16 ] "::" 4( h16 ":" ) ls32
///             / [ *1( h16 ":" ) h16 ] "::" 3( h16 ":" ) ls32
///             / [ *2( h16 ":" ) h16 ] "::" 2( h16 ":" ) ls32
///             / [ *3( h16 ":" ) h16 ] "::"    h16 ":"   ls32
///             / [ *4( h16 ":" ) h16 ] "::"              ls32
///             / [ *5( h16 ":" ) h16 ] "::"              h16
///             / [ *6( h16 ":" ) h16 ] "::"
/// h16         = 1*4HEXDIG
/// ls32        = ( h16 ":" h16 ) / IPv4address
/// ```
///
/// Counted instead of matched form by form: an address is 8 pieces of 16
/// bits, an IPv4address at the very end counts as 2. Without "::" all 8 are
/// written out; with it (at most once), the pieces written on both sides
/// add up to at most 7, because "::" stands for at least one zero piece.
fn is_ipv6_address(s: &[u8]) -> bool {
    let Some(at) = s.windows(2).position(|w| w == b"::") else {
        return pieces(s, true) == Some(8);
    };
    let (left, rest) = s.split_at(at);
    let Some(right) = rest.strip_prefix(b"::") else {
        return false;
    };
    // A second "::" (or a ":::") leaves an empty piece on the right, which
    // `pieces` rejects; an IPv4address may only end the whole address.
    match (pieces(left, false), pieces(right, true)) {
        (Some(l), Some(r)) => l.checked_add(r).is_some_and(|n| n <= 7),
        _ => false,
    }
}

/// How many 16-bit pieces `part` spells: `h16` separated by ":", the last
/// of which may be an IPv4address (2 pieces) if `ipv4_last`. `None` if a
/// piece is malformed or empty, or if there are more than 8.
fn pieces(part: &[u8], ipv4_last: bool) -> Option<usize> {
    if part.is_empty() {
        return Some(0);
    }
    let mut count: usize = 0;
    let mut iter = part.split(|&b| b == b':').peekable();
    while let Some(piece) = iter.next() {
        let is_last = iter.peek().is_none();
        let width = if (1..=4).contains(&piece.len())
            && piece.iter().all(u8::is_ascii_hexdigit)
        {
            1
        } else if is_last && ipv4_last && is_ipv4_address(piece) {
            2
        } else {
            return None;
        };
        count = count.checked_add(width).filter(|&n| n <= 8)?;
    }
    Some(count)
}
// ANCHOR_END: ipv6_address

// ANCHOR: ipv4_address
/// RFC 3986 §3.2.2, needed inside IPv6 addresses (`::ffff:192.0.2.1`):
///
/// ```text
/// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet
/// dec-octet   = DIGIT                 ; 0-9
///             / %x31-39 DIGIT         ; 10-99
///             / "1" 2DIGIT            ; 100-199
///             / "2" %x30-34 DIGIT     ; 200-249
///             / "25" %x30-35          ; 250-255
/// ```
fn is_ipv4_address(s: &[u8]) -> bool {
    let dec_octet = |o: &[u8]| match o {
        [d] => d.is_ascii_digit(),
        // No leading zero; three equally long digit strings compare as numbers.
        [b'1'..=b'9', rest @ ..] if rest.len() <= 2 => {
            rest.iter().all(u8::is_ascii_digit) && (o.len() < 3 || o <= b"255".as_slice())
        }
        _ => false,
    };
    let mut count = 0;
    for octet in s.split(|&b| b == b'.') {
        if count == 4 || !dec_octet(octet) {
            return false;
        }
        count += 1; // at most 4: checked just above
    }
    count == 4
}
// ANCHOR_END: ipv4_address

/// RFC 3986 §3.2.2 and §2.1:
///
/// ```text
/// reg-name    = *( unreserved / pct-encoded / sub-delims )
/// pct-encoded = "%" HEXDIG HEXDIG
/// ```
///
/// A "%" must start a full escape: `a%20b` is a name, `a%zz` and `a%2` are not.
fn is_reg_name(s: &[u8]) -> bool {
    let mut rest = s;
    loop {
        rest = match rest {
            [] => return true,
            [b'%', hi, lo, tail @ ..]
                if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() =>
            {
                tail
            }
            [b, tail @ ..] if is_unreserved(*b) || is_sub_delim(*b) => tail,
            _ => return false,
        };
    }
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// `sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="`
/// (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    b"!$&'()*+,;=".contains(&b)
}

// ANCHOR: body_framing
/// How the request body is delimited (RFC 9112 §6.3, rules 3–6 for requests).
///
/// > If a message is received without Transfer-Encoding and with an invalid
/// > Content-Length header field, then the message framing is invalid and the
/// > recipient MUST treat it as an unrecoverable error [...] the server MUST
/// > respond with a 400 (Bad Request) status code and then close the connection.
///
/// We reject instead of guessing: two parsers that guess differently is how
/// request smuggling happens (RFC 9112 §11.2).
fn body_framing(request: &Request<'_>, limits: &Limits) -> Result<Framing, ParseError> {
    let has_te = request.header("transfer-encoding").is_some();
    let mut length: Option<u64> = None;
    for value in request.headers_named("content-length") {
        // RFC 9110 §8.6 lets a recipient accept `42, 42` (or two fields
        // saying 42) as 42; any disagreement is an error.
        for item in value.split(|&b| b == b',') {
            let n = parse_content_length(trim_ows(item))?;
            if length.is_some_and(|seen| seen != n) {
                return Err(ParseError::BadContentLength);
            }
            length = Some(n);
        }
    }
    match (has_te, length) {
        // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0
        // message containing a Transfer-Encoding header field MUST treat the
        // message as if the framing is faulty, even if a Content-Length is
        // present". HTTP/1.0 has no transfer codings.
        (true, _) if request.version == Version::Http10 => {
            Err(ParseError::ConflictingFraming)
        }
        (true, Some(_)) => Err(ParseError::ConflictingFraming),
        (true, None) => transfer_coding(request),
        (false, Some(n)) if n > limits.max_body_bytes as u64 => {
            Err(ParseError::BodyTooLarge)
        }
        (false, Some(n)) => Ok(Framing::Length(n)),
        (false, None) => Ok(Framing::None),
    }
}

/// `Content-Length = 1*DIGIT`, digit by digit with checked arithmetic.
/// Not `str::parse`, which would accept a leading `+`.
fn parse_content_length(digits: &[u8]) -> Result<u64, ParseError> {
    if digits.is_empty() {
        return Err(ParseError::BadContentLength);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(ParseError::BadContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::BadContentLength)
    })
}
// ANCHOR_END: body_framing

// ANCHOR: transfer_coding
/// `Transfer-Encoding = #transfer-coding` (RFC 9112 §6.1), over all the
/// Transfer-Encoding field lines in order. Coding names are case-insensitive
/// (RFC 9112 §7: `Chunked` is `chunked`).
///
/// > If a Transfer-Encoding header field is present in a request and the
/// > chunked transfer coding is not the final encoding, the message body
/// > length cannot be determined reliably; the server MUST respond with the
/// > 400 (Bad Request) status code and then close the connection.
///
/// Chunked last, after other codings (`gzip, chunked`), is well framed but
/// asks us to undo a compression we do not implement: 501 (RFC 9112 §6.1).
fn transfer_coding(request: &Request<'_>) -> Result<Framing, ParseError> {
    let mut chunked_seen = 0;
    let mut others = false;
    let mut last_is_chunked = false;
    let codings = request
        .headers_named("transfer-encoding")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_ows)
        // RFC 9110 §5.6.1: empty list elements do not count.
        .filter(|coding| !coding.is_empty());
    for coding in codings {
        last_is_chunked = coding.eq_ignore_ascii_case(b"chunked");
        if last_is_chunked {
            chunked_seen += 1;
        } else if coding
            .iter()
            .all(|&b| is_tchar(b) || b" ;=\"\t".contains(&b))
        {
            others = true; // a coding (maybe with parameters) we do not implement
        } else {
            return Err(ParseError::BadTransferEncoding);
        }
    }
    // "A sender MUST NOT apply the chunked transfer coding more than once".
    if !last_is_chunked || chunked_seen > 1 {
        return Err(ParseError::BadTransferEncoding);
    }
    if others {
        return Err(ParseError::UnsupportedCoding);
    }
    Ok(Framing::Chunked)
}
// ANCHOR_END: transfer_coding

/// `tchar` (RFC 9110 §5.6.2): the characters of a token, such as a method or
/// a field name.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Visible ASCII that may appear in a URI (RFC 3986 §2): everything from
/// `!` to `~` except `"<>\^`{|}` and `#` (a fragment is never sent).
fn is_uri_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"\"<>\\^`{|}#".contains(&b)
}

/// Strip optional whitespace (`OWS = *( SP / HTAB )`) from both ends.
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParseError::*;

    fn limits() -> Limits {
        Limits::default()
    }

    /// (name, bytes, expected head length or error)
    const CASES: &[(&str, &[u8], Result<usize, ParseError>)] = &[
        ("minimal", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(27)),
        ("http_1_0_without_host", b"GET / HTTP/1.0\r\n\r\n", Ok(18)),
        ("http_1_2_is_1_1", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Ok(27)),
        ("leading_crlf_ignored", b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(29)),
        ("empty_host", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Ok(25)),
        ("host_with_port", b"GET / HTTP/1.1\r\nHost: a.b:80\r\n\r\n", Ok(32)),
        ("host_ipv6", b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", Ok(36)),
        ("ows_trimmed", b"GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", Ok(31)),
        ("obs_text_value", b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\xff\r\n\r\n", Ok(38)),
        ("absolute_form", b"GET http://a/b?c HTTP/1.1\r\nHost: x\r\n\r\n", Ok(38)),
        ("asterisk_form", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Ok(31)),
        ("authority_form", b"CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n", Ok(43)),
        ("content_length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", Ok(47)),
        ("content_length_repeated_same", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-length: 5\r\n\r\n", Ok(69)),
        ("custom_method", b"PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", Ok(30)),
        // The request line
        ("lowercase_http", b"GET / http/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("two_spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("trailing_space", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("missing_version", b"GET /\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("method_not_token", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("space_in_target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("non_ascii_target", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("fragment_in_target", b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("relative_target", b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("asterisk_with_get", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("connect_with_path", b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("connect_without_port", b"CONNECT a.b HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("version_2_0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Err(UnsupportedVersion)),
        ("version_0_9", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", Err(UnsupportedVersion)),
        ("version_1_10", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        // Line endings
        ("bare_lf", b"GET / HTTP/1.1\nHost: a\n\n", Err(BadLineEnding)),
        ("bare_lf_in_fields", b"GET / HTTP/1.1\r\nHost: a\n\r\n", Err(BadLineEnding)),
        ("bare_cr_in_value", b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", Err(BadLineEnding)),
        // Field lines
        ("space_before_colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", Err(BadHeader)),
        ("no_colon", b"GET / HTTP/1.1\r\nHost: a\r\nOops\r\n\r\n", Err(BadHeader)),
        ("empty_name", b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", Err(BadHeader)),
        ("nul_in_value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", Err(BadHeader)),
        ("del_in_value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", Err(BadHeader)),
        ("obs_fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", Err(ObsFold)),
        ("space_before_first_field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", Err(ObsFold)),
        // Host
        ("missing_host", b"GET / HTTP/1.1\r\n\r\n", Err(BadHost)),
        ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", Err(BadHost)),
        ("bad_host_chars", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Err(BadHost)),
        ("bad_host_port", b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", Err(BadHost)),
        ("bad_host_on_1_0", b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", Err(BadHost)),
        // Host syntax (RFC 3986 §3.2.2): IP-literal, IPvFuture, reg-name, port
        ("host_ipv6_loopback", b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", Ok(31)),
        ("host_ipv6_unspecified", b"GET / HTTP/1.1\r\nHost: [::]\r\n\r\n", Ok(30)),
        ("host_ipv6_eight_groups", b"GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8]\r\n\r\n", Ok(43)),
        ("host_ipv6_ipv4_tail", b"GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]\r\n\r\n", Ok(42)),
        ("host_ipvfuture", b"GET / HTTP/1.1\r\nHost: [v1.x]\r\n\r\n", Ok(32)),
        ("host_pct_encoded", b"GET / HTTP/1.1\r\nHost: a%20b\r\n\r\n", Ok(31)),
        ("host_name_port", b"GET / HTTP/1.1\r\nHost: a:80\r\n\r\n", Ok(30)),
        ("host_empty_port", b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n", Ok(28)),
        ("host_ipv4", b"GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", Ok(38)),
        ("host_ip_literal_colon", b"GET / HTTP/1.1\r\nHost: [:]\r\n\r\n", Err(BadHost)),
        ("host_ip_literal_dots", b"GET / HTTP/1.1\r\nHost: [...]\r\n\r\n", Err(BadHost)),
        ("host_ip_literal_empty", b"GET / HTTP/1.1\r\nHost: []\r\n\r\n", Err(BadHost)),
        ("host_ipv6_nine_groups", b"GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", Err(BadHost)),
        ("host_ipv6_two_double_colons", b"GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", Err(BadHost)),
        ("host_ipv6_short_ipv4_tail", b"GET / HTTP/1.1\r\nHost: [::ffff:1.2.3]\r\n\r\n", Err(BadHost)),
        ("host_ipv6_five_hex_digits", b"GET / HTTP/1.1\r\nHost: [12345::]\r\n\r\n", Err(BadHost)),
        ("host_ipvfuture_no_version", b"GET / HTTP/1.1\r\nHost: [v.x]\r\n\r\n", Err(BadHost)),
        ("host_ipvfuture_bad_version", b"GET / HTTP/1.1\r\nHost: [vz.x]\r\n\r\n", Err(BadHost)),
        // RFC 6874 zone ids are not in RFC 3986's host (see `is_ip_literal`).
        ("host_ipv6_zone_id", b"GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", Err(BadHost)),
        ("host_bad_pct_encoding", b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", Err(BadHost)),
        ("host_short_pct_encoding", b"GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", Err(BadHost)),
        ("host_ipv6_unclosed", b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", Err(BadHost)),
        ("host_ipv6_unbracketed", b"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", Err(BadHost)),
        ("host_ipv6_junk_after_bracket", b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", Err(BadHost)),
        ("host_empty_name_with_port", b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n", Err(BadHost)),
        // The same check guards the authority in absolute-form and authority-form.
        ("absolute_form_ipv6", b"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", Ok(49)),
        ("absolute_form_ipvfuture", b"GET http://[v1.x]/p HTTP/1.1\r\nHost: [v1.x]\r\n\r\n", Ok(46)),
        ("authority_form_ipv6", b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", Ok(47)),
        ("absolute_form_bad_ipv6", b"GET http://[1::2::3]/ HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("absolute_form_bad_pct", b"GET http://a%zz/ HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequestLine)),
        ("authority_form_ipv6_without_port", b"CONNECT [::1] HTTP/1.1\r\nHost: [::1]\r\n\r\n", Err(BadRequestLine)),
        // Content-Length and Transfer-Encoding
        ("cl_plus_sign", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Err(BadContentLength)),
        ("cl_negative", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Err(BadContentLength)),
        ("cl_hex", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", Err(BadContentLength)),
        ("cl_inner_space", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", Err(BadContentLength)),
        ("cl_empty", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Err(BadContentLength)),
        ("cl_overflow", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", Err(BadContentLength)),
        ("cl_conflict", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Err(BadContentLength)),
        ("cl_list_conflict", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", Err(BadContentLength)),
        ("cl_too_large", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", Err(BodyTooLarge)),
        ("te_chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(56)),
        ("te_chunked_any_case", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n", Ok(56)),
        ("te_empty_elements", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked,\r\n\r\n", Ok(59)),
        ("te_gzip_then_chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(UnsupportedCoding)),
        ("te_split_over_two_lines", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Err(UnsupportedCoding)),
        ("te_chunked_not_last", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", Err(BadTransferEncoding)),
        ("te_gzip_only", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", Err(BadTransferEncoding)),
        ("te_chunked_twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Err(BadTransferEncoding)),
        ("te_empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", Err(BadTransferEncoding)),
        ("te_xchunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", Err(BadTransferEncoding)),
        ("te_on_http_1_0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Err(ConflictingFraming)),
        ("te_and_cl", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Err(ConflictingFraming)),
    ];

    #[test]
    fn heads() {
        for &(name, input, want) in CASES {
            let got = parse_head(input, &limits()).map(|s| s.map(|(_, used)| used));
            assert_eq!(got, want.map(Status::Complete), "case {name}");
            if want.is_ok() {
                // h11's trick: every strict prefix of a good head is Partial.
                for cut in 0..input.len() {
                    assert_eq!(
                        parse_head(&input[..cut], &limits()).map(|s| s.is_partial()),
                        Ok(true),
                        "{name} cut at {cut}"
                    );
                }
                // Bytes after the head (a body, the next request) are not touched.
                let mut more = input.to_vec();
                more.extend_from_slice(b"XYZ");
                let got = parse_head(&more, &limits()).map(|s| s.map(|(_, used)| used));
                assert_eq!(got, want.map(Status::Complete), "{name} + trailing bytes");
            }
        }
    }

    /// (authority, need_port, valid): the corners of RFC 3986 §3.2.2 that
    /// the request table above does not spell out one by one.
    const HOSTS: &[(&str, bool, bool)] = &[
        // The nine IPv6address forms, at their longest and shortest.
        ("[1:2:3:4:5:6:7:8]", false, true),
        ("[1:2:3:4:5:6:1.2.3.4]", false, true),
        ("[::2:3:4:5:6:7:8]", false, true),
        ("[::2:3:4:5:6:1.2.3.4]", false, true),
        ("[1::3:4:5:6:7:8]", false, true),
        ("[1:2::4:5:6:7:8]", false, true),
        ("[1:2:3::5:6:7:8]", false, true),
        ("[1:2:3:4::6:7:8]", false, true),
        ("[1:2:3:4:5::7:8]", false, true),
        ("[1:2:3:4:5:6::8]", false, true),
        ("[1:2:3:4:5:6:7::]", false, true),
        ("[::1.2.3.4]", false, true),
        ("[1:2:3:4:5::1.2.3.4]", false, true),
        ("[::]", false, true),
        ("[::1]", false, true),
        ("[1::]", false, true),
        ("[FFFF:abcd::0]", false, true),
        ("[0000:0:00:000:0::1]", false, true),
        // Too many pieces, with and without "::".
        ("[1:2:3:4:5:6:7:8:9]", false, false),
        ("[1:2:3:4:5:6:7]", false, false),
        ("[1:2:3:4:5:6:7:8::]", false, false),
        ("[::1:2:3:4:5:6:7:8]", false, false),
        ("[1:2:3:4:5:6:7::8]", false, false),
        ("[1:2:3:4:5:6:7:1.2.3.4]", false, false),
        ("[1:2:3:4:5:6::1.2.3.4]", false, false),
        // Colons in the wrong places.
        ("[:]", false, false),
        ("[:::]", false, false),
        ("[1:::2]", false, false),
        ("[1::2::3]", false, false),
        ("[::1::]", false, false),
        ("[:1::]", false, false),
        ("[::1:]", false, false),
        ("[1:2:3:4:5:6:7:8:]", false, false),
        // Pieces that are not h16, and IPv4 that is not dec-octets.
        ("[12345::]", false, false),
        ("[g::]", false, false),
        ("[::ffff:1.2.3]", false, false),
        ("[::ffff:1.2.3.4.5]", false, false),
        ("[::256.1.1.1]", false, false),
        ("[::01.2.3.4]", false, false),
        ("[::1.2..4]", false, false),
        ("[::255.250.199.99]", false, true),
        ("[1.2.3.4::]", false, false),
        ("[::1.2.3.4:5]", false, false),
        ("[1.2.3.4]", false, false),
        // IPvFuture; zone ids (RFC 6874) are refused.
        ("[v1.x]", false, true),
        ("[VfA.a:b!$&'()*+,;=-._~]", false, true),
        ("[v.x]", false, false),
        ("[vz.x]", false, false),
        ("[v1.]", false, false),
        ("[v1]", false, false),
        ("[v1.x/y]", false, false),
        ("[fe80::1%25eth0]", false, false),
        ("[fe80::1%eth0]", false, false),
        // Brackets and ports.
        ("[]", false, false),
        ("[::1", false, false),
        ("::1", false, false),
        ("[::1]]", false, false),
        ("[[::1]]", false, false),
        ("[::1]:", false, true),
        ("[::1]:8080", false, true),
        ("[::1]:8080", true, true),
        ("[::1]", true, false),
        ("[::1]:", true, false),
        ("[::1]:8x", false, false),
        // reg-name (which includes IPv4address) and port.
        ("a", false, true),
        ("192.0.2.1", false, true),
        ("999.1.1.1", false, true),
        ("a-b.c_d~e!$&'()*+,;=", false, true),
        ("a%20b", false, true),
        ("%41%7e", false, true),
        ("a%zz", false, false),
        ("a%2", false, false),
        ("a%", false, false),
        ("a:80", false, true),
        ("a:80", true, true),
        ("a:", false, true),
        ("a:", true, false),
        ("a", true, false),
        ("a:8x", false, false),
        ("a:-1", false, false),
        ("a:80:80", false, false),
        (":80", false, false),
        ("", false, false),
        ("a@b", false, false),
        ("a/b", false, false),
        ("a b", false, false),
    ];

    #[test]
    fn host_ports() {
        for &(authority, need_port, valid) in HOSTS {
            assert_eq!(
                is_host_port(authority.as_bytes(), need_port),
                valid,
                "case {authority:?} (need_port: {need_port})"
            );
        }
    }

    fn parsed(input: &[u8]) -> Request<'_> {
        match parse_head(input, &limits()) {
            Ok(Status::Complete((r, _))) => r,
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    #[test]
    fn fields_are_kept_in_order_with_repeats() {
        let r = parsed(
            b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a:2\r\nAccept:  */* \r\n\r\n",
        );
        assert_eq!(r.method, "GET");
        assert_eq!(r.version, Version::Http11);
        let fields: Vec<(&str, &[u8])> =
            r.headers.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            fields,
            [
                ("Host", &b"a"[..]),
                ("X-A", b"1"),
                ("x-a", b"2"),
                ("Accept", b"*/*")
            ]
        );
        assert_eq!(r.headers_named("X-a").collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(r.header("accept"), Some(&b"*/*"[..]));
    }

    #[test]
    fn paths_and_queries() {
        let cases: &[(&[u8], &str, Option<&str>, TargetForm)] = &[
            (
                b"GET /a/b?c=d&e HTTP/1.1\r\nHost: h\r\n\r\n",
                "/a/b",
                Some("c=d&e"),
                TargetForm::Origin,
            ),
            (
                b"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
                "/a",
                Some(""),
                TargetForm::Origin,
            ),
            (
                b"GET http://h:8/x/y?z HTTP/1.1\r\nHost: h\r\n\r\n",
                "/x/y",
                Some("z"),
                TargetForm::Absolute,
            ),
            (
                b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n",
                "/",
                None,
                TargetForm::Absolute,
            ),
            (
                b"GET https://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
                "/",
                Some("q"),
                TargetForm::Absolute,
            ),
            (
                b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                "*",
                None,
                TargetForm::Asterisk,
            ),
            (
                b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",
                "",
                None,
                TargetForm::Authority,
            ),
        ];
        for &(input, path, query, form) in cases {
            let r = parsed(input);
            assert_eq!(
                (r.path(), r.query(), r.form),
                (path, query, form),
                "{}",
                r.target
            );
        }
    }

    #[test]
    fn connection_tokens() {
        let r = parsed(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nconnection:  CLOSE \r\n\r\n");
        assert!(r.has_token("connection", "close"));
        assert!(r.has_token("Connection", "upgrade"));
        assert!(!r.has_token("connection", "keep"));
    }

    #[test]
    fn framing() {
        assert_eq!(
            parsed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").framing,
            Framing::None
        );
        let r = parsed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
        assert_eq!(r.framing, Framing::Length(7));
        let r =
            parsed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!((r.framing, r.framing.body_len()), (Framing::Chunked, None));
        assert_eq!(r.body, b"");
    }

    fn head_of_len(total: usize) -> Vec<u8> {
        // "GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n"
        let fixed = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
        let mut v = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        v.extend(std::iter::repeat_n(b'x', total - fixed));
        v.extend_from_slice(b"\r\n\r\n");
        assert_eq!(v.len(), total);
        v
    }

    #[test]
    fn head_size_limit_at_n_and_n_plus_1() {
        let l = limits();
        let at = head_of_len(l.max_head_bytes);
        assert!(
            matches!(parse_head(&at, &l), Ok(Status::Complete((_, n))) if n == at.len())
        );
        let over = head_of_len(l.max_head_bytes + 1);
        assert_eq!(parse_head(&over, &l), Err(HeadTooLarge));
        // And while still incomplete: no waiting for an end that is too late anyway.
        let mut partial = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        partial.resize(l.max_head_bytes + 1, b'x');
        assert_eq!(
            parse_head(&partial[..l.max_head_bytes], &l).map(|s| s.is_partial()),
            Ok(true)
        );
        assert_eq!(
            parse_head(&partial[..l.max_head_bytes + 1], &l),
            Err(HeadTooLarge)
        );
    }

    fn line_of_len(total: usize) -> Vec<u8> {
        let mut v = b"GET /".to_vec();
        v.extend(std::iter::repeat_n(b'a', total - b"GET / HTTP/1.1".len()));
        v.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        v
    }

    #[test]
    fn request_line_limit_at_n_and_n_plus_1() {
        let l = limits();
        let at = line_of_len(l.max_request_line);
        assert!(matches!(parse_head(&at, &l), Ok(Status::Complete(_))));
        assert_eq!(
            parse_head(&line_of_len(l.max_request_line + 1), &l),
            Err(TargetTooLong)
        );
        // A long line is refused before its end arrives.
        let long = vec![b'a'; l.max_request_line + 2];
        let mut partial = b"GET /".to_vec();
        partial.extend_from_slice(&long);
        assert_eq!(parse_head(&partial, &l), Err(TargetTooLong));
        // A long "method" is just garbage.
        assert_eq!(parse_head(&long, &l), Err(BadRequestLine));
    }

    #[test]
    fn header_count_limit_at_n_and_n_plus_1() {
        let l = limits();
        let with = |n: usize| {
            let mut v = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
            for i in 1..n {
                v.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
            }
            v.extend_from_slice(b"\r\n");
            v
        };
        let at = with(l.max_headers);
        assert_eq!(parsed(&at).headers.len(), l.max_headers);
        assert_eq!(
            parse_head(&with(l.max_headers + 1), &l),
            Err(TooManyHeaders)
        );
    }

    #[test]
    fn body_limit_at_n_and_n_plus_1() {
        let l = limits();
        let head = |n: usize| {
            format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n")
        };
        let at = head(l.max_body_bytes);
        assert_eq!(
            parsed(at.as_bytes()).framing,
            Framing::Length(l.max_body_bytes as u64)
        );
        assert_eq!(
            parse_head(head(l.max_body_bytes + 1).as_bytes(), &l),
            Err(BodyTooLarge)
        );
    }

    #[test]
    fn garbage_is_rejected_before_the_head_ends() {
        // A TLS ClientHello sent to a plain-HTTP port starts with 0x16 0x03.
        assert_eq!(
            parse_head(b"\x16\x03\x01\x02\x00", &limits()),
            Err(BadRequestLine)
        );
        assert_eq!(
            parse_head(b"GET", &limits()).map(|s| s.is_partial()),
            Ok(true)
        );
    }
}
