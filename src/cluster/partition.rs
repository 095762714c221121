//! The partitioned edge format that `fraudnet export --edges` writes and `fraudnet cluster` reads.
//!
//! An export directory holds
//! - `manifest.json`: format name and version, node count, per-partition edge counts and SHA-256
//!   checksums, the node map file and its checksum;
//! - `nodes.txt`: the node map, line `i` (0-based) is the entity reference (or edge-list label) of
//!   dense node `i`;
//! - `part-NNNNN.bin`, one per partition: a 32-byte header then fixed-width 12-byte records.
//!
//! Header (little-endian): magic `FNETPART`, format version `u32`, partition index `u32`, partition
//! count `u32`, byte-order mark `u32` `0x01020304`, record count `u64`.
//! Record (little-endian): source `u32`, target `u32`, weight `f32`. Each undirected edge is written
//! once, as `(min, max)`, in the partition `min mod P` ("source hash": dense ids are assigned by the
//! export, so the modulus spreads nodes evenly whatever their labels). The checksum covers the
//! records, not the header. Parallel edges may repeat (several stores can hold the same pair); the
//! reader sums them, as the single-machine graph does. Self-loops are not written: the export counts
//! them in the manifest (`self_loops_dropped`).
//!
//! Writing is streaming: one buffered writer per partition, so memory is `O(P)` buffers whatever the
//! number of edges.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Format name in the manifest.
pub const FORMAT: &str = "fraudnet-edge-partitions";
/// Format version (header and manifest).
pub const VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"FNETPART";
const BOM: u32 = 0x0102_0304;
const HEADER: usize = 32;
/// Bytes per edge record.
pub const RECORD: usize = 12;
const BUF: usize = 1 << 16;

/// What can go wrong writing or reading an export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartitionError {
    #[error("{file}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Format { file: PathBuf, message: String },
    #[error("{file}: record {record}: {message}")]
    Record {
        file: PathBuf,
        record: u64,
        message: String,
    },
    #[error("{file}: checksum mismatch (manifest {expected}, file {actual}); the file is damaged or from another export")]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Invalid(String),
}

fn io(file: &Path) -> impl FnOnce(std::io::Error) -> PartitionError + '_ {
    move |source| PartitionError::Io {
        file: file.to_path_buf(),
        source,
    }
}

/// One partition in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionEntry {
    pub file: String,
    pub edges: u64,
    pub sha256: String,
}

/// The node map in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMapEntry {
    pub file: String,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// `person`, `entity` or `edgelist`.
    pub graph: String,
    /// Person graph: the `--max-holders` it was projected with (absent in older exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_holders: Option<u32>,
    pub nodes: u64,
    pub edges: u64,
    pub record: String,
    pub partitioning: String,
    pub self_loops_dropped: u64,
    pub node_map: NodeMapEntry,
    pub partitions: Vec<PartitionEntry>,
}

impl Manifest {
    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

struct PartWriter {
    path: PathBuf,
    w: BufWriter<File>,
    hash: Sha256,
    edges: u64,
}

/// Streams nodes and edges into an export directory.
pub struct ExportWriter {
    dir: PathBuf,
    parts: Vec<PartWriter>,
    nodes_path: PathBuf,
    nodes: BufWriter<File>,
    nodes_hash: Sha256,
    node_count: u64,
    self_loops: u64,
}

fn header(partition: u32, partitions: u32, edges: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&partition.to_le_bytes());
    h[16..20].copy_from_slice(&partitions.to_le_bytes());
    h[20..24].copy_from_slice(&BOM.to_le_bytes());
    h[24..32].copy_from_slice(&edges.to_le_bytes());
    h
}

impl ExportWriter {
    /// Creates `dir` (it must be empty or absent) and the partition files.
    ///
    /// # Errors
    /// `partitions` of 0, a non-empty directory, I/O.
    pub fn create(dir: &Path, partitions: u32) -> Result<ExportWriter, PartitionError> {
        if partitions == 0 {
            return Err(PartitionError::Invalid(
                "--partitions must be at least 1".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
            return Err(PartitionError::Invalid(format!(
                "{} is not empty; export into a new directory",
                dir.display()
            )));
        }
        let mut parts = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            let path = dir.join(format!("part-{p:05}.bin"));
            let mut w = BufWriter::with_capacity(BUF, File::create(&path).map_err(io(&path))?);
            w.write_all(&header(p, partitions, 0)).map_err(io(&path))?;
            parts.push(PartWriter {
                path,
                w,
                hash: Sha256::new(),
                edges: 0,
            });
        }
        let nodes_path = dir.join("nodes.txt");
        let nodes =
            BufWriter::with_capacity(BUF, File::create(&nodes_path).map_err(io(&nodes_path))?);
        Ok(ExportWriter {
            dir: dir.to_path_buf(),
            parts,
            nodes_path,
            nodes,
            nodes_hash: Sha256::new(),
            node_count: 0,
            self_loops: 0,
        })
    }

    /// Appends a node; returns its dense id.
    ///
    /// # Errors
    /// A reference with a line break, more than `u32::MAX` nodes, I/O.
    pub fn add_node(&mut self, reference: &str) -> Result<u32, PartitionError> {
        if reference.contains(['\n', '\r']) {
            return Err(PartitionError::Invalid(format!(
                "node reference {reference:?} holds a line break"
            )));
        }
        let id = u32::try_from(self.node_count)
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or_else(|| PartitionError::Invalid("more than 2^32 - 1 nodes".into()))?;
        self.nodes_hash.update(reference.as_bytes());
        self.nodes_hash.update(b"\n");
        writeln!(self.nodes, "{reference}").map_err(io(&self.nodes_path))?;
        self.node_count += 1;
        Ok(id)
    }

    pub fn node_count(&self) -> u64 {
        self.node_count
    }

    /// Appends an undirected edge between two added nodes. A self-loop is counted, not written.
    ///
    /// # Errors
    /// An unknown node, a negative or non-finite weight, I/O.
    pub fn add_edge(&mut self, u: u32, v: u32, w: f32) -> Result<(), PartitionError> {
        if u64::from(u.max(v)) >= self.node_count {
            return Err(PartitionError::Invalid(format!(
                "edge ({u}, {v}): node {} was not added",
                u.max(v)
            )));
        }
        if !(w.is_finite() && w >= 0.0) {
            return Err(PartitionError::Invalid(format!(
                "edge ({u}, {v}): weight {w} is not a finite non-negative number"
            )));
        }
        if u == v {
            self.self_loops += 1;
            return Ok(());
        }
        let (a, b) = (u.min(v), u.max(v));
        let p = (a % self.parts.len() as u32) as usize;
        let part = &mut self.parts[p];
        let mut rec = [0u8; RECORD];
        rec[..4].copy_from_slice(&a.to_le_bytes());
        rec[4..8].copy_from_slice(&b.to_le_bytes());
        rec[8..].copy_from_slice(&w.to_le_bytes());
        part.hash.update(rec);
        part.w.write_all(&rec).map_err(io(&part.path))?;
        part.edges += 1;
        Ok(())
    }

    /// Completes the headers, writes `manifest.json` (with the graph kind and, for the person
    /// graph, its `max_holders`) and returns the manifest.
    ///
    /// # Errors
    /// I/O.
    pub fn finish(self, graph: &str, max_holders: Option<u32>) -> Result<Manifest, PartitionError> {
        let partitions = self.parts.len() as u32;
        let mut entries = Vec::with_capacity(self.parts.len());
        for (p, part) in self.parts.into_iter().enumerate() {
            let PartWriter {
                path,
                w,
                hash,
                edges,
            } = part;
            let mut f = w.into_inner().map_err(|e| PartitionError::Io {
                file: path.clone(),
                source: e.into_error(),
            })?;
            f.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            f.write_all(&header(p as u32, partitions, edges))
                .map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
            entries.push(PartitionEntry {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                edges,
                sha256: hex(&hash.finalize()),
            });
        }
        let mut nodes = self.nodes;
        nodes.flush().map_err(io(&self.nodes_path))?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            graph: graph.into(),
            max_holders,
            nodes: self.node_count,
            edges: entries.iter().map(|e| e.edges).sum(),
            record: "u32 source, u32 target, f32 weight; little-endian; 12 bytes".into(),
            partitioning:
                "partition = min(source, target) mod partitions; each undirected edge once".into(),
            self_loops_dropped: self.self_loops,
            node_map: NodeMapEntry {
                file: "nodes.txt".into(),
                sha256: hex(&self.nodes_hash.finalize()),
            },
            partitions: entries,
        };
        let path = self.dir.join("manifest.json");
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| PartitionError::Invalid(e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(io(&path))?;
        Ok(manifest)
    }
}

/// Reads and checks `manifest.json`.
///
/// # Errors
/// Unreadable, not JSON, another format or version, inconsistent counts.
pub fn read_manifest(path: &Path) -> Result<Manifest, PartitionError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| PartitionError::Format {
        file: path.to_path_buf(),
        message: format!("not a manifest: {e}"),
    })?;
    let bad = |message: String| PartitionError::Format {
        file: path.to_path_buf(),
        message,
    };
    if m.format != FORMAT || m.version != VERSION {
        return Err(bad(format!(
            "format {} version {}; this build reads {FORMAT} version {VERSION}",
            m.format, m.version
        )));
    }
    if m.partitions.is_empty() {
        return Err(bad("no partitions".into()));
    }
    if m.nodes >= u64::from(u32::MAX) {
        return Err(bad(format!("{} nodes do not fit 32-bit ids", m.nodes)));
    }
    if m.partitions.iter().map(|p| p.edges).sum::<u64>() != m.edges {
        return Err(bad(
            "edge count differs from the sum of the partitions".into()
        ));
    }
    if m.partitions
        .iter()
        .chain(std::iter::once(&PartitionEntry {
            file: m.node_map.file.clone(),
            edges: 0,
            sha256: String::new(),
        }))
        .any(|p| p.file.contains(['/', '\\']) || p.file.starts_with('.'))
    {
        return Err(bad(
            "file names must be plain names in the manifest's directory".into(),
        ));
    }
    Ok(m)
}

/// Streams the edges of partition `p` (from the manifest's directory `dir`) into `f`, checking the
/// header, every record and, at the end, the checksum. `f` must not keep anything if this fails.
///
/// # Errors
/// A missing or damaged file, a record outside the graph or in the wrong partition.
pub fn read_partition(
    dir: &Path,
    m: &Manifest,
    p: u32,
    mut f: impl FnMut(u32, u32, f32),
) -> Result<(), PartitionError> {
    let entry = &m.partitions[p as usize];
    let path = dir.join(&entry.file);
    let file = File::open(&path).map_err(io(&path))?;
    let len = file.metadata().map_err(io(&path))?.len();
    let mut r = BufReader::with_capacity(BUF, file);
    let mut h = [0u8; HEADER];
    r.read_exact(&mut h).map_err(io(&path))?;
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let format = |message: String| PartitionError::Format {
        file: path.clone(),
        message,
    };
    if &h[..8] != MAGIC || word(8) != VERSION || word(20) != BOM {
        return Err(format(
            "not a fraudnet edge partition of this version".into(),
        ));
    }
    let count = u64::from_le_bytes(h[24..32].try_into().unwrap_or_default());
    if word(12) != p || word(16) != m.partition_count() || count != entry.edges {
        return Err(format(format!(
            "header says partition {} of {} with {count} edges; the manifest expects {p} of {} with {}",
            word(12),
            word(16),
            m.partition_count(),
            entry.edges
        )));
    }
    if len != HEADER as u64 + count * RECORD as u64 {
        return Err(format(format!(
            "{len} bytes; {count} records need {}",
            HEADER as u64 + count * RECORD as u64
        )));
    }
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; RECORD * 4096];
    let mut rec_no = 0u64;
    let parts = m.partition_count();
    while rec_no < count {
        let k = ((count - rec_no) as usize).min(4096);
        let chunk = &mut buf[..k * RECORD];
        r.read_exact(chunk).map_err(io(&path))?;
        hash.update(&chunk[..]);
        for rec in chunk.chunks_exact(RECORD) {
            let u = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
            let v = u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]);
            let w = f32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]);
            let problem = if u64::from(u.max(v)) >= m.nodes {
                Some(format!(
                    "node {} is outside the graph of {} nodes",
                    u.max(v),
                    m.nodes
                ))
            } else if u >= v {
                Some(format!("edge ({u}, {v}) is not written as (min, max)"))
            } else if u % parts != p {
                Some(format!(
                    "edge ({u}, {v}) belongs to partition {}",
                    u % parts
                ))
            } else if !(w.is_finite() && w >= 0.0) {
                Some(format!("weight {w} is not a finite non-negative number"))
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(PartitionError::Record {
                    file: path.clone(),
                    record: rec_no,
                    message,
                });
            }
            f(u, v, w);
            rec_no += 1;
        }
    }
    let actual = hex(&hash.finalize());
    if actual != entry.sha256 {
        return Err(PartitionError::Checksum {
            file: path,
            expected: entry.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// Reads the node map (dense id → reference) and checks its checksum and length.
///
/// # Errors
/// A missing or damaged file.
pub fn read_node_map(dir: &Path, m: &Manifest) -> Result<Vec<String>, PartitionError> {
    let path = dir.join(&m.node_map.file);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let actual = hex(&Sha256::digest(text.as_bytes()));
    if actual != m.node_map.sha256 {
        return Err(PartitionError::Checksum {
            file: path,
            expected: m.node_map.sha256.clone(),
            actual,
        });
    }
    let refs: Vec<String> = text.lines().map(str::to_owned).collect();
    if refs.len() as u64 != m.nodes {
        return Err(PartitionError::Format {
            file: path,
            message: format!("{} lines; the manifest has {} nodes", refs.len(), m.nodes),
        });
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(dir: &Path, parts: u32) -> Manifest {
        let mut w = ExportWriter::create(dir, parts).unwrap();
        for r in ["person:a", "person:b", "person:c", "person:d", "person:e"] {
            w.add_node(r).unwrap();
        }
        for (u, v, x) in [
            (0, 1, 1.0),
            (2, 1, 2.0),
            (3, 4, 0.5),
            (4, 4, 1.0),
            (1, 0, 1.0),
        ] {
            w.add_edge(u, v, x).unwrap();
        }
        w.finish("person", Some(50)).unwrap()
    }

    #[test]
    fn round_trip_by_source_partition() {
        let t = tempfile::tempdir().unwrap();
        let m = export(t.path(), 3);
        let m2 = read_manifest(&t.path().join("manifest.json")).unwrap();
        assert_eq!(m, m2);
        assert_eq!((m.nodes, m.edges, m.self_loops_dropped), (5, 4, 1));
        let mut all = Vec::new();
        for p in 0..3 {
            read_partition(t.path(), &m, p, |u, v, w| {
                assert_eq!(u % 3, p);
                all.push((u, v, w));
            })
            .unwrap();
        }
        all.sort_by_key(|a| (a.0, a.1));
        assert_eq!(
            all,
            vec![(0, 1, 1.0), (0, 1, 1.0), (1, 2, 2.0), (3, 4, 0.5)]
        );
        assert_eq!(read_node_map(t.path(), &m).unwrap()[2], "person:c");
    }

    #[test]
    fn damage_is_reported_with_the_file() {
        let t = tempfile::tempdir().unwrap();
        let m = export(t.path(), 2);
        let path = t.path().join("part-00000.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        let low = bytes.len() - 4; // lowest byte of the last weight: a valid record, another checksum
        bytes[low] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let e = read_partition(t.path(), &m, 0, |_, _, _| {}).unwrap_err();
        assert!(matches!(e, PartitionError::Checksum { .. }), "{e}");
        assert!(e.to_string().contains("part-00000.bin"));
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).unwrap();
        let e = read_partition(t.path(), &m, 0, |_, _, _| {}).unwrap_err();
        assert!(e.to_string().contains("records need"), "{e}");
        assert!(
            ExportWriter::create(t.path(), 2).is_err(),
            "non-empty directory"
        );
        let mut w = ExportWriter::create(&t.path().join("x"), 1).unwrap();
        w.add_node("a").unwrap();
        assert!(w.add_edge(0, 1, 1.0).is_err());
        assert!(w.add_node("b\nc").is_err());
        w.add_node("b").unwrap();
        assert!(w.add_edge(0, 1, f32::NAN).is_err());
    }
}
