//! The records every parser produces and the store writer consumes: one type per kind of fact, with
//! identifiers already normalised by `model::ident` and times and amounts already exact.

use crate::model::ident::Normalized;
use crate::model::{Fen, Roles, Status, Timestamp};

/// Where a record came from: the file, the 1-based line of its row, and the row's own `source` column
/// (the carrier, bank or debrief it names) when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: std::sync::Arc<str>,
    pub line: u64,
    pub label: Option<String>,
}

/// A call or a text message between two numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub caller: Normalized,
    pub callee: Normalized,
    pub time: Timestamp,
    /// Seconds; 0 for an unanswered call or a message.
    pub duration_s: i64,
    pub sms: bool,
    /// The handset the record's own number (the number whose record this is) was in.
    pub imei: Option<Normalized>,
    /// Which party `imei` and `cell` belong to: true for the caller.
    pub device_side_caller: bool,
    pub cell: Option<String>,
    pub imsi: Option<String>,
}

/// A transfer of money between two accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub from: Normalized,
    pub to: Normalized,
    /// Always positive.
    pub amount: Fen,
    pub time: Timestamp,
    pub tx_id: Option<String>,
    pub channel: Option<String>,
    pub from_name: Option<String>,
    pub to_name: Option<String>,
    /// Summary / purpose (摘要).
    pub memo: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
}

impl Call {
    /// A voice call from `caller` to `callee` with nothing else known (no handset, cell or IMSI);
    /// the other fields can be set with struct update syntax.
    pub fn between(
        caller: Normalized,
        callee: Normalized,
        time: Timestamp,
        duration_s: i64,
    ) -> Call {
        Call {
            caller,
            callee,
            time,
            duration_s,
            sms: false,
            imei: None,
            device_side_caller: true,
            cell: None,
            imsi: None,
        }
    }
}

impl Transfer {
    /// A transfer with nothing known beyond its accounts, amount and time.
    pub fn between(from: Normalized, to: Normalized, amount: Fen, time: Timestamp) -> Transfer {
        Transfer {
            from,
            to,
            amount,
            time,
            tx_id: None,
            channel: None,
            from_name: None,
            to_name: None,
            memo: None,
            ip: None,
            mac: None,
        }
    }
}

/// What a registry (real-name registration, household, border, returnee lists) says about a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// The canonical person: the resident ID when known, else the case's own person key.
    pub key: Normalized,
    /// Other keys the same person goes by (the case's person key when the resident ID is the key).
    pub aliases: Vec<Normalized>,
    pub name: Option<String>,
    pub roles: Roles,
    pub statuses: Vec<(Status, Timestamp)>,
    /// Phones, accounts, devices and wallets registered to the person (real-name registration).
    pub owns: Vec<Normalized>,
    pub notes: Option<String>,
}

/// An entity described on its own (FollowTheMoney BankAccount, CryptoWallet, Organization…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub id: Normalized,
    pub label: Option<String>,
    pub notes: Option<String>,
}

/// Any other link: debriefs, border records, FtM Ownership/Family/Associate/Membership/UnknownLink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub from: Normalized,
    pub to: Normalized,
    /// A built-in kind name (`recruited`, `relative`…) or a free-form kind from a debrief.
    pub kind: String,
    pub time: Option<Timestamp>,
    pub amount: Option<Fen>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Call(Call),
    Transfer(Transfer),
    Person(Person),
    Entity(Entity),
    Link(Link),
}

/// A row that could not be read: kept aside with its file, line and reason, never silently dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    /// A short, stable reason class for the summary (`bad_time`, `bad_amount`, `bad_phone`,
    /// `missing_field`, `bad_utf8`, `truncated`, `bad_json`…).
    pub reason: &'static str,
    /// The human explanation.
    pub detail: String,
    /// The raw row, as far as it could be read.
    pub raw: String,
}
