//! The `Date` header's value, IMF-fixdate, computed by hand (ch02; RFC 9110 §5.6.7).
//!
//! ```text
//! IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
//!             ; fixed length/zone/capitalization subset of RFC 5322
//! e.g.          Sun, 06 Nov 1994 08:49:37 GMT
//! ```
//!
//! An origin server with a clock MUST send `Date` (RFC 9110 §6.6.1). The value
//! changes once a second, so each thread formats it at most once a second and
//! reuses the 29 bytes in between (ch04 measures why that matters).

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;

// ANCHOR: imf_fixdate
/// Format `unix_secs` (seconds since 1970-01-01T00:00:00Z) as an IMF-fixdate.
pub fn imf_fixdate(unix_secs: u64) -> [u8; IMF_FIXDATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct",
        b"Nov", b"Dec",
    ];
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // 1970-01-01 was a Thursday, hence the table starting at "Thu".
    out[0..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    // Four digits are enough until the year 9999; later years wrap, which is
    // a bug we leave to our successors (they will be using HTTP/7 anyway).
    two_digits(&mut out[12..14], year / 100 % 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], h);
    two_digits(&mut out[20..22], m);
    two_digits(&mut out[23..25], s);
    out
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) in the proleptic
/// Gregorian calendar. Howard Hinnant's `civil_from_days`: shift the year to
/// start in March, so the leap day is the last day of the shifted year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097; // 400-year eras
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}
// ANCHOR_END: imf_fixdate

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

thread_local! {
    /// This thread's last formatted date and the second it stands for.
    static CACHED: Cell<(u64, [u8; IMF_FIXDATE_LEN])> = const { Cell::new((u64::MAX, [0; IMF_FIXDATE_LEN])) };
}

/// The current time as an IMF-fixdate, formatted at most once a second per thread.
pub fn now() -> [u8; IMF_FIXDATE_LEN] {
    // A clock before 1970 is a broken clock; RFC 9110 §6.6.1 would have us
    // omit Date then, but 1970 is a clearer symptom for a learner to spot.
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let (at, text) = c.get();
        if at == secs {
            return text;
        }
        let text = imf_fixdate(secs);
        c.set((secs, text));
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let cases: &[(u64, &str)] = &[
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"), // RFC 9110's example
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"), // a leap day, century divisible by 400
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"), // 2100 is not a leap year
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (1_795_305_600, "Sun, 22 Nov 2026 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for &(secs, want) in cases {
            assert_eq!(std::str::from_utf8(&imf_fixdate(secs)), Ok(want), "{secs}");
        }
    }

    #[test]
    fn now_is_well_formed() {
        let d = now();
        assert_eq!(&d[3..5], b", ");
        assert_eq!(&d[26..], b"GMT");
    }
}
