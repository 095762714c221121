//! `fraudnet check`: a full scan that proves the families agree with each other and with the counts.

use super::kv::Cf;
use super::{EntityRecord, Evidence, LinkAgg, LinkKey, Stats, Store, StoreError};
use crate::model::{EntityId, EntityKind, LinkKind};
use std::collections::BTreeMap;

/// What a check found. `problems` is empty for a sound store.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub entities: u64,
    pub idents: u64,
    pub links: u64,
    pub evidence: u64,
    /// The first problems found (at most [`MAX_PROBLEMS`]), and how many in all.
    pub problems: Vec<String>,
    pub problem_count: u64,
}

pub const MAX_PROBLEMS: usize = 50;

impl CheckReport {
    fn problem(&mut self, p: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }

    pub fn is_sound(&self) -> bool {
        self.problem_count == 0
    }
}

impl Store {
    /// Scans every family and cross-checks them.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let mut rep = CheckReport::default();
        let mut found = Stats::default();
        let mut entity_keys: BTreeMap<u64, (EntityKind, String)> = BTreeMap::new();
        let mut bad: Vec<String> = Vec::new();
        self.kv.scan(Cf::Entities, &[], None, &mut |k, v| {
            match (<[u8; 8]>::try_from(k), EntityRecord::decode(v)) {
                (Ok(id), Ok(rec)) => {
                    *found.entities.entry(rec.kind).or_default() += 1;
                    entity_keys.insert(u64::from_be_bytes(id), (rec.kind, rec.key));
                }
                _ => bad.push(format!("undecodable entity {k:?}")),
            }
            true
        })?;
        rep.entities = entity_keys.len() as u64;
        let mut own_key_seen: BTreeMap<u64, bool> =
            entity_keys.keys().map(|id| (*id, false)).collect();
        self.scan_idents(|kind, key, id| {
            rep.idents += 1;
            match entity_keys.get(&id.0) {
                None => bad.push(format!(
                    "identifier {kind}:{key} points at missing entity {}",
                    id.0
                )),
                Some((k, own)) => {
                    if *k == kind && own == key {
                        own_key_seen.insert(id.0, true);
                    }
                }
            }
        })?;
        for (id, seen) in own_key_seen {
            if !seen {
                bad.push(format!("entity {id} is not reachable from its own key"));
            }
        }
        let mut outs: BTreeMap<LinkKey, LinkAgg> = BTreeMap::new();
        self.scan_link_family(Cf::Out, &[], None, |k, a| {
            outs.insert(k, a);
            true
        })?;
        let mut ins = 0u64;
        self.scan_link_family(Cf::In, &[], None, |k, a| {
            ins += 1;
            if outs.get(&k) != Some(&a) {
                bad.push(format!(
                    "in-link {}→{} ({}) has no equal out-link",
                    k.src.0, k.dst.0, k.kind.0
                ));
            }
            true
        })?;
        if ins != outs.len() as u64 {
            bad.push(format!("{} out-links but {ins} in-links", outs.len()));
        }
        let mut from_evidence: BTreeMap<LinkKey, LinkAgg> = BTreeMap::new();
        let mut evidence_err = None;
        self.kv.scan(Cf::Evidence, &[], None, &mut |k, v| {
            match Evidence::decode(k, v) {
                Ok(ev) => {
                    rep.evidence += 1;
                    *found.evidence.entry(ev.key.link.kind).or_default() += 1;
                    from_evidence
                        .entry(ev.key.link)
                        .or_default()
                        .add(ev.value, ev.key.time);
                }
                Err(e) => evidence_err = Some(e),
            }
            evidence_err.is_none()
        })?;
        if let Some(e) = evidence_err {
            bad.push(e.to_string());
        }
        for (k, a) in &outs {
            *found.links.entry(k.kind).or_default() += 1;
            for end in [k.src, k.dst] {
                if !entity_keys.contains_key(&end.0) {
                    bad.push(format!(
                        "link {}→{} names missing entity {}",
                        k.src.0, k.dst.0, end.0
                    ));
                }
            }
            match from_evidence.get(k) {
                Some(e) if e.count == a.count && e.total == a.total => {}
                Some(e) => bad.push(format!(
                    "link {}→{} ({}) says {} records / {} but its evidence has {} / {}",
                    k.src.0, k.dst.0, k.kind.0, a.count, a.total, e.count, e.total
                )),
                None => bad.push(format!(
                    "link {}→{} ({}) has no evidence",
                    k.src.0, k.dst.0, k.kind.0
                )),
            }
        }
        for k in from_evidence.keys() {
            if !outs.contains_key(k) {
                bad.push(format!(
                    "evidence of {}→{} ({}) has no link",
                    k.src.0, k.dst.0, k.kind.0
                ));
            }
        }
        rep.links = outs.len() as u64;
        let recorded = self.stats()?;
        let kinds = |m: &BTreeMap<LinkKind, u64>| {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (*k, *n))
                .collect::<Vec<_>>()
        };
        if recorded
            .entities
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (*k, *n))
            .collect::<Vec<_>>()
            != found
                .entities
                .iter()
                .map(|(k, n)| (*k, *n))
                .collect::<Vec<_>>()
            || kinds(&recorded.links) != kinds(&found.links)
            || kinds(&recorded.evidence) != kinds(&found.evidence)
        {
            bad.push(format!(
                "recorded counts {recorded:?} differ from the scan {found:?}"
            ));
        }
        let next = self.counters()?.next_entity;
        if let Some((max, _)) = entity_keys.last_key_value() {
            if *max >= next {
                bad.push(format!("entity {max} is at or beyond the next id {next}"));
            }
        }
        let _ = EntityId(next);
        for b in bad {
            rep.problem(b);
        }
        Ok(rep)
    }
}

/// A digest of the store's logical content: every entity, identifier, link and evidence record,
/// named by the entities' `kind:key` rather than by internal ids, with sources by file and label.
/// Two stores holding the same case have the same digest whatever order their ids were given in;
/// documents (accounts, audit, case maps) are left out. Order-independent (a sum of per-record
/// SHA-256 values per family), so it is computed in one scan without sorting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub entities: u64,
    pub idents: u64,
    pub links: u64,
    pub evidence: u64,
    /// Hex SHA-256 over the counts and the per-family sums.
    pub hex: String,
}

/// A multiset hash: the wrapping sum of each item's SHA-256, as four 64-bit lanes.
#[derive(Default)]
struct SumHash([u64; 4]);

impl SumHash {
    fn add(&mut self, parts: &[&[u8]]) {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        let d = h.finalize();
        for (lane, chunk) in self.0.iter_mut().zip(d.chunks_exact(8)) {
            *lane = lane.wrapping_add(u64::from_be_bytes(chunk.try_into().unwrap_or_default()));
        }
    }
}

impl Store {
    /// Computes the [`Digest`] of the store (a full scan).
    pub fn digest(&self) -> Result<Digest, StoreError> {
        use sha2::{Digest as _, Sha256};
        let mut names: BTreeMap<u64, String> = BTreeMap::new();
        let mut entities = SumHash::default();
        self.scan_entities(EntityId(0), EntityId(u64::MAX), |id, rec| {
            let name = format!("{}:{}", rec.kind.as_str(), rec.key);
            let mut statuses = Vec::new();
            for (s, t) in &rec.statuses {
                statuses.push(*s as u8);
                statuses.extend_from_slice(&t.to_be_bytes());
            }
            entities.add(&[
                name.as_bytes(),
                &rec.flags.0.to_be_bytes(),
                &rec.roles.0.to_be_bytes(),
                rec.label.as_deref().unwrap_or("\u{0}").as_bytes(),
                rec.notes.as_deref().unwrap_or("\u{0}").as_bytes(),
                &statuses,
            ]);
            names.insert(id.0, name);
        })?;
        let name = |id: EntityId| -> String {
            names
                .get(&id.0)
                .cloned()
                .unwrap_or_else(|| format!("missing:{}", id.0))
        };
        let mut idents = SumHash::default();
        let mut n_idents = 0u64;
        self.scan_idents(|kind, key, id| {
            n_idents += 1;
            idents.add(&[&[kind as u8], key.as_bytes(), name(id).as_bytes()]);
        })?;
        let mut kind_names: BTreeMap<LinkKind, String> = BTreeMap::new();
        let mut kind_name = |k: LinkKind| -> Result<String, StoreError> {
            if let Some(n) = kind_names.get(&k) {
                return Ok(n.clone());
            }
            let n = self.link_kind_name(k)?;
            kind_names.insert(k, n.clone());
            Ok(n)
        };
        let mut links = SumHash::default();
        let mut n_links = 0u64;
        let mut link_keys = Vec::new();
        self.scan_link_family(Cf::Out, &[], None, |k, a| {
            link_keys.push((k, a));
            true
        })?;
        for (k, a) in &link_keys {
            n_links += 1;
            let kn = kind_name(k.kind)?;
            links.add(&[
                name(k.src).as_bytes(),
                kn.as_bytes(),
                name(k.dst).as_bytes(),
                &a.count.to_be_bytes(),
                &a.total.to_be_bytes(),
                &a.first.to_be_bytes(),
                &a.last.to_be_bytes(),
            ]);
        }
        drop(link_keys);
        let mut sources: BTreeMap<u32, String> = BTreeMap::new();
        let mut evidence = SumHash::default();
        let mut n_evidence = 0u64;
        let mut err: Option<StoreError> = None;
        self.scan_evidence(EntityId(0), EntityId(u64::MAX), |ev| {
            let src = match sources.get(&ev.source.0) {
                Some(s) => s.clone(),
                None => match self.source(ev.source) {
                    Ok(rec) => {
                        let s = rec
                            .map(|r| format!("{}\u{0}{}", r.file, r.label.unwrap_or_default()))
                            .unwrap_or_else(|| format!("missing source {}", ev.source.0));
                        sources.insert(ev.source.0, s.clone());
                        s
                    }
                    Err(e) => {
                        err = Some(e);
                        return false;
                    }
                },
            };
            let kn = match kind_name(ev.key.link.kind) {
                Ok(k) => k,
                Err(e) => {
                    err = Some(e);
                    return false;
                }
            };
            n_evidence += 1;
            evidence.add(&[
                name(ev.key.link.src).as_bytes(),
                kn.as_bytes(),
                name(ev.key.link.dst).as_bytes(),
                &ev.key.time.unwrap_or(i64::MIN).to_be_bytes(),
                &ev.key.disc.to_be_bytes(),
                &ev.value.to_be_bytes(),
                src.as_bytes(),
                &ev.line.to_be_bytes(),
                ev.record_id.as_deref().unwrap_or("\u{0}").as_bytes(),
                ev.detail.as_deref().unwrap_or("\u{0}").as_bytes(),
            ]);
            true
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        let counts = [names.len() as u64, n_idents, n_links, n_evidence];
        let mut h = Sha256::new();
        for c in counts {
            h.update(c.to_be_bytes());
        }
        for s in [&entities, &idents, &links, &evidence] {
            for lane in s.0 {
                h.update(lane.to_be_bytes());
            }
        }
        let hex = h
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(Digest {
            entities: counts[0],
            idents: counts[1],
            links: counts[2],
            evidence: counts[3],
            hex,
        })
    }
}
