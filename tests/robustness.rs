//! Bounded property and mutation tests over the parsers (ch07), the
//! in-`cargo test` cousin of the fuzz targets in `fuzz/`. A tiny xorshift
//! generator with fixed seeds makes them deterministic: a failure names its
//! seed and case and happens again on the next run.
//!
//! What must hold for any bytes at all:
//! - `parse_head`, the chunked `Decoder` and `percent_decode` never panic;
//! - every strict prefix of a valid head is `Partial`;
//! - a head that parses, written out again in canonical form (`method SP
//!   target SP version CRLF`, `name: value CRLF` per field, `CRLF`), parses
//!   to an equal `Request`: same method, target, version, fields, framing;
//! - decoding a chunked body in one call or in two with `compact` between
//!   gives the same body and leaves the same bytes for the next request.

use std::time::Instant;

use rawhttp::chunked::{Decoded, Decoder};
use rawhttp::conn::Handler;
use rawhttp::error::ParseError;
use rawhttp::limits::Limits;
use rawhttp::request::{Request, Status, parse_head};
use rawhttp::router::{Router, percent_decode};

/// xorshift64* (Vigna): plenty for choosing mutations, and no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const VALID_HEADS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /hello/w%C3%B6rld?x=1&y=a+b HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nUser-Agent: curl/8.0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    b"GET http://h:8/x/y?z HTTP/1.1\r\nHost: h:8\r\nConnection: keep-alive, Upgrade\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n",
    b"GET /hello/old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"\r\nHEAD /headers HTTP/1.1\r\nHost: [::1]:80\r\nX-A: 1\r\nx-a: 2\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\xff\r\n\r\n",
    b"DELETE /a/b/c HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 0\r\nContent-length: 0\r\n\r\n",
];

/// Bytes that matter to an HTTP parser, inserted more often than random ones.
const INTERESTING: &[u8] = b"\r\n \t:;,=\"%+/?*\x00\x7f\xff0123456789abcdefABCDEF";

/// Whole lines that change framing, spliced into heads.
const LINES: &[&[u8]] = &[
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 6\r\n",
    b"Host: b\r\n",
    b"Transfer-Encoding : chunked\r\n",
    b" chunked\r\n",
    b"Expect: 100-continue\r\n",
    b"\r\n",
];

/// One random mutation of `input`, in place.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    match rng.below(9) {
        // Flip a bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // Insert a byte: usually one that matters to HTTP.
        1 => {
            let b = if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                *rng.pick(INTERESTING)
            };
            input.insert(rng.below(len + 1), b);
        }
        // Delete a byte.
        2 if len > 0 => {
            input.remove(rng.below(len));
        }
        // Truncate.
        3 => input.truncate(rng.below(len + 1)),
        // CRLF -> LF, or LF -> CRLF, or CR -> nothing.
        4 => {
            let lfs: Vec<usize> = (0..len).filter(|&i| input[i] == b'\n').collect();
            if let Some(&at) = (!lfs.is_empty()).then(|| rng.pick(&lfs)) {
                match rng.below(3) {
                    0 if at > 0 && input[at - 1] == b'\r' => {
                        input.remove(at - 1);
                    }
                    1 => input.insert(at, b'\r'),
                    _ => input[at] = b'\r',
                }
            }
        }
        // Duplicate a line (a header field, usually).
        5 if len > 0 => {
            let starts: Vec<usize> = std::iter::once(0)
                .chain((0..len).filter(|&i| input[i] == b'\n').map(|i| i + 1))
                .filter(|&i| i < len)
                .collect();
            let start = *rng.pick(&starts);
            let end = input[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(len, |i| start + i + 1);
            let line = input[start..end].to_vec();
            let at = *rng.pick(&starts);
            input.splice(at..at, line);
        }
        // Splice in a framing line after some line break.
        6 => {
            let line = *rng.pick(LINES);
            let breaks: Vec<usize> = (0..len)
                .filter(|&i| input[i] == b'\n')
                .map(|i| i + 1)
                .collect();
            let at = if breaks.is_empty() {
                0
            } else {
                *rng.pick(&breaks)
            };
            input.splice(at..at, line.iter().copied());
        }
        // Overwrite a byte.
        7 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(INTERESTING);
        }
        // Repeat a short run (long tokens, long lines).
        _ if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(4)).min(len);
            let run = input[start..end].repeat(1 + rng.below(40));
            input.splice(start..start, run);
        }
        _ => {}
    }
}

fn small_limits() -> Limits {
    Limits {
        max_request_line: 48,
        max_head_bytes: 160,
        max_headers: 4,
        max_body_bytes: 16,
        ..Limits::default()
    }
}

// ANCHOR: serialize
/// `method SP target SP version CRLF`, `name: value CRLF` per field, `CRLF`.
fn serialize(request: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [
        request.method,
        " ",
        request.target,
        " ",
        request.version.as_str(),
        "\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    for field in &request.headers {
        out.extend_from_slice(field.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(field.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
// ANCHOR_END: serialize

/// Everything that must hold for one input under one set of limits.
/// Returns whether a complete head parsed.
fn check_head(input: &[u8], limits: &Limits, what: &str) -> bool {
    let Ok(Status::Complete((request, used))) = parse_head(input, limits) else {
        return false;
    };
    assert!(used > 0 && used <= input.len(), "{what}: used {used}");
    let _ = (request.path(), request.query(), request.framing.body_len());

    // The head alone parses the same; a few of its strict prefixes are Partial.
    let head = &input[..used];
    match parse_head(head, limits) {
        Ok(Status::Complete((again, n))) => {
            assert_eq!((n, &again), (used, &request), "{what}: head alone")
        }
        other => panic!("{what}: head alone gave {other:?}"),
    }
    for cut in [0, used / 3, used / 2, used - 2, used - 1] {
        let got = parse_head(&head[..cut], limits);
        assert!(
            matches!(got, Ok(Status::Partial)),
            "{what}: prefix {cut} gave {got:?}"
        );
    }

    // The canonical form parses to an equal request (unless the one space
    // we add after each colon pushes it over the head limit).
    let canonical = serialize(&request);
    if canonical.len() <= limits.max_head_bytes {
        match parse_head(&canonical, limits) {
            Ok(Status::Complete((again, n))) => {
                assert_eq!(n, canonical.len(), "{what}");
                assert_eq!(
                    again,
                    request,
                    "{what}: canonical form {}",
                    canonical.escape_ascii()
                );
            }
            other => panic!(
                "{what}: canonical form {} gave {other:?}",
                canonical.escape_ascii()
            ),
        }
    }
    true
}

#[test]
fn every_strict_prefix_of_a_valid_head_is_partial() {
    for (i, head) in VALID_HEADS.iter().enumerate() {
        for limits in [Limits::default(), small_limits()] {
            if !check_head(head, &limits, &format!("valid head {i}")) {
                // Too big for the small limits: fine, but then not partial either.
                continue;
            }
            for cut in 0..head.len() {
                assert_eq!(
                    parse_head(&head[..cut], &limits).map(|s| s.is_partial()),
                    Ok(true),
                    "valid head {i} cut at {cut}"
                );
            }
        }
        assert!(
            check_head(head, &Limits::default(), "valid"),
            "valid head {i} must parse"
        );
    }
}

#[test]
fn mutated_heads_never_panic_and_round_trip() {
    let started = Instant::now();
    let router = rawhttp::demo::router();
    let mut rng = Rng::new(0x5EED_0001);
    let (mut parsed, mut total) = (0, 0);
    for case in 0..30_000 {
        let mut input = rng.pick(VALID_HEADS).to_vec();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut input);
        }
        total += 1;
        let what = format!("case {case}: {}", input.escape_ascii());
        for limits in [Limits::default(), small_limits()] {
            if check_head(&input, &limits, &what) {
                parsed += 1;
            }
        }
        if let Ok(Status::Complete((request, _))) = parse_head(&input, &Limits::default())
        {
            route(&router, &request);
        }
    }
    // Pure random bytes, too: mostly rejected at the first byte, which is the point.
    for case in 0..3_000 {
        let len = rng.below(64);
        let input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_head(&input, &Limits::default(), &format!("random {case}"));
    }
    // The mutations must leave enough heads valid for the round trip to be tested.
    assert!(parsed > total / 10, "only {parsed} of {total} heads parsed");
    eprintln!(
        "{total} mutated heads, {parsed} parses, {:?}",
        started.elapsed()
    );
}

/// Call the demo router the way the connection loop does (`preflight`, then
/// `handle`), except for the two routes that misbehave on purpose.
fn route(router: &Router, request: &Request<'_>) {
    let _ = router.preflight(request);
    let first = request.path().split('/').nth(1).unwrap_or("");
    if matches!(
        percent_decode(first, false).as_deref(),
        Ok("slow" | "panic")
    ) {
        return;
    }
    let response = router.handle(request);
    assert!(
        response.check().is_ok(),
        "{} {}: bad response",
        request.method,
        request.target
    );
}

/// A decode's outcome as owned values: the body and the bytes after it.
type Outcome = Result<Option<(Vec<u8>, Vec<u8>)>, ParseError>;

fn outcome(got: Result<Status<Decoded>, ParseError>, buf: &[u8]) -> Outcome {
    match got? {
        Status::Partial => Ok(None),
        Status::Complete(d) => {
            assert!(
                d.body_len <= d.encoded_len && d.encoded_len <= buf.len(),
                "{d:?}"
            );
            Ok(Some((
                buf[..d.body_len].to_vec(),
                buf[d.encoded_len..].to_vec(),
            )))
        }
    }
}

/// Decode in one call, and in pieces split at `cuts` with `compact` between
/// reads (as the connection loop does); both must agree.
fn check_chunked(input: &[u8], cuts: &[usize], limits: &Limits, what: &str) -> Outcome {
    let whole = {
        let mut buf = input.to_vec();
        let got = Decoder::new().decode(&mut buf, limits);
        outcome(got, &buf)
    };
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut d = Decoder::new();
    let mut pieces = cuts.to_vec();
    pieces.push(input.len());
    let in_pieces = loop {
        let upto = pieces.remove(0).clamp(fed, input.len());
        buf.extend_from_slice(&input[fed..upto]);
        fed = upto;
        let got = d.decode(&mut buf, limits);
        if fed == input.len() || !matches!(got, Ok(Status::Partial)) {
            // Complete or failed: whatever has not been fed follows untouched.
            buf.extend_from_slice(&input[fed..]);
            break outcome(got, &buf);
        }
        let len = buf.len();
        let kept = d.compact(&mut buf, len);
        assert!(d.decoded_len() <= kept && kept <= len, "{what}");
        buf.truncate(kept);
    };
    assert_eq!(whole, in_pieces, "{what}: split at {cuts:?}");
    whole
}

const VALID_CHUNKED: &[&[u8]] = &[
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"0\r\n\r\n",
    b"A;ext=1\r\n0123456789\r\n0;last\r\nX-Sum: 42\r\nX-Other: a b\r\n\r\n",
    b"4;a=\"x;\\\"y\"\r\na\r\nb\r\n0000\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"1\r\n\x00\r\n2 ; q\r\n\xff\r\r\n0\r\n\r\n",
];

#[test]
fn mutated_chunked_bodies_never_panic_and_split_reads_agree() {
    let started = Instant::now();
    let mut rng = Rng::new(0x5EED_0002);
    let mut complete = 0;
    let (default, small) = (Limits::default(), small_limits());
    for case in 0..15_000 {
        let mut input = rng.pick(VALID_CHUNKED).to_vec();
        let mutations = rng.below(4); // some stay valid
        for _ in 0..mutations {
            mutate(&mut rng, &mut input);
        }
        let mut cuts: Vec<usize> = (0..rng.below(4))
            .map(|_| rng.below(input.len() + 1))
            .collect();
        cuts.sort_unstable();
        let what = format!("case {case}: {}", input.escape_ascii());
        let limits = if rng.below(4) == 0 { &small } else { &default };
        if let Ok(Some(_)) = check_chunked(&input, &cuts, limits, &what) {
            complete += 1;
        }
    }
    for case in 0..2_000 {
        let len = rng.below(48);
        let input: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(2) == 0 {
                    *rng.pick(INTERESTING)
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let cuts = [rng.below(len + 1)];
        let _ = check_chunked(&input, &cuts, &default, &format!("random {case}"));
    }
    assert!(complete > 1_000, "only {complete} bodies decoded");
    eprintln!("chunked: {complete} complete, {:?}", started.elapsed());
}

#[test]
fn valid_chunked_bodies_at_every_split() {
    for (i, input) in VALID_CHUNKED.iter().enumerate() {
        for a in 0..=input.len() {
            for b in [a, (a + input.len()) / 2, input.len()] {
                let got =
                    check_chunked(input, &[a, b], &Limits::default(), &format!("{i}"));
                assert!(matches!(got, Ok(Some(_))), "valid body {i}: {got:?}");
            }
        }
    }
}

#[test]
fn percent_decode_never_panics_and_never_grows() {
    let mut rng = Rng::new(0x5EED_0003);
    const ALPHABET: &[&str] = &[
        "%", "%2", "%2F", "%c3%a9", "%C3", "%zz", "+", "a", "/", "é", "%%", "%ff", "%00",
        "?",
    ];
    for case in 0..20_000 {
        let s: String = (0..rng.below(12)).map(|_| *rng.pick(ALPHABET)).collect();
        for plus in [false, true] {
            match percent_decode(&s, plus) {
                Ok(decoded) => {
                    assert!(decoded.len() <= s.len(), "case {case}: {s:?}");
                    if !(s.contains('%') || plus && s.contains('+')) {
                        assert_eq!(decoded, s.as_str(), "case {case}");
                    }
                }
                // Only a bad escape or invalid UTF-8 may fail.
                Err(_) => assert!(s.contains('%'), "case {case}: {s:?}"),
            }
        }
    }
}
