//! Deadlines with a minimum rate: slow POST and slow read (ch07).

use std::time::{Duration, Instant};

// ANCHOR: rate_deadline
/// `start + base + bytes / rate` (rate in bytes per second): the deadline
/// for moving `bytes` at no less than `rate` on average, after a grace of
/// `base`. `None` when it is too far in the future to represent.
pub fn rate_deadline(
    start: Instant,
    base: Duration,
    bytes: usize,
    rate: usize,
) -> Option<Instant> {
    let rate = rate.max(1) as u64;
    let earned = Duration::from_millis((bytes as u64).saturating_mul(1000) / rate);
    base.checked_add(earned)
        .and_then(|allowed| start.checked_add(allowed))
}
// ANCHOR_END: rate_deadline

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_deadlines() {
        let t = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(rate_deadline(t, s, 0, 500), Some(t + s));
        assert_eq!(rate_deadline(t, s, 1000, 500), Some(t + 3 * s));
        assert_eq!(rate_deadline(t, s, 250, 500), Some(t + s + s / 2));
        assert_eq!(
            rate_deadline(t, s, 1000, 0),
            Some(t + 1001 * s),
            "rate 0 counts as 1 B/s"
        );
        assert_eq!(rate_deadline(t, Duration::MAX, 1, 1), None);
    }
}
