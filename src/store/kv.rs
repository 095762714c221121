//! The key-value seam under the store: RocksDB on disk, or an ordered in-memory map with the same key
//! order for tests. Column families are named by [`Cf`]; every write is one atomic batch.

use super::StoreError;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::RwLock;

/// Column families. The names are on disk: never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Cf {
    Meta,
    Entities,
    Idents,
    Out,
    In,
    Evidence,
    Sources,
    Docs,
}

impl Cf {
    pub(crate) const ALL: [Cf; 8] = [
        Cf::Meta,
        Cf::Entities,
        Cf::Idents,
        Cf::Out,
        Cf::In,
        Cf::Evidence,
        Cf::Sources,
        Cf::Docs,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Entities => "entities",
            Cf::Idents => "idents",
            Cf::Out => "links_out",
            Cf::In => "links_in",
            Cf::Evidence => "evidence",
            Cf::Sources => "sources",
            Cf::Docs => "docs",
        }
    }

    pub(crate) fn index(self) -> usize {
        Cf::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// The tables of one run, staged but not yet part of the store.
#[derive(Default)]
pub(crate) struct Staged {
    /// RocksDB: the table files, one per family.
    files: Vec<(Cf, std::path::PathBuf)>,
    /// In memory: the writes themselves.
    ops: Vec<Op>,
}

impl Staged {
    /// Adds another run's staged tables to this one.
    pub(crate) fn append(&mut self, other: Staged) {
        self.files.extend(other.files);
        self.ops.extend(other.ops);
    }
}

pub(crate) enum Op {
    Put(Cf, Vec<u8>, Vec<u8>),
    Delete(Cf, Vec<u8>),
}

/// Fills a staged table: hands each `(key, value)`, in ascending key order, to the sink it is given.
pub(crate) type Fill<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&[u8], &[u8]));

/// Visits `(key, value)` pairs in key order; returning `false` stops the scan.
pub(crate) type Visit<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> bool;

pub(crate) enum Kv {
    Rocks(rocks::Rocks),
    Memory(Memory),
}

impl Kv {
    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Kv::Rocks(r) => r.get(cf, key),
            Kv::Memory(m) => Ok(m.read(cf).get(key).cloned()),
        }
    }

    pub(crate) fn multi_get(
        &self,
        cf: Cf,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        match self {
            Kv::Rocks(r) => r.multi_get(cf, keys),
            Kv::Memory(m) => {
                let map = m.read(cf);
                Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
            }
        }
    }

    /// Writes one atomic batch (through the write-ahead log).
    pub(crate) fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.write(ops),
            Kv::Memory(m) => {
                let mut maps = m.maps.write().map_err(|_| StoreError::Poisoned)?;
                for op in ops {
                    match op {
                        Op::Put(cf, k, v) => {
                            maps[cf.index()].insert(k, v);
                        }
                        Op::Delete(cf, k) => {
                            maps[cf.index()].remove(&k);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Scans keys in `[start, end)` (`end` = `None`: to the end of the family) in key order.
    pub(crate) fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: Option<&[u8]>,
        visit: Visit<'_>,
    ) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.scan(cf, start, end, visit),
            Kv::Memory(m) => {
                let map = m.read(cf);
                let upper = match end {
                    Some(e) => Bound::Excluded(e.to_vec()),
                    None => Bound::Unbounded,
                };
                for (k, v) in map.range((Bound::Included(start.to_vec()), upper)) {
                    if !visit(k, v) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Scans every key that starts with `prefix`.
    pub(crate) fn scan_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        visit: Visit<'_>,
    ) -> Result<(), StoreError> {
        let end = prefix_end(prefix);
        self.scan(cf, prefix, end.as_deref(), visit)
    }

    /// Writes one sorted table of a run: `fill` hands every `(key, value)` to its sink in strictly
    /// ascending key order. Nothing is visible until [`Kv::commit_run`].
    pub(crate) fn stage_table(
        &self,
        run: &mut Staged,
        cf: Cf,
        fill: Fill<'_>,
    ) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.stage_table(run, cf, fill),
            Kv::Memory(_) => {
                fill(&mut |k, v| run.ops.push(Op::Put(cf, k.to_vec(), v.to_vec())));
                Ok(())
            }
        }
    }

    /// Applies a staged run and `meta` (small writes: counters, stats, sources) as one unit: after
    /// a crash at any moment, the next open sees either none of it or all of it.
    pub(crate) fn commit_run(&self, run: Staged, meta: Vec<Op>) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.commit_run(run, meta),
            Kv::Memory(_) => {
                let mut ops = meta;
                ops.extend(run.ops);
                self.write(ops)
            }
        }
    }

    /// A committed run is still being applied (see [`Kv::commit_run`]).
    pub(crate) fn run_pending(&self) -> Result<bool, StoreError> {
        match self {
            Kv::Rocks(r) => r.run_pending(),
            Kv::Memory(_) => Ok(false),
        }
    }

    /// Bulk loading on: no automatic compaction (the runs of an import land as overlapping
    /// level-0 files; merging them again after every few runs would rewrite the store many
    /// times). Off: RocksDB's usual compaction resumes and merges them in the background.
    pub(crate) fn set_bulk_load(&self, on: bool) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.set_bulk_load(on),
            Kv::Memory(_) => Ok(()),
        }
    }

    pub(crate) fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.checkpoint(dir),
            Kv::Memory(_) => Err(StoreError::Unsupported("backups of an in-memory store")),
        }
    }

    /// Bytes on disk, when on disk.
    pub(crate) fn disk_bytes(&self) -> Option<u64> {
        match self {
            Kv::Rocks(r) => Some(r.disk_bytes()),
            Kv::Memory(_) => None,
        }
    }
}

/// The smallest key greater than every key with this prefix (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[derive(Default)]
pub(crate) struct Memory {
    maps: RwLock<[BTreeMap<Vec<u8>, Vec<u8>>; 8]>,
}

impl Memory {
    fn read(&self, cf: Cf) -> MemoryCf<'_> {
        // A poisoned lock only means a writer panicked mid-batch in a test; reads stay usable.
        let guard = self
            .maps
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        MemoryCf { guard, cf }
    }
}

struct MemoryCf<'a> {
    guard: std::sync::RwLockReadGuard<'a, [BTreeMap<Vec<u8>, Vec<u8>>; 8]>,
    cf: Cf,
}

impl std::ops::Deref for MemoryCf<'_> {
    type Target = BTreeMap<Vec<u8>, Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.guard[self.cf.index()]
    }
}

pub(crate) mod rocks {
    //! The RocksDB backend: the only code in the project that names `rocksdb`.

    use super::{Cf, Fill, Op, Staged, Visit};
    use crate::store::StoreError;
    use rocksdb::{
        BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, IngestExternalFileOptions,
        Options, ReadOptions, SstFileWriter, WriteBatch, WriteOptions, DB,
    };
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// `meta` key of a committed run whose staged files may not all be ingested yet.
    const PENDING_RUN: &[u8] = b"pending_run";
    /// Where a run's table files wait, inside the store's directory.
    const STAGING: &str = "staging";

    fn op_key(op: &Op) -> (usize, &[u8]) {
        match op {
            Op::Put(cf, k, _) | Op::Delete(cf, k) => (cf.index(), k),
        }
    }

    pub(crate) struct Rocks {
        db: DB,
        path: PathBuf,
        /// Held while a run commits, and by checkpoints: a backup never holds a half-applied run.
        commit: Mutex<()>,
        next_file: AtomicU64,
    }

    /// The pending-run record: per file, its family's index and its name in the staging directory.
    fn encode_pending(files: &[(Cf, PathBuf)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (cf, path) in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            v.push(cf.index() as u8);
            v.extend_from_slice(&(name.len() as u16).to_be_bytes());
            v.extend_from_slice(name.as_bytes());
        }
        v
    }

    fn decode_pending(mut b: &[u8], staging: &Path) -> Result<Vec<(Cf, PathBuf)>, StoreError> {
        let bad = || StoreError::Backend("undecodable pending-run record".into());
        let mut out = Vec::new();
        while !b.is_empty() {
            let cf = *Cf::ALL.get(usize::from(b[0])).ok_or_else(bad)?;
            let len = usize::from(u16::from_be_bytes(
                b.get(1..3).ok_or_else(bad)?.try_into().map_err(|_| bad())?,
            ));
            let name = b.get(3..3 + len).ok_or_else(bad)?;
            out.push((cf, staging.join(String::from_utf8_lossy(name).as_ref())));
            b = &b[3 + len..];
        }
        Ok(out)
    }

    fn err(e: rocksdb::Error) -> StoreError {
        StoreError::Backend(e.into_string())
    }

    fn cf_options(cf: Cf) -> Options {
        let mut o = Options::default();
        let mut t = BlockBasedOptions::default();
        t.set_bloom_filter(10.0, false);
        t.set_block_size(16 * 1024);
        o.set_block_based_table_factory(&t);
        // Memtable flushes (level 0, soon rewritten by compaction) are written uncompressed; the
        // long-lived levels are LZ4.
        o.set_compression_type(DBCompressionType::Lz4);
        o.set_compression_per_level(&[
            DBCompressionType::None,
            DBCompressionType::Lz4,
            DBCompressionType::Lz4,
            DBCompressionType::Lz4,
            DBCompressionType::Lz4,
            DBCompressionType::Lz4,
            DBCompressionType::Lz4,
        ]);
        // A whole-key bloom filter in the memtable: the import's lookups of keys not there yet
        // (new identifiers, new evidence) skip the skip-list search.
        o.set_memtable_prefix_bloom_ratio(0.1);
        o.set_memtable_whole_key_filtering(true);
        if matches!(cf, Cf::Evidence | Cf::Out | Cf::In) {
            o.set_write_buffer_size(64 << 20);
        }
        o
    }

    impl Rocks {
        pub(crate) fn open(path: &Path, read_only: bool) -> Result<Rocks, StoreError> {
            let mut opts = Options::default();
            opts.create_if_missing(!read_only);
            opts.create_missing_column_families(!read_only);
            // All families flush together, so a crash never leaves one family ahead of another.
            opts.set_atomic_flush(true);
            opts.increase_parallelism(2);
            opts.set_max_background_jobs(2);
            let cfs = Cf::ALL
                .iter()
                .map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(*cf)));
            let db = if read_only {
                // A writer's compaction may delete a table file between our reading of the
                // manifest and our opening of that file (every file is opened at open, so reads
                // after a successful open are safe): read the manifest again.
                let mut tries = 0;
                loop {
                    match DB::open_cf_descriptors_read_only(&opts, path, cfs.clone(), false) {
                        Err(e) if tries < 40 && e.as_ref().contains("No such file") => {
                            tries += 1;
                            std::thread::sleep(std::time::Duration::from_millis(25));
                        }
                        r => break r,
                    }
                }
            } else {
                DB::open_cf_descriptors(&opts, path, cfs)
            }
            .map_err(|e| {
                let msg = e.into_string();
                if msg.contains("lock") || msg.contains("LOCK") {
                    StoreError::Locked(path.display().to_string())
                } else if read_only && msg.contains("Column family not found") {
                    StoreError::Incomplete(path.display().to_string())
                } else {
                    StoreError::Backend(msg)
                }
            })?;
            let rocks = Rocks {
                db,
                path: path.to_path_buf(),
                commit: Mutex::new(()),
                next_file: AtomicU64::new(0),
            };
            if !read_only {
                rocks.recover()?;
            }
            Ok(rocks)
        }

        /// Finishes a run whose commit record is written but whose files may not all be ingested
        /// (a crash in between): ingests the files still staged (ingesting one twice writes the same
        /// keys and values again), clears the record, and
        /// removes files staged by a run that never committed.
        fn recover(&self) -> Result<(), StoreError> {
            if let Some(rec) = self.get(Cf::Meta, PENDING_RUN)? {
                let files = decode_pending(&rec, &self.staging())?;
                self.ingest(&files)?;
                self.write(vec![Op::Delete(Cf::Meta, PENDING_RUN.to_vec())])?;
            }
            let staging = self.staging();
            if staging.exists() {
                std::fs::remove_dir_all(&staging)?;
            }
            Ok(())
        }

        /// A run committed but not applied yet: the store is mid-run (its writer is applying it,
        /// or crashed doing so).
        pub(crate) fn run_pending(&self) -> Result<bool, StoreError> {
            Ok(match self.get(Cf::Meta, PENDING_RUN)? {
                Some(rec) => decode_pending(&rec, &self.staging())?
                    .iter()
                    .any(|(_, p)| p.exists()),
                None => false,
            })
        }

        fn staging(&self) -> PathBuf {
            self.path.join(STAGING)
        }

        /// Ingests each staged file that is still there, then removes it. Files are copied, not
        /// moved: a moved (hard-linked) file is the store's own file, whose sequence number RocksDB
        /// writes into it, and such a file cannot be ingested again after a crash.
        fn ingest(&self, files: &[(Cf, PathBuf)]) -> Result<(), StoreError> {
            let opts = IngestExternalFileOptions::default();
            for (cf, path) in files {
                if path.exists() {
                    self.db
                        .ingest_external_file_cf_opts(self.cf(*cf)?, &opts, vec![path])
                        .map_err(err)?;
                }
            }
            for (_, path) in files {
                if path.exists() {
                    std::fs::remove_file(path)?;
                }
            }
            Ok(())
        }

        pub(crate) fn stage_table(
            &self,
            run: &mut Staged,
            cf: Cf,
            fill: Fill<'_>,
        ) -> Result<(), StoreError> {
            let staging = self.staging();
            std::fs::create_dir_all(&staging)?;
            let n = self.next_file.fetch_add(1, Ordering::Relaxed);
            let path = staging.join(format!("{}-{n}.sst", cf.name()));
            let opts = cf_options(cf);
            let mut w = SstFileWriter::create(&opts);
            w.open(&path).map_err(err)?;
            let (mut written, mut failed) = (0u64, None);
            fill(&mut |k, v| {
                if failed.is_none() {
                    match w.put(k, v) {
                        Ok(()) => written += 1,
                        Err(e) => failed = Some(e),
                    }
                }
            });
            if failed.is_none() && written > 0 {
                // `finish` syncs the file: it is whole on disk before the commit record names it.
                failed = w.finish().err();
            }
            drop(w);
            if failed.is_some() || written == 0 {
                let _ = std::fs::remove_file(&path);
            }
            if let Some(e) = failed {
                return Err(err(e));
            }
            if written > 0 {
                run.files.push((cf, path));
            }
            Ok(())
        }

        /// The commit record (`meta`'s small writes plus the list of staged files) is one batch
        /// through the write-ahead log, synced; then each family ingests its file (RocksDB 7.8's C
        /// API ingests one family per call) and the record is cleared. A crash after the record
        /// is finished by [`Rocks::recover`] on the next open.
        pub(crate) fn commit_run(&self, run: Staged, meta: Vec<Op>) -> Result<(), StoreError> {
            self.commit_run_ingesting(run, meta, usize::MAX)
        }

        /// [`Rocks::commit_run`], ingesting at most `ingest` files (tests stop it half-way to
        /// stand for a crash).
        pub(crate) fn commit_run_ingesting(
            &self,
            run: Staged,
            meta: Vec<Op>,
            ingest: usize,
        ) -> Result<(), StoreError> {
            let _held = self.commit.lock().map_err(|_| StoreError::Poisoned)?;
            let mut ops = meta;
            if !run.files.is_empty() {
                ops.push(Op::Put(
                    Cf::Meta,
                    PENDING_RUN.to_vec(),
                    encode_pending(&run.files),
                ));
            }
            self.write_synced(ops)?;
            if run.files.is_empty() {
                return Ok(());
            }
            self.ingest(&run.files[..ingest.min(run.files.len())])?;
            if ingest < run.files.len() {
                return Ok(());
            }
            self.write(vec![Op::Delete(Cf::Meta, PENDING_RUN.to_vec())])
        }

        fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
            self.db
                .cf_handle(cf.name())
                .ok_or(StoreError::Backend(format!(
                    "column family {} is missing",
                    cf.name()
                )))
        }

        pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.db.get_cf(self.cf(cf)?, key).map_err(err)
        }

        pub(crate) fn multi_get(
            &self,
            cf: Cf,
            keys: &[Vec<u8>],
        ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
            let h = self.cf(cf)?;
            // RocksDB looks keys up faster in order; answer in the caller's order.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
            let sorted = self
                .db
                .batched_multi_get_cf(h, order.iter().map(|&i| &keys[i]), true);
            let mut out: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
            for (i, r) in order.into_iter().zip(sorted) {
                out[i] = r.map_err(err)?.map(|v| v.to_vec());
            }
            Ok(out)
        }

        pub(crate) fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
            self.write_opts(ops, &WriteOptions::default())
        }

        fn write_synced(&self, ops: Vec<Op>) -> Result<(), StoreError> {
            let mut wo = WriteOptions::default();
            wo.set_sync(true);
            self.write_opts(ops, &wo)
        }

        fn write_opts(&self, ops: Vec<Op>, wo: &WriteOptions) -> Result<(), StoreError> {
            // Keys in order make memtable inserts cheap (the skip list reuses its last position).
            let mut ops = ops;
            ops.sort_by(|a, b| op_key(a).cmp(&op_key(b)));
            let mut batch = WriteBatch::default();
            for op in ops {
                match op {
                    Op::Put(cf, k, v) => batch.put_cf(self.cf(cf)?, k, v),
                    Op::Delete(cf, k) => batch.delete_cf(self.cf(cf)?, k),
                }
            }
            self.db.write_opt(batch, wo).map_err(err)
        }

        pub(crate) fn scan(
            &self,
            cf: Cf,
            start: &[u8],
            end: Option<&[u8]>,
            visit: Visit<'_>,
        ) -> Result<(), StoreError> {
            let mut ro = ReadOptions::default();
            if let Some(e) = end {
                ro.set_iterate_upper_bound(e.to_vec());
            }
            ro.set_readahead_size(2 << 20);
            let mut it = self.db.raw_iterator_cf_opt(self.cf(cf)?, ro);
            it.seek(start);
            while it.valid() {
                let (Some(k), Some(v)) = (it.key(), it.value()) else {
                    break;
                };
                if !visit(k, v) {
                    return Ok(());
                }
                it.next();
            }
            it.status().map_err(err)
        }

        pub(crate) fn set_bulk_load(&self, on: bool) -> Result<(), StoreError> {
            let value = if on { "true" } else { "false" };
            for cf in Cf::ALL {
                self.db
                    .set_options_cf(self.cf(cf)?, &[("disable_auto_compactions", value)])
                    .map_err(err)?;
            }
            Ok(())
        }

        pub(crate) fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
            let _held = self.commit.lock().map_err(|_| StoreError::Poisoned)?;
            let cp = rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(err)?;
            cp.create_checkpoint(dir).map_err(err)
        }

        pub(crate) fn disk_bytes(&self) -> u64 {
            fn walk(p: &Path) -> u64 {
                std::fs::read_dir(p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            }
            walk(&self.path)
        }
    }
}
