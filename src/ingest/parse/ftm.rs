//! FollowTheMoney JSON lines (the interchange format of Aleph and OpenSanctions).
//!
//! Each line is `{"id": …, "schema": …, "properties": {name: [values]}}`. Things (Person,
//! BankAccount, CryptoWallet, Organization/Company/LegalEntity) become records and enter a per-file
//! map from FtM id to canonical key; interval schemata (Payment, Ownership, Family, Associate,
//! Membership, Employment, Directorship, UnknownLink) refer to those ids and are resolved through the
//! map. A link whose ids are not yet known waits until the end of the file (exports do not promise
//! that things precede the links between them); ids still unknown then are rejected (`bad_ref`).

use rustc_hash::FxHashMap;
use serde_json::Value;
use std::sync::Arc;

use super::rows::{account, link_kind, phone};
use super::{Bad, Chunk};
use crate::ingest::record::{Entity, Link, Origin, Person, Record, Reject, Transfer};
use crate::model::ident::{self, Normalized};
use crate::model::time::{parse_amount, parse_time};
use crate::model::{EntityKind, Fen, Roles, Timestamp};

/// One parsed line, before ids are resolved.
pub(crate) enum Item {
    Thing {
        id: String,
        key: Normalized,
        record: Record,
    },
    Link(PendingLink),
}

pub(crate) struct PendingLink {
    from_id: String,
    to_id: String,
    kind: String,
    /// A Payment: becomes a Transfer when both ends are accounts and it has an amount and a date.
    payment: bool,
    time: Option<Timestamp>,
    amount: Option<Fen>,
    tx_id: Option<String>,
    note: Option<String>,
}

/// The per-file map from FtM id to canonical key, and the links waiting for ids.
#[derive(Default)]
pub(crate) struct Resolver {
    ids: FxHashMap<String, Normalized>,
    waiting: Vec<(u64, String, PendingLink)>,
}

fn props(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    v.get("properties").and_then(Value::as_object)
}

/// All string values of a property (FtM values are lists; single strings and numbers are accepted).
fn values<'a>(v: &'a Value, name: &str) -> Vec<String> {
    let Some(p) = props(v).and_then(|p| p.get(name)) else {
        return Vec::new();
    };
    let one = |x: &'a Value| -> Option<String> {
        match x {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            // A nested entity: its id.
            Value::Object(_) => x.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    };
    match p {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        x => one(x).into_iter().collect(),
    }
}

fn first(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| values(v, n).into_iter().next())
}

fn req(v: &Value, names: &[&str], schema: &str) -> Result<String, Bad> {
    first(v, names).ok_or_else(|| {
        Bad::new(
            "missing_field",
            format!("{schema} has no {}", names.join("/")),
        )
    })
}

/// Parses one line (runs on rayon threads).
pub(crate) fn parse_line(text: &str) -> Result<Item, Bad> {
    let v: Value = serde_json::from_str(text).map_err(|e| Bad::new("bad_json", e.to_string()))?;
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Bad::new("bad_json", "no \"id\""))?
        .to_string();
    let schema = v
        .get("schema")
        .and_then(Value::as_str)
        .ok_or_else(|| Bad::new("bad_json", "no \"schema\""))?;
    let thing = |key: Normalized, record: Record| {
        Ok(Item::Thing {
            id: id.clone(),
            key,
            record,
        })
    };
    let link =
        |from: &[&str], to: &[&str], kind: &str, note: Option<String>| -> Result<Item, Bad> {
            Ok(Item::Link(PendingLink {
                from_id: req(&v, from, schema)?,
                to_id: req(&v, to, schema)?,
                kind: link_kind(kind)?,
                payment: false,
                time: first(&v, &["startDate", "date"])
                    .map(|t| parse_time(&t).map_err(|e| Bad::new("bad_time", e.to_string())))
                    .transpose()?,
                amount: None,
                tx_id: None,
                note,
            }))
        };
    match schema {
        "Person" => {
            let key = match first(&v, &["idNumber", "nationalId"]).map(|n| ident::resident_id(&n)) {
                Some(Ok(n)) => n,
                Some(Err(e)) => return Err(Bad::new("bad_id", format!("idNumber: {e}"))),
                None => ident::normalize(EntityKind::Person, &id)
                    .map_err(|e| Bad::new("bad_ref", format!("id: {e}")))?,
            };
            let mut owns = Vec::new();
            for p in values(&v, "phone") {
                owns.push(phone(&p, "phone")?);
            }
            let record = Record::Person(Person {
                key: key.clone(),
                aliases: Vec::new(),
                name: first(&v, &["name"]),
                roles: Roles::default(),
                statuses: Vec::new(),
                owns,
                notes: first(&v, &["notes", "summary", "description"]),
            });
            thing(key, record)
        }
        "BankAccount" => {
            let number = req(&v, &["accountNumber", "iban", "bankAccountNumber"], schema)?;
            let key = account(&number, "accountNumber")?;
            let record = Record::Entity(Entity {
                id: key.clone(),
                label: first(&v, &["bankName", "name"]),
                notes: first(&v, &["notes", "summary"]),
            });
            thing(key, record)
        }
        "CryptoWallet" => {
            let address = req(&v, &["publicKey", "address", "accountId"], schema)?;
            let key = ident::wallet(&address)
                .map_err(|e| Bad::new("bad_wallet", format!("publicKey: {e}")))?;
            let record = Record::Entity(Entity {
                id: key.clone(),
                label: first(&v, &["name", "currency"]),
                notes: first(&v, &["notes", "summary"]),
            });
            thing(key, record)
        }
        "Organization" | "Company" | "LegalEntity" | "PublicBody" => {
            let name = req(&v, &["name"], schema)?;
            let key = ident::normalize(EntityKind::Org, &name)
                .map_err(|e| Bad::new("bad_ref", format!("name: {e}")))?;
            let record = Record::Entity(Entity {
                id: key.clone(),
                label: Some(name),
                notes: first(&v, &["notes", "summary", "description"]),
            });
            thing(key, record)
        }
        "Payment" => {
            let amount = first(&v, &["amount"])
                .map(|a| parse_amount(&a).map_err(|e| Bad::new("bad_amount", e.to_string())))
                .transpose()?;
            if amount.is_some_and(|a| a <= 0) {
                return Err(Bad::new("bad_amount", "payment amount is not positive"));
            }
            Ok(Item::Link(PendingLink {
                from_id: req(&v, &["payer"], schema)?,
                to_id: req(&v, &["beneficiary"], schema)?,
                kind: "transfer".to_string(),
                payment: true,
                time: first(&v, &["date", "startDate"])
                    .map(|t| parse_time(&t).map_err(|e| Bad::new("bad_time", e.to_string())))
                    .transpose()?,
                amount,
                tx_id: first(&v, &["transactionNumber"]),
                note: first(&v, &["purpose", "summary", "description"]),
            }))
        }
        "Ownership" => link(
            &["owner"],
            &["asset"],
            "owns",
            first(&v, &["role", "ownershipType"]),
        ),
        "Family" => link(
            &["person"],
            &["relative"],
            "relative",
            first(&v, &["relationship"]),
        ),
        "Associate" => link(
            &["person"],
            &["associate"],
            "associate",
            first(&v, &["relationship"]),
        ),
        "Membership" => link(
            &["member"],
            &["organization"],
            "member_of",
            first(&v, &["role"]),
        ),
        "Employment" => link(
            &["employee"],
            &["employer"],
            "member_of",
            first(&v, &["role"]),
        ),
        "Directorship" => link(
            &["director"],
            &["organization"],
            "member_of",
            first(&v, &["role"]),
        ),
        "UnknownLink" => {
            let role = first(&v, &["role"]);
            let kind = role.clone().unwrap_or_else(|| "unknown_link".to_string());
            link(&["subject"], &["object"], &kind, role)
        }
        other => Err(Bad::new(
            "unknown_kind",
            format!("FollowTheMoney schema {other:?} is not imported"),
        )),
    }
}

impl Resolver {
    fn try_link(&self, l: &PendingLink) -> Option<Record> {
        let from = self.ids.get(&l.from_id)?.clone();
        let to = self.ids.get(&l.to_id)?.clone();
        let accounts = from.kind == EntityKind::Account && to.kind == EntityKind::Account;
        if l.payment && accounts {
            if let (Some(amount), Some(time)) = (l.amount, l.time) {
                return Some(Record::Transfer(Transfer {
                    from,
                    to,
                    amount,
                    time,
                    tx_id: l.tx_id.clone(),
                    channel: None,
                    from_name: None,
                    to_name: None,
                    memo: l.note.clone(),
                    ip: None,
                    mac: None,
                }));
            }
        }
        Some(Record::Link(Link {
            from,
            to,
            kind: l.kind.clone(),
            time: l.time,
            amount: l.amount,
            note: l.note.clone(),
        }))
    }

    /// Adds a chunk's things to the map, then resolves its links (or keeps them waiting), in order.
    pub(crate) fn resolve(
        &mut self,
        file: &Arc<str>,
        items: Vec<(u64, String, Item)>,
        chunk: &mut Chunk,
    ) {
        for (_, _, item) in &items {
            if let Item::Thing { id, key, .. } = item {
                self.ids.entry(id.clone()).or_insert_with(|| key.clone());
            }
        }
        let origin = |line| Origin {
            file: Arc::clone(file),
            line,
            label: None,
        };
        for (line, raw, item) in items {
            match item {
                Item::Thing { record, .. } => chunk.records.push((origin(line), record)),
                Item::Link(l) => match self.try_link(&l) {
                    Some(r) => chunk.records.push((origin(line), r)),
                    None => self.waiting.push((line, raw, l)),
                },
            }
        }
        // Earlier waiting links may be resolvable now.
        if !self.waiting.is_empty() {
            let waiting = std::mem::take(&mut self.waiting);
            for (line, raw, l) in waiting {
                match self.try_link(&l) {
                    Some(r) => chunk.records.push((origin(line), r)),
                    None => self.waiting.push((line, raw, l)),
                }
            }
        }
    }

    /// At the end of the file: links whose ids never appeared are rejected.
    pub(crate) fn finish(&mut self, file: &Arc<str>) -> Chunk {
        let mut chunk = Chunk::default();
        for (line, raw, l) in std::mem::take(&mut self.waiting) {
            let missing: Vec<&str> = [&l.from_id, &l.to_id]
                .into_iter()
                .filter(|id| !self.ids.contains_key(*id))
                .map(String::as_str)
                .collect();
            chunk.rejects.push(Reject {
                file: file.to_string(),
                line,
                reason: "bad_ref",
                detail: format!(
                    "refers to FollowTheMoney ids not defined (or not importable) in this file: {}",
                    missing.join(", ")
                ),
                raw,
            });
        }
        chunk
    }
}
