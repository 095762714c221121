//! Records into the store: entity resolution (every identifier to one entity), evidence keyed by its
//! natural identity (so a record seen twice, in two files or two imports, is stored once), link
//! aggregates in both directions and the running counts, all staged into one atomic batch per chunk.

use super::record::{Origin, Record};
use super::IngestError;
use crate::model::ident::Normalized;
use crate::model::{EntityId, EntityKind, Flags, LinkKind, Timestamp};
use crate::store::{
    Batch, Counters, EntityRecord, Evidence, EvidenceKey, LinkAgg, LinkKey, SourceId, SourceRecord,
    Stats, Store,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use std::time::Instant;

/// Identifiers kept in memory across chunks (about 60 bytes each); past this the cache starts afresh
/// (the store still has them), so memory stays bounded however large the import.
const IDENT_CACHE_MAX: usize = 4_000_000;

/// Link aggregates kept in memory across chunks (about 70 bytes each). While the cache holds every
/// link of the store (the import began on a store without links and the cache never overflowed), a
/// link it lacks is new and needs no lookup; past the bound it stops growing and the store answers
/// what it lacks.
const LINK_CACHE_MAX: usize = 4_000_000;

/// What one import changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub records: u64,
    pub entities_new: u64,
    /// Existing entities that this import added a name, role, status, flag or note to.
    pub entities_enriched: u64,
    pub links_new: u64,
    pub evidence_new: u64,
    /// Evidence already in the store or seen earlier in this import (the same call in both parties'
    /// records, the same file imported twice).
    pub evidence_duplicate: u64,
}

/// Seconds the writer spent in each phase of its chunks.
#[derive(Clone, Debug, Default)]
pub struct WriteTimes {
    /// Identifiers to entity ids, and loading the entities the chunk enriches.
    pub resolve: f64,
    /// Building the chunk's evidence and entity changes.
    pub stage: f64,
    /// Looking up which links and evidence records the store already has.
    pub lookup: f64,
    /// Encoding the batch and the store's atomic write.
    pub write: f64,
}

/// Writes chunks of records into a store. One writer per store at a time (the store's lock sees to it
/// across processes).
pub struct Writer<'s> {
    store: &'s Store,
    counters: Counters,
    stats: Stats,
    idents: IdentMap,
    /// Every link this writer wrote, with its aggregate as stored (write-through, bounded).
    links: FxHashMap<LinkKey, LinkAgg>,
    /// `links` holds every link of the store.
    links_complete: bool,
    times: WriteTimes,
    sources: FxHashMap<(Arc<str>, Option<String>), SourceId>,
    kinds: FxHashMap<String, LinkKind>,
    counts: WriteCounts,
}

/// A chunk's view of one entity it touches: the record as it will be written, and whether it changed.
struct Touched {
    rec: EntityRecord,
    is_new: bool,
    changed: bool,
}

impl<'s> Writer<'s> {
    pub fn new(store: &'s Store) -> Result<Writer<'s>, IngestError> {
        let stats = store.stats()?;
        Ok(Writer {
            store,
            counters: store.counters()?,
            links_complete: stats.link_total() == 0,
            stats,
            idents: IdentMap::default(),
            links: FxHashMap::default(),
            times: WriteTimes::default(),
            sources: FxHashMap::default(),
            kinds: FxHashMap::default(),
            counts: WriteCounts::default(),
        })
    }

    pub fn counts(&self) -> &WriteCounts {
        &self.counts
    }

    /// Where the writer's time went.
    pub fn times(&self) -> &WriteTimes {
        &self.times
    }

    /// Writes one chunk atomically.
    pub fn write_chunk(&mut self, records: &[(Origin, Record)]) -> Result<(), IngestError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        let mut chunk = Chunk::default();
        let mut clock = Instant::now();
        let mut lap = |slot: &mut f64| {
            let now = Instant::now();
            *slot += (now - clock).as_secs_f64();
            clock = now;
        };

        // 1. Resolve every identifier the chunk names, and load the existing entities it may enrich.
        let mut wanted: Vec<&Normalized> = Vec::new();
        let mut aliases: Vec<(&Normalized, &Normalized)> = Vec::new();
        for (_, r) in records {
            for_each_ident(r, |n| wanted.push(n));
            if let Record::Person(p) = r {
                aliases.extend(p.aliases.iter().map(|a| (a, &p.key)));
            }
        }
        self.resolve(&wanted, &mut chunk)?;
        self.resolve_aliases(&aliases, &mut chunk)?;
        let mut enrich: Vec<&Normalized> = wanted
            .iter()
            .copied()
            .filter(|n| n.flags != Flags::default())
            .collect();
        for (_, r) in records {
            match r {
                Record::Person(p) => enrich.push(&p.key),
                Record::Entity(e) => enrich.push(&e.id),
                Record::Transfer(t) => {
                    if t.from_name.is_some() {
                        enrich.push(&t.from);
                    }
                    if t.to_name.is_some() {
                        enrich.push(&t.to);
                    }
                }
                _ => {}
            }
        }
        self.load_existing(&enrich, &mut chunk)?;
        lap(&mut self.times.resolve);

        // 2. Entity attributes, and evidence for every record.
        let mut evidence: Vec<Evidence> = Vec::with_capacity(records.len() * 2);
        for (origin, r) in records {
            let source = self.source(origin, &mut batch)?;
            let ev = |link: LinkKey,
                      time: Option<Timestamp>,
                      value: i64,
                      record_id: Option<&str>,
                      detail: Option<String>| Evidence {
                key: EvidenceKey {
                    link,
                    time,
                    disc: disc(value),
                },
                value,
                source,
                line: origin.line,
                record_id: record_id.map(str::to_string),
                detail,
            };
            match r {
                Record::Call(c) => {
                    let (a, b) = (chunk.id(&c.caller), chunk.id(&c.callee));
                    let kind = if c.sms { LinkKind::SMS } else { LinkKind::CALL };
                    // The same call in both parties' records has the same parties and start: one record.
                    let link = LinkKey {
                        src: a,
                        kind,
                        dst: b,
                    };
                    let mut e = ev(
                        link,
                        Some(c.time),
                        c.duration_s,
                        None,
                        c.cell.as_ref().map(|x| format!("cell {x}")),
                    );
                    e.key.disc = 0;
                    evidence.push(e);
                    if let Some(imei) = &c.imei {
                        let phone = if c.device_side_caller { a } else { b };
                        let link = LinkKey {
                            src: phone,
                            kind: LinkKind::DEVICE_OF,
                            dst: chunk.id(imei),
                        };
                        // One record a SIM-handset-day: the SIM was seen in the handset that day.
                        let day = c.time
                            - (c.time + crate::model::time::BEIJING_OFFSET).rem_euclid(86_400);
                        evidence.push(ev(
                            link,
                            Some(day),
                            0,
                            None,
                            c.imsi.as_ref().map(|i| format!("IMSI {i}")),
                        ));
                    }
                }
                Record::Transfer(t) => {
                    let link = LinkKey {
                        src: chunk.id(&t.from),
                        kind: LinkKind::TRANSFER,
                        dst: chunk.id(&t.to),
                    };
                    let detail: Vec<String> = [
                        t.channel.clone(),
                        t.memo.clone(),
                        t.ip.as_ref().map(|x| format!("IP {x}")),
                        t.mac.as_ref().map(|x| format!("MAC {x}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    let detail = (!detail.is_empty()).then(|| detail.join(" · "));
                    evidence.push(ev(link, Some(t.time), t.amount, t.tx_id.as_deref(), detail));
                    for (acct, name) in [(&t.from, &t.from_name), (&t.to, &t.to_name)] {
                        if let Some(name) = name {
                            chunk.update(acct, |rec| set_if_none(&mut rec.label, name));
                        }
                    }
                }
                Record::Person(p) => {
                    let id = chunk.id(&p.key);
                    chunk.update(&p.key, |rec| {
                        let mut changed = false;
                        if let Some(n) = &p.name {
                            changed |= set_if_none(&mut rec.label, n);
                        }
                        if let Some(n) = &p.notes {
                            changed |= set_if_none(&mut rec.notes, n);
                        }
                        let roles = rec.roles.union(p.roles);
                        changed |= roles != rec.roles;
                        rec.roles = roles;
                        for s in &p.statuses {
                            if !rec.statuses.contains(s) {
                                rec.statuses.push(*s);
                                rec.statuses.sort_by_key(|(_, t)| *t);
                                changed = true;
                            }
                        }
                        changed
                    });
                    for item in &p.owns {
                        let link = LinkKey {
                            src: id,
                            kind: LinkKind::OWNS,
                            dst: chunk.id(item),
                        };
                        evidence.push(ev(link, None, 0, None, None));
                    }
                }
                Record::Entity(e) => {
                    chunk.update(&e.id, |rec| {
                        let mut changed = false;
                        if let Some(l) = &e.label {
                            changed |= set_if_none(&mut rec.label, l);
                        }
                        if let Some(n) = &e.notes {
                            changed |= set_if_none(&mut rec.notes, n);
                        }
                        changed
                    });
                }
                Record::Link(l) => {
                    let kind = self.link_kind(&l.kind, &mut batch);
                    let link = LinkKey {
                        src: chunk.id(&l.from),
                        kind,
                        dst: chunk.id(&l.to),
                    };
                    evidence.push(ev(
                        link,
                        l.time,
                        l.amount.unwrap_or(0),
                        None,
                        l.note.clone(),
                    ));
                }
            }
        }
        // Flags from the identifier rules (service number, bad checksum…) accumulate on the entity.
        for n in &wanted {
            if n.flags != Flags::default() {
                chunk.update(n, |rec| {
                    let f = rec.flags.union(n.flags);
                    let changed = f != rec.flags;
                    rec.flags = f;
                    changed
                });
            }
        }

        lap(&mut self.times.stage);

        // 3. Evidence: keep the first of duplicates, drop what the store already has.
        let candidates = evidence.len() as u64;
        let mut seen = FxHashSet::default();
        evidence.retain(|e| seen.insert(e.key));
        // Evidence of a link the store does not have yet cannot be in the store: only the evidence
        // of known links is looked up.
        let mut link_keys: Vec<LinkKey> = evidence.iter().map(|e| e.key.link).collect();
        link_keys.sort_unstable();
        link_keys.dedup();
        let existing = self.existing_links(&link_keys)?;
        let probe: Vec<EvidenceKey> = evidence
            .iter()
            .map(|e| e.key)
            .filter(|k| existing.contains_key(&k.link))
            .collect();
        let known: FxHashSet<EvidenceKey> = probe
            .iter()
            .zip(self.store.evidence_exists(&probe)?)
            .filter(|(_, there)| *there)
            .map(|(k, _)| *k)
            .collect();
        let mut deltas: FxHashMap<LinkKey, LinkAgg> = FxHashMap::default();
        let mut kept = 0u64;
        for e in &evidence {
            if known.contains(&e.key) {
                continue;
            }
            kept += 1;
            deltas
                .entry(e.key.link)
                .or_default()
                .add(e.value, e.key.time);
            *self.stats.evidence.entry(e.key.link.kind).or_default() += 1;
            batch.put_evidence(e);
        }
        self.counts.evidence_new += kept;
        self.counts.evidence_duplicate += candidates - kept;
        lap(&mut self.times.lookup);

        // 4. Link aggregates, merged with what the store has.
        let mut links: Vec<(LinkKey, LinkAgg)> = deltas.into_iter().collect();
        links.sort_unstable_by_key(|(k, _)| *k);
        let mut new_aggs: Vec<(LinkKey, LinkAgg)> = Vec::with_capacity(links.len());
        for (key, delta) in &links {
            let agg = match existing.get(key) {
                Some(old) => {
                    let mut a = *old;
                    a.count += delta.count;
                    a.total = a.total.saturating_add(delta.total);
                    a.first = a.first.min(delta.first);
                    a.last = a.last.max(delta.last);
                    a
                }
                None => {
                    self.counts.links_new += 1;
                    *self.stats.links.entry(key.kind).or_default() += 1;
                    *delta
                }
            };
            batch.put_link(key, &agg);
            new_aggs.push((*key, agg));
        }

        // 5. Entities, counters, and one atomic write.
        for (id, t) in chunk.touched.drain() {
            if t.is_new {
                self.counts.entities_new += 1;
                *self.stats.entities.entry(t.rec.kind).or_default() += 1;
            } else if t.changed {
                self.counts.entities_enriched += 1;
            }
            if t.is_new || t.changed {
                batch.put_entity(id, &t.rec);
            }
        }
        for (kind, key, id) in chunk.new_idents.drain(..) {
            batch.put_ident(kind, &key, id);
        }
        self.counts.records += records.len() as u64;
        batch.put_counters(
            self.counters.next_entity,
            self.counters.next_source,
            self.counters.next_kind,
            &self.stats,
        );
        self.store.write_bulk(batch)?;
        // The caches learn the chunk only once it is in the store.
        if self.idents.len() > IDENT_CACHE_MAX {
            self.idents.clear();
        }
        self.idents.absorb(&mut chunk.resolved);
        for (key, agg) in new_aggs {
            if self.links.len() < LINK_CACHE_MAX || self.links.contains_key(&key) {
                self.links.insert(key, agg);
            } else {
                self.links_complete = false;
            }
        }
        lap(&mut self.times.write);
        Ok(())
    }

    /// Makes every chunk written so far durable. Chunks are written without the write-ahead log: a
    /// crash before this loses a suffix of whole chunks, which importing the files again restores.
    pub fn finish(&mut self) -> Result<(), IngestError> {
        let t = Instant::now();
        self.store.persist()?;
        self.times.write += t.elapsed().as_secs_f64();
        Ok(())
    }

    /// The stored aggregates of those of `keys` the store has: from the cache, and from the store
    /// for what the cache cannot answer.
    fn existing_links(&self, keys: &[LinkKey]) -> Result<FxHashMap<LinkKey, LinkAgg>, IngestError> {
        let mut existing = FxHashMap::default();
        let mut ask: Vec<LinkKey> = Vec::new();
        for k in keys {
            match self.links.get(k) {
                Some(a) => {
                    existing.insert(*k, *a);
                }
                None if self.links_complete => {}
                None => ask.push(*k),
            }
        }
        for (k, a) in ask.iter().zip(self.store.links_many(&ask)?) {
            if let Some(a) = a {
                existing.insert(*k, a);
            }
        }
        Ok(existing)
    }

    /// Resolves identifiers to entity ids: the chunk's map, the writer's cache, the store, or a new id.
    fn resolve(&mut self, wanted: &[&Normalized], chunk: &mut Chunk) -> Result<(), IngestError> {
        let mut misses: Vec<&Normalized> = Vec::new();
        for n in wanted {
            if chunk.resolved.get(n).is_some() {
                continue;
            }
            if let Some(id) = self.idents.get(n) {
                chunk.resolved.insert(n, id);
            } else {
                chunk.resolved.insert(n, EntityId(0));
                misses.push(n);
            }
        }
        let lookups: Vec<(EntityKind, &str)> =
            misses.iter().map(|n| (n.kind, n.key.as_str())).collect();
        let found = self.store.lookup_many(&lookups)?;
        for (n, f) in misses.iter().zip(found) {
            let id = match f {
                Some(id) => id,
                None => {
                    let id = EntityId(self.counters.next_entity);
                    self.counters.next_entity += 1;
                    chunk.new_idents.push((n.kind, n.key.clone(), id));
                    chunk.touched.insert(
                        id,
                        Touched {
                            rec: EntityRecord::new(n.kind, n.key.clone(), n.flags),
                            is_new: true,
                            changed: false,
                        },
                    );
                    id
                }
            };
            chunk.resolved.insert(n, id);
        }
        Ok(())
    }

    /// Points a person's other keys at the person. An alias that already names another entity keeps
    /// it: entities are never merged behind the user's back.
    fn resolve_aliases(
        &mut self,
        aliases: &[(&Normalized, &Normalized)],
        chunk: &mut Chunk,
    ) -> Result<(), IngestError> {
        let fresh: Vec<_> = aliases
            .iter()
            .filter(|(a, _)| chunk.resolved.get(a).is_none() && self.idents.get(a).is_none())
            .collect();
        let lookups: Vec<(EntityKind, &str)> = fresh
            .iter()
            .map(|(a, _)| (a.kind, a.key.as_str()))
            .collect();
        let found = self.store.lookup_many(&lookups)?;
        for ((alias, person), f) in fresh.into_iter().zip(found) {
            let id = match f {
                Some(id) => id,
                None => {
                    let id = chunk.id(person);
                    chunk.new_idents.push((alias.kind, alias.key.clone(), id));
                    id
                }
            };
            chunk.resolved.insert(alias, id);
        }
        Ok(())
    }

    /// Loads the stored records of existing entities the chunk may enrich.
    fn load_existing(
        &mut self,
        enrich: &[&Normalized],
        chunk: &mut Chunk,
    ) -> Result<(), IngestError> {
        let mut ids: Vec<EntityId> = enrich
            .iter()
            .map(|n| chunk.id(n))
            .filter(|id| !chunk.touched.contains_key(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for (id, rec) in ids.iter().zip(self.store.entities_many(&ids)?) {
            let rec = rec.ok_or(IngestError::Dangling(*id))?;
            chunk.touched.insert(
                *id,
                Touched {
                    rec,
                    is_new: false,
                    changed: false,
                },
            );
        }
        Ok(())
    }

    fn source(&mut self, origin: &Origin, batch: &mut Batch) -> Result<SourceId, IngestError> {
        let key = (origin.file.clone(), origin.label.clone());
        if let Some(id) = self.sources.get(&key) {
            return Ok(*id);
        }
        let id = match self
            .store
            .source_id(&origin.file, origin.label.as_deref())?
        {
            Some(id) => id,
            None => {
                let id = SourceId(self.counters.next_source);
                self.counters.next_source += 1;
                self.stats.sources += 1;
                batch.put_source(
                    id,
                    &SourceRecord {
                        file: origin.file.to_string(),
                        label: origin.label.clone(),
                    },
                );
                id
            }
        };
        self.sources.insert(key, id);
        Ok(id)
    }

    fn link_kind(&mut self, name: &str, batch: &mut Batch) -> LinkKind {
        if let Some(k) = LinkKind::builtin(name) {
            return k;
        }
        let name = name.trim().to_lowercase();
        if let Some(k) = self.kinds.get(&name) {
            return *k;
        }
        let k = match self.store.custom_link_kind(&name) {
            Ok(Some(k)) => k,
            _ => {
                let k = LinkKind(self.counters.next_kind);
                self.counters.next_kind = self.counters.next_kind.saturating_add(1);
                batch.put_link_kind(&name, k);
                k
            }
        };
        self.kinds.insert(name, k);
        k
    }
}

/// The discriminator of two records of one link at one second: their values (two different amounts
/// are two transfers; the same amount is the same transfer seen twice).
fn disc(value: i64) -> u32 {
    let v = value as u64;
    (v ^ (v >> 32)) as u32
}

fn set_if_none(slot: &mut Option<String>, value: &str) -> bool {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value.trim().to_string());
        true
    } else {
        false
    }
}

/// The identifiers a record names (not a person's aliases: they are resolved to the person).
fn for_each_ident<'a>(r: &'a Record, mut f: impl FnMut(&'a Normalized)) {
    match r {
        Record::Call(c) => {
            f(&c.caller);
            f(&c.callee);
            if let Some(i) = &c.imei {
                f(i);
            }
        }
        Record::Transfer(t) => {
            f(&t.from);
            f(&t.to);
        }
        Record::Person(p) => {
            f(&p.key);
            p.owns.iter().for_each(f);
        }
        Record::Entity(e) => f(&e.id),
        Record::Link(l) => {
            f(&l.from);
            f(&l.to);
        }
    }
}

/// One chunk's resolved identifiers and the entities it touches.
#[derive(Default)]
struct Chunk {
    resolved: IdentMap,
    touched: FxHashMap<EntityId, Touched>,
    new_idents: Vec<(EntityKind, String, EntityId)>,
}

impl Chunk {
    fn id(&self, n: &Normalized) -> EntityId {
        // Every identifier of the chunk was resolved before use.
        self.resolved.get(n).unwrap_or(EntityId(0))
    }

    fn update(&mut self, n: &Normalized, f: impl FnOnce(&mut EntityRecord) -> bool) {
        let id = self.id(n);
        if let Some(t) = self.touched.get_mut(&id) {
            t.changed |= f(&mut t.rec);
        }
    }
}

/// Identifiers to entity ids, one map per entity kind (so that a lookup borrows the key).
#[derive(Default)]
struct IdentMap {
    by_kind: [FxHashMap<Box<str>, EntityId>; 8],
    len: usize,
}

impl IdentMap {
    fn get(&self, n: &Normalized) -> Option<EntityId> {
        self.by_kind[n.kind as usize].get(n.key.as_str()).copied()
    }

    fn insert(&mut self, n: &Normalized, id: EntityId) {
        let map = &mut self.by_kind[n.kind as usize];
        match map.get_mut(n.key.as_str()) {
            Some(slot) => *slot = id,
            None => {
                map.insert(Box::from(n.key.as_str()), id);
                self.len += 1;
            }
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.by_kind.iter_mut().for_each(FxHashMap::clear);
        self.len = 0;
    }

    /// Moves every entry of `other` into `self`.
    fn absorb(&mut self, other: &mut IdentMap) {
        for (mine, theirs) in self.by_kind.iter_mut().zip(other.by_kind.iter_mut()) {
            for (k, id) in theirs.drain() {
                if mine.insert(k, id).is_none() {
                    self.len += 1;
                }
            }
        }
        other.len = 0;
    }
}
