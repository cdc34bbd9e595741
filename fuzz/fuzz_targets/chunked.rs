//! Fuzz the in-place chunked `Decoder` (ch07). The first two bytes choose
//! where to split the rest into two reads and which body limit to use. The
//! input is decoded twice: in one call, and in two calls with `compact`
//! between them, as the connection loop does. Checks:
//! - it never panics, and a complete body has `body_len <= encoded_len`;
//! - both ways agree: the same body and the same bytes left over (the next
//!   pipelined request), or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::chunked::{Decoded, Decoder};
use rawhttp::error::ParseError;
use rawhttp::limits::Limits;
use rawhttp::request::Status;

/// A decode's outcome as owned values: (body, bytes after the body).
type Outcome = Result<Option<(Vec<u8>, Vec<u8>)>, ParseError>;

// ANCHOR: fuzz_chunked
fuzz_target!(|data: &[u8]| {
    let [split, limit, input @ ..] = data else {
        return;
    };
    let limits = Limits {
        max_body_bytes: if limit & 1 == 0 { 64 } else { 1 << 20 },
        max_head_bytes: if limit & 2 == 0 { 32 } else { 16 * 1024 },
        max_headers: if limit & 4 == 0 { 2 } else { 64 },
        ..Limits::default()
    };
    let cut = input.len() * usize::from(*split) / 255;

    let whole = {
        let mut buf = input.to_vec();
        let got = Decoder::new().decode(&mut buf, &limits);
        outcome(got, &buf, buf.len())
    };

    let in_two = {
        let mut buf = input.to_vec();
        let mut d = Decoder::new();
        let first = d.decode(&mut buf[..cut], &limits);
        match first {
            Ok(Status::Partial) => {
                // Compact the first part, then append the second, as a read would.
                let kept = d.compact(&mut buf, cut);
                assert!(kept <= cut);
                assert!(d.decoded_len() <= kept);
                buf.truncate(kept);
                buf.extend_from_slice(&input[cut..]);
                let got = d.decode(&mut buf, &limits);
                outcome(got, &buf, buf.len())
            }
            // Complete or failed within the first part: the rest is untouched.
            other => outcome(other, &buf, buf.len()),
        }
    };
    assert_eq!(whole, in_two, "cut at {cut}");
});
// ANCHOR_END: fuzz_chunked

fn outcome(got: Result<Status<Decoded>, ParseError>, buf: &[u8], len: usize) -> Outcome {
    match got? {
        Status::Partial => Ok(None),
        Status::Complete(d) => {
            assert!(d.body_len <= d.encoded_len, "{d:?}");
            assert!(d.encoded_len <= len, "{d:?} of {len}");
            Ok(Some((
                buf[..d.body_len].to_vec(),
                buf[d.encoded_len..len].to_vec(),
            )))
        }
    }
}
