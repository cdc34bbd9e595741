//! Request smuggling (ch07): the known ways to make two HTTP parsers
//! disagree about where a request ends, sent to the real `step06` (and to
//! `step05`, which answers chunked with 501: still one response, then close).
//!
//! Request smuggling needs two parsers in a row (a proxy, then us) that
//! frame the same bytes differently: one sees a body, the other sees the
//! body's tail as a second request. Each case below hides such a request,
//! `GET /hello/smuggled`, where some parser would take it for the next
//! request, and ends with an honest `GET /hello/next`. The rule
//! (RFC 9112 §6.3, §11.2): anything ambiguous gets 400 (or 501 for a
//! well-framed coding we do not implement) and a closed connection, so
//! exactly ONE response is sent and neither `smuggled` nor `next` is answered.
//!
//! Some variants are legitimately accepted and must be read as chunked,
//! consistently: coding names are case-insensitive (RFC 9112 §7: `Chunked`
//! and `CHUNKED` are `chunked`), whitespace around a field value is OWS
//! (RFC 9112 §5.1), empty list elements do not count (RFC 9110 §5.6.1), and
//! a repeated identical Content-Length may be taken as one (RFC 9110 §8.6).
//! For those, the hidden request is *data*: `/echo` sends it back as the
//! body, and the next request is answered normally (two responses).
mod common;

use std::io::Write;

use common::{redact_date, response_len, spawn_step, wire};

/// A request hidden in a body, for a parser that frames it wrong.
const SMUGGLED: &str = "GET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
/// The honest next request (pipelined after each case).
const NEXT: &str = "GET /hello/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[derive(Debug, Clone, Copy)]
enum Want {
    /// One response with this status, then a close.
    Reject(u16),
    /// Read as a chunked (or sized) body: `/echo` answers with exactly this
    /// body, then `/hello/next` is answered.
    Accept(&'static str),
}
use Want::*;

/// `POST /echo` with these header lines (each ending in CRLF, written out in
/// full, odd bytes and all) and this body.
struct Case {
    name: &'static str,
    fields: &'static str,
    body: &'static str,
    want: Want,
}

/// A chunked body whose only chunk is the smuggled request (0x29 bytes).
const CHUNKED_SMUGGLED: &str =
    "29\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n";
/// Zero-length chunked body, then the smuggled request: a parser that reads
/// this as chunked sees an empty body and then `GET /hello/smuggled`; one
/// that uses a Content-Length of 5 sees `0\r\n\r\n` and then the request.
const EMPTY_CHUNKED_THEN_SMUGGLED: &str =
    "0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- Content-Length against Content-Length
    Case { name: "cl_conflicting_fields", fields: "Content-Length: 5\r\nContent-Length: 47\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "cl_conflicting_list", fields: "Content-Length: 5, 47\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "cl_plus_sign", fields: "Content-Length: +5\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "cl_nul_byte", fields: "Content-Length: 5\0\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "cl_duplicate_identical", fields: "Content-Length: 5\r\nContent-Length: 5\r\n", body: "hello", want: Accept("hello") },
    // --- Content-Length and Transfer-Encoding together (CL.TE, TE.CL)
    Case { name: "cl_then_te", fields: "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_then_cl", fields: "Transfer-Encoding: chunked\r\nContent-Length: 47\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_on_http_1_0", fields: "", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) }, // request line patched below
    // --- Odd spellings of chunked (TE.TE)
    Case { name: "te_xchunked", fields: "Transfer-Encoding: xchunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_chunk", fields: "Transfer-Encoding: chunk\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_quoted", fields: "Transfer-Encoding: \"chunked\"\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_vertical_tab", fields: "Transfer-Encoding: \x0bchunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_nul_byte", fields: "Transfer-Encoding: chunked\0\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_empty", fields: "Transfer-Encoding: \r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_chunked_then_identity", fields: "Transfer-Encoding: chunked, identity\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_chunked_twice", fields: "Transfer-Encoding: chunked, chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_split_chunked_then_x", fields: "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_gzip_then_chunked", fields: "Transfer-Encoding: gzip, chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(501) },
    Case { name: "te_split_gzip_then_chunked", fields: "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(501) },
    // --- Whitespace and line structure around the field
    Case { name: "te_space_before_colon", fields: "Transfer-Encoding : chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_tab_before_colon", fields: "Transfer-Encoding\t: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_leading_space", fields: " Transfer-Encoding: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_obs_fold", fields: "Transfer-Encoding:\r\n chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_name_then_fold", fields: "Transfer-Encoding\r\n : chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_after_bare_lf", fields: "X: y\nTransfer-Encoding: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_after_bare_cr", fields: "X: y\rTransfer-Encoding: chunked\r\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    Case { name: "te_ending_in_bare_lf", fields: "Transfer-Encoding: chunked\n", body: EMPTY_CHUNKED_THEN_SMUGGLED, want: Reject(400) },
    // --- Inside the chunked body
    Case { name: "chunk_bare_lf_after_size", fields: "Transfer-Encoding: chunked\r\n", body: "5\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_bare_lf_after_data", fields: "Transfer-Encoding: chunked\r\n", body: "5\r\nhello\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_bare_cr_after_size", fields: "Transfer-Encoding: chunked\r\n", body: "5\rhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_size_17_digits", fields: "Transfer-Encoding: chunked\r\n", body: "10000000000000005\r\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_size_overflows_32_bits", fields: "Transfer-Encoding: chunked\r\n", body: "100000005\r\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(413) },
    Case { name: "chunk_size_u64_max", fields: "Transfer-Encoding: chunked\r\n", body: "ffffffffffffffff\r\nhello\r\n0\r\n\r\n", want: Reject(413) },
    Case { name: "chunk_size_hex_prefix", fields: "Transfer-Encoding: chunked\r\n", body: "0x5\r\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_size_nul_byte", fields: "Transfer-Encoding: chunked\r\n", body: "5\0\r\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_data_longer_than_size", fields: "Transfer-Encoding: chunked\r\n", body: "3\r\nhello\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    Case { name: "chunk_last_without_final_crlf", fields: "Transfer-Encoding: chunked\r\n", body: "0\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", want: Reject(400) },
    // --- Accepted, and decoded as chunked: the hidden request is only data
    Case { name: "te_chunked_capitalized", fields: "Transfer-Encoding: Chunked\r\n", body: CHUNKED_SMUGGLED, want: Accept(SMUGGLED) },
    Case { name: "te_chunked_upper_case", fields: "Transfer-Encoding: CHUNKED\r\n", body: CHUNKED_SMUGGLED, want: Accept(SMUGGLED) },
    Case { name: "te_chunked_trailing_space", fields: "Transfer-Encoding: chunked \r\n", body: CHUNKED_SMUGGLED, want: Accept(SMUGGLED) },
    Case { name: "te_tab_before_value", fields: "Transfer-Encoding:\tchunked\r\n", body: CHUNKED_SMUGGLED, want: Accept(SMUGGLED) },
    Case { name: "te_empty_list_elements", fields: "Transfer-Encoding: , chunked,\r\n", body: CHUNKED_SMUGGLED, want: Accept(SMUGGLED) },
];

/// Every complete response in `bytes`, and what is left over.
fn split_responses(mut bytes: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mut out = Vec::new();
    while let Some(len) = response_len(bytes, false) {
        out.push(String::from_utf8_lossy(&bytes[..len]).into_owned());
        bytes = &bytes[len..];
    }
    (out, bytes.to_vec())
}

fn request_bytes(case: &Case) -> Vec<u8> {
    let version = if case.name == "te_on_http_1_0" {
        "HTTP/1.0\r\nTransfer-Encoding: chunked"
    } else {
        "HTTP/1.1\r\nHost: x"
    };
    format!(
        "POST /echo {version}\r\n{}\r\n{}{NEXT}",
        case.fields, case.body
    )
    .into_bytes()
}

#[test]
fn smuggling_variants_get_one_response_or_a_consistent_chunked_read() {
    let srv = spawn_step("step06");
    let mut failures = Vec::new();
    for case in CASES {
        let request = request_bytes(case);
        let mut s = srv.connect();
        s.write_all(&request).expect("send");
        // Read raw bytes until the server closes: however many responses come.
        let mut got = Vec::new();
        let closed = read_until_close(&mut s, &mut got);
        let (responses, rest) = split_responses(&got);
        let status = |r: &String| r.get(9..12).and_then(|s| s.parse::<u16>().ok());
        let problem = match case.want {
            Reject(code) => {
                if responses.len() != 1 || !rest.is_empty() {
                    Some(format!(
                        "{} responses (+{} bytes)",
                        responses.len(),
                        rest.len()
                    ))
                } else if status(&responses[0]) != Some(code) {
                    Some(format!("status {:?}, want {code}", status(&responses[0])))
                } else if !responses[0].contains("Connection: close\r\n") {
                    Some("no Connection: close".into())
                } else {
                    None
                }
            }
            Accept(body) => {
                if responses.len() != 2 || !rest.is_empty() {
                    Some(format!(
                        "{} responses (+{} bytes), want 2",
                        responses.len(),
                        rest.len()
                    ))
                } else if status(&responses[0]) != Some(200)
                    || !responses[0].ends_with(body)
                {
                    Some(format!("first response is not the echo of {body:?}"))
                } else if !responses[1].ends_with("Hello, next!\n") {
                    Some("second response is not /hello/next".into())
                } else {
                    None
                }
            }
        };
        let answered_smuggled = responses.iter().any(|r| r.contains("Hello, smuggled"));
        let problem = problem
            .or_else(|| (!closed).then(|| "the connection was not closed".into()))
            .or_else(|| {
                answered_smuggled.then(|| "the smuggled request was answered".into())
            });
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}\n{}", case.name, wire(&got)));
            continue;
        }
        let transcript = format!(
            "--> client sends ({} bytes)\n{}<-- server sends ({} bytes), then closes\n{}",
            request.len(),
            wire(&request),
            got.len(),
            redact_date(&wire(&got))
        );
        snap!(case.name, transcript);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Read until EOF (or a reset after the data); `false` if the server kept
/// the connection open past the harness's wait.
fn read_until_close(s: &mut std::net::TcpStream, got: &mut Vec<u8>) -> bool {
    use std::io::{ErrorKind, Read};
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// step05 has no chunked decoding: `Transfer-Encoding: chunked` gets 501.
/// The same table must still never produce two responses to one request,
/// and every rejection closes the connection.
#[test]
fn step05_answers_each_variant_once() {
    let srv = spawn_step("step05");
    let mut failures = Vec::new();
    for case in CASES {
        let request = request_bytes(case);
        let mut s = srv.connect();
        s.write_all(&request).expect("send");
        let mut got = Vec::new();
        let closed = read_until_close(&mut s, &mut got);
        let (responses, rest) = split_responses(&got);
        let statuses: Vec<&str> = responses.iter().filter_map(|r| r.get(9..12)).collect();
        // Only an identical repeated Content-Length is a valid request here;
        // it and the honest next request get two answers.
        let want_two = case.name == "cl_duplicate_identical";
        let ok = closed
            && rest.is_empty()
            && !responses.iter().any(|r| r.contains("Hello, smuggled"))
            && if want_two {
                statuses == ["200", "200"]
            } else {
                statuses.len() == 1 && ["400", "413", "501"].contains(&statuses[0])
            };
        if !ok {
            failures.push(format!("{}: {statuses:?}\n{}", case.name, wire(&got)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
