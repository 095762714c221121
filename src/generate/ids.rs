//! Identifiers as the generator makes them, and the ways files write them.
//!
//! Every identifier is a pure function of a small integer id (a person's index and slot, or a counter
//! above the population's range), through bijections onto the number space, so that identifiers are
//! unique without any lookup table and any row can be written without holding the population's
//! identifiers in memory.

use crate::model::ident::{luhn_check_digit, resident_id_check_char};
use rand::Rng;
use std::fmt::Write as _;

/// A SplitMix64 step: the generator's hash for per-entity pseudo-random attributes.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b))
}

/// A bijection on `[0, 10^digits)`: an affine map with a multiplier coprime to 10, then a rotation of
/// the decimal digits, so consecutive ids do not give consecutive numbers.
fn scramble(x: u64, digits: u32, salt: u64) -> u64 {
    let m = 10u64.pow(digits);
    let a = [7_919u64, 104_729, 1_299_709, 15_485_863][(salt % 4) as usize];
    let b = mix(salt) % m;
    let y = ((u128::from(x % m) * u128::from(a) + u128::from(b)) % u128::from(m)) as u64;
    let r = 10u64.pow(digits / 2);
    (y % r) * (m / r) + y / r
}

// ---------------------------------------------------------------------------------------------
// Phones

/// A phone number as the generator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Ph {
    /// An 11-digit mainland mobile.
    Cn(u64),
    /// A foreign number: country code and national digits, as E.164 digits (`959…`).
    Intl(u64),
    /// A service number (95588, 10086, 400…).
    Svc(u64),
}

const CN_PREFIXES: [u64; 40] = [
    134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 172, 178, 182, 183, 184, 187,
    188, 195, 198, 130, 131, 132, 155, 156, 166, 175, 176, 185, 186, 133, 149, 153, 173, 177, 180,
    181, 189,
];

/// The mainland mobile number of phone id `id` (unique per id).
pub(crate) fn cn_mobile(id: u64) -> Ph {
    let x = scramble(id, 10, 3);
    let p = CN_PREFIXES[(x % CN_PREFIXES.len() as u64) as usize];
    let rest = scramble(x / CN_PREFIXES.len() as u64, 8, 11);
    Ph::Cn(p * 100_000_000 + rest)
}

/// Privacy (virtual) numbers of ride-hailing and delivery platforms: 170/171 ranges.
pub(crate) fn privacy_number(k: u64) -> Ph {
    let p = [170u64, 171][(k % 2) as usize];
    Ph::Cn(p * 100_000_000 + scramble(k / 2, 8, 17))
}

/// A foreign work number: Myanmar (+95 9…, nine digits), Thailand (+66 8…), Cambodia (+855 …).
pub(crate) fn foreign_mobile(id: u64, country: u16) -> Ph {
    match country {
        66 => Ph::Intl(66_800_000_000 + scramble(id, 8, 66)),
        855 => {
            let ops = [
                10u64, 12, 15, 16, 17, 69, 70, 77, 78, 85, 89, 92, 93, 95, 96, 97, 98, 99,
            ];
            let op = ops[(id % ops.len() as u64) as usize];
            Ph::Intl((85_500 + op) * 1_000_000 + scramble(id / ops.len() as u64, 6, 855))
        }
        _ => {
            let ops = [94u64, 95, 96, 97, 98, 99, 79, 75, 45, 44];
            let op = ops[(id % ops.len() as u64) as usize];
            // +95 9 <op two digits> <7 digits>
            Ph::Intl(9_590_000_000 * 100 + op * 10_000_000 + scramble(id / ops.len() as u64, 7, 95))
        }
    }
}

impl Ph {
    /// The canonical reference key (`+8613800138000`, `+959…`, `95588`).
    pub(crate) fn canonical(self) -> String {
        match self {
            Ph::Cn(n) => format!("+86{n}"),
            Ph::Intl(n) => format!("+{n}"),
            Ph::Svc(n) => n.to_string(),
        }
    }

    /// The digits a carrier writes in 对方号码 (mainland numbers bare, foreign ones with 00).
    pub(crate) fn carrier_form(self) -> String {
        match self {
            Ph::Cn(n) | Ph::Svc(n) => n.to_string(),
            Ph::Intl(n) => format!("00{n}"),
        }
    }

    /// Written the way one of many sources would: mostly bare, sometimes with +86, 0086, dashes,
    /// spaces or full-width digits.
    pub(crate) fn write_mixed(self, out: &mut String, r: u64) {
        match self {
            Ph::Cn(n) => {
                let s = n.to_string();
                match r % 100 {
                    0..=77 => out.push_str(&s),
                    78..=83 => {
                        let _ = write!(out, "{}-{}-{}", &s[..3], &s[3..7], &s[7..]);
                    }
                    84..=88 => {
                        let _ = write!(out, "+86 {} {} {}", &s[..3], &s[3..7], &s[7..]);
                    }
                    89..=92 => {
                        let _ = write!(out, "0086{s}");
                    }
                    93..=96 => {
                        let _ = write!(out, "+86{s}");
                    }
                    97 => {
                        let _ = write!(out, "{} {} {}", &s[..3], &s[3..7], &s[7..]);
                    }
                    _ => push_full_width(out, &s),
                }
            }
            Ph::Intl(n) => {
                let s = n.to_string();
                match r % 10 {
                    0..=5 => {
                        let _ = write!(out, "+{s}");
                    }
                    6..=8 => {
                        let _ = write!(out, "00{s}");
                    }
                    _ => {
                        let cc = if s.starts_with("855") { 3 } else { 2 };
                        let _ = write!(out, "+{} {} {}", &s[..cc], &s[cc..cc + 3], &s[cc + 3..]);
                    }
                }
            }
            Ph::Svc(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }

    pub(crate) fn mixed(self, r: u64) -> String {
        let mut s = String::new();
        self.write_mixed(&mut s, r);
        s
    }

    /// The carriers' IMSI of the SIM behind a mainland number (460 + network code + 10 digits).
    pub(crate) fn imsi(self) -> String {
        let h = match self {
            Ph::Cn(n) | Ph::Intl(n) | Ph::Svc(n) => mix(n),
        };
        let mnc = ["00", "02", "07", "01", "06", "03", "11"][(h % 7) as usize];
        format!("460{mnc}{:010}", (h >> 8) % 10_000_000_000)
    }
}

fn push_full_width(out: &mut String, s: &str) {
    for c in s.chars() {
        let fw = c
            .is_ascii_digit()
            .then(|| char::from_u32(c as u32 + 0xFEE0))
            .flatten()
            .unwrap_or(c);
        out.push(fw);
    }
}

/// Hotlines and service numbers everyone reaches: (number, share of people calling it).
pub(crate) const HOTLINES: [(u64, f64); 14] = [
    (95588, 0.22),         // ICBC
    (95533, 0.16),         // CCB
    (95599, 0.14),         // ABC
    (95566, 0.08),         // BOC
    (95555, 0.07),         // CMB
    (95580, 0.12),         // PSBC
    (10086, 0.30),         // China Mobile
    (10010, 0.15),         // China Unicom
    (10000, 0.10),         // China Telecom
    (12345, 0.09),         // government service line
    (12315, 0.05),         // consumer complaints
    (95188, 0.11),         // Alipay
    (95017, 0.10),         // Tenpay
    (4_008_823_823, 0.06), // a 400 customer line
];

/// The national anti-fraud warning line: calls people at risk (and many victims).
pub(crate) const ANTI_FRAUD_LINE: u64 = 96110;

// ---------------------------------------------------------------------------------------------
// Bank accounts

/// (BIN, total length) of the UnionPay cards the generator issues.
const BINS: [(u64, u32); 14] = [
    (622_202, 19), // ICBC
    (621_226, 19), // ICBC
    (621_700, 19), // CCB
    (623_668, 19), // CCB
    (622_848, 19), // ABC
    (622_845, 19), // ABC
    (621_661, 19), // BOC
    (622_588, 16), // CMB
    (621_483, 16), // CMB
    (621_799, 19), // PSBC
    (622_180, 19), // PSBC
    (622_908, 18), // CIB
    (623_058, 19), // Ping An
    (622_260, 19), // BoCom
];

/// A bank card number (digits, valid Luhn) of account id `id`, unique per id.
pub(crate) fn card_number(id: u64) -> u64 {
    let x = scramble(id, 10, 7);
    let (bin, len) = BINS[(x % BINS.len() as u64) as usize];
    let body_digits = len - 6 - 1;
    let body = scramble(x / BINS.len() as u64, body_digits, 0xCA5D + u64::from(len));
    let payload = bin * 10u64.pow(body_digits) + body;
    let check = luhn_check_digit(&payload.to_string()).map_or(0, u64::from);
    payload * 10 + check
}

/// The bank's name for a card, from its BIN.
pub(crate) fn bank_name(card: u64) -> &'static str {
    let s = card.to_string();
    match s.get(..6) {
        Some("622202" | "621226") => "中国工商银行",
        Some("621700" | "623668") => "中国建设银行",
        Some("622848" | "622845") => "中国农业银行",
        Some("621661") => "中国银行",
        Some("622588" | "621483") => "招商银行",
        Some("621799" | "622180") => "中国邮政储蓄银行",
        Some("622908") => "兴业银行",
        Some("623058") => "平安银行",
        Some("622260") => "交通银行",
        _ => "农村信用合作联社",
    }
}

/// A card written as a source would: mostly bare digits, sometimes grouped by spaces or dashes,
/// or with the apostrophe spreadsheets leave in front.
pub(crate) fn write_card_mixed(out: &mut String, card: u64, r: u64) {
    let s = card.to_string();
    match r % 100 {
        0..=81 => out.push_str(&s),
        82..=91 => group(out, &s, ' '),
        92..=96 => group(out, &s, '-'),
        _ => {
            out.push('\'');
            out.push_str(&s);
        }
    }
}

fn group(out: &mut String, s: &str, sep: char) {
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
}

// ---------------------------------------------------------------------------------------------
// Devices

/// Type allocation codes of handsets common in China (and GOIP gateways).
const TACS: [u64; 16] = [
    86_012_345, 86_891_203, 86_475_604, 86_769_804, 35_391_110, 35_328_811, 86_153_704, 86_441_305,
    86_238_006, 86_701_403, 35_674_108, 86_510_904, 86_958_105, 86_043_507, 35_925_309, 86_627_202,
];
/// TAC of the GOIP / multi-SIM gateways.
const GOIP_TAC: u64 = 86_306_102;

/// The 14-digit TAC + serial of device id `id` (unique per id).
pub(crate) fn imei14(id: u64) -> u64 {
    let x = scramble(id, 10, 11);
    let tac = TACS[(x % TACS.len() as u64) as usize];
    tac * 1_000_000 + scramble(x / TACS.len() as u64, 6, 0x1E1)
}

/// The 14 digits of a GOIP gateway.
pub(crate) fn goip_imei14(k: u64) -> u64 {
    GOIP_TAC * 1_000_000 + scramble(k, 6, 0x6019)
}

/// An IMEI as records write it: 14 digits, 15 with the Luhn digit, or the 16-digit IMEISV.
pub(crate) fn write_imei(out: &mut String, imei14: u64, r: u64) {
    let s = format!("{imei14:014}");
    out.push_str(&s);
    match r % 10 {
        0..=3 => {}
        4..=8 => {
            let d = luhn_check_digit(&s).unwrap_or(0);
            let _ = write!(out, "{d}");
        }
        _ => {
            let _ = write!(out, "{:02}", (imei14 >> 3) % 40 + 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resident IDs

/// The 18-character resident ID of an address code, birth date (YYYYMMDD) and 3-digit sequence.
pub(crate) fn resident_id(county: u32, birth: u32, seq: u16) -> String {
    let first17 = format!("{county:06}{birth:08}{seq:03}");
    let c = resident_id_check_char(&first17).unwrap_or('0');
    format!("{first17}{c}")
}

/// How a registry writes an ID: the 18 characters, sometimes a lower-case `x`, and for people born
/// before 1980 sometimes the old 15-digit form.
pub(crate) fn write_id_mixed(id18: &str, r: u64) -> String {
    match r % 100 {
        0..=1 if &id18[6..8] == "19" && &id18[8..10] < "80" => {
            format!("{}{}", &id18[..6], &id18[8..17])
        }
        2..=5 if id18.ends_with('X') => id18.to_ascii_lowercase(),
        _ => id18.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Names

pub(crate) const SURNAMES: [&str; 60] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蔡", "余", "叶", "赖", "温", "廖", "钟", "邱", "刘", "黎", "魏",
    "吕", "丁", "卢", "蒋", "钟", "谭", "陆", "范", "石", "韦", "覃", "严",
];

const MALE: [&str; 48] = [
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宁", "东", "文", "建", "国", "海", "龙", "林", "峰", "俊", "浩", "宇", "志", "晨",
    "春", "永", "福", "金", "荣", "祥", "德", "昌", "发", "财", "兵", "亮", "凯", "坤", "彬", "聪",
];
const FEMALE: [&str; 40] = [
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "红", "梅", "琴", "云", "莉",
    "兰", "萍", "雪", "倩", "慧", "佳", "欣", "颖", "秀", "英", "凤", "桂", "春", "月", "莹", "洁",
    "晶", "琳", "丹", "璐", "怡", "妍", "菊", "珍",
];

/// Appends a given name: one or two characters by sex.
pub(crate) fn push_given_name(out: &mut String, h: u64, male: bool) {
    let pool: &[&str] = if male { &MALE } else { &FEMALE };
    out.push_str(pool[(h % pool.len() as u64) as usize]);
    if (h >> 20) % 10 >= 3 {
        out.push_str(pool[((h >> 32) % pool.len() as u64) as usize]);
    }
}

// ---------------------------------------------------------------------------------------------
// Small distributions

/// A log-normal draw with the given median and shape (Box–Muller).
pub(crate) fn lognormal<R: Rng>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen_range(1e-12..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// An integer in `lo..=hi` biased towards `lo` (a truncated geometric-like tail).
pub(crate) fn skewed<R: Rng>(rng: &mut R, lo: u32, hi: u32) -> u32 {
    let u: f64 = rng.gen_range(0.0..1.0);
    let span = f64::from(hi - lo + 1);
    lo + ((u * u * span) as u32).min(hi - lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ident;

    #[test]
    fn scramble_is_a_bijection_on_small_spaces() {
        for digits in [2u32, 3, 4] {
            let m = 10u64.pow(digits);
            let mut seen = vec![false; m as usize];
            for x in 0..m {
                let y = scramble(x, digits, 5);
                assert!(y < m);
                assert!(!seen[y as usize]);
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn identifiers_parse_back() {
        for id in 0..2000u64 {
            let ph = cn_mobile(id);
            let canon = ph.canonical();
            for r in 0..100 {
                assert_eq!(
                    ident::phone(&ph.mixed(r)).unwrap().key,
                    canon,
                    "{}",
                    ph.mixed(r)
                );
            }
            for c in [95u16, 66, 855] {
                let f = foreign_mobile(id, c);
                for r in 0..10 {
                    let n = ident::phone(&f.mixed(r)).unwrap();
                    assert_eq!(n.key, f.canonical());
                    assert!(n.key.starts_with(&format!("+{c}")), "{}", n.key);
                }
            }
            let card = card_number(id);
            assert!(ident::luhn_valid(&card.to_string()));
            assert!(card.to_string().starts_with("62"));
            for r in 0..100 {
                let mut s = String::new();
                write_card_mixed(&mut s, card, r);
                let n = ident::bank_account(&s).unwrap();
                assert_eq!(n.key, card.to_string());
                assert!(n.flags.0 == 0);
            }
            let im = imei14(id);
            for r in 0..10 {
                let mut s = String::new();
                write_imei(&mut s, im, r);
                let n = ident::imei(&s).unwrap();
                assert_eq!(n.key, format!("{im:014}"));
                assert!(n.flags.0 == 0, "{s}");
            }
        }
        for (n, _) in HOTLINES {
            let k = ident::phone(&n.to_string()).unwrap();
            assert!(k.flags.contains(crate::model::Flags::SERVICE), "{n}");
        }
        let id = resident_id(360_730, 19_750_312, 123);
        assert_eq!(ident::resident_id(&id).unwrap().flags.0, 0);
        for r in 0..100 {
            assert_eq!(ident::resident_id(&write_id_mixed(&id, r)).unwrap().key, id);
        }
    }

    #[test]
    fn identifiers_are_unique() {
        let mut phones = std::collections::HashSet::new();
        let mut cards = std::collections::HashSet::new();
        let mut imeis = std::collections::HashSet::new();
        for id in 0..200_000u64 {
            assert!(phones.insert(cn_mobile(id)));
            assert!(cards.insert(card_number(id)));
            assert!(imeis.insert(imei14(id)));
        }
    }
}
