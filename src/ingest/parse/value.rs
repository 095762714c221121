//! Field values the layouts share: durations, direction flags, call types, lists, and the lenient
//! readings of optional fields (IMEI, IP, MAC) that never cost a row.

use crate::model::ident::{self, Normalized};
use crate::model::{EntityKind, Flags};

/// Call duration in seconds: `83`, `83秒`, `1:23`, `00:01:23`, `1分23秒`, `1时2分3秒`.
pub(crate) fn duration(raw: &str) -> Option<i64> {
    let s = raw.trim();
    if let Ok(v) = s.parse::<i64>() {
        return (v >= 0).then_some(v);
    }
    if s.contains(':') {
        let mut total = 0i64;
        let mut parts = 0;
        for p in s.split(':') {
            let p = p.trim();
            if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            total = total * 60 + p.parse::<i64>().ok()?;
            parts += 1;
        }
        return (parts <= 3).then_some(total);
    }
    // Chinese units: 时/小时, 分/分钟, 秒.
    let mut total = 0i64;
    let mut num: Option<i64> = None;
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if let Some(d) = c.to_digit(10) {
            let n = num.unwrap_or(0);
            if n > 10_000_000 {
                return None;
            }
            num = Some(n * 10 + i64::from(d));
            continue;
        }
        let unit = match c {
            '时' | '小' => {
                if c == '小' && chars.next() != Some('时') {
                    return None;
                }
                3600
            }
            '分' => {
                if chars.peek() == Some(&'钟') {
                    chars.next();
                }
                60
            }
            '秒' => 1,
            's' | 'S' if chars.peek().is_none() => 1,
            _ => return None,
        };
        total += num.take()? * unit;
        any = true;
    }
    if num.is_some() {
        return None; // digits without a unit after a unit
    }
    any.then_some(total)
}

/// An optional IMEI: empty or all zeros is `None` silently; anything unreadable is `None` with a note.
pub(crate) fn optional_imei(raw: Option<&str>) -> (Option<Normalized>, Option<String>) {
    let Some(s) = raw else { return (None, None) };
    if s.bytes().all(|b| b == b'0' || b == b'-' || b == b' ') {
        return (None, None);
    }
    match imei(s) {
        Ok(n) => (Some(n), None),
        Err(_) => (None, Some(format!("unreadable IMEI {s:?} dropped"))),
    }
}

/// An optional IP address: `0.0.0.0` and empty are `None`.
pub(crate) fn optional_ip(raw: Option<&str>) -> Option<String> {
    let s = raw?;
    if matches!(s, "0.0.0.0" | "::" | "-" | "null" | "NULL") {
        return None;
    }
    Some(s.to_string())
}

/// An optional MAC address, upper-cased with `:` separators; all zeros is `None`.
pub(crate) fn optional_mac(raw: Option<&str>) -> Option<String> {
    let s = raw?;
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        if hex.bytes().all(|b| b == b'0') {
            return None;
        }
        let mut out = String::with_capacity(17);
        for (i, c) in hex.chars().enumerate() {
            if i > 0 && i % 2 == 0 {
                out.push(':');
            }
            out.push(c);
        }
        return Some(out);
    }
    (!matches!(s, "-" | "null" | "NULL")).then(|| s.to_string())
}

/// Splits a list cell: `;`, `；`, `|`, `,`, `，`, `、` separate items; empty items are skipped.
pub(crate) fn list(raw: Option<&str>) -> impl Iterator<Item = &str> {
    raw.unwrap_or("")
        .split([';', '；', '|', ',', '，', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Which way money moved, seen from the statement's own account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    In,
    Out,
}

/// A 收付标志: 进/收/贷/C/入 is money in; 出/付/借/D/支 is money out.
pub(crate) fn direction(raw: &str) -> Option<Direction> {
    let s = raw.trim();
    let first = s.chars().next()?;
    match first {
        '进' | '收' | '贷' | '入' | '存' | '+' => Some(Direction::In),
        '出' | '付' | '借' | '支' | '取' | '-' => Some(Direction::Out),
        'C' | 'c'
            if s.len() == 1 || s.eq_ignore_ascii_case("credit") || s.eq_ignore_ascii_case("cr") =>
        {
            Some(Direction::In)
        }
        'D' | 'd'
            if s.len() == 1 || s.eq_ignore_ascii_case("debit") || s.eq_ignore_ascii_case("dr") =>
        {
            Some(Direction::Out)
        }
        'I' | 'i' if s.eq_ignore_ascii_case("in") => Some(Direction::In),
        'O' | 'o' if s.eq_ignore_ascii_case("out") => Some(Direction::Out),
        _ => None,
    }
}

/// A carrier's 呼叫类型, seen from the record's own number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CallType {
    /// The record's own number placed the call or sent the message.
    pub outgoing: bool,
    pub sms: bool,
}

pub(crate) fn call_type(raw: &str) -> Option<CallType> {
    let s = raw.trim();
    let t = |outgoing, sms| Some(CallType { outgoing, sms });
    match s {
        "主叫" | "主呼" | "呼出" | "MOC" | "MO" | "moc" | "mo" | "01" | "1" => t(true, false),
        "被叫" | "被呼" | "呼入" | "MTC" | "MT" | "mtc" | "mt" | "02" | "2" => {
            t(false, false)
        }
        "呼转" | "呼叫转移" | "前转" | "转接" | "CFW" | "FWD" | "03" | "3" => {
            t(true, false)
        }
        "短信发" | "短信发送" | "发短信" | "主叫短信" | "SMS-MO" | "SMSMO" | "sms_mo" => {
            t(true, true)
        }
        "短信收" | "短信接收" | "收短信" | "被叫短信" | "SMS-MT" | "SMSMT" | "sms_mt" => {
            t(false, true)
        }
        _ => None,
    }
}

/// Mainland mobile fast path: 11 ASCII digits `1[3-9]…` are `+86…` without the general rule's
/// intermediate strings. Everything else goes through [`ident::phone`]; the result is identical
/// (a test checks it).
pub(crate) fn phone(raw: &str) -> Result<Normalized, ident::IdentError> {
    let b = raw.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        let mut key = String::with_capacity(14);
        key.push_str("+86");
        key.push_str(raw);
        return Ok(Normalized {
            kind: EntityKind::Phone,
            key,
            flags: Flags::default(),
        });
    }
    ident::phone(raw)
}

/// Bank card / account fast path: a field of 6–32 ASCII digits is its own key (one allocation);
/// everything else goes through [`ident::bank_account`], with an identical result (a test checks it).
pub(crate) fn bank_account(raw: &str) -> Result<Normalized, ident::IdentError> {
    let b = raw.as_bytes();
    if (6..=32).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        let flags = if ident::luhn_valid(raw) {
            Flags::default()
        } else {
            Flags::BAD_CHECKSUM
        };
        return Ok(Normalized {
            kind: EntityKind::Account,
            key: raw.to_string(),
            flags,
        });
    }
    ident::bank_account(raw)
}

/// IMEI fast path for 14–16 ASCII digits; otherwise [`ident::imei`], with an identical result.
pub(crate) fn imei(raw: &str) -> Result<Normalized, ident::IdentError> {
    let b = raw.as_bytes();
    if (14..=16).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        let flags = if b.len() == 15 && !ident::luhn_valid(raw) {
            Flags::BAD_CHECKSUM
        } else {
            Flags::default()
        };
        return Ok(Normalized {
            kind: EntityKind::Device,
            key: raw[..14].to_string(),
            flags,
        });
    }
    ident::imei(raw)
}

/// Trims white space: ASCII first (cheap), Unicode (U+3000 ideographic space…) only when an end
/// is not ASCII.
pub(crate) fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    match (t.as_bytes().first(), t.as_bytes().last()) {
        (Some(&f), Some(&l)) if f >= 0x80 || l >= 0x80 => t.trim(),
        _ => t,
    }
}

/// Fast path for the commonest time, exactly `YYYY-MM-DD HH:MM:SS` (Beijing time). `None` means
/// "not this shape": the caller falls back to [`crate::model::time::parse_time`], which gives the
/// same result for this shape (a test checks it).
pub(crate) fn fast_time(raw: &str) -> Option<crate::model::Timestamp> {
    let b = raw.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |i: usize, len: usize| -> Option<i64> {
        b[i..i + len].iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    crate::model::time::timestamp(
        (n(0, 4)?, n(5, 2)?, n(8, 2)?),
        (n(11, 2)?, n(14, 2)?, n(17, 2)?),
        crate::model::time::BEIJING_OFFSET,
    )
}

/// An optional IMSI: digits only (460 + network code + subscriber), else `None` with a note.
pub(crate) fn optional_imsi(raw: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(s) = raw else { return (None, None) };
    if s.bytes().all(|b| b == b'0') {
        return (None, None);
    }
    if (14..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        (Some(s.to_string()), None)
    } else {
        (None, Some(format!("unreadable IMSI {s:?} dropped")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (raw, secs) in [
            ("83", 83),
            ("0", 0),
            ("83秒", 83),
            ("1:23", 83),
            ("00:01:23", 83),
            ("1分23秒", 83),
            ("1分钟", 60),
            ("1小时2分3秒", 3723),
            ("83s", 83),
        ] {
            assert_eq!(duration(raw), Some(secs), "{raw}");
        }
        for bad in [
            "",
            "-5",
            "abc",
            "1:2:3:4",
            "秒",
            "1.5",
            "1分2",
            ":",
            "99999999999999999999秒",
        ] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn flags_and_call_types() {
        for s in ["进", "收", "贷", "C", "收入", "入账"] {
            assert_eq!(direction(s), Some(Direction::In), "{s}");
        }
        for s in ["出", "付", "借", "D", "支出", "d"] {
            assert_eq!(direction(s), Some(Direction::Out), "{s}");
        }
        assert_eq!(direction("X"), None);
        assert_eq!(
            call_type("被叫"),
            Some(CallType {
                outgoing: false,
                sms: false
            })
        );
        assert_eq!(
            call_type("短信发"),
            Some(CallType {
                outgoing: true,
                sms: true
            })
        );
        assert_eq!(call_type("视频"), None);
    }

    #[test]
    fn optional_fields() {
        assert_eq!(optional_imei(Some("0")), (None, None));
        assert!(optional_imei(Some("abc")).1.is_some());
        assert_eq!(
            optional_imei(Some("490154203237518")).0.unwrap().key,
            "49015420323751"
        );
        assert_eq!(optional_ip(Some("0.0.0.0")), None);
        assert_eq!(
            optional_mac(Some("a4-5e-60-e5-4f-2b")).as_deref(),
            Some("A4:5E:60:E5:4F:2B")
        );
        assert_eq!(optional_mac(Some("00:00:00:00:00:00")), None);
        assert_eq!(
            list(Some("a; b；c|d,,e")).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
    }

    #[test]
    fn fast_paths_agree_with_the_rules() {
        for s in [
            "13800138000",
            "19912345678",
            "12345678901",
            "1380013800x",
            "95588",
        ] {
            assert_eq!(phone(s), ident::phone(s), "{s}");
        }
        for s in [
            "6222021234567890128",
            "6222021234567890127",
            "12345",
            "123456",
            "6222 0212",
        ] {
            assert_eq!(bank_account(s), ident::bank_account(s), "{s}");
        }
        for s in [
            "490154203237518",
            "490154203237517",
            "49015420323751",
            "4901542032375188",
            "1234",
        ] {
            assert_eq!(imei(s), ident::imei(s), "{s}");
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config(256))]
        #[test]
        fn fast_time_agrees(s in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}") {
            if let Some(t) = fast_time(&s) {
                proptest::prop_assert_eq!(Ok(t), crate::model::time::parse_time(&s));
            } else {
                proptest::prop_assert!(crate::model::time::parse_time(&s).is_err());
            }
        }

        #[test]
        fn trim_agrees(s in "[ \t\u{3000}a中]{0,6}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }

        #[test]
        fn fast_paths_agree_on_digit_strings(s in "[0-9]{0,34}") {
            proptest::prop_assert_eq!(phone(&s), ident::phone(&s));
            proptest::prop_assert_eq!(bank_account(&s), ident::bank_account(&s));
            proptest::prop_assert_eq!(imei(&s), ident::imei(&s));
        }
    }
}
