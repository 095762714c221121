//! The case's calendar: the window the records cover, Beijing-time formatting and the per-stream
//! random generators.

use crate::model::time::{timestamp, BeijingTime, BEIJING_OFFSET};
use crate::model::Timestamp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) const MINUTE: i64 = 60;
pub(crate) const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 86_400;

/// A Beijing-time civil date and time as a timestamp.
pub(crate) fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> Timestamp {
    timestamp((y, mo, d), (h, mi, 0), BEIJING_OFFSET).unwrap_or(0)
}

/// Start of the records: 2023-01-01 00:00 Beijing time.
pub(crate) const T0: Timestamp = 1_672_502_400;
/// End of the records (exclusive): 2024-02-01 00:00 Beijing time.
pub(crate) const T1: Timestamp = 1_706_716_800;

/// `YYYY-MM-DD HH:MM:SS` in Beijing time.
pub(crate) fn fmt(t: Timestamp) -> String {
    BeijingTime(t).to_string()
}

/// `YYYY-MM-DD` in Beijing time.
pub(crate) fn date(t: Timestamp) -> String {
    let mut s = fmt(t);
    s.truncate(10);
    s
}

/// The generator of one stream and block: independent of every other, so blocks can be made in
/// parallel and the output stays the same.
pub(crate) fn rng(seed: u64, stream: u64, block: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..24].copy_from_slice(&block.to_le_bytes());
    key[24..].copy_from_slice(b"fraudnet");
    ChaCha8Rng::from_seed(key)
}

/// Hour-of-day weights of ordinary calls (daytime and evening heavy).
const HOUR_W: [u32; 24] = [
    2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 13, 13, 13, 13, 14, 15, 14, 11, 7, 4,
];

/// Seconds into a day for an ordinary call.
pub(crate) fn day_seconds<R: Rng>(rng: &mut R) -> i64 {
    let total: u32 = HOUR_W.iter().sum();
    let mut x = rng.gen_range(0..total);
    let mut h = 0;
    for (i, w) in HOUR_W.iter().enumerate() {
        if x < *w {
            h = i;
            break;
        }
        x -= w;
    }
    h as i64 * HOUR + rng.gen_range(0..HOUR)
}

/// An ordinary moment between `from` and `to` (day chosen uniformly, hour by [`day_seconds`]).
pub(crate) fn ordinary<R: Rng>(rng: &mut R, from: Timestamp, to: Timestamp) -> Timestamp {
    let days = ((to - from) / DAY).max(1);
    let day0 = from - (from + BEIJING_OFFSET).rem_euclid(DAY);
    let t = day0 + rng.gen_range(0..days) * DAY + day_seconds(rng);
    t.clamp(from, to - 1)
}

/// Midnight (Beijing) of the day of `t`.
pub(crate) fn midnight(t: Timestamp) -> Timestamp {
    t - (t + BEIJING_OFFSET).rem_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_constants_are_beijing_midnights() {
        assert_eq!(at(2023, 1, 1, 0, 0), T0);
        assert_eq!(at(2024, 2, 1, 0, 0), T1);
        assert_eq!(fmt(T0), "2023-01-01 00:00:00");
        assert_eq!(midnight(T0 + 5 * HOUR), T0);
    }
}
