//! Records into the store: entity resolution (every identifier to one entity), evidence keyed by its
//! natural identity (so a record seen twice, in two files or two imports, is stored once), link
//! aggregates in both directions and the running counts. Chunks of records accumulate into a run;
//! each run is sorted in memory and applied to the store as one atomic unit (`Store::apply_run`),
//! on a second thread when the writer is pipelined ([`pipelined`]) while the next run is gathered.

use super::record::{Origin, Record};
use super::IngestError;
use crate::model::ident::Normalized;
use crate::model::{EntityId, EntityKind, Flags, LinkKind, Timestamp};
use crate::store::{
    Batch, Counters, EntityRecord, EvidenceKey, EvidenceRun, LinkAgg, LinkKey, RunTables, SourceId,
    SourceRecord, Stats, Store, StoreError,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Identifiers kept in memory across chunks (about 60 bytes each); past this the cache starts afresh
/// (the store still has them), so memory stays bounded however large the import. A case of a
/// million persons has about 5 million.
const IDENT_CACHE_MAX: usize = 8_000_000;

/// Entity ids below this are covered by the bit set of entities whose stored record has a label
/// (32 MiB at most); above it the record is read to find out.
const LABELLED_MAX_ID: u64 = 1 << 28;

/// Entities with identifier flags whose stored flags are kept in memory (about 20 bytes each).
const FLAGGED_CACHE_MAX: usize = 1_000_000;

/// Link aggregates kept in memory across runs (about 70 bytes each); past the bound the cache stops
/// growing and the store (or the filter of what this import wrote) answers what it lacks.
const LINK_CACHE_MAX: usize = 4_000_000;

/// Bits of the filter of links and evidence this import wrote (64 MiB: about 1 % false positives
/// at 50 million keys, each one only costing a store lookup).
const WRITTEN_FILTER_BITS: usize = 1 << 29;

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
    /// Applying runs to the store: encoding and writing the table files and the atomic commit,
    /// or, pipelined, waiting for the run being applied on the other thread.
    pub write: f64,
}

/// Writes chunks of records into a store. One writer per store at a time (the store's lock sees to it
/// across processes).
pub struct Writer<'s> {
    store: &'s Store,
    counters: Counters,
    stats: Stats,
    idents: IdentMap,
    /// `idents` holds every identifier of the store (it had none when the import began and the
    /// cache was never started afresh): an identifier it lacks is new, no lookup needed.
    idents_complete: bool,
    /// Links of committed runs, with their aggregates as stored (write-through, bounded).
    links: FxHashMap<LinkKey, LinkAgg>,
    /// The store had no links when the import began: every link and evidence record in it was
    /// written by this writer, and `written` (a Bloom filter of their keys) says which are not.
    written: Option<Bloom>,
    /// Records per run: each run is one atomic unit in the store.
    run_rows: usize,
    run: RunState,
    times: WriteTimes,
    sources: FxHashMap<(Arc<str>, Option<String>), SourceId>,
    kinds: FxHashMap<String, LinkKind>,
    counts: WriteCounts,
    /// Entities whose stored record has a label: a name for them changes nothing, so their record
    /// is not read back to find that out.
    labelled: IdBits,
    /// The stored flags of entities that have some (bounded): identifier flags they already
    /// carry change nothing.
    flagged: FxHashMap<EntityId, Flags>,
    /// The thread that applies runs, when pipelined.
    pipe: Option<Pipe>,
    /// Seconds spent waiting for runs in flight (counted as writing, not in the phase waiting).
    waited: f64,
}

/// The channel to the thread that applies runs, and its answers. At most one run is in flight:
/// every read of the store waits for it first ([`Writer::settle`]), so reads see every run
/// handed over.
struct Pipe {
    runs: mpsc::SyncSender<RunTables>,
    /// The applied run's evidence buffers, emptied, or its failure.
    done: mpsc::Receiver<Result<EvidenceRun, StoreError>>,
    in_flight: bool,
    /// Buffers handed back, for the next run to fill.
    spare: Option<EvidenceRun>,
}

/// Runs `f` with a writer whose runs are applied on a second thread while `f` gathers the next
/// one. Call [`Writer::finish`] inside `f`: a run still in flight when `f` returns is completed,
/// but its error is only reported by `finish`.
pub fn pipelined<R>(
    store: &Store,
    run_rows: usize,
    f: impl FnOnce(&mut Writer<'_>) -> R,
) -> Result<R, IngestError> {
    std::thread::scope(|s| {
        let (runs, todo) = mpsc::sync_channel::<RunTables>(0);
        let (answer, done) = mpsc::channel();
        s.spawn(move || {
            for tables in todo {
                if answer.send(store.apply_run(tables)).is_err() {
                    break;
                }
            }
        });
        let mut w = Writer::new(store, run_rows)?;
        w.pipe = Some(Pipe {
            runs,
            done,
            in_flight: false,
            spare: None,
        });
        Ok(f(&mut w))
    })
}

/// What the current run has gathered, applied by `commit_run`.
#[derive(Default)]
struct RunState {
    records: usize,
    evidence: EvidenceRun,
    /// Entities the run creates or enriches, as they will be written.
    touched: FxHashMap<EntityId, Touched>,
    new_idents: Vec<(EntityKind, String, EntityId)>,
    /// Sources and custom link kinds.
    meta: Batch,
}

/// A run's view of one entity it touches: the record as it will be written, and whether it changed.
struct Touched {
    rec: EntityRecord,
    is_new: bool,
    changed: bool,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // Best effort, as when it was turned on.
        let _ = self.store.set_bulk_load(false);
    }
}

impl<'s> Writer<'s> {
    /// Writes `records` as one run and returns what changed.
    pub fn write_all(
        store: &Store,
        records: &[(Origin, Record)],
    ) -> Result<WriteCounts, IngestError> {
        let mut w = Writer::new(store, records.len())?;
        w.write_chunk(records)?;
        w.finish()?;
        Ok(w.counts.clone())
    }

    /// A writer whose runs hold `run_rows` records each.
    pub fn new(store: &'s Store, run_rows: usize) -> Result<Writer<'s>, IngestError> {
        let stats = store.stats()?;
        Ok(Writer {
            store,
            counters: store.counters()?,
            idents_complete: stats.entity_total() == 0,
            written: (stats.link_total() == 0 && stats.evidence_total() == 0)
                .then(|| Bloom::new(WRITTEN_FILTER_BITS)),
            run_rows: run_rows.max(1),
            run: RunState::default(),
            stats,
            idents: IdentMap::default(),
            links: FxHashMap::default(),
            times: WriteTimes::default(),
            sources: FxHashMap::default(),
            kinds: FxHashMap::default(),
            counts: WriteCounts::default(),
            labelled: IdBits::default(),
            flagged: FxHashMap::default(),
            pipe: None,
            waited: 0.0,
        })
        .inspect(|_| {
            // Best effort: without it the import is only slower.
            let _ = store.set_bulk_load(true);
        })
    }

    /// Waits for the run in flight (pipelined) to be in the store, and reports its failure.
    fn settle(&mut self) -> Result<(), IngestError> {
        let Some(p) = &mut self.pipe else {
            return Ok(());
        };
        if !p.in_flight {
            return Ok(());
        }
        let t = Instant::now();
        p.in_flight = false;
        let answer = p.done.recv().unwrap_or(Err(StoreError::Backend(
            "the thread applying runs stopped".into(),
        )));
        let waited = t.elapsed().as_secs_f64();
        self.times.write += waited;
        self.waited += waited;
        p.spare = Some(answer?);
        Ok(())
    }

    /// The current run gathers its evidence into buffers handed back by an applied run, when
    /// it has not started yet.
    fn reuse_spare(&mut self) {
        if self.run.evidence.is_empty() {
            if let Some(spare) = self.pipe.as_mut().and_then(|p| p.spare.take()) {
                self.run.evidence = spare;
            }
        }
    }

    /// The entity's stored record has a label (so far as the bit set knows).
    fn known_labelled(&self, id: EntityId) -> bool {
        self.labelled.get(id)
    }

    /// The entity's stored record has the flags `f` already (so far as the cache knows).
    fn known_flags(&self, id: EntityId, f: Flags) -> bool {
        self.flagged.get(&id).is_some_and(|have| have.contains(f))
    }

    pub fn counts(&self) -> &WriteCounts {
        &self.counts
    }

    /// Where the writer's time went.
    pub fn times(&self) -> &WriteTimes {
        &self.times
    }

    /// Adds one chunk to the current run, and applies the run when it is full.
    pub fn write_chunk(&mut self, records: &[(Origin, Record)]) -> Result<(), IngestError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lap = Lap::start();
        let waited = self.waited;

        // 1. Resolve every identifier the chunk names, and load the existing entities it may enrich.
        // `ids[i]` is the entity of `wanted[i]`; the records are walked below in the same order
        // (`for_each_ident`), so each identifier is looked up once a chunk.
        let mut wanted: Vec<&Normalized> = Vec::new();
        let mut aliases: Vec<(&Normalized, &Normalized)> = Vec::new();
        for (_, r) in records {
            for_each_ident(r, |n| wanted.push(n));
            if let Record::Person(p) = r {
                aliases.extend(p.aliases.iter().map(|a| (a, &p.key)));
            }
        }
        let ids = self.resolve(&wanted)?;
        self.resolve_aliases(&aliases)?;
        // What the caches know to be in the store already needs no reading back: the update
        // would change nothing (labels and flags are only ever added).
        let mut enrich: Vec<EntityId> = wanted
            .iter()
            .zip(&ids)
            .filter(|(n, id)| n.flags != Flags::default() && !self.known_flags(**id, n.flags))
            .map(|(_, id)| *id)
            .collect();
        let mut next = ids.iter().copied();
        for (_, r) in records {
            let mut id = || next.next().unwrap_or(EntityId(0));
            match r {
                Record::Call(c) => {
                    id();
                    id();
                    if c.imei.is_some() {
                        id();
                    }
                }
                Record::Person(p) => {
                    enrich.push(id());
                    p.owns.iter().for_each(|_| {
                        id();
                    });
                }
                Record::Entity(_) => enrich.push(id()),
                Record::Transfer(t) => {
                    let (from, to) = (id(), id());
                    if t.from_name.is_some() && !self.known_labelled(from) {
                        enrich.push(from);
                    }
                    if t.to_name.is_some() && !self.known_labelled(to) {
                        enrich.push(to);
                    }
                }
                Record::Link(_) => {
                    id();
                    id();
                }
            }
        }
        self.load_existing(enrich)?;
        lap.lap(&mut self.times.resolve);
        self.times.resolve -= self.waited - waited;

        // 2. Entity attributes, and evidence for every record (its value encoded straight into
        // the run, no string per record).
        let mut evidence = std::mem::take(&mut self.run.evidence);
        let mut next = ids.iter().copied();
        for (origin, r) in records {
            let mut id = || next.next().unwrap_or(EntityId(0));
            let at = (self.source(origin)?, origin.line);
            let key = |link: LinkKey, time: Option<Timestamp>, value: i64| EvidenceKey {
                link,
                time,
                disc: disc(value),
            };
            match r {
                Record::Call(c) => {
                    let (a, b) = (id(), id());
                    let kind = if c.sms { LinkKind::SMS } else { LinkKind::CALL };
                    // The same call in both parties' records has the same parties and start: one record.
                    let link = LinkKey {
                        src: a,
                        kind,
                        dst: b,
                    };
                    let mut k = key(link, Some(c.time), c.duration_s);
                    k.disc = 0;
                    match &c.cell {
                        Some(x) => evidence.push_parts(k, c.duration_s, at, None, &[("cell ", x)]),
                        None => evidence.push_parts(k, c.duration_s, at, None, &[]),
                    }
                    if c.imei.is_some() {
                        let phone = if c.device_side_caller { a } else { b };
                        let link = LinkKey {
                            src: phone,
                            kind: LinkKind::DEVICE_OF,
                            dst: id(),
                        };
                        // One record a SIM-handset-day: the SIM was seen in the handset that day.
                        let day = c.time
                            - (c.time + crate::model::time::BEIJING_OFFSET).rem_euclid(86_400);
                        let k = key(link, Some(day), 0);
                        match &c.imsi {
                            Some(i) => evidence.push_parts(k, 0, at, None, &[("IMSI ", i)]),
                            None => evidence.push_parts(k, 0, at, None, &[]),
                        }
                    }
                }
                Record::Transfer(t) => {
                    let (from, to) = (id(), id());
                    let link = LinkKey {
                        src: from,
                        kind: LinkKind::TRANSFER,
                        dst: to,
                    };
                    let mut detail: [(&str, &str); 4] = [("", ""); 4];
                    let mut n = 0;
                    for (prefix, part) in [
                        ("", &t.channel),
                        ("", &t.memo),
                        ("IP ", &t.ip),
                        ("MAC ", &t.mac),
                    ] {
                        if let Some(x) = part {
                            detail[n] = (prefix, x);
                            n += 1;
                        }
                    }
                    evidence.push_parts(
                        key(link, Some(t.time), t.amount),
                        t.amount,
                        at,
                        t.tx_id.as_deref(),
                        &detail[..n],
                    );
                    for (acct, name) in [(from, &t.from_name), (to, &t.to_name)] {
                        if let Some(name) = name {
                            self.run
                                .update(acct, |rec| set_if_none(&mut rec.label, name));
                        }
                    }
                }
                Record::Person(p) => {
                    let person = id();
                    self.run.update(person, |rec| {
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
                    for _ in &p.owns {
                        let link = LinkKey {
                            src: person,
                            kind: LinkKind::OWNS,
                            dst: id(),
                        };
                        evidence.push_parts(key(link, None, 0), 0, at, None, &[]);
                    }
                }
                Record::Entity(e) => {
                    self.run.update(id(), |rec| {
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
                    let (from, to) = (id(), id());
                    let kind = self.link_kind(&l.kind)?;
                    let link = LinkKey {
                        src: from,
                        kind,
                        dst: to,
                    };
                    let value = l.amount.unwrap_or(0);
                    let k = key(link, l.time, value);
                    match &l.note {
                        Some(x) => evidence.push_parts(k, value, at, None, &[("", x)]),
                        None => evidence.push_parts(k, value, at, None, &[]),
                    }
                }
            }
        }
        // Flags from the identifier rules (service number, bad checksum…) accumulate on the entity.
        for (n, id) in wanted.iter().zip(&ids) {
            if n.flags != Flags::default() {
                self.run.update(*id, |rec| {
                    let f = rec.flags.union(n.flags);
                    let changed = f != rec.flags;
                    rec.flags = f;
                    changed
                });
            }
        }
        self.run.evidence = evidence;
        self.run.records += records.len();
        self.counts.records += records.len() as u64;
        lap.lap(&mut self.times.stage);
        if self.run.records >= self.run_rows {
            self.commit_run()?;
        }
        Ok(())
    }

    /// Applies the current run: evidence sorted and deduplicated (the first of duplicates kept,
    /// what the store already has dropped), link aggregates merged with the stored ones, entities
    /// and identifiers, counters and stats, all in one atomic commit.
    fn commit_run(&mut self) -> Result<(), IngestError> {
        let mut run = std::mem::take(&mut self.run);
        if run.records == 0 {
            return Ok(());
        }
        let mut lap = Lap::start();
        let candidates = run.evidence.len() as u64;
        run.evidence.sort_dedup();
        lap.lap(&mut self.times.stage);
        // The lookups below must see the run before this one (the wait counts as writing).
        self.settle()?;
        self.reuse_spare();
        lap.restart();

        // Links the store has already: from the cache, else (unless the filter of what this import
        // wrote rules it out) from the store.
        let mut link_keys: Vec<LinkKey> = run.evidence.records().map(|(k, _)| k.link).collect();
        link_keys.dedup();
        let existing = self.existing_links(&link_keys)?;
        // Evidence of a link the store does not have yet cannot be in the store.
        let probe: Vec<EvidenceKey> = run
            .evidence
            .records()
            .map(|(k, _)| *k)
            .filter(|k| existing.contains_key(&k.link))
            .filter(|k| self.written.as_ref().is_none_or(|w| w.maybe(&ev_hash(k))))
            .collect();
        let known: FxHashSet<EvidenceKey> = probe
            .iter()
            .zip(self.store.evidence_exists(&probe)?)
            .filter(|(_, there)| *there)
            .map(|(k, _)| *k)
            .collect();
        if !known.is_empty() {
            run.evidence.retain(|k| !known.contains(k));
        }
        lap.lap(&mut self.times.lookup);

        // Link aggregates (evidence is in link order), merged with what the store has.
        let mut links: Vec<(LinkKey, LinkAgg)> = Vec::with_capacity(link_keys.len());
        let mut kept = 0u64;
        for (k, value) in run.evidence.records() {
            kept += 1;
            *self.stats.evidence.entry(k.link.kind).or_default() += 1;
            match links.last_mut() {
                Some((l, agg)) if *l == k.link => agg.add(value, k.time),
                _ => {
                    let mut agg = LinkAgg::default();
                    agg.add(value, k.time);
                    links.push((k.link, agg));
                }
            }
        }
        self.counts.evidence_new += kept;
        self.counts.evidence_duplicate += candidates - kept;
        for (key, agg) in &mut links {
            match existing.get(key) {
                Some(old) => {
                    agg.count += old.count;
                    agg.total = agg.total.saturating_add(old.total);
                    agg.first = agg.first.min(old.first);
                    agg.last = agg.last.max(old.last);
                }
                None => {
                    self.counts.links_new += 1;
                    *self.stats.links.entry(key.kind).or_default() += 1;
                }
            }
        }

        // Entities, identifiers, counters. The caches learn what each entity's record will be.
        let mut entities: Vec<(EntityId, EntityRecord)> = Vec::new();
        for (id, t) in run.touched.drain() {
            if t.is_new {
                self.counts.entities_new += 1;
                *self.stats.entities.entry(t.rec.kind).or_default() += 1;
            } else if t.changed {
                self.counts.entities_enriched += 1;
            }
            if t.rec.label.is_some() {
                self.labelled.set(id);
            }
            if t.rec.flags != Flags::default()
                && (self.flagged.len() < FLAGGED_CACHE_MAX || self.flagged.contains_key(&id))
            {
                self.flagged.insert(id, t.rec.flags);
            }
            if t.is_new || t.changed {
                entities.push((id, t.rec));
            }
        }
        entities.sort_unstable_by_key(|(id, _)| *id);
        let mut meta = std::mem::take(&mut run.meta);
        meta.put_counters(
            self.counters.next_entity,
            self.counters.next_source,
            self.counters.next_kind,
            &self.stats,
        );

        // The caches learn the run as it is handed over: every later read of the store waits
        // for it to be applied, and a failure to apply it ends the import.
        if let Some(w) = &mut self.written {
            for (k, _) in run.evidence.records() {
                w.insert(&ev_hash(k));
            }
            for (k, _) in &links {
                w.insert(&link_hash(k));
            }
        }
        for (key, agg) in &links {
            if self.links.len() < LINK_CACHE_MAX || self.links.contains_key(key) {
                self.links.insert(*key, *agg);
            }
        }
        if self.idents.len() > IDENT_CACHE_MAX {
            self.idents.clear();
            self.idents_complete = false;
        }
        lap.lap(&mut self.times.lookup);
        let tables = RunTables {
            evidence: run.evidence,
            links,
            entities,
            idents: run.new_idents,
            meta,
        };
        match &mut self.pipe {
            Some(p) => {
                p.runs
                    .send(tables)
                    .map_err(|_| StoreError::Backend("the thread applying runs stopped".into()))?;
                p.in_flight = true;
            }
            None => {
                self.store.apply_run(tables)?;
            }
        }
        lap.lap(&mut self.times.write);
        Ok(())
    }

    /// Applies the last, partly filled run, and waits for every run to be in the store. A crash
    /// before a run is applied loses it whole; importing the files again restores it.
    pub fn finish(&mut self) -> Result<(), IngestError> {
        let last = self.commit_run();
        let settled = self.settle();
        last.and(settled)
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
                None if self
                    .written
                    .as_ref()
                    .is_some_and(|w| !w.maybe(&link_hash(k))) => {}
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

    /// Resolves identifiers to entity ids (`ids[i]` for `wanted[i]`): the writer's cache, the
    /// store, or a new id. The cache has them all from here on (they reach the store with the run).
    fn resolve(&mut self, wanted: &[&Normalized]) -> Result<Vec<EntityId>, IngestError> {
        let mut ids: Vec<EntityId> = Vec::with_capacity(wanted.len());
        let mut misses: Vec<&Normalized> = Vec::new();
        for n in wanted {
            // A miss gets a placeholder naming it, so that a repeat is no second miss.
            match self.idents.get_or_insert(n, placeholder(misses.len())) {
                Some(id) => ids.push(id),
                None => {
                    ids.push(placeholder(misses.len()));
                    misses.push(n);
                }
            }
        }
        if misses.is_empty() {
            return Ok(ids);
        }
        let found = if self.idents_complete {
            vec![None; misses.len()]
        } else {
            self.settle()?;
            let lookups: Vec<(EntityKind, &str)> =
                misses.iter().map(|n| (n.kind, n.key.as_str())).collect();
            self.store.lookup_many(&lookups)?
        };
        let mut resolved: Vec<EntityId> = Vec::with_capacity(misses.len());
        for (n, f) in misses.iter().zip(found) {
            let id = match f {
                Some(id) => id,
                None => {
                    let id = EntityId(self.counters.next_entity);
                    self.counters.next_entity += 1;
                    self.run.new_idents.push((n.kind, n.key.clone(), id));
                    self.run.touched.insert(
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
            self.idents.insert(n, id);
            resolved.push(id);
        }
        for id in &mut ids {
            if let Some(i) = placeholder_index(*id, resolved.len()) {
                *id = resolved[i];
            }
        }
        Ok(ids)
    }

    /// Points a person's other keys at the person. An alias that already names another entity keeps
    /// it: entities are never merged behind the user's back.
    fn resolve_aliases(
        &mut self,
        aliases: &[(&Normalized, &Normalized)],
    ) -> Result<(), IngestError> {
        let fresh: Vec<_> = aliases
            .iter()
            .filter(|(a, _)| self.idents.get(a).is_none())
            .collect();
        let found = if self.idents_complete || fresh.is_empty() {
            vec![None; fresh.len()]
        } else {
            self.settle()?;
            let lookups: Vec<(EntityKind, &str)> = fresh
                .iter()
                .map(|(a, _)| (a.kind, a.key.as_str()))
                .collect();
            self.store.lookup_many(&lookups)?
        };
        for ((alias, person), f) in fresh.into_iter().zip(found) {
            let id = match f {
                Some(id) => id,
                None => {
                    let id = self.idents.id(person);
                    self.run
                        .new_idents
                        .push((alias.kind, alias.key.clone(), id));
                    id
                }
            };
            self.idents.insert(alias, id);
        }
        Ok(())
    }

    /// Loads the stored records of existing entities the chunk may enrich.
    fn load_existing(&mut self, mut ids: Vec<EntityId>) -> Result<(), IngestError> {
        ids.retain(|id| !self.run.touched.contains_key(id));
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        self.settle()?;
        for (id, rec) in ids.iter().zip(self.store.entities_many(&ids)?) {
            let rec = rec.ok_or(IngestError::Dangling(*id))?;
            self.run.touched.insert(
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

    fn source(&mut self, origin: &Origin) -> Result<SourceId, IngestError> {
        let key = (origin.file.clone(), origin.label.clone());
        if let Some(id) = self.sources.get(&key) {
            return Ok(*id);
        }
        self.settle()?;
        let id = match self
            .store
            .source_id(&origin.file, origin.label.as_deref())?
        {
            Some(id) => id,
            None => {
                let id = SourceId(self.counters.next_source);
                self.counters.next_source += 1;
                self.stats.sources += 1;
                self.run.meta.put_source(
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

    fn link_kind(&mut self, name: &str) -> Result<LinkKind, IngestError> {
        if let Some(k) = LinkKind::builtin(name) {
            return Ok(k);
        }
        let name = name.trim().to_lowercase();
        if let Some(k) = self.kinds.get(&name) {
            return Ok(*k);
        }
        self.settle()?;
        let k = match self.store.custom_link_kind(&name) {
            Ok(Some(k)) => k,
            _ => {
                let k = LinkKind(self.counters.next_kind);
                self.counters.next_kind = self.counters.next_kind.saturating_add(1);
                self.run.meta.put_link_kind(&name, k);
                k
            }
        };
        self.kinds.insert(name, k);
        Ok(k)
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

impl RunState {
    /// Changes the run's record of `id`, if the run touches it (else the change is a no-op:
    /// see the enrichment filter in [`Writer::write_chunk`]).
    fn update(&mut self, id: EntityId, f: impl FnOnce(&mut EntityRecord) -> bool) {
        if let Some(t) = self.touched.get_mut(&id) {
            t.changed |= f(&mut t.rec);
        }
    }
}

/// A phase clock: each lap adds the time since the previous one to a phase's total.
struct Lap {
    clock: Instant,
}

impl Lap {
    fn start() -> Lap {
        Lap {
            clock: Instant::now(),
        }
    }

    fn lap(&mut self, slot: &mut f64) {
        let now = Instant::now();
        *slot += (now - self.clock).as_secs_f64();
        self.clock = now;
    }

    fn restart(&mut self) {
        self.clock = Instant::now();
    }
}

/// A set of entity ids below [`LABELLED_MAX_ID`] (the ids above are never in it).
#[derive(Default)]
struct IdBits {
    words: Vec<u64>,
}

impl IdBits {
    fn get(&self, id: EntityId) -> bool {
        let i = (id.0 / 64) as usize;
        id.0 < LABELLED_MAX_ID
            && self
                .words
                .get(i)
                .is_some_and(|w| w & (1 << (id.0 % 64)) != 0)
    }

    fn set(&mut self, id: EntityId) {
        if id.0 >= LABELLED_MAX_ID {
            return;
        }
        let i = (id.0 / 64) as usize;
        if self.words.len() <= i {
            self.words.resize((i + 1).next_power_of_two(), 0);
        }
        self.words[i] |= 1 << (id.0 % 64);
    }
}

/// A Bloom filter over 64-bit hashes (four probes): `maybe` is false only for keys never
/// inserted. Pages are zeroed lazily by the allocator, so a small import touches little of it.
struct Bloom {
    bits: Vec<u64>,
    mask: u64,
}

impl Bloom {
    fn new(bits: usize) -> Bloom {
        let words = (bits / 64).next_power_of_two().max(1);
        Bloom {
            bits: vec![0; words],
            mask: (words as u64 * 64) - 1,
        }
    }

    fn probes(&self, h: u64) -> [u64; 4] {
        let (a, b) = (h, h.rotate_left(32) | 1);
        [0u64, 1, 2, 3].map(|i| a.wrapping_add(i.wrapping_mul(b)) & self.mask)
    }

    fn insert(&mut self, h: &u64) {
        for p in self.probes(*h) {
            self.bits[(p / 64) as usize] |= 1 << (p % 64);
        }
    }

    fn maybe(&self, h: &u64) -> bool {
        self.probes(*h)
            .iter()
            .all(|p| self.bits[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }
}

fn hash_of(v: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    // Fx's low bits are weak: mix before probing.
    let h = BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(v);
    let h = (h ^ (h >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 29)
}

fn ev_hash(k: &EvidenceKey) -> u64 {
    hash_of((1u8, k))
}

fn link_hash(k: &LinkKey) -> u64 {
    hash_of((2u8, k))
}

/// The placeholder of the `i`th identifier of a chunk missing from the cache, until it is resolved
/// (entity ids are counted up from 1 and never reach these).
fn placeholder(i: usize) -> EntityId {
    EntityId(u64::MAX - i as u64)
}

/// Which of `misses` placeholders `id` is, if it is one.
fn placeholder_index(id: EntityId, misses: usize) -> Option<usize> {
    let i = u64::MAX - id.0;
    (i < misses as u64).then_some(i as usize)
}

/// An identifier of at most [`ShortKey::MAX`] bytes (nearly all: phone numbers, cards, resident
/// IDs, IMEIs) held in the map's own slots, so that a lookup reads no second allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ShortKey([u64; 3]);

impl std::hash::Hash for ShortKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.iter().for_each(|w| h.write_u64(*w));
    }
}

impl ShortKey {
    const MAX: usize = 23;

    fn new(s: &str) -> Option<ShortKey> {
        let b = s.as_bytes();
        if b.len() > ShortKey::MAX {
            return None;
        }
        let mut buf = [0u8; 24];
        buf[..b.len()].copy_from_slice(b);
        // The length in the last byte: "a" and "a\0" differ.
        buf[23] = b.len() as u8;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Some(ShortKey([word(0), word(1), word(2)]))
    }
}

/// Identifiers to entity ids, per entity kind: short ones inline, longer ones boxed.
#[derive(Default)]
struct IdentMap {
    short: [FxHashMap<ShortKey, EntityId>; 8],
    long: [FxHashMap<Box<str>, EntityId>; 8],
    len: usize,
}

impl IdentMap {
    fn get(&self, n: &Normalized) -> Option<EntityId> {
        let k = n.kind as usize;
        match ShortKey::new(&n.key) {
            Some(s) => self.short[k].get(&s).copied(),
            None => self.long[k].get(n.key.as_str()).copied(),
        }
    }

    /// The id of `n`, or `None` after giving it `id` (one probe of the map for a short key).
    fn get_or_insert(&mut self, n: &Normalized, id: EntityId) -> Option<EntityId> {
        let k = n.kind as usize;
        match ShortKey::new(&n.key) {
            Some(s) => match self.short[k].entry(s) {
                std::collections::hash_map::Entry::Occupied(o) => Some(*o.get()),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(id);
                    self.len += 1;
                    None
                }
            },
            None => {
                let map = &mut self.long[k];
                if let Some(have) = map.get(n.key.as_str()) {
                    return Some(*have);
                }
                map.insert(Box::from(n.key.as_str()), id);
                self.len += 1;
                None
            }
        }
    }

    fn insert(&mut self, n: &Normalized, id: EntityId) {
        let k = n.kind as usize;
        match ShortKey::new(&n.key) {
            Some(s) => {
                if self.short[k].insert(s, id).is_none() {
                    self.len += 1;
                }
            }
            None => match self.long[k].get_mut(n.key.as_str()) {
                Some(slot) => *slot = id,
                None => {
                    self.long[k].insert(Box::from(n.key.as_str()), id);
                    self.len += 1;
                }
            },
        }
    }

    /// The id of an identifier of the chunk being written (all are resolved before use).
    fn id(&self, n: &Normalized) -> EntityId {
        self.get(n).unwrap_or(EntityId(0))
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.short.iter_mut().for_each(FxHashMap::clear);
        self.long.iter_mut().for_each(FxHashMap::clear);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(kind: EntityKind, key: &str) -> Normalized {
        Normalized {
            kind,
            key: key.to_string(),
            flags: Flags::default(),
        }
    }

    #[test]
    fn ident_map_keeps_short_and_long_keys_apart_by_kind_and_length() {
        let mut m = IdentMap::default();
        let long = "x".repeat(ShortKey::MAX + 1);
        let keys = [
            ident(EntityKind::Phone, "+8613800138000"),
            ident(EntityKind::Account, "+8613800138000"),
            ident(EntityKind::Org, "a"),
            ident(EntityKind::Org, "a\0"),
            ident(EntityKind::Org, &"y".repeat(ShortKey::MAX)),
            ident(EntityKind::Org, &long),
        ];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get_or_insert(k, EntityId(i as u64 + 1)), None);
        }
        assert_eq!(m.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                m.get_or_insert(k, EntityId(99)),
                Some(EntityId(i as u64 + 1))
            );
            m.insert(k, EntityId(i as u64 + 10));
            assert_eq!(m.id(k), EntityId(i as u64 + 10));
        }
        assert_eq!(m.len(), keys.len());
        assert_eq!(m.get(&ident(EntityKind::Org, "b")), None);
        m.clear();
        assert_eq!((m.len(), m.get(&keys[5])), (0, None));
    }

    #[test]
    fn placeholders_name_their_miss_and_no_entity() {
        assert_eq!(placeholder_index(placeholder(0), 1), Some(0));
        assert_eq!(placeholder_index(placeholder(41), 42), Some(41));
        assert_eq!(placeholder_index(placeholder(42), 42), None);
        assert_eq!(placeholder_index(EntityId(1), 1_000), None);
    }
}
