//! The append-only, hash-chained audit log: who did what, when, to which entities.
//!
//! Each entry's `hash` is `SHA-256(prev_hash ‖ canonical entry bytes)`, where the canonical bytes
//! are the JSON of `(seq, time, user, action, refs, detail)` in that field order and `prev_hash`
//! is the previous entry's hash (32 zero bytes for the first entry). Changing, removing or
//! reordering any entry breaks the chain at that entry or the next one, which [`verify`] reports.
//! (Rewriting the whole tail consistently is not detectable from the log alone; the head hash
//! printed by `verify` can be noted elsewhere to anchor it.)
//!
//! Entries are documents of the `audit` collection keyed by the zero-padded sequence number, so
//! key order is append order. Appends are serialized by a mutex that holds the chain's tail.

use super::docs::{DocError, DocStore};
use super::util::{hex, now_unix, unhex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

pub const AUDIT_COLLECTION: &str = "audit";

/// One audit entry as stored and as served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// Unix seconds, UTC.
    pub time: i64,
    pub user: String,
    pub action: String,
    /// Canonical entity refs and case map refs (`casemap:ID`) the action touched.
    pub refs: Vec<String>,
    /// A short description (never a password or a token).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    time: i64,
    user: &'a str,
    action: &'a str,
    refs: &'a [String],
    detail: &'a str,
}

fn entry_hash(
    prev: &[u8],
    seq: u64,
    time: i64,
    user: &str,
    action: &str,
    refs: &[String],
    detail: &str,
) -> [u8; 32] {
    let canonical = Canonical {
        seq,
        time,
        user,
        action,
        refs,
        detail,
    };
    // Serializing a struct of strings and integers cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&bytes);
    h.finalize().into()
}

fn key(seq: u64) -> String {
    format!("{seq:020}")
}

struct Tail {
    next_seq: u64,
    last_hash: [u8; 32],
}

/// The audit log of one store.
pub struct AuditLog {
    docs: Arc<dyn DocStore>,
    tail: Mutex<Tail>,
}

/// A failure to append or read the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error("audit entry {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("audit log lock poisoned")]
    Poisoned,
}

impl AuditLog {
    /// Opens the log, continuing the chain after its last entry (even if the chain is broken:
    /// [`verify`] reports that; appending stays possible so that evidence of use is not lost).
    pub fn open(docs: Arc<dyn DocStore>) -> Result<AuditLog, AuditError> {
        let all = docs.scan_docs(AUDIT_COLLECTION)?;
        let tail = match all.last() {
            None => Tail {
                next_seq: 1,
                last_hash: [0; 32],
            },
            Some((k, v)) => {
                let e: AuditEntry = serde_json::from_slice(v).map_err(|e| AuditError::Corrupt {
                    key: k.clone(),
                    reason: e.to_string(),
                })?;
                let h = unhex(&e.hash)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| AuditError::Corrupt {
                        key: k.clone(),
                        reason: "hash is not 32 hex bytes".to_string(),
                    })?;
                Tail {
                    next_seq: e.seq.saturating_add(1),
                    last_hash: h,
                }
            }
        };
        Ok(AuditLog {
            docs,
            tail: Mutex::new(tail),
        })
    }

    /// Appends one entry and returns it.
    pub fn append(
        &self,
        user: &str,
        action: &str,
        refs: Vec<String>,
        detail: impl Into<String>,
    ) -> Result<AuditEntry, AuditError> {
        let detail = detail.into();
        let mut tail = self.tail.lock().map_err(|_| AuditError::Poisoned)?;
        let seq = tail.next_seq;
        let time = now_unix();
        let hash = entry_hash(&tail.last_hash, seq, time, user, action, &refs, &detail);
        let entry = AuditEntry {
            seq,
            time,
            user: user.to_string(),
            action: action.to_string(),
            refs,
            detail,
            prev_hash: hex(&tail.last_hash),
            hash: hex(&hash),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| AuditError::Corrupt {
            key: key(seq),
            reason: e.to_string(),
        })?;
        self.docs.put_doc(AUDIT_COLLECTION, &key(seq), &bytes)?;
        tail.next_seq = seq + 1;
        tail.last_hash = hash;
        Ok(entry)
    }

    /// Entries matching a filter, newest first, at most `limit`.
    pub fn query(&self, filter: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>, AuditError> {
        let all = self.docs.scan_docs(AUDIT_COLLECTION)?;
        let mut out = Vec::new();
        for (k, v) in all.iter().rev() {
            let e: AuditEntry = serde_json::from_slice(v).map_err(|e| AuditError::Corrupt {
                key: k.clone(),
                reason: e.to_string(),
            })?;
            if filter.matches(&e) {
                out.push(e);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub action: Option<String>,
    /// Entries that name this ref.
    pub entity_ref: Option<String>,
    /// Entries with `seq < before`.
    pub before: Option<u64>,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.user.as_ref().is_none_or(|u| *u == e.user)
            && self.action.as_ref().is_none_or(|a| *a == e.action)
            && self
                .entity_ref
                .as_ref()
                .is_none_or(|r| e.refs.iter().any(|x| x == r))
            && self.before.is_none_or(|b| e.seq < b)
    }
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    pub ok: bool,
    /// The sequence number (or key) of the first entry where the chain breaks.
    pub first_bad: Option<String>,
    pub reason: Option<String>,
    /// The hash of the last entry: note it elsewhere to anchor the log.
    pub head: Option<String>,
}

/// Recomputes the whole chain.
///
/// # Complexity
/// O(total entry size): one scan and one SHA-256 per entry.
pub fn verify(docs: &dyn DocStore) -> Result<VerifyReport, DocError> {
    let all = docs.scan_docs(AUDIT_COLLECTION)?;
    let mut prev = [0u8; 32];
    let mut head = None;
    let bad = |key: &str, reason: &str, n: u64| VerifyReport {
        entries: n,
        ok: false,
        first_bad: Some(key.to_string()),
        reason: Some(reason.to_string()),
        head: None,
    };
    let n = u64::try_from(all.len()).unwrap_or(u64::MAX);
    for (expected_seq, (k, v)) in (1u64..).zip(all.iter()) {
        let e: AuditEntry = match serde_json::from_slice(v) {
            Ok(e) => e,
            Err(_) => return Ok(bad(k, "entry is not valid JSON", n)),
        };
        if e.seq != expected_seq || *k != key(e.seq) {
            return Ok(bad(
                k,
                "sequence number out of order (entry removed or inserted)",
                n,
            ));
        }
        if e.prev_hash != hex(&prev) {
            return Ok(bad(k, "prev_hash does not match the previous entry", n));
        }
        let h = entry_hash(&prev, e.seq, e.time, &e.user, &e.action, &e.refs, &e.detail);
        if e.hash != hex(&h) {
            return Ok(bad(
                k,
                "hash does not match the entry's content (entry altered)",
                n,
            ));
        }
        prev = h;
        head = Some(e.hash);
    }
    Ok(VerifyReport {
        entries: n,
        ok: true,
        first_bad: None,
        reason: None,
        head,
    })
}

/// Verifies the chain when a server starts and says what it found: `(intact, line to print)`.
/// A broken chain does not stop the server (evidence of use must keep being recorded), but the
/// line says loudly where it broke and what to do.
pub fn startup_check(docs: &dyn DocStore) -> Result<(bool, String), DocError> {
    let r = verify(docs)?;
    if r.ok {
        return Ok((
            true,
            format!("audit log: {} entries, chain intact", r.entries),
        ));
    }
    Ok((
        false,
        format!(
            "WARNING: the audit log's hash chain is BROKEN at entry {} ({}). Entries may have been \
             altered or removed; keep this store as evidence and investigate. Serving continues \
             and new entries are appended.",
            r.first_bad.as_deref().unwrap_or("?"),
            r.reason.as_deref().unwrap_or("unknown reason")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::docs::MemDocs;

    #[test]
    fn startup_check_warns_when_the_chain_is_broken() {
        let (docs, _log) = log_with(3);
        let (ok, line) = startup_check(docs.as_ref()).unwrap();
        assert!(ok, "{line}");
        assert!(line.contains("3 entries, chain intact"), "{line}");
        docs.delete_doc(AUDIT_COLLECTION, &key(2)).unwrap();
        let (ok, line) = startup_check(docs.as_ref()).unwrap();
        assert!(!ok);
        assert!(line.starts_with("WARNING"), "{line}");
        assert!(line.contains("BROKEN") && line.contains(&key(3)), "{line}");
    }

    fn log_with(n: usize) -> (Arc<MemDocs>, AuditLog) {
        let docs = Arc::new(MemDocs::new());
        let log = AuditLog::open(docs.clone()).unwrap();
        for i in 0..n {
            log.append(
                "alice",
                "expand",
                vec![format!("person:{i}")],
                format!("hops=3 #{i}"),
            )
            .unwrap();
        }
        (docs, log)
    }

    #[test]
    fn chain_verifies_and_continues_after_reopen() {
        let (docs, _log) = log_with(5);
        let r = verify(docs.as_ref()).unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.entries, 5);
        let log2 = AuditLog::open(docs.clone()).unwrap();
        let e = log2.append("bob", "login", vec![], "").unwrap();
        assert_eq!(e.seq, 6);
        let r = verify(docs.as_ref()).unwrap();
        assert!(r.ok);
        assert_eq!(r.head.as_deref(), Some(e.hash.as_str()));
    }

    #[test]
    fn tampered_entry_is_detected() {
        let (docs, _log) = log_with(5);
        let raw = docs.get_doc(AUDIT_COLLECTION, &key(3)).unwrap().unwrap();
        let mut e: AuditEntry = serde_json::from_slice(&raw).unwrap();
        e.user = "mallory".to_string();
        docs.put_doc(AUDIT_COLLECTION, &key(3), &serde_json::to_vec(&e).unwrap())
            .unwrap();
        let r = verify(docs.as_ref()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(key(3).as_str()));

        // Recomputing the altered entry's own hash moves the break to the next entry.
        let prev = unhex(&e.prev_hash).unwrap();
        e.hash = hex(&entry_hash(
            &prev, e.seq, e.time, &e.user, &e.action, &e.refs, &e.detail,
        ));
        docs.put_doc(AUDIT_COLLECTION, &key(3), &serde_json::to_vec(&e).unwrap())
            .unwrap();
        let r = verify(docs.as_ref()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(key(4).as_str()));
    }

    #[test]
    fn removed_entry_is_detected() {
        let (docs, _log) = log_with(4);
        docs.delete_doc(AUDIT_COLLECTION, &key(2)).unwrap();
        let r = verify(docs.as_ref()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(key(3).as_str()));
    }

    #[test]
    fn query_filters_newest_first() {
        let (_docs, log) = log_with(5);
        log.append("bob", "approve", vec!["casemap:x".into()], "")
            .unwrap();
        let f = AuditFilter {
            user: Some("alice".into()),
            ..AuditFilter::default()
        };
        let got = log.query(&f, 2).unwrap();
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4]);
        let f = AuditFilter {
            entity_ref: Some("casemap:x".into()),
            ..AuditFilter::default()
        };
        assert_eq!(log.query(&f, 10).unwrap().len(), 1);
    }
}
