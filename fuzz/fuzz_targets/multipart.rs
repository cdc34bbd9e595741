//! Fuzz the streaming `multipart::Parser` (ch07 uploads). Byte 0 picks where
//! to split the rest, a body whose boundary is fixed (`AaB03x`), into two
//! reads. The body is parsed in one read, in two, and (if it is short) one
//! byte per read, keeping the unconsumed bytes as a connection would.
//! Checks:
//! - it never panics, and never loops without consuming;
//! - all the ways agree: the same parts (head and reassembled data) and
//!   the same end (`finish` is `Ok`, or the same error);
//! - after `NeedMore`, at most `max_held()` (`boundary.len() + 3`) bytes
//!   are left unconsumed; `Data` is never empty; events come in order.
//!
//! The same input also goes to `multipart::boundary` (as a Content-Type)
//! and `multipart::sanitize_filename`, whose results must obey their rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::limits::Limits;
use rawhttp::multipart::{self, Event, MultipartError, Parser, Part};

const BOUNDARY: &[u8] = b"AaB03x";

/// The parts (head, data) and how the body ended.
type Outcome = (Vec<(Part, Vec<u8>)>, Result<(), MultipartError>);

// ANCHOR: fuzz_multipart
fuzz_target!(|data: &[u8]| {
    let [split, body @ ..] = data else {
        return;
    };
    // Small limits, so that both are reached.
    let limits = Limits {
        max_part_head: 256,
        max_parts: 8,
        ..Limits::default()
    };
    let cut = body.len() * usize::from(*split) / 255;
    let whole = run(&limits, &[body]);
    let (first, second) = body.split_at(cut);
    assert_eq!(whole, run(&limits, &[first, second]), "cut at {cut}");
    if body.len() <= 1024 {
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(whole, run(&limits, &bytes), "byte by byte");
    }

    if let Ok(b) = multipart::boundary(data) {
        assert!((1..=multipart::MAX_BOUNDARY).contains(&b.len()), "{b:?}");
        assert!(!b.ends_with(b" ") && !b.contains(&b'\r'), "{b:?}");
    }
    if let Some(name) = std::str::from_utf8(body)
        .ok()
        .and_then(multipart::sanitize_filename)
    {
        assert!(!name.is_empty() && !name.starts_with('.'), "{name:?}");
        assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        assert!(name.len() <= multipart::MAX_FILENAME_BYTES);
    }
});
// ANCHOR_END: fuzz_multipart

/// Feed `reads` in order: keep what `next` did not consume, append the next.
fn run(limits: &Limits, reads: &[&[u8]]) -> Outcome {
    let mut parser = Parser::new(BOUNDARY, limits);
    let (mut buf, mut parts) = (Vec::new(), Vec::<(Part, Vec<u8>)>::new());
    let mut in_part = false;
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            let (event, used) = match parser.next(&buf) {
                Ok(got) => got,
                Err(e) => {
                    assert_eq!(parser.finish(), Err(e));
                    return (parts, Err(e));
                }
            };
            assert!(used <= buf.len());
            let need_more = event == Event::NeedMore;
            match event {
                Event::PartStart(part) => {
                    assert!(!in_part);
                    in_part = true;
                    parts.push((part, Vec::new()));
                }
                Event::Data(bytes) => {
                    assert!(!bytes.is_empty());
                    match (in_part, parts.last_mut()) {
                        (true, Some((_, data))) => data.extend_from_slice(bytes),
                        _ => panic!("Data outside a part"),
                    }
                }
                Event::PartEnd => {
                    assert!(in_part);
                    in_part = false;
                }
                Event::End => assert!(!in_part && used == buf.len()),
                Event::NeedMore => {}
            }
            buf.drain(..used);
            if need_more {
                assert!(buf.len() <= parser.max_held(), "held {}", buf.len());
                break;
            }
            if buf.is_empty() && parser.finish().is_ok() {
                break;
            }
        }
    }
    (parts, parser.finish())
}
