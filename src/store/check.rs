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
