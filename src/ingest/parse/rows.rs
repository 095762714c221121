//! The CSV layouts: one row to one [`Record`], or a [`Bad`] with its reason class.

use super::header::{Col, ColumnMap};
use super::value::{self, Direction};
use super::{Bad, Layout, Parsed};
use crate::ingest::record::{Call, Link, Person, Record, Transfer};
use crate::model::ident::{self, Normalized};
use crate::model::time::{parse_amount, parse_time};
use crate::model::{EntityKind, LinkKind, Roles, Status, Timestamp};

/// One row's fields, looked up by canonical column.
pub(crate) struct Row<'a> {
    pub base: &'a str,
    pub ranges: &'a [(u32, u32)],
    pub map: &'a ColumnMap,
}

impl<'a> Row<'a> {
    /// The trimmed field of a column; `None` when the column is absent or the field empty.
    pub(crate) fn get(&self, c: Col) -> Option<&'a str> {
        let i = usize::from(self.map.index[c as usize]?);
        let &(a, b) = self.ranges.get(i)?;
        let s = value::trim(self.base.get(a as usize..b as usize)?);
        (!s.is_empty()).then_some(s)
    }

    fn req(&self, c: Col, what: &str) -> Result<&'a str, Bad> {
        self.get(c)
            .ok_or_else(|| Bad::new("missing_field", format!("{what} is empty")))
    }

    fn owned(&self, c: Col) -> Option<String> {
        self.get(c).map(str::to_string)
    }
}

pub(crate) fn parse(layout: Layout, row: &Row<'_>) -> Result<Parsed, Bad> {
    let mut notes = Vec::new();
    let record = match layout {
        Layout::Calls => calls(row, &mut notes)?,
        Layout::CarrierCalls => carrier_calls(row, &mut notes)?,
        Layout::Transfers => transfers(row)?,
        Layout::BankStatement => bank_statement(row)?,
        Layout::Persons => persons(row, &mut notes)?,
        Layout::Links => links(row)?,
        Layout::FtmJsonl => return Err(Bad::new("bad_json", "not a CSV layout")),
    };
    Ok(Parsed {
        record,
        label: row.owned(Col::Source),
        notes,
    })
}

type Notes = Vec<(&'static str, String)>;

pub(crate) fn phone(raw: &str, what: &str) -> Result<Normalized, Bad> {
    value::phone(raw).map_err(|e| Bad::new("bad_phone", format!("{what}: {e}")))
}

pub(crate) fn account(raw: &str, what: &str) -> Result<Normalized, Bad> {
    value::bank_account(raw).map_err(|e| Bad::new("bad_account", format!("{what}: {e}")))
}

pub(crate) fn time(raw: &str) -> Result<Timestamp, Bad> {
    if let Some(t) = value::fast_time(raw) {
        return Ok(t);
    }
    parse_time(raw).map_err(|e| Bad::new("bad_time", e.to_string()))
}

fn opt_time(raw: Option<&str>) -> Result<Option<Timestamp>, Bad> {
    raw.map(time).transpose()
}

fn duration(row: &Row<'_>) -> Result<i64, Bad> {
    match row.get(Col::Duration) {
        None => Ok(0),
        Some(d) => value::duration(d).ok_or_else(|| {
            Bad::new(
                "bad_duration",
                format!("duration {d:?} is not a non-negative number of seconds"),
            )
        }),
    }
}

fn device(row: &Row<'_>, notes: &mut Notes) -> Option<Normalized> {
    let (imei, note) = value::optional_imei(row.get(Col::Imei));
    if let Some(n) = note {
        notes.push(("bad_imei", n));
    }
    imei
}

fn imsi(row: &Row<'_>, notes: &mut Notes) -> Option<String> {
    let (imsi, note) = value::optional_imsi(row.get(Col::Imsi));
    if let Some(n) = note {
        notes.push(("bad_imsi", n));
    }
    imsi
}

fn calls(row: &Row<'_>, notes: &mut Notes) -> Result<Record, Bad> {
    let caller = phone(row.req(Col::Caller, "caller")?, "caller")?;
    let callee = phone(row.req(Col::Callee, "callee")?, "callee")?;
    let time = time(row.req(Col::StartTime, "start_time")?)?;
    let duration_s = duration(row)?;
    Ok(Record::Call(Call {
        caller,
        callee,
        time,
        duration_s,
        sms: false,
        imei: device(row, notes),
        device_side_caller: true,
        cell: row.owned(Col::Cell),
        imsi: imsi(row, notes),
    }))
}

fn carrier_calls(row: &Row<'_>, notes: &mut Notes) -> Result<Record, Bad> {
    let own = phone(row.req(Col::ThisNumber, "本机号码")?, "本机号码")?;
    let other = phone(row.req(Col::OtherNumber, "对方号码")?, "对方号码")?;
    let raw_type = row.req(Col::CallType, "呼叫类型")?;
    let ct = value::call_type(raw_type).ok_or_else(|| {
        Bad::new(
            "bad_call_type",
            format!("呼叫类型 {raw_type:?} is none of 主叫/被叫/呼转/短信发/短信收"),
        )
    })?;
    let time = time(row.req(Col::StartTime, "通话起始时间")?)?;
    let duration_s = if ct.sms { 0 } else { duration(row)? };
    let cell = match (row.get(Col::Lac), row.get(Col::Ci)) {
        (Some(lac), Some(ci)) => Some(format!("{lac}-{ci}")),
        (None, Some(ci)) => Some(ci.to_string()),
        _ => row.owned(Col::Cell),
    };
    let (caller, callee) = if ct.outgoing {
        (own, other)
    } else {
        (other, own)
    };
    Ok(Record::Call(Call {
        caller,
        callee,
        time,
        duration_s,
        sms: ct.sms,
        imei: device(row, notes),
        device_side_caller: ct.outgoing,
        cell,
        imsi: imsi(row, notes),
    }))
}

fn positive_amount(raw: &str) -> Result<i64, Bad> {
    let fen = parse_amount(raw).map_err(|e| Bad::new("bad_amount", e.to_string()))?;
    if fen <= 0 {
        return Err(Bad::new(
            "bad_amount",
            format!("amount {raw:?} is not positive"),
        ));
    }
    Ok(fen)
}

fn transfers(row: &Row<'_>) -> Result<Record, Bad> {
    let from = account(row.req(Col::FromAccount, "from_account")?, "from_account")?;
    let to = account(row.req(Col::ToAccount, "to_account")?, "to_account")?;
    let amount = positive_amount(row.req(Col::Amount, "amount")?)?;
    let time = time(row.req(Col::Time, "time")?)?;
    Ok(Record::Transfer(Transfer {
        from,
        to,
        amount,
        time,
        tx_id: row.owned(Col::TxId),
        channel: row.owned(Col::Channel),
        from_name: row.owned(Col::FromName),
        to_name: row.owned(Col::ToName),
        memo: row.owned(Col::Memo),
        ip: value::optional_ip(row.get(Col::Ip)),
        mac: value::optional_mac(row.get(Col::Mac)),
    }))
}

/// The key of cash as a counterparty (ATM and counter deposits and withdrawals).
pub(crate) const CASH: &str = "现金";

fn is_cash(row: &Row<'_>) -> bool {
    let flag = row.get(Col::CashFlag).unwrap_or("");
    let memo = row.get(Col::Memo).unwrap_or("");
    flag.contains('现') && !flag.contains('转')
        || flag.eq_ignore_ascii_case("cash")
        || ["ATM", "atm", "取现", "存现", "现金", "取款", "存款"]
            .iter()
            .any(|w| memo.contains(w))
}

fn bank_statement(row: &Row<'_>) -> Result<Record, Bad> {
    let (own_raw, what) = match row.get(Col::Card) {
        Some(c) => (c, "交易卡号"),
        None => (row.req(Col::AccountNo, "交易卡号/交易账号")?, "交易账号"),
    };
    let own = account(own_raw, what)?;
    let time = time(row.req(Col::Time, "交易时间")?)?;
    let amount_raw = row.req(Col::Amount, "交易金额")?;
    let signed = parse_amount(amount_raw).map_err(|e| Bad::new("bad_amount", e.to_string()))?;
    if signed == 0 {
        return Err(Bad::new("bad_amount", "amount is zero"));
    }
    let dir = match row.get(Col::Flag).filter(|f| *f != "-") {
        Some(f) => value::direction(f).ok_or_else(|| {
            Bad::new(
                "bad_flag",
                format!("收付标志 {f:?} is none of 进/出, 收/付, 贷/借, C/D"),
            )
        })?,
        None if signed < 0 => Direction::Out,
        None => Direction::In,
    };
    let counter = match row.get(Col::CounterAccount) {
        Some(c) => match value::bank_account(c) {
            Ok(n) => n,
            // A platform's clearing account written by name (支付宝（中国）网络技术有限公司).
            Err(_) if !c.is_ascii() => ident::normalize(EntityKind::Org, c)
                .map_err(|e| Bad::new("bad_account", format!("交易对手账卡号: {e}")))?,
            Err(e) => return Err(Bad::new("bad_account", format!("交易对手账卡号: {e}"))),
        },
        None => match row.get(Col::CounterName) {
            Some(name) => ident::normalize(EntityKind::Org, name)
                .map_err(|e| Bad::new("bad_account", format!("对手户名: {e}")))?,
            None if is_cash(row) => Normalized {
                kind: EntityKind::Org,
                key: CASH.to_string(),
                flags: Default::default(),
            },
            None => {
                return Err(Bad::new(
                    "missing_field",
                    "no counterparty: 交易对手账卡号 and 对手户名 are empty and it is not cash",
                ))
            }
        },
    };
    let own_name = row.owned(Col::Holder);
    let counter_name = row.owned(Col::CounterName);
    let (from, to, from_name, to_name) = match dir {
        Direction::In => (counter, own, counter_name, own_name),
        Direction::Out => (own, counter, own_name, counter_name),
    };
    Ok(Record::Transfer(Transfer {
        from,
        to,
        amount: signed.abs(),
        time,
        tx_id: row.owned(Col::TxId),
        channel: None,
        from_name,
        to_name,
        memo: row.owned(Col::Memo),
        ip: value::optional_ip(row.get(Col::Ip)),
        mac: value::optional_mac(row.get(Col::Mac)),
    }))
}

/// Parses `returned:2024-05-01` / `已回流：2024-05-01`.
fn status(item: &str, notes: &mut Notes) -> Result<Option<(Status, Timestamp)>, Bad> {
    let (name, date) = match item.split_once([':', '：']) {
        Some((n, d)) => (n.trim(), Some(d.trim()).filter(|d| !d.is_empty())),
        None => (item.trim(), None),
    };
    let st = Status::parse(name).ok_or_else(|| {
        Bad::new(
            "bad_status",
            format!("unknown status {name:?} (abroad, returned, persuaded_to_return, detained, prosecuted)"),
        )
    })?;
    match date {
        Some(d) => Ok(Some((st, time(d)?))),
        None => {
            notes.push((
                "status_without_date",
                format!("status {name:?} has no date; dropped"),
            ));
            Ok(None)
        }
    }
}

fn persons(row: &Row<'_>, notes: &mut Notes) -> Result<Record, Bad> {
    let key_raw = row.get(Col::PersonKey);
    let id_raw = row.get(Col::IdNumber);
    let case_key = key_raw
        .map(|k| ident::normalize(EntityKind::Person, k))
        .transpose()
        .map_err(|e| Bad::new("bad_ref", format!("person_key: {e}")))?;
    let id = match id_raw.map(ident::resident_id) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) if case_key.is_some() => {
            notes.push(("bad_id", format!("id_number: {e}; kept under person_key")));
            None
        }
        Some(Err(e)) => return Err(Bad::new("bad_id", format!("id_number: {e}"))),
    };
    let (key, aliases) = match (id, case_key) {
        (Some(id), Some(k)) if k != id => (id, vec![k]),
        (Some(id), _) => (id, Vec::new()),
        (None, Some(k)) => (k, Vec::new()),
        (None, None) => {
            return Err(Bad::new(
                "missing_field",
                "person_key and id_number are both empty",
            ))
        }
    };
    let mut roles = Roles::default();
    for r in value::list(row.get(Col::Roles)) {
        if !roles.insert_name(r) {
            notes.push(("unknown_role", format!("unknown role {r:?} dropped")));
        }
    }
    let mut statuses = Vec::new();
    for s in value::list(row.get(Col::Status)) {
        statuses.extend(status(s, notes)?);
    }
    let mut owns = Vec::new();
    for p in value::list(row.get(Col::Phones)) {
        owns.push(phone(p, "phones")?);
    }
    for a in value::list(row.get(Col::Accounts)) {
        owns.push(account(a, "accounts")?);
    }
    for d in value::list(row.get(Col::Devices)) {
        owns.push(value::imei(d).map_err(|e| Bad::new("bad_imei", format!("devices: {e}")))?);
    }
    for w in value::list(row.get(Col::Wallets)) {
        owns.push(ident::wallet(w).map_err(|e| Bad::new("bad_wallet", format!("wallets: {e}")))?);
    }
    Ok(Record::Person(Person {
        key,
        aliases,
        name: row.owned(Col::Name),
        roles,
        statuses,
        owns,
        notes: row.owned(Col::Notes),
    }))
}

/// A link kind as written, or the built-in kind's canonical name (`registered_to` is `owns`).
pub(crate) fn link_kind(raw: &str) -> Result<String, Bad> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 64 || raw.chars().any(char::is_control) {
        return Err(Bad::new(
            "bad_kind",
            format!("link kind {raw:?} is empty, too long or has control characters"),
        ));
    }
    Ok(
        match LinkKind::builtin(raw).and_then(LinkKind::builtin_name) {
            Some(name) => name.to_string(),
            None => raw.to_string(),
        },
    )
}

pub(crate) fn reference(raw: &str, what: &str) -> Result<Normalized, Bad> {
    ident::parse_ref(raw).map_err(|e| Bad::new("bad_ref", format!("{what}: {e}")))
}

fn links(row: &Row<'_>) -> Result<Record, Bad> {
    let from = reference(row.req(Col::From, "from")?, "from")?;
    let to = reference(row.req(Col::To, "to")?, "to")?;
    let kind = link_kind(row.req(Col::Kind, "kind")?)?;
    let amount = row
        .get(Col::Amount)
        .map(|a| parse_amount(a).map_err(|e| Bad::new("bad_amount", e.to_string())))
        .transpose()?;
    Ok(Record::Link(Link {
        from,
        to,
        kind,
        time: opt_time(row.get(Col::Time))?,
        amount,
        note: row.owned(Col::Note),
    }))
}
