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

pub(crate) enum Op {
    Put(Cf, Vec<u8>, Vec<u8>),
    Delete(Cf, Vec<u8>),
}

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

    pub(crate) fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.write_with(ops, true)
    }

    /// Writes one atomic batch; `wal: false` skips the write-ahead log (see [`Kv::persist`]).
    pub(crate) fn write_with(&self, ops: Vec<Op>, wal: bool) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.write(ops, wal),
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

    /// Makes every batch written so far durable, all families in one atomic flush.
    pub(crate) fn persist(&self) -> Result<(), StoreError> {
        match self {
            Kv::Rocks(r) => r.persist(),
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

    use super::{Cf, Op, Visit};
    use crate::store::StoreError;
    use rocksdb::{
        BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions,
        WriteBatch, WriteOptions, DB,
    };
    use std::path::{Path, PathBuf};

    fn op_key(op: &Op) -> (usize, &[u8]) {
        match op {
            Op::Put(cf, k, _) | Op::Delete(cf, k) => (cf.index(), k),
        }
    }

    pub(crate) struct Rocks {
        db: DB,
        path: PathBuf,
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
                DB::open_cf_descriptors_read_only(&opts, path, cfs, false)
            } else {
                DB::open_cf_descriptors(&opts, path, cfs)
            }
            .map_err(|e| {
                let msg = e.into_string();
                if msg.contains("lock") || msg.contains("LOCK") {
                    StoreError::Locked(path.display().to_string())
                } else {
                    StoreError::Backend(msg)
                }
            })?;
            Ok(Rocks {
                db,
                path: path.to_path_buf(),
            })
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

        pub(crate) fn write(&self, ops: Vec<Op>, wal: bool) -> Result<(), StoreError> {
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
            let mut wo = WriteOptions::default();
            wo.disable_wal(!wal);
            self.db.write_opt(batch, &wo).map_err(err)
        }

        /// One atomic flush of every family. The C API of RocksDB 7.8 flushes one family per call,
        /// which with the log off could make one family durable ahead of another; a checkpoint
        /// flushes all of them in one atomic flush (`atomic_flush` is on), so one is taken and
        /// removed at once.
        pub(crate) fn persist(&self) -> Result<(), StoreError> {
            let dir = self.path.join("persist.tmp");
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            self.checkpoint(&dir)?;
            std::fs::remove_dir_all(&dir)?;
            Ok(())
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

        pub(crate) fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
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
