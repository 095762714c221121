//! The import driver: opens every file first (a missing or unreadable file stops the import before
//! anything is written), then streams each through its parser and the store writer, parsing the next
//! chunk while the previous one is gathered and applying each run while the next is gathered. Rejected rows are collected with file, line and reason.

use super::parse::{self, Chunk, FileParser, Layout, ParseError};
use super::record::Reject;
use super::writer::{pipelined, WriteCounts, WriteTimes, Writer};
use super::IngestError;
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

/// Records per atomic run (the import's memory grows with it: about 200 bytes a record).
pub const INGEST_BATCH: usize = 1_000_000;

/// Rows the parser hands the writer at a time.
const PARSE_CHUNK: usize = 50_000;

#[derive(Clone, Debug)]
pub struct ImportConfig {
    /// Records per atomic run (see [`INGEST_BATCH`]).
    pub chunk_rows: usize,
}

/// What happened to one file.
#[derive(Clone, Debug)]
pub struct FileSummary {
    pub file: String,
    pub layout: Layout,
    pub encoding: &'static str,
    pub rows: u64,
    pub records: u64,
    pub rejected: u64,
    /// File-level warnings (unknown columns ignored…).
    pub warnings: Vec<String>,
}

/// The summary of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub files: Vec<FileSummary>,
    pub writes: WriteCounts,
    /// Where the writer's time went.
    pub write_times: WriteTimes,
    /// Seconds the writer waited for the parser.
    pub parse_wait: f64,
    pub rows: u64,
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// Rows kept with an optional value dropped, by reason.
    pub notes_by_reason: BTreeMap<&'static str, u64>,
    pub seconds: f64,
}

impl ImportReport {
    pub fn rejected(&self) -> u64 {
        self.rejected_by_reason.values().sum()
    }

    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Progress callbacks: after each chunk, the file and rows so far.
pub struct Progress<'a> {
    pub file: &'a str,
    pub file_index: usize,
    pub files: usize,
    pub rows: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// The order files are written in: registries first so that aliases and names are known when calls,
/// transfers and links refer to them.
fn layout_rank(l: Layout) -> u8 {
    match l {
        Layout::Persons => 0,
        Layout::FtmJsonl => 1,
        Layout::Links => 2,
        Layout::Calls | Layout::CarrierCalls => 3,
        Layout::Transfers | Layout::BankStatement => 4,
    }
}

/// Opens every file and recognises its layout, in the order they will be imported. Call it before
/// opening the store, so that a bad file stops the import before anything is written.
pub fn open_files(paths: &[PathBuf]) -> Result<Vec<FileParser>, ParseError> {
    let mut parsers = Vec::with_capacity(paths.len());
    for p in paths {
        parsers.extend(parse::open(p)?);
    }
    parsers.sort_by_key(|p| layout_rank(p.layout()));
    Ok(parsers)
}

/// Imports `paths` into `store` (see [`import_parsers`]).
pub fn import_files(
    store: &Store,
    paths: &[PathBuf],
    cfg: &ImportConfig,
    on_reject: &mut dyn FnMut(&Reject),
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ImportReport, ImportError> {
    import_parsers(store, open_files(paths)?, cfg, on_reject, on_progress)
}

/// Imports opened files into `store`. Each rejected row is handed to `on_reject` (to be kept aside);
/// `on_progress` is called after each chunk.
pub fn import_parsers(
    store: &Store,
    parsers: Vec<FileParser>,
    cfg: &ImportConfig,
    on_reject: &mut dyn FnMut(&Reject),
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ImportReport, ImportError> {
    let t0 = Instant::now();
    let mut report = ImportReport::default();
    let chunk_rows = cfg.chunk_rows.clamp(1, PARSE_CHUNK);
    // Each run is applied on a second thread while the next one is parsed and gathered.
    pipelined(store, cfg.chunk_rows, |writer| {
        let written = write_files(
            writer,
            parsers,
            chunk_rows,
            &mut report,
            on_reject,
            on_progress,
        );
        // What was written becomes durable even when a later file failed.
        let persisted = writer.finish();
        written?;
        persisted?;
        report.writes = writer.counts().clone();
        report.write_times = writer.times().clone();
        Ok::<(), ImportError>(())
    })??;
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

fn write_files(
    writer: &mut Writer<'_>,
    parsers: Vec<FileParser>,
    chunk_rows: usize,
    report: &mut ImportReport,
    on_reject: &mut dyn FnMut(&Reject),
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), ImportError> {
    let nfiles = parsers.len();
    for (file_index, mut parser) in parsers.into_iter().enumerate() {
        let mut summary = FileSummary {
            file: parser.file().to_string(),
            layout: parser.layout(),
            encoding: parser.encoding().as_str(),
            rows: 0,
            records: 0,
            rejected: 0,
            warnings: Vec::new(),
        };
        // Parse on a second thread, one chunk ahead of the writer. Written chunks go back to it
        // to be freed there (freeing a chunk's records is a good share of the writer's time).
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk, ParseError>>(1);
        let (used_tx, used_rx) = mpsc::channel::<Chunk>();
        let outcome: Result<(), ImportError> = std::thread::scope(|s| {
            let producer = s.spawn(move || {
                loop {
                    while let Ok(used) = used_rx.try_recv() {
                        drop(used);
                    }
                    match parser.next_chunk(chunk_rows) {
                        Ok(Some(c)) => {
                            if tx.send(Ok(c)).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
                parser.warnings().to_vec()
            });
            let mut result = Ok(());
            let mut waited = Instant::now();
            for chunk in rx.iter() {
                report.parse_wait += waited.elapsed().as_secs_f64();
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        result = Err(e.into());
                        break;
                    }
                };
                if let Err(e) = writer.write_chunk(&chunk.records) {
                    result = Err(e.into());
                    break;
                }
                summary.rows += chunk.rows;
                summary.records += chunk.records.len() as u64;
                summary.rejected += chunk.rejects.len() as u64;
                for r in &chunk.rejects {
                    *report.rejected_by_reason.entry(r.reason).or_default() += 1;
                    on_reject(r);
                }
                for n in &chunk.notes {
                    *report.notes_by_reason.entry(n.reason).or_default() += 1;
                }
                report.rows += chunk.rows;
                on_progress(Progress {
                    file: &summary.file,
                    file_index,
                    files: nfiles,
                    rows: report.rows,
                });
                // Once the producer has ended, the chunk comes back here and is freed here.
                let _ = used_tx.send(chunk);
                waited = Instant::now();
            }
            drop(rx);
            // The producer only ends by itself; a panic there is a bug we surface as-is.
            summary.warnings = producer.join().unwrap_or_default();
            result
        });
        outcome?;
        report.files.push(summary);
    }
    Ok(())
}
