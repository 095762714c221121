//! Times and amounts as investigators' files write them.
//!
//! Times become [`Timestamp`] (UTC seconds). A time written without an offset is Beijing time (UTC+8),
//! as carriers and banks write them. Amounts become [`Fen`] exactly: never through a float.

use super::{Fen, Timestamp};
use std::fmt;

/// Beijing time's offset from UTC, in seconds.
pub const BEIJING_OFFSET: i64 = 8 * 3600;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("unreadable time {0:?} (expected YYYY-MM-DD HH:MM:SS, YYYY/MM/DD HH:MM, YYYYMMDDHHMMSS or ISO 8601)")]
    Time(String),
    #[error("unreadable amount {0:?} (expected yuan such as 1234.56, 1,234.5 or ¥-20)")]
    Amount(String),
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian). Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A civil date and time to UTC seconds, given the offset the time was written in.
pub fn timestamp(
    (y, mo, d): (i64, i64, i64),
    (h, mi, s): (i64, i64, i64),
    offset: i64,
) -> Option<Timestamp> {
    let valid = (1900..=2200).contains(&y)
        && (1..=12).contains(&mo)
        && d >= 1
        && d <= days_in_month(y, mo)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s);
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Reads a run of ASCII digits as a number.
fn num(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses the time formats found in call records, bank statements and debriefs:
/// `2024-03-05 14:07:09`, `2024/3/5 14:07`, `2024-03-05T14:07:09+07:00`, `2024-03-05T06:07:09Z`,
/// `20240305140709`, `2024-03-05` (midnight), with an optional fraction of a second.
/// Without an offset the time is Beijing time.
pub fn parse_time(raw: &str) -> Result<Timestamp, ValueError> {
    let err = || ValueError::Time(raw.to_string());
    let s = raw.trim();
    // Compact form used by some carriers: YYYYMMDDHHMMSS or YYYYMMDD.
    if s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 14 || s.len() == 8) {
        let f = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
        let date = (
            f(0, 4).ok_or_else(err)?,
            f(4, 6).ok_or_else(err)?,
            f(6, 8).ok_or_else(err)?,
        );
        let time = if s.len() == 14 {
            (
                f(8, 10).ok_or_else(err)?,
                f(10, 12).ok_or_else(err)?,
                f(12, 14).ok_or_else(err)?,
            )
        } else {
            (0, 0, 0)
        };
        return timestamp(date, time, BEIJING_OFFSET).ok_or_else(err);
    }
    let (date_part, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let mut dp = date_part.split(['-', '/', '.']);
    let y = dp.next().and_then(num).ok_or_else(err)?;
    let mo = dp.next().and_then(num).ok_or_else(err)?;
    let d = dp.next().and_then(num).ok_or_else(err)?;
    if dp.next().is_some() {
        return Err(err());
    }
    // Split off an offset: Z, +HH:MM, +HHMM, -HH:MM.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let o = o[1..].replace(':', "");
        if o.len() != 4 && o.len() != 2 {
            return Err(err());
        }
        // `get`: the offset may hold multi-byte characters, never slice inside one.
        let oh = o.get(..2).and_then(num).ok_or_else(err)?;
        let om = if o.len() == 4 {
            o.get(2..).and_then(num).ok_or_else(err)?
        } else {
            0
        };
        (c, sign * (oh * 3600 + om * 60))
    } else {
        (rest, BEIJING_OFFSET)
    };
    let clock = clock.trim();
    let (h, mi, sec) = if clock.is_empty() {
        (0, 0, 0)
    } else {
        let clock = clock.split('.').next().unwrap_or(clock); // drop a fraction of a second
        let mut cp = clock.split(':');
        let h = cp.next().and_then(num).ok_or_else(err)?;
        let mi = cp.next().and_then(num).ok_or_else(err)?;
        let sec = match cp.next() {
            Some(x) => num(x).ok_or_else(err)?,
            None => 0,
        };
        if cp.next().is_some() {
            return Err(err());
        }
        (h, mi, sec)
    };
    timestamp((y, mo, d), (h, mi, sec), offset).ok_or_else(err)
}

/// A timestamp shown in Beijing time, `YYYY-MM-DD HH:MM:SS`.
pub struct BeijingTime(pub Timestamp);

impl fmt::Display for BeijingTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0 + BEIJING_OFFSET;
        let (y, m, d) = civil_from_days(t.div_euclid(86_400));
        let s = t.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            s / 3600,
            s % 3600 / 60,
            s % 60
        )
    }
}

/// Parses an amount in yuan to fen, exactly: `1234.56`, `1,234.5`, `-20`, `¥300.00`, `+5.1`, `1234.56元`.
/// More than two decimals is an error rather than a silent rounding.
pub fn parse_amount(raw: &str) -> Result<Fen, ValueError> {
    let err = || ValueError::Amount(raw.to_string());
    let mut s = raw.trim();
    for p in ['¥', '￥'] {
        s = s.trim_start_matches(p);
    }
    s = s.trim_end_matches('元').trim();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(err());
    }
    let mut fen: i64 = 0;
    let mut digits = 0;
    for b in int.bytes() {
        match b {
            b'0'..=b'9' => {
                fen = fen
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i64::from(b - b'0')))
                    .ok_or_else(err)?;
                digits += 1;
            }
            b',' if digits > 0 => {}
            _ => return Err(err()),
        }
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let mut f = 0i64;
    for (i, b) in frac.bytes().enumerate() {
        f += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    let fen = fen
        .checked_mul(100)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(err)?;
    Ok(if neg { -fen } else { fen })
}

/// Fen shown as yuan with two decimals.
pub struct Yuan(pub Fen);

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_formats_agree() {
        let t = parse_time("2024-03-05 14:07:09").unwrap();
        assert_eq!(parse_time("2024/03/05 14:07:09").unwrap(), t);
        assert_eq!(parse_time("20240305140709").unwrap(), t);
        assert_eq!(parse_time("2024-03-05T14:07:09+08:00").unwrap(), t);
        assert_eq!(parse_time("2024-03-05T06:07:09Z").unwrap(), t);
        assert_eq!(parse_time("2024-03-05T13:07:09+0700").unwrap(), t);
        assert_eq!(parse_time("2024-03-05 14:07:09.250").unwrap(), t);
        assert_eq!(parse_time("2024/3/5 14:07").unwrap(), t - 9);
        assert_eq!(BeijingTime(t).to_string(), "2024-03-05 14:07:09");
        // 2024-03-05 06:07:09 UTC
        assert_eq!(t, 1_709_618_829);
    }

    #[test]
    fn bad_times_are_errors() {
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30 10:00",
            "yesterday",
            "2024-03-05 25:00",
            "2024-03-05 1:2:3:4",
            "12/31",
            // Found by the fuzzer: a multi-byte character inside the offset.
            "2024-03-05T06:20:11+0\u{fffd}",
            "2024-03-05T06:20:11-\u{5e74}1",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(parse_time("2024-02-29").is_ok());
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount("1234.56"), Ok(123_456));
        assert_eq!(parse_amount("1,234.5"), Ok(123_450));
        assert_eq!(parse_amount("-20"), Ok(-2000));
        assert_eq!(parse_amount("¥300.00"), Ok(30_000));
        assert_eq!(parse_amount("0.1"), Ok(10));
        assert_eq!(parse_amount("50000元"), Ok(5_000_000));
        for bad in [
            "",
            "abc",
            "1.234",
            "1e5",
            ",5",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(Yuan(-123_456).to_string(), "-1234.56");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 1, 19_000, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
