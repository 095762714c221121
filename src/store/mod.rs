//! The graph store: entities, the identifier index, links in both directions with their aggregated
//! evidence, every evidence record with its source, documents for the server (users, case maps,
//! audit, community runs), and a schema version checked on open.
//!
//! **Architecture Invariant:** this is the only module that knows RocksDB (see `kv::rocks`). Everything
//! above it sees typed records. Every logical change is one atomic [`Batch`]; the out- and in-link of a
//! pair and their evidence are always in the same batch.
//!
//! Key layout (big-endian, so byte order is numeric order):
//!
//! | family      | key                                         | value                    |
//! |-------------|---------------------------------------------|--------------------------|
//! | `meta`      | `schema_version`, `next_entity`, `stats`…   | integers, encoded stats  |
//! | `entities`  | `id u64`                                    | [`EntityRecord`]         |
//! | `idents`    | `kind u8 ‖ key`                             | `id u64`                 |
//! | `links_out` | `src u64 ‖ kind u16 ‖ dst u64`              | [`LinkAgg`]              |
//! | `links_in`  | `dst u64 ‖ kind u16 ‖ src u64`              | [`LinkAgg`]              |
//! | `evidence`  | `src ‖ kind ‖ dst ‖ time i64* ‖ disc u32`   | [`Evidence`] value       |
//! | `sources`   | `id u32`                                    | [`SourceRecord`]         |
//! | `docs`      | `collection ‖ 0 ‖ key`                      | bytes                    |
//!
//! (`i64*`: sign bit flipped so negative times sort first.)
//!
//! Community runs are three `docs` collections, `runs`, `run_communities` and `run_members`, keyed
//! by the run id in ten decimal digits; their encoding is documented in `runs.rs`.

mod check;
mod codec;
mod kv;
mod runs;
#[cfg(test)]
mod tests;

use crate::model::{EntityId, EntityKind, Flags, LinkKind, Roles, Status, Timestamp};
pub use check::{CheckReport, Digest};
use codec::{from_ordered_i64, ordered_i64, Dec, Enc};
use kv::{Cf, Kv, Op};
use rayon::slice::ParallelSliceMut;
use std::collections::BTreeMap;
use std::path::Path;

/// The on-disk schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage engine: {0}")]
    Backend(String),
    #[error("the store at {0} is in use by another fraudnet process (an import or a server); stop it or wait for it to finish")]
    Locked(String),
    #[error("the store was written by a newer fraudnet (schema {found}, this build reads up to {supported}); upgrade fraudnet")]
    TooNew { found: u32, supported: u32 },
    #[error("no fraudnet store at {0} (run `fraudnet import` first)")]
    Missing(String),
    #[error("the store at {0} was left half-created by an interrupted import (an older fraudnet); run `fraudnet import` on it to finish it")]
    Incomplete(String),
    #[error(transparent)]
    Corruption(#[from] CorruptionError),
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    #[error("a writer panicked while holding the in-memory store")]
    Poisoned,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Stored bytes that do not decode: the store is damaged or was written by something else.
#[derive(Debug, thiserror::Error)]
#[error("corrupt {what}: {detail}")]
pub struct CorruptionError {
    what: &'static str,
    detail: String,
}

impl CorruptionError {
    pub(crate) fn new(what: &'static str, detail: impl Into<String>) -> CorruptionError {
        CorruptionError {
            what,
            detail: detail.into(),
        }
    }
}

/// Everything the store knows about one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRecord {
    pub kind: EntityKind,
    pub key: String,
    pub flags: Flags,
    pub roles: Roles,
    /// A display name: the person's name, an account holder's name, a place's name.
    pub label: Option<String>,
    pub statuses: Vec<(Status, Timestamp)>,
    pub notes: Option<String>,
}

impl EntityRecord {
    pub fn new(kind: EntityKind, key: String, flags: Flags) -> EntityRecord {
        EntityRecord {
            kind,
            key,
            flags,
            roles: Roles::default(),
            label: None,
            statuses: Vec::new(),
            notes: None,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_tag(1);
        e.u8(self.kind as u8)
            .u16(self.flags.0)
            .u32(self.roles.0)
            .str(&self.key)
            .opt_str(self.label.as_deref())
            .opt_str(self.notes.as_deref())
            .u32(u32::try_from(self.statuses.len()).unwrap_or(u32::MAX));
        for (s, t) in &self.statuses {
            e.u8(*s as u8).i64(*t);
        }
        e.finish()
    }

    fn decode(b: &[u8]) -> Result<EntityRecord, CorruptionError> {
        let mut d = Dec::tag(b, "entity", 1)?;
        let kind = d.u8()?;
        let kind = EntityKind::from_code(kind)
            .ok_or_else(|| CorruptionError::new("entity", format!("kind {kind}")))?;
        let flags = Flags(d.u16()?);
        let roles = Roles(d.u32()?);
        let key = d.str()?;
        let label = d.opt_str()?;
        let notes = d.opt_str()?;
        let n = d.u32()?;
        let mut statuses = Vec::new();
        for _ in 0..n {
            let s = d.u8()?;
            let s = Status::from_code(s)
                .ok_or_else(|| CorruptionError::new("entity", format!("status {s}")))?;
            statuses.push((s, d.i64()?));
        }
        d.end()?;
        Ok(EntityRecord {
            kind,
            key,
            flags,
            roles,
            label,
            statuses,
            notes,
        })
    }
}

/// A directed link between two entities of one kind. Symmetric kinds are stored in the direction
/// they were first written; the snapshot treats them as undirected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    pub src: EntityId,
    pub kind: LinkKind,
    pub dst: EntityId,
}

impl LinkKey {
    fn out_key(&self) -> Vec<u8> {
        self.out_key_array().to_vec()
    }

    fn in_key(&self) -> Vec<u8> {
        self.in_key_array().to_vec()
    }

    fn out_key_array(&self) -> [u8; 18] {
        Self::key_array(self.src, self.kind, self.dst)
    }

    fn in_key_array(&self) -> [u8; 18] {
        Self::key_array(self.dst, self.kind, self.src)
    }

    fn key_array(a: EntityId, kind: LinkKind, z: EntityId) -> [u8; 18] {
        let mut k = [0u8; 18];
        k[0..8].copy_from_slice(&a.0.to_be_bytes());
        k[8..10].copy_from_slice(&kind.0.to_be_bytes());
        k[10..18].copy_from_slice(&z.0.to_be_bytes());
        k
    }

    fn decode(b: &[u8], reversed: bool) -> Result<LinkKey, CorruptionError> {
        if b.len() < 18 {
            return Err(CorruptionError::new("link key", "too short"));
        }
        let a = EntityId(u64::from_be_bytes(b[0..8].try_into().unwrap_or_default()));
        let kind = LinkKind(u16::from_be_bytes(b[8..10].try_into().unwrap_or_default()));
        let z = EntityId(u64::from_be_bytes(b[10..18].try_into().unwrap_or_default()));
        Ok(if reversed {
            LinkKey {
                src: z,
                kind,
                dst: a,
            }
        } else {
            LinkKey {
                src: a,
                kind,
                dst: z,
            }
        })
    }
}

/// The evidence of one link, aggregated: how many records, their summed duration (seconds) or amount
/// (fen), and the first and last time seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkAgg {
    pub count: u64,
    pub total: i64,
    /// `i64::MAX` when no record had a time.
    pub first: Timestamp,
    /// `i64::MIN` when no record had a time.
    pub last: Timestamp,
}

impl Default for LinkAgg {
    fn default() -> LinkAgg {
        LinkAgg {
            count: 0,
            total: 0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

impl LinkAgg {
    pub fn add(&mut self, value: i64, time: Option<Timestamp>) {
        self.count += 1;
        self.total = self.total.saturating_add(value);
        if let Some(t) = time {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
        }
    }

    pub fn has_time(&self) -> bool {
        self.first <= self.last
    }

    fn encode(&self) -> Vec<u8> {
        self.encode_array().to_vec()
    }

    /// Version tag 1, then count, total, first and last, big-endian.
    fn encode_array(&self) -> [u8; 33] {
        let mut v = [0u8; 33];
        v[0] = 1;
        v[1..9].copy_from_slice(&self.count.to_be_bytes());
        v[9..17].copy_from_slice(&self.total.to_be_bytes());
        v[17..25].copy_from_slice(&self.first.to_be_bytes());
        v[25..33].copy_from_slice(&self.last.to_be_bytes());
        v
    }

    fn decode(b: &[u8]) -> Result<LinkAgg, CorruptionError> {
        let mut d = Dec::tag(b, "link", 1)?;
        let agg = LinkAgg {
            count: d.u64()?,
            total: d.i64()?,
            first: d.i64()?,
            last: d.i64()?,
        };
        d.end()?;
        Ok(agg)
    }
}

/// The source a piece of evidence came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRecord {
    /// The file's name as imported.
    pub file: String,
    /// The row's own source column (carrier, bank, debrief), if any.
    pub label: Option<String>,
}

/// Identifies one evidence record: the link, its time, and a discriminator for records of the same
/// link at the same second (e.g. two transfers of different amounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EvidenceKey {
    pub link: LinkKey,
    pub time: Option<Timestamp>,
    pub disc: u32,
}

impl EvidenceKey {
    fn encode(&self) -> Vec<u8> {
        self.encode_array().to_vec()
    }

    fn encode_array(&self) -> [u8; 30] {
        let mut k = [0u8; 30];
        k[0..8].copy_from_slice(&self.link.src.0.to_be_bytes());
        k[8..10].copy_from_slice(&self.link.kind.0.to_be_bytes());
        k[10..18].copy_from_slice(&self.link.dst.0.to_be_bytes());
        k[18..26].copy_from_slice(&ordered_i64(self.time.unwrap_or(i64::MIN)));
        k[26..30].copy_from_slice(&self.disc.to_be_bytes());
        k
    }

    fn decode(b: &[u8]) -> Result<EvidenceKey, CorruptionError> {
        if b.len() != 30 {
            return Err(CorruptionError::new("evidence key", "wrong length"));
        }
        let link = LinkKey::decode(&b[..18], false)?;
        let t = from_ordered_i64(b[18..26].try_into().unwrap_or_default());
        let disc = u32::from_be_bytes(b[26..30].try_into().unwrap_or_default());
        Ok(EvidenceKey {
            link,
            time: (t != i64::MIN).then_some(t),
            disc,
        })
    }
}

/// One record of evidence: a call, a transaction, a registration, a debrief statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub key: EvidenceKey,
    /// Duration in seconds (calls), amount in fen (transfers), otherwise 0.
    pub value: i64,
    pub source: SourceId,
    /// 1-based line of the row in its file.
    pub line: u64,
    /// The record's own id (transaction serial number…).
    pub record_id: Option<String>,
    /// Anything else worth showing (cell, channel, memo, IP, note).
    pub detail: Option<String>,
}

impl Evidence {
    fn encode_value(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_value_into(&mut v);
        v
    }

    /// Appends the encoded value to `out`.
    fn encode_value_into(&self, out: &mut Vec<u8>) {
        let detail: &[(&str, &str)] = match &self.detail {
            Some(d) => &[("", d.as_str())],
            None => &[],
        };
        encode_evidence_value(
            out,
            self.value,
            (self.source, self.line),
            self.record_id.as_deref(),
            detail,
        );
    }

    fn decode(k: &[u8], v: &[u8]) -> Result<Evidence, CorruptionError> {
        let key = EvidenceKey::decode(k)?;
        let mut d = Dec::tag(v, "evidence", 1)?;
        let ev = Evidence {
            key,
            value: d.i64()?,
            source: SourceId(d.u32()?),
            line: d.u64()?,
            record_id: d.opt_str()?,
            detail: d.opt_str()?,
        };
        d.end()?;
        Ok(ev)
    }
}

/// Appends an evidence value to `out`: value, source, line, record id and the detail, whose
/// pieces `(prefix, text)` are joined by " · " (no pieces: no detail).
fn encode_evidence_value(
    out: &mut Vec<u8>,
    value: i64,
    (source, line): (SourceId, u64),
    record_id: Option<&str>,
    detail: &[(&str, &str)],
) {
    const SEP: &str = " · ";
    let mut e = Enc(std::mem::take(out));
    e.u8(1)
        .i64(value)
        .u32(source.0)
        .u64(line)
        .opt_str(record_id);
    let len = detail.iter().map(|(p, t)| p.len() + t.len()).sum::<usize>()
        + SEP.len() * detail.len().saturating_sub(1);
    // As `Enc::str` does, a detail past 4 GiB (never one row's) is cut at the length written.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    e.u32(len);
    let end = e.0.len() + len as usize;
    for (i, (p, t)) in detail.iter().enumerate() {
        if i > 0 {
            e.0.extend_from_slice(SEP.as_bytes());
        }
        e.0.extend_from_slice(p.as_bytes());
        e.0.extend_from_slice(t.as_bytes());
    }
    e.0.truncate(end);
    *out = e.0;
}

/// Counts kept up to date by every batch, so `stats` needs no scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub entities: BTreeMap<EntityKind, u64>,
    /// Distinct linked pairs by link kind.
    pub links: BTreeMap<LinkKind, u64>,
    /// Evidence records by link kind.
    pub evidence: BTreeMap<LinkKind, u64>,
    pub sources: u64,
}

impl Stats {
    pub fn entity_total(&self) -> u64 {
        self.entities.values().sum()
    }
    pub fn link_total(&self) -> u64 {
        self.links.values().sum()
    }
    pub fn evidence_total(&self) -> u64 {
        self.evidence.values().sum()
    }

    fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_tag(1);
        e.u64(self.sources);
        e.u32(self.entities.len() as u32);
        for (k, n) in &self.entities {
            e.u8(*k as u8).u64(*n);
        }
        for map in [&self.links, &self.evidence] {
            e.u32(map.len() as u32);
            for (k, n) in map {
                e.u16(k.0).u64(*n);
            }
        }
        e.finish()
    }

    fn decode(b: &[u8]) -> Result<Stats, CorruptionError> {
        let mut d = Dec::tag(b, "stats", 1)?;
        let mut s = Stats {
            sources: d.u64()?,
            ..Stats::default()
        };
        for _ in 0..d.u32()? {
            let k = d.u8()?;
            let k = EntityKind::from_code(k)
                .ok_or_else(|| CorruptionError::new("stats", "entity kind"))?;
            s.entities.insert(k, d.u64()?);
        }
        for map in [&mut s.links, &mut s.evidence] {
            for _ in 0..d.u32()? {
                let k = LinkKind(d.u16()?);
                map.insert(k, d.u64()?);
            }
        }
        d.end()?;
        Ok(s)
    }
}

/// Which way to read links from an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Out,
    In,
}

const META_SCHEMA: &[u8] = b"schema_version";
const META_NEXT_ENTITY: &[u8] = b"next_entity";
const META_NEXT_SOURCE: &[u8] = b"next_source";
const META_NEXT_KIND: &[u8] = b"next_link_kind";
const META_STATS: &[u8] = b"stats";
const META_KIND_BY_NAME: &[u8] = b"link_kind_name:";
const META_KIND_BY_CODE: &[u8] = b"link_kind_code:";
const META_SOURCE_BY_NAME: &[u8] = b"source_name:";

fn ident_key(kind: EntityKind, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(kind as u8);
    k.extend_from_slice(key.as_bytes());
    k
}

fn doc_key(collection: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(collection.len() + 1 + key.len());
    k.extend_from_slice(collection.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn u64_value(b: &[u8], what: &'static str) -> Result<u64, CorruptionError> {
    let mut d = Dec::new(b, what);
    let v = d.u64()?;
    d.end()?;
    Ok(v)
}

/// Staged writes, applied atomically by [`Store::write`].
#[derive(Default)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn put_entity(&mut self, id: EntityId, rec: &EntityRecord) {
        self.ops.push(Op::Put(
            Cf::Entities,
            id.0.to_be_bytes().to_vec(),
            rec.encode(),
        ));
    }
    pub fn put_ident(&mut self, kind: EntityKind, key: &str, id: EntityId) {
        self.ops.push(Op::Put(
            Cf::Idents,
            ident_key(kind, key),
            id.0.to_be_bytes().to_vec(),
        ));
    }
    /// Writes a link's aggregate in both directions.
    pub fn put_link(&mut self, key: &LinkKey, agg: &LinkAgg) {
        let v = agg.encode();
        self.ops.push(Op::Put(Cf::In, key.in_key(), v.clone()));
        self.ops.push(Op::Put(Cf::Out, key.out_key(), v));
    }
    pub fn put_evidence(&mut self, ev: &Evidence) {
        self.ops
            .push(Op::Put(Cf::Evidence, ev.key.encode(), ev.encode_value()));
    }
    pub fn put_source(&mut self, id: SourceId, rec: &SourceRecord) {
        let v = {
            let mut e = Enc::with_tag(1);
            e.str(&rec.file).opt_str(rec.label.as_deref());
            e.finish()
        };
        self.ops
            .push(Op::Put(Cf::Sources, id.0.to_be_bytes().to_vec(), v));
        let mut name = META_SOURCE_BY_NAME.to_vec();
        name.extend_from_slice(source_name(&rec.file, rec.label.as_deref()).as_bytes());
        self.ops.push(Op::Put(
            Cf::Meta,
            name,
            u64::from(id.0).to_be_bytes().to_vec(),
        ));
    }
    pub fn put_link_kind(&mut self, name: &str, kind: LinkKind) {
        let mut by_name = META_KIND_BY_NAME.to_vec();
        by_name.extend_from_slice(name.as_bytes());
        self.ops
            .push(Op::Put(Cf::Meta, by_name, kind.0.to_be_bytes().to_vec()));
        let mut by_code = META_KIND_BY_CODE.to_vec();
        by_code.extend_from_slice(&kind.0.to_be_bytes());
        self.ops
            .push(Op::Put(Cf::Meta, by_code, name.as_bytes().to_vec()));
    }
    /// Records the id counters and the stats; the writer puts them in every batch it writes.
    pub fn put_counters(
        &mut self,
        next_entity: u64,
        next_source: u32,
        next_kind: u16,
        stats: &Stats,
    ) {
        self.ops.push(Op::Put(
            Cf::Meta,
            META_NEXT_ENTITY.to_vec(),
            next_entity.to_be_bytes().to_vec(),
        ));
        self.ops.push(Op::Put(
            Cf::Meta,
            META_NEXT_SOURCE.to_vec(),
            u64::from(next_source).to_be_bytes().to_vec(),
        ));
        self.ops.push(Op::Put(
            Cf::Meta,
            META_NEXT_KIND.to_vec(),
            u64::from(next_kind).to_be_bytes().to_vec(),
        ));
        self.ops
            .push(Op::Put(Cf::Meta, META_STATS.to_vec(), stats.encode()));
    }
    pub fn put_doc(&mut self, collection: &str, key: &str, value: &[u8]) {
        self.ops
            .push(Op::Put(Cf::Docs, doc_key(collection, key), value.to_vec()));
    }
}

fn source_name(file: &str, label: Option<&str>) -> String {
    format!("{file}\u{0}{}", label.unwrap_or(""))
}

/// One import run's tables, staged by the `stage_*` calls and applied by [`Store::commit_run`].
pub struct Run {
    staged: kv::Staged,
}

/// Everything one import run writes, owned, so that it can be applied on another thread
/// ([`Store::apply_run`]).
#[derive(Default)]
pub struct RunTables {
    /// Sorted, without duplicate keys ([`EvidenceRun::sort_dedup`]).
    pub evidence: EvidenceRun,
    /// Sorted by key, without repeats.
    pub links: Vec<(LinkKey, LinkAgg)>,
    /// Sorted by id, without repeats.
    pub entities: Vec<(EntityId, EntityRecord)>,
    /// Any order (of one identifier given twice, the last wins).
    pub idents: Vec<(EntityKind, String, EntityId)>,
    /// Counters, stats, sources, custom link kinds.
    pub meta: Batch,
}

/// Evidence records gathered for one run, their values encoded as they arrive.
#[derive(Default)]
pub struct EvidenceRun {
    rows: Vec<EvidenceRow>,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy)]
struct EvidenceRow {
    key: EvidenceKey,
    value: i64,
    off: usize,
    len: u32,
}

impl EvidenceRun {
    pub fn push(&mut self, ev: &Evidence) {
        let off = self.bytes.len();
        ev.encode_value_into(&mut self.bytes);
        self.push_row(ev.key, ev.value, off);
    }

    /// Pushes a record built from borrowed parts, encoded as [`Evidence`]'s value is (no string
    /// per record): `at` is the source and line, `detail` the pieces `(prefix, text)` joined by
    /// " · " (none: no detail).
    pub fn push_parts(
        &mut self,
        key: EvidenceKey,
        value: i64,
        at: (SourceId, u64),
        record_id: Option<&str>,
        detail: &[(&str, &str)],
    ) {
        let off = self.bytes.len();
        encode_evidence_value(&mut self.bytes, value, at, record_id, detail);
        self.push_row(key, value, off);
    }

    fn push_row(&mut self, key: EvidenceKey, value: i64, off: usize) {
        self.rows.push(EvidenceRow {
            key,
            value,
            off,
            len: u32::try_from(self.bytes.len() - off).unwrap_or(u32::MAX),
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empties the run, keeping its memory.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.bytes.clear();
    }

    /// Sorts by key (the store's order), keeping the first pushed of records with one key.
    pub fn sort_dedup(&mut self) {
        // Offsets grow with push order: ties on the key sort first-pushed first.
        self.rows
            .par_sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.off.cmp(&b.off)));
        self.rows.dedup_by(|later, first| later.key == first.key);
    }

    /// Keys and values in order.
    pub fn records(&self) -> impl Iterator<Item = (&EvidenceKey, i64)> + '_ {
        self.rows.iter().map(|r| (&r.key, r.value))
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&EvidenceKey) -> bool) {
        self.rows.retain(|r| keep(&r.key));
    }

    fn value_bytes(&self, r: &EvidenceRow) -> &[u8] {
        &self.bytes[r.off..r.off + r.len as usize]
    }
}

/// The id counters a writer starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    pub next_entity: u64,
    pub next_source: u32,
    pub next_kind: u16,
}

/// The graph store. `Send + Sync`: share it as `Arc<Store>`. One process at a time may open a store
/// for writing; readers in the same process share it.
pub struct Store {
    kv: Kv,
}

impl Store {
    /// An empty store in memory, for tests and small jobs.
    pub fn in_memory() -> Store {
        let store = Store {
            kv: Kv::Memory(kv::Memory::default()),
        };
        // Writing the version to a fresh map cannot fail.
        let _ = store.init_schema();
        store
    }

    /// Opens (creating it if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join("CURRENT").exists() {
            Store::create(dir)?;
        }
        let store = Store {
            kv: Kv::Rocks(kv::rocks::Rocks::open(dir, false)?),
        };
        store.init_schema()?;
        Ok(store)
    }

    /// Creates a store at `dir` all at once: it is built beside `dir` (every column family and the
    /// schema record) and then renamed into place, so a process killed while creating it leaves
    /// no store at all rather than one that lacks a column family. `dir` may be absent or an empty
    /// directory; anything else without a store in it is refused.
    fn create(dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} holds files but no fraudnet store; give an empty or new directory",
                    dir.display()
                ),
            )));
        }
        let (parent, name) = beside(dir);
        std::fs::create_dir_all(&parent)?;
        let prefix = format!(".{name}.creating-");
        remove_abandoned_builds(&parent, &prefix)?;
        let building = parent.join(format!("{prefix}{}", std::process::id()));
        if building.exists() {
            std::fs::remove_dir_all(&building)?;
        }
        {
            let fresh = Store {
                kv: Kv::Rocks(kv::rocks::Rocks::open(&building, false)?),
            };
            fresh.init_schema()?;
        }
        if dir.is_dir() {
            // Empty (checked above); a rename onto a directory needs it gone on some systems.
            let _ = std::fs::remove_dir(dir);
        }
        match std::fs::rename(&building, dir) {
            Ok(()) => {
                // The rename is durable once the parent directory is.
                std::fs::File::open(&parent)?.sync_all()?;
                Ok(())
            }
            // Another process created it first: use theirs.
            Err(_) if dir.join("CURRENT").exists() => Ok(std::fs::remove_dir_all(&building)?),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens an existing store for reading only: no lock is taken, so it works while another process
    /// writes (it sees the data as of opening).
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join("CURRENT").exists() {
            return Err(StoreError::Missing(dir.display().to_string()));
        }
        // A run committed but not applied yet: a crashed writer's run is completed by opening the
        // store for writing; a live writer finishes its own in moments. A reader never sees a run
        // half applied: after 5 s of a writer still applying one, it is told the store is in use.
        let mut tries = 0;
        let store = loop {
            let store = Store {
                kv: Kv::Rocks(kv::rocks::Rocks::open(dir, true)?),
            };
            if !store.kv.run_pending()? {
                break store;
            }
            drop(store);
            match kv::rocks::Rocks::open(dir, false) {
                Ok(_) => {}
                Err(StoreError::Locked(_)) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        };
        store.check_schema()?;
        Ok(store)
    }

    fn init_schema(&self) -> Result<(), StoreError> {
        if self.kv.get(Cf::Meta, META_SCHEMA)?.is_none() {
            return self.kv.write(vec![Op::Put(
                Cf::Meta,
                META_SCHEMA.to_vec(),
                u64::from(SCHEMA_VERSION).to_be_bytes().to_vec(),
            )]);
        }
        self.check_schema()
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let found = match self.kv.get(Cf::Meta, META_SCHEMA)? {
            Some(v) => u64_value(&v, "schema version")?,
            None => {
                // A process killed between creating the store and its first write leaves an
                // empty store without a version: that is a fresh store, not a damaged one.
                let mut empty = true;
                self.kv.scan(Cf::Meta, &[], None, &mut |_, _| {
                    empty = false;
                    false
                })?;
                if empty {
                    return Ok(());
                }
                return Err(StoreError::Corruption(CorruptionError::new(
                    "meta",
                    "no schema version",
                )));
            }
        };
        if found > u64::from(SCHEMA_VERSION) {
            return Err(StoreError::TooNew {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let v = self
            .kv
            .get(Cf::Meta, META_SCHEMA)?
            .ok_or_else(|| CorruptionError::new("meta", "no schema version"))?;
        Ok(u32::try_from(u64_value(&v, "schema version")?).unwrap_or(u32::MAX))
    }

    /// Applies a batch atomically.
    pub fn write(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        self.kv.write(batch.ops)
    }

    /// Starts staging one atomic run of an import (see [`Store::commit_run`]).
    pub fn begin_run(&self) -> Run {
        Run {
            staged: kv::Staged::default(),
        }
    }

    /// Stages a run's evidence, sorted and without duplicate keys ([`EvidenceRun::sort_dedup`]).
    pub fn stage_evidence(&self, run: &mut Run, ev: &EvidenceRun) -> Result<(), StoreError> {
        self.kv
            .stage_table(&mut run.staged, Cf::Evidence, &mut |put| {
                for r in &ev.rows {
                    put(&r.key.encode_array(), ev.value_bytes(r));
                }
            })
    }

    /// Stages link aggregates in both directions; `links` must be sorted by key, without repeats.
    pub fn stage_links(
        &self,
        run: &mut Run,
        links: &[(LinkKey, LinkAgg)],
    ) -> Result<(), StoreError> {
        self.kv.stage_table(&mut run.staged, Cf::Out, &mut |put| {
            for (k, a) in links {
                put(&k.out_key_array(), &a.encode_array());
            }
        })?;
        let mut by_dst: Vec<&(LinkKey, LinkAgg)> = links.iter().collect();
        by_dst.par_sort_unstable_by_key(|(k, _)| (k.dst, k.kind, k.src));
        self.kv.stage_table(&mut run.staged, Cf::In, &mut |put| {
            for (k, a) in &by_dst {
                put(&k.in_key_array(), &a.encode_array());
            }
        })
    }

    /// Stages entity records; `entities` must be sorted by id, without repeats.
    pub fn stage_entities(
        &self,
        run: &mut Run,
        entities: &[(EntityId, &EntityRecord)],
    ) -> Result<(), StoreError> {
        self.kv
            .stage_table(&mut run.staged, Cf::Entities, &mut |put| {
                for (id, rec) in entities {
                    put(&id.0.to_be_bytes(), &rec.encode());
                }
            })
    }

    /// Stages identifiers (any order; of one identifier given twice, the last wins).
    pub fn stage_idents(
        &self,
        run: &mut Run,
        idents: &[(EntityKind, String, EntityId)],
    ) -> Result<(), StoreError> {
        let mut keyed: Vec<(Vec<u8>, EntityId)> = idents
            .iter()
            .map(|(k, key, id)| (ident_key(*k, key), *id))
            .collect();
        // Stable: of equal keys the last given stays last, and dedup keeps it.
        keyed.par_sort_by(|a, b| a.0.cmp(&b.0));
        keyed.reverse();
        keyed.dedup_by(|a, b| a.0 == b.0);
        keyed.reverse();
        self.kv
            .stage_table(&mut run.staged, Cf::Idents, &mut |put| {
                for (k, id) in &keyed {
                    put(k, &id.0.to_be_bytes());
                }
            })
    }

    /// Stages a run's tables and applies them with `tables.meta` ([`Store::commit_run`]). The
    /// evidence table is written on a second thread beside the other four. Hands the run's
    /// evidence buffers back emptied, for the next run to fill (memory already mapped: refilling
    /// it takes no page faults).
    pub fn apply_run(&self, tables: RunTables) -> Result<EvidenceRun, StoreError> {
        let RunTables {
            evidence,
            links,
            entities,
            idents,
            meta,
        } = tables;
        let (mut ev_run, mut run) = (self.begin_run(), self.begin_run());
        let (ev_done, rest_done) = std::thread::scope(|s| {
            let ev = s.spawn(|| self.stage_evidence(&mut ev_run, &evidence));
            let rest = (|| {
                self.stage_links(&mut run, &links)?;
                let refs: Vec<(EntityId, &EntityRecord)> =
                    entities.iter().map(|(id, r)| (*id, r)).collect();
                self.stage_entities(&mut run, &refs)?;
                self.stage_idents(&mut run, &idents)
            })();
            (
                ev.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                rest,
            )
        });
        // Files staged by a failed run are removed by the next open.
        ev_done?;
        rest_done?;
        ev_run.staged.append(run.staged);
        self.commit_run(ev_run, meta)?;
        let mut evidence = evidence;
        evidence.clear();
        Ok(evidence)
    }

    /// Applies a staged run together with `batch` (counters, stats, sources, link kinds), all or
    /// nothing: a crash at any moment leaves the store before or after the whole run. The run's
    /// tables are ingested as files (they never pass through the memtables), the small writes go
    /// through the write-ahead log with a record of the files; an open after a crash completes a
    /// recorded run before anything else.
    pub fn commit_run(&self, run: Run, batch: Batch) -> Result<(), StoreError> {
        self.kv.commit_run(run.staged, batch.ops)
    }

    /// An import is under way (`true`) or over: while it is, the store does not merge its files
    /// in the background (see `kv::Kv::set_bulk_load`). Not persistent: every open starts with
    /// background merging on.
    pub fn set_bulk_load(&self, on: bool) -> Result<(), StoreError> {
        self.kv.set_bulk_load(on)
    }

    pub fn counters(&self) -> Result<Counters, StoreError> {
        let get = |k: &[u8], default: u64| -> Result<u64, StoreError> {
            Ok(match self.kv.get(Cf::Meta, k)? {
                Some(v) => u64_value(&v, "counter")?,
                None => default,
            })
        };
        Ok(Counters {
            next_entity: get(META_NEXT_ENTITY, 1)?,
            next_source: u32::try_from(get(META_NEXT_SOURCE, 1)?).unwrap_or(u32::MAX),
            next_kind: u16::try_from(get(META_NEXT_KIND, u64::from(LinkKind::FIRST_CUSTOM))?)
                .unwrap_or(u16::MAX),
        })
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        match self.kv.get(Cf::Meta, META_STATS)? {
            Some(v) => Ok(Stats::decode(&v)?),
            None => Ok(Stats::default()),
        }
    }

    /// Bytes the store takes on disk (`None` in memory).
    pub fn disk_bytes(&self) -> Option<u64> {
        self.kv.disk_bytes()
    }

    // --- entities and identifiers -----------------------------------------------------------

    pub fn lookup(&self, kind: EntityKind, key: &str) -> Result<Option<EntityId>, StoreError> {
        match self.kv.get(Cf::Idents, &ident_key(kind, key))? {
            Some(v) => Ok(Some(EntityId(u64_value(&v, "ident")?))),
            None => Ok(None),
        }
    }

    pub fn lookup_many(
        &self,
        keys: &[(EntityKind, &str)],
    ) -> Result<Vec<Option<EntityId>>, StoreError> {
        let raw: Vec<Vec<u8>> = keys.iter().map(|(k, s)| ident_key(*k, s)).collect();
        self.kv
            .multi_get(Cf::Idents, &raw)?
            .into_iter()
            .map(|v| match v {
                Some(v) => Ok(Some(EntityId(u64_value(&v, "ident")?))),
                None => Ok(None),
            })
            .collect()
    }

    pub fn entity(&self, id: EntityId) -> Result<Option<EntityRecord>, StoreError> {
        match self.kv.get(Cf::Entities, &id.0.to_be_bytes())? {
            Some(v) => Ok(Some(EntityRecord::decode(&v)?)),
            None => Ok(None),
        }
    }

    pub fn entities_many(&self, ids: &[EntityId]) -> Result<Vec<Option<EntityRecord>>, StoreError> {
        let raw: Vec<Vec<u8>> = ids.iter().map(|id| id.0.to_be_bytes().to_vec()).collect();
        self.kv
            .multi_get(Cf::Entities, &raw)?
            .into_iter()
            .map(|v| {
                v.map(|v| EntityRecord::decode(&v))
                    .transpose()
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Visits entities with ids in `[from, to)` in id order.
    pub fn scan_entities(
        &self,
        from: EntityId,
        to: EntityId,
        mut visit: impl FnMut(EntityId, EntityRecord),
    ) -> Result<(), StoreError> {
        let mut err = None;
        self.kv.scan(
            Cf::Entities,
            &from.0.to_be_bytes(),
            Some(&to.0.to_be_bytes()),
            &mut |k, v| {
                let id = match <[u8; 8]>::try_from(k) {
                    Ok(b) => EntityId(u64::from_be_bytes(b)),
                    Err(_) => {
                        err = Some(CorruptionError::new("entity key", "wrong length"));
                        return false;
                    }
                };
                match EntityRecord::decode(v) {
                    Ok(rec) => {
                        visit(id, rec);
                        true
                    }
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            },
        )?;
        err.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Every identifier that points at an entity (its key and its aliases), as `(kind, key, id)`.
    pub fn scan_idents(
        &self,
        mut visit: impl FnMut(EntityKind, &str, EntityId),
    ) -> Result<(), StoreError> {
        let mut err = None;
        self.kv.scan(Cf::Idents, &[], None, &mut |k, v| {
            let parsed = (|| {
                let kind = EntityKind::from_code(*k.first()?)?;
                let key = std::str::from_utf8(&k[1..]).ok()?;
                let id = u64::from_be_bytes(v.try_into().ok()?);
                Some((kind, key, EntityId(id)))
            })();
            match parsed {
                Some((kind, key, id)) => {
                    visit(kind, key, id);
                    true
                }
                None => {
                    err = Some(CorruptionError::new("ident", "undecodable entry"));
                    false
                }
            }
        })?;
        err.map_or(Ok(()), |e| Err(e.into()))
    }

    // --- links and evidence -----------------------------------------------------------------

    pub fn links_many(&self, keys: &[LinkKey]) -> Result<Vec<Option<LinkAgg>>, StoreError> {
        let raw: Vec<Vec<u8>> = keys.iter().map(LinkKey::out_key).collect();
        self.kv
            .multi_get(Cf::Out, &raw)?
            .into_iter()
            .map(|v| {
                v.map(|v| LinkAgg::decode(&v))
                    .transpose()
                    .map_err(StoreError::from)
            })
            .collect()
    }

    fn scan_link_family(
        &self,
        cf: Cf,
        start: &[u8],
        end: Option<&[u8]>,
        mut visit: impl FnMut(LinkKey, LinkAgg) -> bool,
    ) -> Result<(), StoreError> {
        let mut err = None;
        let reversed = cf == Cf::In;
        self.kv.scan(
            cf,
            start,
            end,
            &mut |k, v| match LinkKey::decode(k, reversed)
                .and_then(|key| Ok((key, LinkAgg::decode(v)?)))
            {
                Ok((key, agg)) => visit(key, agg),
                Err(e) => {
                    err = Some(e);
                    false
                }
            },
        )?;
        err.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Visits out-links whose source id is in `[from, to)`, ordered by (source, kind, target).
    pub fn scan_links(
        &self,
        from: EntityId,
        to: EntityId,
        mut visit: impl FnMut(LinkKey, LinkAgg),
    ) -> Result<(), StoreError> {
        self.scan_link_family(
            Cf::Out,
            &from.0.to_be_bytes(),
            Some(&to.0.to_be_bytes()),
            |k, a| {
                visit(k, a);
                true
            },
        )
    }

    /// The links of one entity in one direction, at most `limit` of them.
    pub fn links_of(
        &self,
        id: EntityId,
        dir: Direction,
        limit: usize,
    ) -> Result<Vec<(LinkKey, LinkAgg)>, StoreError> {
        let cf = match dir {
            Direction::Out => Cf::Out,
            Direction::In => Cf::In,
        };
        let prefix = id.0.to_be_bytes();
        let end = kv::prefix_end(&prefix);
        let mut out = Vec::new();
        self.scan_link_family(cf, &prefix, end.as_deref(), |k, a| {
            out.push((k, a));
            out.len() < limit
        })?;
        Ok(out)
    }

    pub fn evidence_exists(&self, keys: &[EvidenceKey]) -> Result<Vec<bool>, StoreError> {
        let raw: Vec<Vec<u8>> = keys.iter().map(EvidenceKey::encode).collect();
        Ok(self
            .kv
            .multi_get(Cf::Evidence, &raw)?
            .into_iter()
            .map(|v| v.is_some())
            .collect())
    }

    /// The evidence records of one link, in time order, at most `limit`.
    pub fn evidence(&self, link: &LinkKey, limit: usize) -> Result<Vec<Evidence>, StoreError> {
        let prefix = link.out_key();
        let end = kv::prefix_end(&prefix);
        let mut out = Vec::new();
        let mut err = None;
        self.kv.scan(
            Cf::Evidence,
            &prefix,
            end.as_deref(),
            &mut |k, v| match Evidence::decode(k, v) {
                Ok(ev) => {
                    out.push(ev);
                    out.len() < limit
                }
                Err(e) => {
                    err = Some(e);
                    false
                }
            },
        )?;
        err.map_or(Ok(out), |e| Err(e.into()))
    }

    /// Visits every evidence record whose link starts at an entity in `[from, to)`.
    pub fn scan_evidence(
        &self,
        from: EntityId,
        to: EntityId,
        mut visit: impl FnMut(Evidence) -> bool,
    ) -> Result<(), StoreError> {
        let mut err = None;
        self.kv.scan(
            Cf::Evidence,
            &from.0.to_be_bytes(),
            Some(&to.0.to_be_bytes()),
            &mut |k, v| match Evidence::decode(k, v) {
                Ok(ev) => visit(ev),
                Err(e) => {
                    err = Some(e);
                    false
                }
            },
        )?;
        err.map_or(Ok(()), |e| Err(e.into()))
    }

    // --- sources and link kinds -------------------------------------------------------------

    pub fn source(&self, id: SourceId) -> Result<Option<SourceRecord>, StoreError> {
        let Some(v) = self.kv.get(Cf::Sources, &id.0.to_be_bytes())? else {
            return Ok(None);
        };
        let mut d = Dec::tag(&v, "source", 1)?;
        let rec = SourceRecord {
            file: d.str()?,
            label: d.opt_str()?,
        };
        d.end()?;
        Ok(Some(rec))
    }

    pub fn source_id(
        &self,
        file: &str,
        label: Option<&str>,
    ) -> Result<Option<SourceId>, StoreError> {
        let mut k = META_SOURCE_BY_NAME.to_vec();
        k.extend_from_slice(source_name(file, label).as_bytes());
        match self.kv.get(Cf::Meta, &k)? {
            Some(v) => Ok(Some(SourceId(
                u32::try_from(u64_value(&v, "source id")?).unwrap_or(u32::MAX),
            ))),
            None => Ok(None),
        }
    }

    /// The code of a custom link kind, if it was ever written.
    pub fn custom_link_kind(&self, name: &str) -> Result<Option<LinkKind>, StoreError> {
        let mut k = META_KIND_BY_NAME.to_vec();
        k.extend_from_slice(name.as_bytes());
        match self.kv.get(Cf::Meta, &k)? {
            Some(v) if v.len() == 2 => Ok(Some(LinkKind(u16::from_be_bytes([v[0], v[1]])))),
            Some(_) => Err(CorruptionError::new("link kind", "wrong length").into()),
            None => Ok(None),
        }
    }

    /// Every custom link kind with its name.
    pub fn custom_link_kinds(&self) -> Result<Vec<(LinkKind, String)>, StoreError> {
        let mut out = Vec::new();
        self.kv
            .scan_prefix(Cf::Meta, META_KIND_BY_CODE, &mut |k, v| {
                let code = &k[META_KIND_BY_CODE.len()..];
                if let (Ok(c), Ok(name)) = (<[u8; 2]>::try_from(code), std::str::from_utf8(v)) {
                    out.push((LinkKind(u16::from_be_bytes(c)), name.to_string()));
                }
                true
            })?;
        Ok(out)
    }

    /// The name of any link kind.
    pub fn link_kind_name(&self, kind: LinkKind) -> Result<String, StoreError> {
        if let Some(n) = kind.builtin_name() {
            return Ok(n.to_string());
        }
        let mut k = META_KIND_BY_CODE.to_vec();
        k.extend_from_slice(&kind.0.to_be_bytes());
        Ok(match self.kv.get(Cf::Meta, &k)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => format!("kind{}", kind.0),
        })
    }

    // --- documents (users, case maps, audit, runs) ------------------------------------------

    pub fn put_doc(&self, collection: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut b = Batch::default();
        b.put_doc(collection, key, value);
        self.write(b)
    }

    pub fn get_doc(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(Cf::Docs, &doc_key(collection, key))
    }

    pub fn delete_doc(&self, collection: &str, key: &str) -> Result<(), StoreError> {
        self.kv
            .write(vec![Op::Delete(Cf::Docs, doc_key(collection, key))])
    }

    /// All documents of a collection in key order.
    pub fn scan_docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = doc_key(collection, "");
        let mut out = Vec::new();
        self.kv.scan_prefix(Cf::Docs, &prefix, &mut |k, v| {
            out.push((
                String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
                v.to_vec(),
            ));
            true
        })?;
        Ok(out)
    }

    /// Writes a consistent copy of the store to `dir` (a RocksDB checkpoint), while it stays in use.
    /// `dir` must not exist yet. The checkpoint is a complete store: open it where it is, or put it
    /// back with [`Store::restore`].
    pub fn backup(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.exists() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} already exists; back up into a new directory",
                    dir.display()
                ),
            )));
        }
        self.kv.checkpoint(dir)
    }

    /// Puts the backup in `backup` back as the store in `dest`, which no process may have open. The
    /// backup is opened and checked first (a damaged one is refused and `dest` is left alone); it is
    /// copied beside `dest` and only then moved into place, so an interrupted restore leaves either
    /// the old store or the restored one. An existing store is kept aside (its new path is
    /// returned), never deleted.
    pub fn restore(backup: &Path, dest: &Path) -> Result<Option<std::path::PathBuf>, StoreError> {
        let report = Store::open_read_only(backup)?.check()?;
        if !report.is_sound() {
            return Err(StoreError::Corruption(CorruptionError::new(
                "backup",
                format!(
                    "{} fails its check ({} problems, first: {})",
                    backup.display(),
                    report.problem_count,
                    report.problems.first().map_or("", String::as_str)
                ),
            )));
        }
        if dest.join("CURRENT").exists() {
            // Taking the write lock proves no server or import has the store open.
            drop(Store::open(dest)?);
        }
        let (parent, name) = beside(dest);
        let staging = parent.join(format!(".{name}.restoring"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        copy_tree(backup, &staging)?;
        let kept = if dest.exists() {
            let mut n = 1;
            let aside = loop {
                let p = parent.join(format!("{name}.before-restore-{n}"));
                if !p.exists() {
                    break p;
                }
                n += 1;
            };
            std::fs::rename(dest, &aside)?;
            Some(aside)
        } else {
            None
        };
        std::fs::rename(&staging, dest)?;
        Ok(kept)
    }
}

/// The directory holding the store directory `dir`, and `dir`'s own name: where a store is built
/// or restored before it is renamed into place.
fn beside(dir: &Path) -> (std::path::PathBuf, String) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".to_string());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (parent.to_path_buf(), name)
}

/// Removes stores left half-built beside the one being created by processes that no longer run
/// (a process's id is known alive while `/proc/<id>` exists; without `/proc` nothing is removed).
fn remove_abandoned_builds(parent: &Path, prefix: &str) -> Result<(), StoreError> {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return Ok(());
    }
    for e in std::fs::read_dir(parent)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !proc.join(pid.to_string()).exists() {
            std::fs::remove_dir_all(e.path())?;
        }
    }
    Ok(())
}

/// Copies a directory tree (a checkpoint's files, import reports).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), std::io::Error> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}
