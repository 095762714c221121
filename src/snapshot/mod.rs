//! In-memory, immutable graph snapshots built from the store, shared read-only by every query.
//!
//! A [`Snapshot`] holds every entity (kind, key, label, roles, flags) and every link with its aggregated
//! evidence, in compact adjacency for both directions. Entities are addressed by a dense index `u32`
//! (`Ix`); the store's [`EntityId`] maps to it. Per-record evidence stays in the store.
//!
//! **Architecture Invariant:** a snapshot never changes after it is built. A newer one is published by
//! swapping an `Arc`; answers name the `generation` they were computed on.

pub mod csr;
pub mod transfers;

use crate::model::{EntityId, EntityKind, Flags, LinkKind, Roles, Timestamp};
use crate::store::{LinkAgg, Store, StoreError};
use csr::Csr;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::Instant;

/// A dense entity index within one snapshot.
pub type Ix = u32;

/// One link with its aggregated evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub src: Ix,
    pub dst: Ix,
    pub kind: LinkKind,
    /// Evidence records (saturating).
    pub count: u32,
    /// Summed duration (seconds) or amount (fen).
    pub total: i64,
    /// `i64::MAX` when no record had a time.
    pub first: Timestamp,
    /// `i64::MIN` when no record had a time.
    pub last: Timestamp,
}

impl Link {
    pub fn has_time(&self) -> bool {
        self.first <= self.last
    }

    /// The other end of the link from `v`.
    pub fn other(&self, v: Ix) -> Ix {
        if self.src == v {
            self.dst
        } else {
            self.src
        }
    }
}

/// An entity in a snapshot, as handed to callers.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    pub ix: Ix,
    pub id: EntityId,
    pub kind: EntityKind,
    pub key: &'a str,
    pub label: Option<&'a str>,
    pub roles: Roles,
    pub flags: Flags,
}

/// How long the phases of a build took, and what the snapshot holds.
#[derive(Clone, Debug, Default)]
pub struct BuildReport {
    pub nodes: usize,
    pub links: usize,
    pub seconds_read: f64,
    pub seconds_index: f64,
    pub heap_bytes: usize,
}

impl BuildReport {
    pub fn bytes_per_link(&self) -> f64 {
        if self.links == 0 {
            0.0
        } else {
            self.heap_bytes as f64 / self.links as f64
        }
    }
}

/// Strings of many nodes in one buffer.
#[derive(Default)]
struct Strings {
    ends: Vec<u32>,
    bytes: String,
}

impl Strings {
    fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends
            .push(u32::try_from(self.bytes.len()).unwrap_or(u32::MAX));
    }
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.bytes.get(start..self.ends[i] as usize).unwrap_or("")
    }
    fn append(&mut self, other: Strings) {
        let base = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.bytes.push_str(&other.bytes);
        self.ends.extend(other.ends.into_iter().map(|e| e + base));
    }
    fn heap_bytes(&self) -> usize {
        self.ends.capacity() * 4 + self.bytes.capacity()
    }
}

/// The whole graph in memory. See the module docs.
pub struct Snapshot {
    generation: u64,
    ids: Vec<EntityId>,
    id_to_ix: Vec<Ix>,
    kinds: Vec<EntityKind>,
    roles: Vec<Roles>,
    flags: Vec<Flags>,
    keys: Strings,
    labels: Strings,
    /// Out-rows are in (kind, target) order and slot `i` of the out-CSR is link `i`.
    out: Csr,
    /// In-rows are sorted by source; `in_link[slot]` is the link of the slot.
    inn: Csr,
    in_link: Vec<u32>,
    links: Vec<Link>,
    /// Each link's kind again, densely: walks that only ask what kind a link is read 2 bytes
    /// a link instead of its whole record.
    link_kinds: Vec<LinkKind>,
    idents: FxHashMap<(EntityKind, Box<str>), Ix>,
    kind_names: FxHashMap<LinkKind, String>,
    /// Values derived from the snapshot alone (see [`Snapshot::memo`]).
    memo: Memo,
}

/// Values derived from a snapshot, one per type, computed on first use and kept with it.
#[derive(Default)]
struct Memo(std::sync::Mutex<FxHashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

const NO_IX: Ix = Ix::MAX;

impl Snapshot {
    /// Builds a snapshot of the whole store, reading id ranges in parallel.
    ///
    /// # Complexity
    /// O(V + E) reads and memory; the reverse adjacency is a counting sort.
    pub fn build(store: &Store, generation: u64) -> Result<(Snapshot, BuildReport), StoreError> {
        let t0 = Instant::now();
        let max_id = store.counters()?.next_entity;
        let parts = (rayon::current_num_threads() * 4).max(1) as u64;
        let step = max_id.div_ceil(parts).max(1);
        let ranges: Vec<(EntityId, EntityId)> = (0..parts)
            .map(|p| {
                (
                    EntityId(p * step),
                    EntityId(((p + 1) * step).min(max_id.max(1))),
                )
            })
            .filter(|(a, b)| a < b)
            .collect();

        type NodePart = (
            Vec<EntityId>,
            Vec<EntityKind>,
            Vec<Roles>,
            Vec<Flags>,
            Strings,
            Strings,
        );
        let node_parts: Vec<NodePart> = ranges
            .par_iter()
            .map(|&(from, to)| {
                let mut p: NodePart = Default::default();
                store.scan_entities(from, to, |id, rec| {
                    p.0.push(id);
                    p.1.push(rec.kind);
                    p.2.push(rec.roles);
                    p.3.push(rec.flags);
                    p.4.push(&rec.key);
                    p.5.push(rec.label.as_deref().unwrap_or(""));
                })?;
                Ok(p)
            })
            .collect::<Result<_, StoreError>>()?;
        let mut ids = Vec::new();
        let mut kinds = Vec::new();
        let mut roles = Vec::new();
        let mut flags = Vec::new();
        let mut keys = Strings::default();
        let mut labels = Strings::default();
        for p in node_parts {
            ids.extend(p.0);
            kinds.extend(p.1);
            roles.extend(p.2);
            flags.extend(p.3);
            keys.append(p.4);
            labels.append(p.5);
        }
        let mut id_to_ix = vec![NO_IX; max_id as usize + 1];
        for (ix, id) in ids.iter().enumerate() {
            if let Some(slot) = id_to_ix.get_mut(id.0 as usize) {
                *slot = ix as Ix;
            }
        }

        let link_parts: Vec<Vec<(u64, u64, LinkKind, LinkAgg)>> = ranges
            .par_iter()
            .map(|&(from, to)| {
                let mut v = Vec::new();
                store.scan_links(from, to, |k, a| v.push((k.src.0, k.dst.0, k.kind, a)))?;
                Ok(v)
            })
            .collect::<Result<_, StoreError>>()?;
        let seconds_read = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();

        let ix_of = |id: u64| id_to_ix.get(id as usize).copied().filter(|&i| i != NO_IX);
        let links: Vec<Link> = link_parts
            .into_par_iter()
            .flat_map_iter(|part| {
                part.into_iter().filter_map(|(s, d, kind, a)| {
                    Some(Link {
                        src: ix_of(s)?,
                        dst: ix_of(d)?,
                        kind,
                        count: u32::try_from(a.count).unwrap_or(u32::MAX),
                        total: a.total,
                        first: a.first,
                        last: a.last,
                    })
                })
            })
            .collect();
        let snap = Snapshot::assemble(
            generation, ids, id_to_ix, kinds, roles, flags, keys, labels, links,
        );
        let mut snap = snap;
        store.scan_idents(|kind, key, id| {
            if let Some(ix) = snap.ix_of(id) {
                snap.idents.insert((kind, Box::from(key)), ix);
            }
        })?;
        for (k, name) in store.custom_link_kinds()? {
            snap.kind_names.insert(k, name);
        }
        let report = BuildReport {
            nodes: snap.node_count(),
            links: snap.link_count(),
            seconds_read,
            seconds_index: t1.elapsed().as_secs_f64(),
            heap_bytes: snap.heap_bytes(),
        };
        Ok((snap, report))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        generation: u64,
        ids: Vec<EntityId>,
        id_to_ix: Vec<Ix>,
        kinds: Vec<EntityKind>,
        roles: Vec<Roles>,
        flags: Vec<Flags>,
        keys: Strings,
        labels: Strings,
        mut links: Vec<Link>,
    ) -> Snapshot {
        let n = ids.len();
        // Links arrive in (src id, kind, dst id) order, which is (src ix, kind, dst ix) order since
        // indexes follow ids; sort only if a caller handed them otherwise.
        if !links
            .windows(2)
            .all(|w| (w[0].src, w[0].kind, w[0].dst) <= (w[1].src, w[1].kind, w[1].dst))
        {
            links.par_sort_unstable_by_key(|l| (l.src, l.kind, l.dst));
        }
        let mut offsets = vec![0usize; n + 1];
        for l in &links {
            offsets[l.src as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let targets: Vec<u32> = links.par_iter().map(|l| l.dst).collect();
        let out = Csr::from_parts(offsets, targets);
        let pairs: Vec<(u32, u32)> = links.par_iter().map(|l| (l.dst, l.src)).collect();
        let (inn, in_link) = Csr::from_pairs(n, &pairs);
        let link_kinds = links.par_iter().map(|l| l.kind).collect();
        let mut kind_names = FxHashMap::default();
        for (k, name) in LinkKind::builtins() {
            kind_names.insert(k, name.to_string());
        }
        Snapshot {
            generation,
            ids,
            id_to_ix,
            kinds,
            roles,
            flags,
            keys,
            labels,
            out,
            inn,
            in_link,
            links,
            link_kinds,
            idents: FxHashMap::default(),
            kind_names,
            memo: Memo::default(),
        }
    }

    /// A snapshot of a bare graph (benchmarks, edge lists): `n` entities of one kind, keyed by their
    /// index, and one link of `kind` per pair with a count of 1.
    pub fn from_edges(
        n: usize,
        kind: EntityKind,
        link: LinkKind,
        edges: &[(u32, u32)],
    ) -> Snapshot {
        let ids: Vec<EntityId> = (1..=n as u64).map(EntityId).collect();
        let id_to_ix: Vec<Ix> = std::iter::once(NO_IX).chain(0..n as Ix).collect();
        let mut keys = Strings::default();
        let mut labels = Strings::default();
        for i in 0..n {
            keys.push(&i.to_string());
            labels.push("");
        }
        let links = edges
            .iter()
            .map(|&(s, d)| Link {
                src: s,
                dst: d,
                kind: link,
                count: 1,
                total: 0,
                first: i64::MAX,
                last: i64::MIN,
            })
            .collect();
        let mut snap = Snapshot::assemble(
            0,
            ids,
            id_to_ix,
            vec![kind; n],
            vec![Roles::default(); n],
            vec![Flags::default(); n],
            keys,
            labels,
            links,
        );
        for i in 0..n {
            snap.idents
                .insert((kind, Box::from(i.to_string().as_str())), i as Ix);
        }
        snap
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn node_count(&self) -> usize {
        self.ids.len()
    }

    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    pub fn ix_of(&self, id: EntityId) -> Option<Ix> {
        self.id_to_ix
            .get(id.0 as usize)
            .copied()
            .filter(|&i| i != NO_IX)
    }

    /// The entity with this identifier (its key or an alias), already normalised.
    pub fn lookup(&self, kind: EntityKind, key: &str) -> Option<Ix> {
        self.idents.get(&(kind, Box::from(key))).copied()
    }

    pub fn node(&self, ix: Ix) -> Node<'_> {
        let i = ix as usize;
        let label = self.labels.get(i);
        Node {
            ix,
            id: self.ids[i],
            kind: self.kinds[i],
            key: self.keys.get(i),
            label: (!label.is_empty()).then_some(label),
            roles: self.roles[i],
            flags: self.flags[i],
        }
    }

    #[inline]
    pub fn kind(&self, ix: Ix) -> EntityKind {
        self.kinds[ix as usize]
    }

    #[inline]
    pub fn roles(&self, ix: Ix) -> Roles {
        self.roles[ix as usize]
    }

    #[inline]
    pub fn flags(&self, ix: Ix) -> Flags {
        self.flags[ix as usize]
    }

    /// The canonical reference `kind:key` of an entity.
    pub fn reference(&self, ix: Ix) -> String {
        format!("{}:{}", self.kinds[ix as usize], self.keys.get(ix as usize))
    }

    #[inline]
    /// The value of type `T` derived from this snapshot by `make`, computed on the first call and
    /// kept: a snapshot never changes, so neither does anything computed from it alone (the hub
    /// threshold, the victims' money trace). `make` must depend on nothing but the snapshot (and
    /// on what `T` itself records, for a value that keeps several answers). The lock is not held
    /// while `make` runs: two first calls at once may both compute it, and the first stored wins.
    pub fn memo<T: Any + Send + Sync>(&self, make: impl FnOnce(&Snapshot) -> T) -> Arc<T> {
        let key = TypeId::of::<T>();
        let lock = || self.memo.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = lock().get(&key) {
            if let Ok(t) = Arc::clone(v).downcast::<T>() {
                return t;
            }
        }
        let made: Arc<dyn Any + Send + Sync> = Arc::new(make(self));
        let kept = Arc::clone(lock().entry(key).or_insert(made));
        kept.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("memo keyed by type"))
    }

    pub fn link(&self, l: u32) -> &Link {
        &self.links[l as usize]
    }

    /// The kind of link `l` (as `link(l).kind`, from a dense array).
    #[inline]
    pub fn link_kind(&self, l: u32) -> LinkKind {
        self.link_kinds[l as usize]
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Out-links of `v` as `(target, link)`.
    #[inline]
    pub fn out_links(&self, v: Ix) -> impl Iterator<Item = (Ix, u32)> + '_ {
        let r = self.out.range(v);
        let start = r.start as u32;
        self.out
            .neighbors(v)
            .iter()
            .enumerate()
            .map(move |(i, &t)| (t, start + i as u32))
    }

    /// In-links of `v` as `(source, link)`.
    #[inline]
    pub fn in_links(&self, v: Ix) -> impl Iterator<Item = (Ix, u32)> + '_ {
        let r = self.inn.range(v);
        self.inn
            .neighbors(v)
            .iter()
            .zip(&self.in_link[r])
            .map(|(&s, &l)| (s, l))
    }

    /// All links of `v`, both directions, as `(other end, link)`.
    #[inline]
    pub fn all_links(&self, v: Ix) -> impl Iterator<Item = (Ix, u32)> + '_ {
        self.out_links(v).chain(self.in_links(v))
    }

    #[inline]
    pub fn degree(&self, v: Ix) -> usize {
        self.out.degree(v) + self.inn.degree(v)
    }

    pub fn out_csr(&self) -> &Csr {
        &self.out
    }

    pub fn in_csr(&self) -> &Csr {
        &self.inn
    }

    /// For each in-CSR slot, its link.
    pub fn in_slot_links(&self) -> &[u32] {
        &self.in_link
    }

    pub fn link_kind_name(&self, k: LinkKind) -> &str {
        self.kind_names.get(&k).map_or("link", String::as_str)
    }

    /// Heap bytes held (approximately: hash maps counted by their entries).
    pub fn heap_bytes(&self) -> usize {
        let n = self.ids.len();
        n * (8 + 1 + 4 + 2)
            + self.id_to_ix.capacity() * 4
            + self.keys.heap_bytes()
            + self.labels.heap_bytes()
            + self.out.heap_bytes()
            + self.inn.heap_bytes()
            + self.in_link.capacity() * 4
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.link_kinds.capacity() * std::mem::size_of::<LinkKind>()
            + self.idents.len() * (std::mem::size_of::<(EntityKind, Box<str>, Ix)>() + 24)
    }

    /// Entities whose key or label contains `text` (case-insensitive for ASCII), best first: exact
    /// identifier matches, then label matches, then key fragments. At most `limit`.
    pub fn search(&self, text: &str, limit: usize) -> Vec<Ix> {
        let text = text.trim();
        if text.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut out: Vec<Ix> = Vec::new();
        for n in crate::model::ident::interpretations(text) {
            if let Some(ix) = self.lookup(n.kind, &n.key) {
                if !out.contains(&ix) {
                    out.push(ix);
                }
            }
        }
        let needle = text.to_lowercase();
        let digits: String = crate::model::ident::to_half_width(text)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let mut hits: Vec<(u8, Ix)> = (0..self.node_count() as Ix)
            .into_par_iter()
            .filter_map(|ix| {
                let label = self.labels.get(ix as usize);
                let key = self.keys.get(ix as usize);
                if !label.is_empty() && label.to_lowercase().contains(&needle) {
                    Some((if label.len() == needle.len() { 0 } else { 1 }, ix))
                } else if key.to_lowercase().contains(&needle)
                    || (digits.len() >= 4 && key.contains(&digits))
                {
                    Some((2, ix))
                } else {
                    None
                }
            })
            .collect();
        hits.sort_unstable();
        for (_, ix) in hits {
            if out.len() >= limit {
                break;
            }
            if !out.contains(&ix) {
                out.push(ix);
            }
        }
        out.truncate(limit);
        out
    }
}

#[cfg(test)]
mod tests;
