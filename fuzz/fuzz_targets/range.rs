//! Fuzz `rawhttp::range` (ch08): bytes 0..8 are the representation's length
//! (little-endian `u64`), the rest is a `Range` field value. Checks:
//! - `parse_range` never panics, with the default limits and with
//!   `max_ranges = 2`; with fewer ranges allowed the answer is the same or
//!   `Ignore`; an empty representation is always `Ignore`;
//! - every satisfiable range is inside the length, the ranges do not
//!   overlap and keep `COALESCE_GAP` between them, they add up to no more
//!   than the length, and there are no more of them than `max_ranges`;
//! - `ByteRanges` over them: the pieces alternate framing and file ranges,
//!   the file ranges are the answer's, and `content_length` is the sum of
//!   what the pieces put on the wire. For lengths up to 64 KiB the body is
//!   assembled from a fake file and read back by splitting on the boundary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::limits::Limits;
use rawhttp::range::{ByteRanges, COALESCE_GAP, Part, RangeAnswer, parse_range};

/// Fixed, so a crash replays exactly (`new_boundary` has a unit test).
const BOUNDARY: &str = "rawhttp-fuzz-0123456789abcdef";

// ANCHOR: fuzz_range
fuzz_target!(|data: &[u8]| {
    let Some((len, value)) = data.split_first_chunk::<8>() else {
        return;
    };
    let len = u64::from_le_bytes(*len);
    let limits = Limits::default();
    let answer = parse_range(value, len, &limits);

    let two = Limits {
        max_ranges: 2,
        ..Limits::default()
    };
    let answer_two = parse_range(value, len, &two);
    if answer_two != RangeAnswer::Ignore {
        assert_eq!(
            answer_two, answer,
            "fewer ranges allowed changed the answer"
        );
    }

    match answer {
        RangeAnswer::Ignore => {}
        RangeAnswer::Unsatisfiable => assert!(len > 0, "416 for an empty file"),
        RangeAnswer::Satisfiable(ranges) => {
            assert!(len > 0, "206 for an empty file");
            check_ranges(&ranges, len, limits.max_ranges);
            check_body(ranges, len);
        }
    }
});
// ANCHOR_END: fuzz_range

fn check_ranges(ranges: &[(u64, u64)], len: u64, max: usize) {
    assert!(!ranges.is_empty() && ranges.len() <= max, "{ranges:?}");
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut total: u128 = 0;
    let mut prev_last: Option<u64> = None;
    for &(first, last) in &sorted {
        assert!(first <= last && last < len, "{ranges:?} of {len}");
        if let Some(prev) = prev_last {
            assert!(first > prev.saturating_add(COALESCE_GAP), "{ranges:?}");
        }
        prev_last = Some(last);
        total += u128::from(last - first) + 1;
    }
    assert!(
        total <= u128::from(len),
        "{total} bytes of {len}: {ranges:?}"
    );
}

fn check_body(ranges: Vec<(u64, u64)>, len: u64) {
    let content_type = "application/octet-stream";
    let total: u128 = ranges.iter().map(|&(f, l)| u128::from(l - f) + 1).sum();
    let count = ranges.len();
    let body = match ByteRanges::new(ranges.clone(), len, Some(content_type), BOUNDARY.into()) {
        Ok(body) => body,
        Err(why) => {
            // Only a body longer than u64::MAX may be refused; framing is
            // well under 200 bytes a part.
            let framing = 200 * (count as u128 + 1);
            assert!(
                total + framing > u128::from(u64::MAX),
                "{why}: {ranges:?} of {len}"
            );
            return;
        }
    };
    let parts: Vec<Part> = body.parts().collect();
    assert_eq!(parts.len(), 2 * count + 1);
    let sum: u128 = parts.iter().map(|p| u128::from(p.len())).sum();
    assert_eq!(sum, u128::from(body.content_length()), "content_length");
    let files: Vec<(u64, u64)> = parts
        .iter()
        .filter_map(|p| match *p {
            Part::File { first, last } => Some((first, last)),
            Part::Bytes(_) => None,
        })
        .collect();
    assert_eq!(
        files, ranges,
        "file parts are the answer's ranges, in order"
    );
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(matches!(part, Part::Bytes(_)), i % 2 == 0, "piece {i}");
    }

    if len > 64 * 1024 {
        return;
    }
    // Assemble a body from a fake file and read it back as a client would.
    let file: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let mut wire = b"\r\n".to_vec(); // so every delimiter is CRLF "--" boundary
    for part in &parts {
        match part {
            Part::Bytes(bytes) => wire.extend_from_slice(bytes),
            Part::File { first, last } => {
                wire.extend_from_slice(&file[*first as usize..=*last as usize])
            }
        }
    }
    assert_eq!(wire.len() as u64 - 2, body.content_length(), "bytes sent");
    let delimiter = format!("\r\n--{BOUNDARY}");
    let pieces = split(&wire, delimiter.as_bytes());
    assert_eq!(
        pieces.len(),
        count + 2,
        "one piece per part, plus before and after"
    );
    assert_eq!(pieces[0], b"");
    assert_eq!(pieces[count + 1], b"--\r\n");
    for (piece, &(first, last)) in pieces[1..=count].iter().zip(&ranges) {
        let fields = format!(
            "\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{len}\r\n\r\n"
        );
        let data = piece
            .strip_prefix(fields.as_bytes())
            .expect("the part's fields");
        assert_eq!(data, &file[first as usize..=last as usize]);
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
