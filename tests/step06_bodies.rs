//! step06: chunked request bodies, `Expect: 100-continue`, streamed responses.
mod common;

use std::io::Read;
use std::time::Duration;

use common::{Exchange, response_len, spawn_step, spawn_step_with};

snapshot_cases! {
    "step06";
    // Accepted
    chunked_echo: b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n";
    chunked_with_extensions_and_trailers: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Checksum: 1234\r\n\r\n";
    chunked_any_case: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    chunk_ext_quoted: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5 ; a = \"x\\\"y\" ;b\r\nhello\r\n0;last\r\n\r\n";
    chunked_then_get_pipelined: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /hello/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // Rejected
    chunk_size_not_hex: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    chunk_size_too_long: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n";
    chunk_size_then_garbage: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 garbage\r\nhello\r\n0\r\n\r\n";
    chunk_size_space_digit: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 0\r\nX\r\n0\r\n\r\n";
    chunk_ext_unterminated_quote: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\r\nhello\r\n0\r\n\r\n";
    chunk_bare_lf: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n";
    chunk_data_longer_than_size: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n";
    chunked_not_last: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n";
    gzip_then_chunked: b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    transfer_encoding_with_content_length: b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    transfer_encoding_on_http_1_0: b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    // Streamed responses
    stream_to_http_1_1: b"GET /stream?n=3&ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream_to_http_1_0: b"GET /stream?n=3&ms=0 HTTP/1.0\r\n\r\n";
    stream_head: b"HEAD /stream?n=3&ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream_bad_query: b"GET /stream?n=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // Expectations
    unknown_expectation: b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\nContent-Length: 3\r\n\r\n";
    // `Expect` is a list: two lines mean what one comma-joined line means.
    unknown_expectation_on_a_second_line: b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nExpect: foo\r\nContent-Length: 3\r\n\r\n";
    // Errors answering HEAD have no content (RFC 9110 §9.3.2).
    head_unknown_expectation: b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n";
    head_refused_before_the_body: b"HEAD /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    head_chunk_too_large: b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n";
}

#[test]
fn chunked_body_over_the_limit_gets_413() {
    let srv = spawn_step_with("step06", &[("RAWHTTP_MAX_BODY_BYTES", "8")]);
    let t = srv.exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n4\r\n",
    );
    snap!("chunked_body_over_the_limit", t);
}

#[test]
fn continue_then_body() {
    let srv = spawn_step("step06");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .recv() // 100 Continue: the client waits for this before sending the body
        .send(b"hello")
        .recv();
    snap!("expect_continue_accepted", x.transcript());
}

#[test]
fn continue_then_chunked_body() {
    let srv = spawn_step("step06");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        .recv()
        .send(b"5\r\nhello\r\n0\r\n\r\n")
        .recv();
    snap!("expect_continue_chunked", x.transcript());
}

#[test]
fn expect_continue_refused_without_reading_the_body() {
    let srv = spawn_step("step06");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        .recv_until_close();
    snap!("expect_continue_refused_404", x.transcript());

    let mut x = Exchange::new(&srv);
    x.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .recv_until_close();
    snap!("expect_continue_refused_405", x.transcript());
}

#[test]
fn expect_continue_with_a_too_large_body_gets_413_at_once() {
    let srv = spawn_step("step06");
    let t = srv.exchange(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\nExpect: 100-continue\r\n\r\n",
    );
    assert!(t.contains("413 Content Too Large"), "{t}");
    assert!(!t.contains("100 Continue"), "{t}");
}

#[test]
fn http_1_0_expectation_is_ignored() {
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
    let srv = spawn_step("step06");
    let t = srv.exchange(
        b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi",
    );
    assert!(!t.contains("100 Continue"), "{t}");
    assert!(t.contains("HTTP/1.1 200 OK"), "{t}");
}

#[test]
fn chunked_body_split_across_many_writes() {
    let srv = spawn_step("step06");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r");
    for piece in [
        &b"\nhel"[..],
        b"lo\r\n",
        b"1",
        b"0\r\n0123456789abcdef\r",
        b"\n0\r\n",
        b"\r\n",
    ] {
        std::thread::sleep(Duration::from_millis(10)); // let each piece arrive alone
        x.send(piece);
    }
    x.recv_until_close();
    let t = x.transcript();
    assert!(t.contains("Content-Length: 21\\r\\n"), "{t}");
    assert!(t.contains("hello0123456789abcdef"), "{t}");
}

/// What ch06 "Run it" shows: a file posted chunked comes back unchanged.
#[test]
fn large_chunked_upload_comes_back_unchanged() {
    let srv = spawn_step("step06");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let mut request = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for piece in data.chunks(7_777) {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut s = srv.connect();
    let writer = {
        let mut s = s.try_clone().expect("clone");
        std::thread::spawn(move || {
            std::io::Write::write_all(&mut s, &request).expect("write")
        })
    };
    let mut response = Vec::new();
    s.read_to_end(&mut response).expect("read the echo");
    writer.join().expect("writer");
    let len = response_len(&response, false).expect("a complete response");
    assert_eq!(len, response.len());
    assert!(response.ends_with(&data), "body differs");
}

#[test]
fn streamed_pieces_arrive_one_by_one() {
    // Each piece is written as soon as it exists: with 150 ms between pieces,
    // the first arrives long before the last is produced.
    let srv = spawn_step("step06");
    let mut s = srv.connect();
    std::io::Write::write_all(
        &mut s,
        b"GET /stream?n=3&ms=150 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(11).any(|w| w == b"piece 1 of ") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        !got.windows(11).any(|w| w == b"piece 3 of "),
        "all pieces arrived together: the stream was buffered"
    );
    s.read_to_end(&mut got).expect("read the rest");
    assert!(got.ends_with(b"0\r\n\r\n"), "no last chunk");
}

#[test]
fn step05_still_refuses_chunked_with_501() {
    let srv = spawn_step("step05");
    let t = srv.exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert!(t.contains("501 Not Implemented"), "{t}");
}

/// A shutdown ends a streamed response early but properly: the producer
/// hears of the drain, the body ends with the last chunk, the connection
/// closes after it, and the process exits 0 long before the grace is over
/// (before, the stream ran on until the drain deadline cut it mid-body,
/// and the exit status was 1).
#[test]
fn a_stream_ends_properly_when_the_server_drains() {
    let mut srv = spawn_step("step06");
    let mut s = srv.connect();
    std::io::Write::write_all(
        &mut s,
        b"GET /stream?n=100&ms=50 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(11).any(|w| w == b"piece 2 of ") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    srv.signal("TERM");
    s.read_to_end(&mut got).expect("read to the close");
    let (code, _) = srv.wait_exit(common::WAIT);
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(got.ends_with(b"\r\n0\r\n\r\n"), "no last chunk:\n{text}");
    assert!(
        !text.contains("piece 100 of"),
        "the stream ran to its end:\n{text}"
    );
    assert_eq!(code, Some(0), "a clean drain exits 0:\n{}", srv.log());
}

/// The access log of a streamed response is written after its last byte,
/// with the bytes really sent (the pieces, not the chunk framing).
#[test]
fn access_log_counts_the_bytes_of_a_stream() {
    let srv = spawn_step("step06");
    srv.exchange(
        b"GET /stream?n=3&ms=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // "piece 1 of 3\n" is 13 bytes; three of them.
    srv.wait_for_log("\"GET /stream?n=3&ms=0\" 200 39B ");
}
