//! `Expect: 100-continue` (RFC 9110 §10.1.1): every step sends 100 when a
//! client waits for it (ch04); ch06 adds refusing the body before it is
//! sent, and 417.

use super::{Connection, Handler, Options};
use crate::request::{Request, Version, trim_ows};
use crate::response::Response;

/// The interim response that invites the body (RFC 9110 §15.2.1).
pub(super) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl Connection {
    // ANCHOR: expect
    /// Answer the request's expectations before waiting for its body:
    /// queue a `100 Continue`, or refuse the request (`true`: it is
    /// answered, and the connection closes).
    pub(super) fn expect<H: Handler>(
        &mut self,
        request: &Request<'_>,
        body_missing: bool,
        handler: &H,
    ) -> bool {
        let (options, continued) = (self.options, self.continued);
        match expect_answer(options, handler, request, body_missing, continued) {
            ExpectAnswer::Proceed => false,
            ExpectAnswer::Continue => {
                self.out.extend_from_slice(CONTINUE);
                self.continued = true;
                false
            }
            ExpectAnswer::Refuse(refusal) => {
                self.refuse_body(refusal);
                true
            }
            ExpectAnswer::Unmeetable => {
                self.unmeetable();
                true
            }
        }
    }
    // ANCHOR_END: expect
}

/// What the client's `Expect` field lines ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expectation {
    /// `100-continue` is among them: send 100 before reading the body.
    continue_: bool,
    /// Something else is among them, which we cannot meet (417 from ch06).
    unknown: bool,
}

// ANCHOR: expectation
/// RFC 9110 §10.1.1: `Expect = #expectation`; the only one defined is
/// `100-continue` (case-insensitive, and it takes no parameters). `Expect`
/// is a list: two field lines mean the same as one line with both values
/// joined by a comma (RFC 9110 §5.3), and empty list elements are ignored
/// (§5.6.1). "A server that receives a 100-continue expectation in an
/// HTTP/1.0 request MUST ignore that expectation."
fn expectation(request: &Request<'_>) -> Expectation {
    let mut found = Expectation {
        continue_: false,
        unknown: false,
    };
    if request.version == Version::Http10 {
        return found;
    }
    let members = request
        .headers_named("expect")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|member| !member.is_empty());
    for member in members {
        if member.eq_ignore_ascii_case(b"100-continue") {
            found.continue_ = true;
        } else {
            found.unknown = true;
        }
    }
    found
}
// ANCHOR_END: expectation

/// What to do about the request's expectations, before waiting for its body.
pub(super) enum ExpectAnswer {
    /// Nothing to do: no expectation, the body is here, or 100 was sent.
    Proceed,
    /// Send `100 Continue`, then read the body.
    Continue,
    /// The handler refuses the request whatever its body: answer now (ch06).
    Refuse(Response),
    /// An expectation we cannot meet: 417 (ch06).
    Unmeetable,
}

// ANCHOR: expect_answer
/// RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may wait for
/// our word before it sends the body, and "an origin server MUST, upon
/// receiving [it], either immediately respond with a final status code [...]
/// or immediately send a 100 (Continue) response". Every step invites the
/// body; with `expect_continue` (ch06) the handler may refuse it first,
/// and any other expectation gets 417 (which the RFC allows; steps 02–05
/// ignore it).
pub(super) fn expect_answer<H: Handler>(
    options: Options,
    handler: &H,
    request: &Request<'_>,
    body_missing: bool,
    continued: bool,
) -> ExpectAnswer {
    let expect = expectation(request);
    if options.expect_continue && expect.unknown {
        return ExpectAnswer::Unmeetable;
    }
    // The body is not all here yet, so the client may be waiting for us.
    if !expect.continue_ || !body_missing || continued {
        return ExpectAnswer::Proceed;
    }
    let refusal = options
        .expect_continue
        .then(|| handler.preflight(request))
        .flatten();
    match refusal {
        Some(refusal) => ExpectAnswer::Refuse(refusal),
        None => ExpectAnswer::Continue,
    }
}
// ANCHOR_END: expect_answer
