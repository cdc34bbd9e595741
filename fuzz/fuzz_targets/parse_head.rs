//! Fuzz `rawhttp::request::parse_head` (ch07): any bytes, two sets of
//! limits. Besides "never panics", it checks what the connection loop
//! relies on:
//! - a complete head says how many bytes it used, within the input, and
//!   parsing just those bytes gives the same request;
//! - strict prefixes of a complete head are `Partial` (we sample a few);
//! - a head that parses, written out again in canonical form, parses to an
//!   equal request (method, target, version, fields, framing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::limits::Limits;
use rawhttp::request::{Request, Status, parse_head};

fuzz_target!(|data: &[u8]| {
    let small = Limits {
        max_request_line: 64,
        max_head_bytes: 256,
        max_headers: 4,
        max_body_bytes: 100,
        ..Limits::default()
    };
    for limits in [&Limits::default(), &small] {
        check(data, limits);
    }
});

fn check(data: &[u8], limits: &Limits) {
    let Ok(Status::Complete((request, used))) = parse_head(data, limits) else {
        return;
    };
    assert!(
        used > 0 && used <= data.len(),
        "used {used} of {}",
        data.len()
    );
    assert_eq!(request.body, b"");
    // The accessors the router and the connection loop call.
    let _ = (request.path(), request.query(), request.framing.body_len());
    let _ = request.has_token("connection", "close");

    let head = &data[..used];
    match parse_head(head, limits) {
        Ok(Status::Complete((again, n))) => {
            assert_eq!(n, used);
            assert_eq!(again, request);
        }
        other => panic!("the head alone parsed differently: {other:?}"),
    }
    let step = (used / 8).max(1);
    for cut in (0..used).step_by(step).chain(used.saturating_sub(3)..used) {
        let got = parse_head(&head[..cut], limits);
        assert!(
            matches!(got, Ok(Status::Partial)),
            "prefix of {cut} bytes: {got:?}"
        );
    }

    let canonical = serialize(&request);
    if canonical.len() <= limits.max_head_bytes {
        match parse_head(&canonical, limits) {
            Ok(Status::Complete((again, n))) => {
                assert_eq!(n, canonical.len());
                assert_eq!(again, request);
            }
            other => panic!("canonical form parsed differently: {other:?}"),
        }
    }
}

/// `method SP target SP version CRLF`, then `name: value CRLF` per field, then CRLF.
fn serialize(request: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(request.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    for field in &request.headers {
        out.extend_from_slice(field.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(field.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
