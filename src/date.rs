//! HTTP dates: the `Date` header's IMF-fixdate, computed by hand (ch02), and
//! parsing all three HTTP-date formats for conditional requests (ch08 static
//! files; RFC 9110 §5.6.7).
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
//!
//! Going the other way, [`parse_http_date`] reads the dates a client sends
//! back in `If-Modified-Since`, `If-Unmodified-Since` and `If-Range`
//! ([`crate::conditional`]). We only ever *send* IMF-fixdate, but a recipient
//! must *accept* two obsolete formats as well:
//!
//! ```text
//! Sun, 06 Nov 1994 08:49:37 GMT    ; IMF-fixdate
//! Sunday, 06-Nov-94 08:49:37 GMT   ; obsolete RFC 850 format
//! Sun Nov  6 08:49:37 1994         ; ANSI C's asctime() format
//! ```
//!
//! What the parser decides, and why:
//!
//! - **Strict grammar.** "HTTP-date is case sensitive" (RFC 9110 §5.6.7,
//!   <https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7>):
//!   `nov` and `gmt` are not dates, and neither is a date with an extra
//!   space. A date we cannot read makes its field ignored (RFC 9110
//!   §13.1.3, §13.1.4 require that), which for a GET means a full 200.
//! - **The day name is checked for syntax, not compared with the date.** It
//!   is redundant: the date alone says which instant is meant. Rejecting
//!   `Mon, 06 Nov 1994` (a Sunday) would turn a usable validator into a
//!   wasted full response, and RFC 9110 §5.6.7 encourages recipients "to
//!   be robust in parsing timestamps". Go's `time.Parse` does the same ("checked for syntax but it is
//!   otherwise ignored").
//! - **Two-digit years follow the RFC's 50-year rule, relative to `now`**
//!   (see `two_digit_year`), not a fixed pivot such as Go's "69 and up is
//!   19xx", which reads `Sunday, 06-Nov-80` as 1980 even once 2080 is
//!   less than 50 years away (from 6 November 2030 on).
//! - **Real times only.** Hour 24, minute 60, 31 April and 29 Feb 2100 are
//!   rejected; second 60 only as the leap second 23:59:60.
//! - **1970 to 9999.** Earlier dates do not fit the `u64` seconds we compare
//!   with file times; IMF-fixdate cannot spell later ones.

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

/// `day-name` (IMF-fixdate, asctime-date), Monday first.
const DAY_NAMES: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
/// `day-name-l` (rfc850-date), Monday first.
const DAY_NAMES_LONG: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
/// `month`, January first: `%s"Jan" / %s"Feb" / …`, case-sensitive.
const MONTH_NAMES: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct",
    b"Nov", b"Dec",
];

// ANCHOR: parse_http_date
/// Parse an HTTP-date (RFC 9110 §5.6.7) to seconds since the Unix epoch.
///
/// ```text
/// HTTP-date = IMF-fixdate / obs-date
/// obs-date  = rfc850-date / asctime-date
/// ```
///
/// > A recipient that parses a timestamp value in an HTTP field MUST
/// > accept all three HTTP-date formats.
///
/// `now` is needed only to place rfc850-date's two-digit year. `None`
/// for anything else, a time that does not exist (31 Apr, 24:00:00) and a
/// date before 1970. The day name is checked, not compared with the date.
pub fn parse_http_date(v: &[u8], now: u64) -> Option<u64> {
    imf_fixdate_fields(v)
        .or_else(|| rfc850_fields(v, now))
        .or_else(|| asctime_fields(v))?
        .unix_secs()
}

/// `day-name "," SP day SP month SP year SP time-of-day SP GMT`.
fn imf_fixdate_fields(v: &[u8]) -> Option<Civil> {
    let mut c = Cursor(v);
    c.one_of(&DAY_NAMES)?;
    c.lit(b", ")?;
    let day = c.digits(2)?;
    c.lit(b" ")?;
    let month = c.month()?;
    c.lit(b" ")?;
    let year = c.digits(4)?;
    c.lit(b" ")?;
    let time = c.time_of_day()?;
    c.lit(b" GMT")?;
    c.end()?;
    Some(Civil::new(year, month, day, time))
}

/// `day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year`.
/// No zone: every HTTP-date is GMT.
fn asctime_fields(v: &[u8]) -> Option<Civil> {
    let mut c = Cursor(v);
    c.one_of(&DAY_NAMES)?;
    c.lit(b" ")?;
    let month = c.month()?;
    c.lit(b" ")?;
    let day = match c.lit(b" ") {
        Some(()) => c.digits(1)?, // `Nov  6`
        None => c.digits(2)?,     // `Nov 06`, `Nov 16`
    };
    c.lit(b" ")?;
    let time = c.time_of_day()?;
    c.lit(b" ")?;
    let year = c.digits(4)?;
    c.end()?;
    Some(Civil::new(year, month, day, time))
}
// ANCHOR_END: parse_http_date

// ANCHOR: rfc850_date
/// `day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP GMT`.
fn rfc850_fields(v: &[u8], now: u64) -> Option<Civil> {
    let mut c = Cursor(v);
    c.one_of(&DAY_NAMES_LONG)?;
    c.lit(b", ")?;
    let day = c.digits(2)?;
    c.lit(b"-")?;
    let month = c.month()?;
    c.lit(b"-")?;
    let yy = c.digits(2)?;
    c.lit(b" ")?;
    let time = c.time_of_day()?;
    c.lit(b" GMT")?;
    c.end()?;
    let mut date = Civil::new(0, month, day, time);
    date.year = two_digit_year(yy, &date, now)?;
    Some(date)
}

/// Which century a two-digit year is in, RFC 9110 §5.6.7:
///
/// > Recipients of a timestamp value in rfc850-date format, which uses a
/// > two-digit year, MUST interpret a timestamp that appears to be more
/// > than 50 years in the future as representing the most recent year in
/// > the past that had the same last two digits.
///
/// It is the *timestamp* that must not be more than 50 years ahead, not
/// only its year: at noon on 15 Jun 2026, `15-Jun-76 12:00:00` is exactly
/// 50 years ahead and means 2076, but `15-Jun-76 12:00:01` means 1976. So:
/// the latest year ending in `yy` up to now's year + 50, and if it is that
/// very year, the rest of the timestamp decides.
fn two_digit_year(yy: u64, date: &Civil, now: u64) -> Option<u64> {
    let now = Civil::from_unix(now);
    let horizon = now.year.checked_add(50)?;
    let year = horizon.checked_sub(horizon.checked_sub(yy)? % 100)?;
    if year == horizon && date.within_year() > now.within_year() {
        year.checked_sub(100)
    } else {
        Some(year)
    }
}
// ANCHOR_END: rfc850_date

/// A calendar date and time of day, as the formats spell it, not yet
/// checked: `day` may be 31 in April.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

impl Civil {
    /// A date and a time of day, not checked yet.
    fn new(year: u64, month: u64, day: u64, time: (u64, u64, u64)) -> Civil {
        let (hour, minute, second) = time;
        Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    /// The (proleptic Gregorian, UTC) date and time `unix_secs` stands for.
    fn from_unix(unix_secs: u64) -> Civil {
        let (year, month, day) = civil_from_days(unix_secs / 86_400);
        let secs = unix_secs % 86_400;
        let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
        Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    /// Everything but the year, in the order that compares as time does.
    fn within_year(&self) -> (u64, u64, u64, u64, u64) {
        (self.month, self.day, self.hour, self.minute, self.second)
    }

    /// Seconds since the epoch, if this is a real time from 1970 to 9999.
    ///
    /// `time-of-day` runs `00:00:00 - 23:59:60 (leap second)`, and a leap
    /// second is only ever inserted at the end of a UTC day, so `:60` is
    /// accepted at 23:59 only. Unix time has no leap seconds; we read
    /// 23:59:60 as 23:59:59, which errs towards "modified" for
    /// If-Modified-Since and towards 412 for If-Unmodified-Since.
    fn unix_secs(&self) -> Option<u64> {
        let leap_second = (self.hour, self.minute, self.second) == (23, 59, 60);
        let time_ok =
            self.hour < 24 && self.minute < 60 && (self.second < 60 || leap_second);
        let date_ok = (1970..=9999).contains(&self.year)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day);
        if !(time_ok && date_ok) {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day)?;
        // Bounded by the checks above: days < 3 million, so no overflow.
        Some(days * 86_400 + self.hour * 3600 + self.minute * 60 + self.second.min(59))
    }
}

/// 28 to 31; 0 for a month that is not 1–12.
fn days_in_month(year: u64, month: u64) -> u64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        _ => 0,
    }
}

// ANCHOR: days_from_civil
/// (year, month 1–12, day 1–31) to days since 1970-01-01: the inverse of
/// [`civil_from_days`], with the same trick of starting the year in March.
/// `None` before 1970. Callers check `year <= 9999` first, so the
/// multiplications are small.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    // January and February belong to the March-based year before.
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400; // 400-year eras
    let yoe = y % 400; // year of era, 0..=399
    let mp = (month + 9) % 12; // March = 0 … February = 11
    let doy = (153 * mp + 2) / 5 + day.checked_sub(1)?; // day of the year
    let doe = 365 * yoe + yoe / 4 - yoe / 100 + doy; // day of the era
    (era * 146_097 + doe).checked_sub(719_468) // 0000-03-01 to 1970-01-01
}
// ANCHOR_END: days_from_civil

/// The bytes of a date not read yet. Each method takes one piece of the
/// grammar off the front, or returns `None`, and `?` ends the parse.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly these bytes (the grammar is case-sensitive).
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(s)?;
        Some(())
    }

    /// `n` ASCII digits (`n` ≤ 4, so no overflow), as a number.
    fn digits(&mut self, n: usize) -> Option<u64> {
        let (digits, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        digits.iter().try_fold(0, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    }

    /// One of `names`; which one (0-based).
    fn one_of(&mut self, names: &[&[u8]]) -> Option<u64> {
        let (i, rest) = names
            .iter()
            .enumerate()
            .find_map(|(i, name)| Some((i, self.0.strip_prefix(*name)?)))?;
        self.0 = rest;
        u64::try_from(i).ok()
    }

    /// `month`, as 1–12.
    fn month(&mut self) -> Option<u64> {
        Some(self.one_of(&MONTH_NAMES)? + 1)
    }

    /// `time-of-day = hour ":" minute ":" second`, each `2DIGIT`.
    fn time_of_day(&mut self) -> Option<(u64, u64, u64)> {
        let hour = self.digits(2)?;
        self.lit(b":")?;
        let minute = self.digits(2)?;
        self.lit(b":")?;
        Some((hour, minute, self.digits(2)?))
    }

    /// Nothing left: a date followed by anything is not a date.
    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
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

    /// Noon, Monday 15 June 2026: the "now" of the two-digit-year cases.
    const NOON_2026_06_15: u64 = 1_781_524_800;

    #[test]
    fn http_dates() {
        let now = NOON_2026_06_15;
        #[rustfmt::skip]
        let cases: &[(&str, &[u8], Option<u64>)] = &[
            // RFC 9110 §5.6.7's three examples: one instant, three spellings.
            ("imf_fixdate", b"Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("rfc850", b"Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("asctime_space_padded", b"Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            ("asctime_zero_padded", b"Sun Nov 06 08:49:37 1994", Some(784_111_777)),
            ("asctime_two_digit_day", b"Wed Nov 16 08:49:37 1994", Some(784_975_777)),
            ("epoch", b"Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
            ("leap_day_2000", b"Tue, 29 Feb 2000 00:00:00 GMT", Some(951_782_400)),
            ("last_second_9999", b"Fri, 31 Dec 9999 23:59:59 GMT", Some(253_402_300_799)),
            // Decision: the day name must be one, but need not be the right one.
            ("wrong_day_name", b"Mon, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("wrong_long_day_name", b"Friday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            // Limits, each at N and N + 1.
            ("year_1970", b"Thu, 01 Jan 1970 00:00:01 GMT", Some(1)),
            ("year_1969", b"Wed, 31 Dec 1969 23:59:59 GMT", None),
            ("hour_23", b"Sun, 06 Nov 1994 23:00:00 GMT", Some(784_162_800)),
            ("hour_24", b"Sun, 06 Nov 1994 24:00:00 GMT", None),
            ("minute_59", b"Sun, 06 Nov 1994 08:59:00 GMT", Some(784_112_340)),
            ("minute_60", b"Sun, 06 Nov 1994 08:60:00 GMT", None),
            ("second_59", b"Sun, 06 Nov 1994 08:49:59 GMT", Some(784_111_799)),
            ("second_60_not_23_59", b"Sun, 06 Nov 1994 08:49:60 GMT", None),
            ("leap_second", b"Sat, 31 Dec 2016 23:59:60 GMT", Some(1_483_228_799)),
            ("second_61", b"Sat, 31 Dec 2016 23:59:61 GMT", None),
            ("day_31_jan", b"Sat, 31 Jan 2026 00:00:00 GMT", Some(1_769_817_600)),
            ("day_32_jan", b"Sun, 32 Jan 2026 00:00:00 GMT", None),
            ("day_30_apr", b"Thu, 30 Apr 2026 00:00:00 GMT", Some(1_777_507_200)),
            ("day_31_apr", b"Fri, 31 Apr 2026 00:00:00 GMT", None),
            ("day_00", b"Sun, 00 Nov 1994 08:49:37 GMT", None),
            ("feb_28_2100", b"Sun, 28 Feb 2100 23:59:59 GMT", Some(4_107_542_399)),
            ("feb_29_2100", b"Mon, 29 Feb 2100 00:00:00 GMT", None),
            ("feb_30_2000", b"Wed, 30 Feb 2000 00:00:00 GMT", None),
            ("asctime_day_0", b"Sun Nov  0 08:49:37 1994", None),
            // Case-sensitive names (RFC 9110 §5.6.7: "HTTP-date is case sensitive").
            ("lowercase_month", b"Sun, 06 nov 1994 08:49:37 GMT", None),
            ("uppercase_month", b"Sun, 06 NOV 1994 08:49:37 GMT", None),
            ("lowercase_day_name", b"sun, 06 Nov 1994 08:49:37 GMT", None),
            ("lowercase_gmt", b"Sun, 06 Nov 1994 08:49:37 gmt", None),
            ("not_a_day_name", b"Xyz, 06 Nov 1994 08:49:37 GMT", None),
            ("not_a_month", b"Sun, 06 Now 1994 08:49:37 GMT", None),
            ("long_month", b"Sun, 06 November 1994 08:49:37 GMT", None),
            // Other zones and shapes that are dates elsewhere, not in HTTP.
            ("utc", b"Sun, 06 Nov 1994 08:49:37 UTC", None),
            ("numeric_zone", b"Sun, 06 Nov 1994 08:49:37 +0000", None),
            ("no_zone", b"Sun, 06 Nov 1994 08:49:37", None),
            ("iso_8601", b"1994-11-06T08:49:37Z", None),
            ("unix_seconds", b"784111777", None),
            ("one_digit_day", b"Sun, 6 Nov 1994 08:49:37 GMT", None),
            ("two_digit_year_in_imf", b"Sun, 06 Nov 94 08:49:37 GMT", None),
            ("four_digit_year_in_rfc850", b"Sunday, 06-Nov-1994 08:49:37 GMT", None),
            ("short_day_name_in_rfc850", b"Sun, 06-Nov-94 08:49:37 GMT", None),
            ("long_day_name_in_imf", b"Sunday, 06 Nov 1994 08:49:37 GMT", None),
            ("asctime_with_gmt", b"Sun Nov  6 08:49:37 1994 GMT", None),
            ("asctime_bad_day", b"Sun Nov x6 08:49:37 1994", None),
            ("asctime_three_spaces", b"Sun Nov   6 08:49:37 1994", None),
            ("one_digit_hour", b"Sun, 06 Nov 1994 8:49:37 GMT", None),
            ("missing_comma", b"Sun 06 Nov 1994 08:49:37 GMT", None),
            ("double_space", b"Sun,  06 Nov 1994 08:49:37 GMT", None),
            ("leading_space", b" Sun, 06 Nov 1994 08:49:37 GMT", None),
            ("trailing_space", b"Sun, 06 Nov 1994 08:49:37 GMT ", None),
            ("trailing_comma", b"Sun, 06 Nov 1994 08:49:37 GMT,", None),
            ("list_of_two", b"Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT", None),
            ("plus_sign_digit", b"Sun, +6 Nov 1994 08:49:37 GMT", None),
            ("non_ascii", b"Sun, 06 N\xc3\xb6v 1994 08:49:37 GMT", None),
            ("empty", b"", None),
        ];
        for &(name, input, want) in cases {
            assert_eq!(parse_http_date(input, now), want, "case {name}");
            if want.is_some() {
                // No strict prefix of a date is a date, and nothing follows one.
                for cut in 0..input.len() {
                    assert_eq!(
                        parse_http_date(&input[..cut], now),
                        None,
                        "{name} @ {cut}"
                    );
                }
                let longer = [input, b"XYZ"].concat();
                assert_eq!(parse_http_date(&longer, now), None, "{name} + XYZ");
            }
        }
    }

    #[test]
    fn two_digit_years() {
        // RFC 9110 §5.6.7: "more than 50 years in the future" → the past.
        const JUN_2026: u64 = NOON_2026_06_15;
        #[rustfmt::skip]
        let cases: &[(&str, u64, &[u8], Option<u64>)] = &[
            ("same_year", JUN_2026, b"Monday, 15-Jun-26 12:00:00 GMT", Some(JUN_2026)),
            ("94_is_1994", JUN_2026, b"Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("00_is_2000", JUN_2026, b"Saturday, 01-Jan-00 00:00:00 GMT", Some(946_684_800)),
            ("75_is_2075", JUN_2026, b"Saturday, 15-Jun-75 12:00:00 GMT", Some(3_327_825_600)),
            ("77_is_1977", JUN_2026, b"Wednesday, 15-Jun-77 12:00:00 GMT", Some(235_224_000)),
            // The boundary is a timestamp, to the second: at N and N + 1.
            ("exactly_50_years", JUN_2026, b"Monday, 15-Jun-76 12:00:00 GMT", Some(3_359_448_000)),
            ("50_years_and_1_s", JUN_2026, b"Tuesday, 15-Jun-76 12:00:01 GMT", Some(203_688_001)),
            ("a_day_under_50", JUN_2026, b"Sunday, 14-Jun-76 12:00:00 GMT", Some(3_359_361_600)),
            // Same field value, two recipients a year apart (1 Jan and 31 Dec 2026).
            ("76_in_jan", 1_767_225_600, b"Friday, 31-Dec-76 00:00:00 GMT", Some(220_838_400)),
            ("76_in_dec", 1_798_675_200, b"Thursday, 31-Dec-76 00:00:00 GMT", Some(3_376_598_400)),
            // Late in a century the window reaches into the next one (now: 2095).
            ("05_in_2095", 3_958_934_400, b"Thursday, 01-Jan-05 00:00:00 GMT", Some(4_260_211_200)),
            // The year the rule picks must have the date: 2100 has no 29 Feb.
            ("29_feb_00_in_2059", 2_839_000_000, b"Monday, 29-Feb-00 00:00:00 GMT", None),
            ("29_feb_00_in_2026", JUN_2026, b"Tuesday, 29-Feb-00 00:00:00 GMT", Some(951_782_400)),
            // 69 is 2069 in 2026, but 1969 in 2018: before 1970, so no date.
            ("69_in_2026", JUN_2026, b"Tuesday, 31-Dec-69 23:59:59 GMT", Some(3_155_759_999)),
            ("69_in_2018", 1_530_000_000, b"Wednesday, 31-Dec-69 23:59:59 GMT", None),
            ("far_future_now", u64::MAX, b"Sunday, 06-Nov-94 08:49:37 GMT", None),
        ];
        for &(name, now, input, want) in cases {
            assert_eq!(parse_http_date(input, now), want, "case {name}");
        }
    }

    #[test]
    fn imf_fixdate_round_trips() {
        // Every 9973 × 97 s (about 11 days; odd, so the time of day wanders)
        // up to the end of 9999, plus edges.
        let edges = [0, 1, 59, 60, 86_399, 86_400, 951_782_400, 253_402_300_799];
        let stride = (0..=253_402_300_799).step_by(9973 * 97);
        for secs in edges.into_iter().chain(stride) {
            let imf = imf_fixdate(secs);
            assert_eq!(
                parse_http_date(&imf, secs),
                Some(secs),
                "{}",
                imf.escape_ascii()
            );
            // The same instant in the two obsolete formats, built from the IMF bytes.
            let (name, day, month, year, time) = (
                &imf[0..3],
                &imf[5..7],
                &imf[8..11],
                &imf[12..16],
                &imf[17..25],
            );
            let asctime_day: &[u8] = if day[0] == b'0' { &[b' ', day[1]] } else { day };
            let asctime =
                [name, b" ", month, b" ", asctime_day, b" ", time, b" ", year].concat();
            assert_eq!(
                parse_http_date(&asctime, secs),
                Some(secs),
                "{}",
                asctime.escape_ascii()
            );
            let weekday = DAY_NAMES.iter().position(|d| *d == name);
            let long = DAY_NAMES_LONG[weekday.expect("imf_fixdate writes a day-name")];
            let rfc850 = [
                long,
                b", ",
                day,
                b"-",
                month,
                b"-",
                &year[2..],
                b" ",
                time,
                b" GMT",
            ]
            .concat();
            assert_eq!(
                parse_http_date(&rfc850, secs),
                Some(secs),
                "{}",
                rfc850.escape_ascii()
            );
        }
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        // Every day from 1970-01-01 to 9999-12-31.
        for days in 0..=2_932_896 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1969, 12, 31), None);
        assert_eq!(days_from_civil(0, 1, 1), None);
    }

    #[test]
    fn now_is_well_formed() {
        let d = now();
        assert_eq!(&d[3..5], b", ");
        assert_eq!(&d[26..], b"GMT");
    }
}
