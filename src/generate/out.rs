//! Records as events, and how each file layout writes them: the generic call and transfer files, the
//! carriers' per-number call records and the banks' per-account statements.
//!
//! An event touching a number or account the investigators requested goes to that party's own
//! file (both parties' files when both were requested), and sometimes to the generic file as well,
//! as overlapping exports do.

use super::clock;
use super::ids::{self, mix, mix2, Ph};
use super::population::{Holder, Population};
use crate::model::time::{BeijingTime, Yuan};
use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt::Write as _;

/// Where a call record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// The carriers' records.
    Carrier,
    /// Extracted from a handset seized at the hand-over (its 14-digit IMEI).
    Seized(u64),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Call {
    pub a: Ph,
    pub b: Ph,
    pub t: i64,
    pub dur: u32,
    /// 14-digit IMEI of the caller's handset (0 unknown).
    pub imei_a: u64,
    /// (LAC, CI) of the caller's cell ((0, 0) unknown).
    pub cell_a: (u32, u32),
    pub imei_b: u64,
    pub cell_b: (u32, u32),
    pub src: Src,
    pub sms: bool,
}

impl Call {
    pub fn new(a: Ph, b: Ph, t: i64, dur: u32) -> Call {
        Call {
            a,
            b,
            t,
            dur,
            imei_a: 0,
            cell_a: (0, 0),
            imei_b: 0,
            cell_b: (0, 0),
            src: Src::Carrier,
            sms: false,
        }
    }

    /// The same call seen from the other end: caller and callee (with their handsets and cells) swapped.
    pub fn swap_ends(&mut self) {
        std::mem::swap(&mut self.a, &mut self.b);
        std::mem::swap(&mut self.imei_a, &mut self.imei_b);
        std::mem::swap(&mut self.cell_a, &mut self.cell_b);
    }
}

pub(crate) const MEMOS: [&str; 16] = [
    "转账",
    "代发工资",
    "消费",
    "提现",
    "网银转账",
    "手机银行转账",
    "快捷支付",
    "还款",
    "生活费",
    "红包",
    "惠农补贴",
    "货款",
    "充值",
    "往来款",
    "借款",
    "跨行转出",
];
pub(crate) mod memo {
    pub const TRANSFER: u8 = 0;
    pub const WAGES: u8 = 1;
    pub const WITHDRAW: u8 = 3;
    pub const ONLINE: u8 = 4;
    pub const QUICKPAY: u8 = 6;
    pub const LIVING: u8 = 8;
    pub const GIFT: u8 = 9;
    pub const SUBSIDY: u8 = 10;
    pub const GOODS: u8 = 11;
    pub const TOPUP: u8 = 12;
    pub const DEALINGS: u8 = 13;
    pub const LOAN: u8 = 14;
}

const CHANNELS: [&str; 7] = [
    "手机银行",
    "网上银行",
    "柜面",
    "ATM",
    "快捷支付",
    "批量代发",
    "第三方支付",
];
pub(crate) mod channel {
    pub const MOBILE: u8 = 0;
    pub const ONLINE: u8 = 1;
    pub const COUNTER: u8 = 2;
    pub const BATCH: u8 = 5;
    pub const THIRD_PARTY: u8 = 6;
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Tx {
    pub from: u64,
    pub from_h: Holder,
    pub to: u64,
    pub to_h: Holder,
    /// Fen, positive.
    pub amount: i64,
    pub t: i64,
    pub id: u64,
    pub channel: u8,
    pub memo: u8,
    /// IPv4 of the payer's session (0 unknown).
    pub ip: u32,
    /// MAC of the payer's machine (0 unknown).
    pub mac: u64,
}

/// The requested numbers and accounts, and the people whose domestic phones are dark while abroad.
pub(crate) struct Ctx<'a> {
    pub pop: &'a Population,
    pub req_phones: &'a FxHashSet<Ph>,
    pub req_accounts: &'a FxHashSet<u64>,
}

/// Rows of the generic files, and events for the per-party files.
#[derive(Default)]
pub(crate) struct Out {
    pub calls: String,
    pub n_calls: u64,
    pub tx: String,
    pub n_tx: u64,
    pub req_calls: Vec<Call>,
    pub req_tx: Vec<Tx>,
}

fn carrier_of(p: Ph) -> &'static str {
    match p {
        Ph::Cn(n) => ["中国移动话单", "中国联通话单", "中国电信话单"][(mix(n) % 3) as usize],
        _ => "国际来话记录",
    }
}

impl Out {
    pub fn call(&mut self, ctx: &Ctx<'_>, c: Call) {
        let requested = ctx.req_phones.contains(&c.a) || ctx.req_phones.contains(&c.b);
        let h = mix2(
            c.t as u64,
            match c.a {
                Ph::Cn(n) | Ph::Intl(n) | Ph::Svc(n) => n,
            },
        );
        if requested {
            self.req_calls.push(c);
            if h % 100 >= 20 || c.sms {
                return;
            }
        }
        if c.sms {
            return;
        }
        let s = &mut self.calls;
        c.a.write_mixed(s, h >> 8);
        s.push(',');
        c.b.write_mixed(s, h >> 16);
        let _ = write!(s, ",{},{},", BeijingTime(c.t), c.dur);
        if c.imei_a != 0 && (h >> 24) % 100 < 85 {
            ids::write_imei(s, c.imei_a, h >> 32);
        }
        s.push(',');
        if c.cell_a != (0, 0) && (h >> 40) % 100 < 75 {
            let _ = write!(s, "{}-{}", c.cell_a.0, c.cell_a.1);
        }
        s.push(',');
        match c.src {
            Src::Carrier => s.push_str(carrier_of(match c.b {
                Ph::Cn(_) => c.b,
                _ => c.a,
            })),
            Src::Seized(imei) => {
                let _ = write!(s, "seized_phone:{imei:014}");
            }
        }
        s.push('\n');
        self.n_calls += 1;
    }

    pub fn tx(&mut self, ctx: &Ctx<'_>, t: Tx) {
        let requested = ctx.req_accounts.contains(&t.from) || ctx.req_accounts.contains(&t.to);
        let h = mix2(t.id, t.t as u64);
        if requested {
            self.req_tx.push(t);
            if h % 100 >= 15 {
                return;
            }
        }
        let s = &mut self.tx;
        ids::write_card_mixed(s, t.from, h >> 4);
        s.push(',');
        ids::write_card_mixed(s, t.to, h >> 12);
        let _ = write!(
            s,
            ",{},{},{:020},{},",
            Yuan(t.amount),
            BeijingTime(t.t),
            t.id,
            CHANNELS[t.channel as usize % CHANNELS.len()]
        );
        if (h >> 20) % 100 < 90 {
            ctx.pop.push_holder_name(s, t.from_h);
        }
        s.push(',');
        if (h >> 28) % 100 < 85 {
            ctx.pop.push_holder_name(s, t.to_h);
        }
        s.push(',');
        s.push_str(ids::bank_name(t.from));
        s.push('\n');
        self.n_tx += 1;
    }

    pub fn append(&mut self, other: Out) {
        self.n_calls += other.n_calls;
        self.n_tx += other.n_tx;
        self.req_calls.extend(other.req_calls);
        self.req_tx.extend(other.req_tx);
    }
}

pub(crate) const CALLS_HEADER: &str = "caller,callee,start_time,duration_s,imei,cell_id,source\n";
pub(crate) const TRANSFERS_HEADER: &str =
    "from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source\n";
pub(crate) const CARRIER_HEADER: &str =
    "本机号码,对方号码,呼叫类型,通话起始时间,通话时长,IMEI,IMSI,LAC,CI\n";
pub(crate) const BANK_HEADER: &str =
    "交易卡号,交易户名,交易时间,交易金额,收付标志,交易对手账卡号,对手户名,交易流水号,摘要说明,IP地址,MAC地址\n";

/// One carrier per-number record file: every call and message of `own`, in time order.
pub(crate) fn carrier_file(own: Ph, calls: &[Call]) -> (String, u64) {
    let mut rows: Vec<&Call> = calls.iter().filter(|c| c.a == own || c.b == own).collect();
    rows.sort_by_key(|c| (c.t, c.a, c.b));
    let mut s = String::from(CARRIER_HEADER);
    let mut n = 0;
    for c in rows {
        let mo = c.a == own;
        let (other, imei, cell) = if mo {
            (c.b, c.imei_a, c.cell_a)
        } else {
            (c.a, c.imei_b, c.cell_b)
        };
        let kind = match (mo, c.sms) {
            (true, false) => "主叫",
            (false, false) => "被叫",
            (true, true) => "短信发",
            (false, true) => "短信收",
        };
        let _ = write!(
            s,
            "{},{},{},{},{},",
            own.carrier_form(),
            other.carrier_form(),
            kind,
            clock::fmt(c.t),
            c.dur
        );
        if imei != 0 {
            ids::write_imei(&mut s, imei, mix(c.t as u64) >> 3);
        }
        let _ = write!(s, ",{},", own.imsi());
        if cell != (0, 0) {
            let _ = write!(s, "{},{}", cell.0, cell.1);
        } else {
            s.push(',');
        }
        s.push('\n');
        n += 1;
    }
    (s, n)
}

fn write_ip(s: &mut String, ip: u32) {
    let _ = write!(
        s,
        "{}.{}.{}.{}",
        ip >> 24,
        (ip >> 16) & 255,
        (ip >> 8) & 255,
        ip & 255
    );
}

fn write_mac(s: &mut String, mac: u64) {
    for i in (0..6).rev() {
        let _ = write!(s, "{:02X}", (mac >> (i * 8)) & 255);
        if i > 0 {
            s.push('-');
        }
    }
}

/// One bank statement (交易明细) of account `own`: every transfer in or out, in time order.
pub(crate) fn bank_file(pop: &Population, own: u64, txs: &[Tx]) -> (String, u64) {
    let mut rows: Vec<&Tx> = txs
        .iter()
        .filter(|t| t.from == own || t.to == own)
        .collect();
    rows.sort_by_key(|t| (t.t, t.id));
    let mut s = String::from(BANK_HEADER);
    let mut n = 0;
    let mut names: FxHashMap<Holder, String> = FxHashMap::default();
    let mut name = |h: Holder| names.entry(h).or_insert_with(|| pop.holder_name(h)).clone();
    for t in rows {
        let out = t.from == own;
        let (own_h, other, other_h) = if out {
            (t.from_h, t.to, t.to_h)
        } else {
            (t.to_h, t.from, t.from_h)
        };
        let h = mix2(t.id, own);
        let _ = write!(
            s,
            "{},{},{},{},{},",
            own,
            name(own_h),
            clock::fmt(t.t),
            Yuan(t.amount),
            if out { "出" } else { "进" }
        );
        ids::write_card_mixed(&mut s, other, h);
        s.push(',');
        let clearing = matches!(other_h, Holder::Org(o) if pop.orgs[o as usize].kind == super::population::OrgKind::Clearing);
        if !(clearing && h % 3 == 0) && (h >> 8) % 100 < 92 {
            s.push_str(&name(other_h));
        }
        let _ = write!(s, ",{:020},{},", t.id, MEMOS[t.memo as usize % MEMOS.len()]);
        if out && t.ip != 0 {
            write_ip(&mut s, t.ip);
        } else if (h >> 16) % 4 == 0 {
            s.push_str("0.0.0.0");
        }
        s.push(',');
        if out && t.mac != 0 {
            write_mac(&mut s, t.mac);
        }
        s.push('\n');
        n += 1;
    }
    (s, n)
}
