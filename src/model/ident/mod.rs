//! Identifier rules: every way a resident ID, phone number, bank card, IMEI or wallet address is written
//! becomes one canonical key, so the same person or handset is one entity.
//!
//! A key that fails its check digit is kept under its own key with [`Flags::BAD_CHECKSUM`], so it is
//! never silently merged with a valid one.

use super::{EntityKind, EntityRef, Flags};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("empty identifier")]
    Empty,
    #[error("{raw:?} is not a valid {what}")]
    Invalid { what: &'static str, raw: String },
}

fn invalid(what: &'static str, raw: &str) -> IdentError {
    IdentError::Invalid {
        what,
        raw: raw.to_string(),
    }
}

/// A canonical key with the flags its rule raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub kind: EntityKind,
    pub key: String,
    pub flags: Flags,
}

impl Normalized {
    fn new(kind: EntityKind, key: String, flags: Flags) -> Normalized {
        Normalized { kind, key, flags }
    }

    pub fn to_ref(&self) -> EntityRef {
        EntityRef::new(self.kind, self.key.clone())
    }
}

/// Full-width digits, letters and `+` to ASCII; other characters unchanged.
pub fn to_half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Keeps ASCII digits, dropping the separators people write (spaces, dashes, dots, brackets).
/// Returns `None` if anything else is present.
fn digits_only(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' | '\t' | '_' | '\'' | '"' | '=' => {}
            _ => return None,
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Resident ID (GB 11643-1999)

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits of a resident ID.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let s: u32 = b
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(char::from(ID_CHECK[(s % 11) as usize]))
}

/// Normalises a resident ID: 18 characters with an upper-case `X`; a 15-digit legacy ID is upgraded
/// (century 19 inserted, check character computed); a masked ID (`3607**********12`) is kept as written.
pub fn resident_id(raw: &str) -> Result<Normalized, IdentError> {
    let s: String = to_half_width(raw.trim())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if s.is_empty() {
        return Err(IdentError::Empty);
    }
    let b = s.as_bytes();
    let person = |key: String, flags| Ok(Normalized::new(EntityKind::Person, key, flags));
    if b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
    {
        let ok = resident_id_check_char(&s[..17]) == Some(char::from(b[17]));
        let flags = if ok {
            Flags::default()
        } else {
            Flags::BAD_CHECKSUM
        };
        return person(s, flags);
    }
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        let first17 = format!("{}19{}", &s[..6], &s[6..]);
        let check = resident_id_check_char(&first17).ok_or_else(|| invalid("resident ID", raw))?;
        return person(format!("{first17}{check}"), Flags::LEGACY_ID);
    }
    if (b.len() == 18 || b.len() == 15)
        && b.contains(&b'*')
        && b.iter()
            .all(|c| c.is_ascii_digit() || *c == b'*' || *c == b'X')
    {
        return person(s, Flags::MASKED);
    }
    Err(invalid("resident ID", raw))
}

// ---------------------------------------------------------------------------------------------
// Phone numbers to E.164

fn is_cn_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// Service numbers: bank and carrier hotlines (95588, 10086, 12315), emergency numbers, 400/800 lines.
fn is_service(d: &str) -> bool {
    let n = d.len();
    (d.starts_with("95") || d.starts_with("96")) && (5..=8).contains(&n)
        || d.starts_with('1') && (3..=5).contains(&n)
        || (d.starts_with("400") || d.starts_with("800")) && n == 10
}

/// Normalises a phone number. Mainland mobiles in any writing (`13800138000`, `138-0013-8000`,
/// `+86 138 0013 8000`, `008613800138000`, full-width digits) become `+8613800138000`; fixed lines
/// with an area code (`0797-1234567`) become `+867971234567`; foreign numbers (`+95…`, `0095…`) keep
/// their country code; service numbers (95588, 10086, 400…) stay as written and are flagged.
pub fn phone(raw: &str) -> Result<Normalized, IdentError> {
    let s = to_half_width(raw.trim());
    if s.is_empty() {
        return Err(IdentError::Empty);
    }
    let t = s.trim_start_matches(['(', ' ']);
    let plus = t.starts_with('+');
    let d = digits_only(t.trim_start_matches('+')).ok_or_else(|| invalid("phone number", raw))?;
    if d.is_empty() {
        return Err(invalid("phone number", raw));
    }
    let ph = |key: String, flags| Ok(Normalized::new(EntityKind::Phone, key, flags));
    let international = if plus {
        Some(d.as_str())
    } else {
        d.strip_prefix("00").filter(|r| !r.starts_with('0'))
    };
    if let Some(intl) = international {
        if let Some(national) = intl.strip_prefix("86") {
            let national = national.strip_prefix('0').unwrap_or(national);
            if national.len() < 5 || national.len() > 13 {
                return Err(invalid("phone number", raw));
            }
            return ph(format!("+86{national}"), Flags::default());
        }
        if intl.len() < 7 || intl.len() > 15 {
            return Err(invalid("phone number", raw));
        }
        return ph(format!("+{intl}"), Flags::FOREIGN);
    }
    if is_cn_mobile(&d) {
        return ph(format!("+86{d}"), Flags::default());
    }
    if d.len() == 13 && d.starts_with("86") && is_cn_mobile(&d[2..]) {
        return ph(format!("+{d}"), Flags::default());
    }
    if d.len() == 13 && d.starts_with('1') {
        // Mainland IoT numbers have 13 digits.
        return ph(format!("+86{d}"), Flags::default());
    }
    if is_service(&d) {
        return ph(d, Flags::SERVICE);
    }
    if d.starts_with('0') && (10..=12).contains(&d.len()) {
        return ph(format!("+86{}", &d[1..]), Flags::default());
    }
    if (7..=8).contains(&d.len()) {
        // A local fixed line without its area code: kept as written, it cannot be made E.164.
        return ph(d, Flags::default());
    }
    Err(invalid("phone number", raw))
}

// ---------------------------------------------------------------------------------------------
// Luhn, bank cards, IMEI

/// The Luhn check digit to append to `payload` (ASCII digits).
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in payload.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut v = u32::from(c - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether a digit string ends in a correct Luhn check digit.
pub fn luhn_valid(digits: &str) -> bool {
    match digits.as_bytes().split_last() {
        Some((last, payload)) if last.is_ascii_digit() => {
            std::str::from_utf8(payload).ok().and_then(luhn_check_digit) == Some(last - b'0')
        }
        _ => false,
    }
}

/// Normalises a bank card or account number to its digits. A card that fails Luhn is flagged, never
/// rejected (internal account numbers have no Luhn digit; OCR errors happen).
pub fn bank_account(raw: &str) -> Result<Normalized, IdentError> {
    let s = to_half_width(raw.trim());
    if s.is_empty() {
        return Err(IdentError::Empty);
    }
    let d = digits_only(&s).ok_or_else(|| invalid("bank card or account number", raw))?;
    if !(6..=32).contains(&d.len()) {
        return Err(invalid("bank card or account number", raw));
    }
    let flags = if luhn_valid(&d) {
        Flags::default()
    } else {
        Flags::BAD_CHECKSUM
    };
    Ok(Normalized::new(EntityKind::Account, d, flags))
}

/// Normalises an IMEI to its 14-digit TAC + serial, so the 14-digit, 15-digit (check digit) and
/// 16-digit (IMEISV) forms of one handset merge. A wrong check digit is flagged.
pub fn imei(raw: &str) -> Result<Normalized, IdentError> {
    let s = to_half_width(raw.trim());
    if s.is_empty() {
        return Err(IdentError::Empty);
    }
    let d = digits_only(&s).ok_or_else(|| invalid("IMEI", raw))?;
    let flags = match d.len() {
        14 | 16 => Flags::default(),
        15 if luhn_valid(&d) => Flags::default(),
        15 => Flags::BAD_CHECKSUM,
        _ => return Err(invalid("IMEI", raw)),
    };
    Ok(Normalized::new(
        EntityKind::Device,
        d[..14].to_string(),
        flags,
    ))
}

// ---------------------------------------------------------------------------------------------
// Wallets

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(32); // little-endian base-256 digits
    for c in s.bytes() {
        let mut carry = B58.iter().position(|&x| x == c)? as u32;
        for byte in &mut out {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    out.extend(s.bytes().take_while(|&c| c == b'1').map(|_| 0));
    out.reverse();
    Some(out)
}

fn base58_encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 2); // little-endian base-58
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in &mut digits {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(digits.iter().rev().map(|&d| char::from(B58[d as usize])))
        .collect()
}

fn double_sha256_prefix(bytes: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(Sha256::digest(bytes));
    [h[0], h[1], h[2], h[3]]
}

/// The TRON (TRC20) address of a 20-byte account body: base58check of `0x41 ‖ body`.
pub fn trc20_address(body: &[u8; 20]) -> String {
    let mut payload = Vec::with_capacity(25);
    payload.push(0x41);
    payload.extend_from_slice(body);
    let check = double_sha256_prefix(&payload);
    payload.extend_from_slice(&check);
    base58_encode(&payload)
}

/// Normalises a crypto wallet address. TRC20 (`T` + 33 base58 characters) is checked by base58check and
/// flagged when the checksum fails; Ethereum-style `0x` + 40 hex digits is lower-cased.
pub fn wallet(raw: &str) -> Result<Normalized, IdentError> {
    let s = to_half_width(raw.trim());
    if s.is_empty() {
        return Err(IdentError::Empty);
    }
    let w = |key: String, flags| Ok(Normalized::new(EntityKind::Wallet, key, flags));
    if s.len() == 34 && s.starts_with('T') {
        let bytes = base58_decode(&s).ok_or_else(|| invalid("TRC20 address", raw))?;
        let ok = bytes.len() == 25
            && bytes[0] == 0x41
            && double_sha256_prefix(&bytes[..21]) == bytes[21..];
        return w(
            s,
            if ok {
                Flags::default()
            } else {
                Flags::BAD_CHECKSUM
            },
        );
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    if let Some(h) = hex.filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return w(format!("0x{}", h.to_ascii_lowercase()), Flags::default());
    }
    Err(invalid("wallet address", raw))
}

// ---------------------------------------------------------------------------------------------
// Dispatch

/// Normalises a key of a known kind. Places and orgs are free text (trimmed, inner white space folded);
/// a person is a resident ID when it reads as one, otherwise the case's own person key, kept as written.
pub fn normalize(kind: EntityKind, raw: &str) -> Result<Normalized, IdentError> {
    match kind {
        EntityKind::Person => resident_id(raw).or_else(|_| free_text(kind, raw)),
        EntityKind::Phone => phone(raw),
        EntityKind::Account => bank_account(raw),
        EntityKind::Device => imei(raw),
        EntityKind::Wallet => wallet(raw),
        EntityKind::Place | EntityKind::Org => free_text(kind, raw),
    }
}

fn free_text(kind: EntityKind, raw: &str) -> Result<Normalized, IdentError> {
    let key = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if key.is_empty() {
        return Err(IdentError::Empty);
    }
    if key.len() > 256 || key.chars().any(char::is_control) {
        return Err(invalid("key", raw));
    }
    Ok(Normalized::new(kind, key, Flags::default()))
}

/// Parses a canonical reference `kind:key`, normalising the key by its kind's rule
/// (`phone:138 0013 8000` is `phone:+8613800138000`).
pub fn parse_ref(s: &str) -> Result<Normalized, IdentError> {
    let r = EntityRef::parse(s).ok_or_else(|| invalid("reference (kind:key)", s))?;
    normalize(r.kind, &r.key)
}

/// Every reading of what a user typed, most specific first: a canonical reference, or a resident ID,
/// phone number, IMEI, card number or wallet address as people write them. The store decides which
/// of these exist.
pub fn interpretations(typed: &str) -> Vec<Normalized> {
    if let Ok(n) = parse_ref(typed) {
        return vec![n];
    }
    let mut out = Vec::new();
    let id = resident_id(typed)
        .ok()
        .filter(|n| !n.flags.contains(Flags::BAD_CHECKSUM));
    out.extend(id);
    out.extend(phone(typed).ok());
    out.extend(imei(typed).ok());
    out.extend(bank_account(typed).ok());
    out.extend(wallet(typed).ok());
    out.extend(
        resident_id(typed)
            .ok()
            .filter(|n| n.flags.contains(Flags::BAD_CHECKSUM)),
    );
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
