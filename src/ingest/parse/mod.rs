//! Parsers: investigators' files to [`Record`]s, streaming and in parallel.
//!
//! [`open`] reads a file's first line, recognises its [`Layout`] from the header (Chinese or English
//! column names, any order) or from a JSON first line (FollowTheMoney), and decides the text encoding
//! (UTF-8, or GB18030 as Chinese banks export). [`FileParser::next_chunk`] then reads up to
//! `max_rows` raw rows sequentially and parses them in parallel with rayon, keeping row order;
//! the next chunk's raw rows are read while the current ones are parsed.
//!
//! Every row becomes either a record with its [`Origin`] (file, 1-based physical line, the row's own
//! `source`) or a [`Reject`] with a stable reason class; rows that lose an optional value (an
//! unreadable IMEI) are kept and leave a [`Note`]. Nothing panics on any input, and memory is
//! bounded: a row longer than [`MAX_ROW_BYTES`] is skipped without being buffered.
//!
//! Spreadsheets (see [`sheet`]) join the same path once their cells are decoded to text: each sheet
//! is a parser of its own, named `file [sheet]`, whose rows carry their cells already split.
//!
//! The header need not be the first line: up to [`MAX_TITLE_ROWS`] title rows above it (a bank's
//! `XX银行账户交易明细` and query-date lines) are skipped and named in a warning.
//!
//! Why not `csv::Reader`: it cannot bound a record's size (a pathological field is buffered whole),
//! its line numbers count records rather than give the physical line a record starts on, and it does
//! not give back the raw row text that a reject must show. The reader here splits physical lines
//! (joining lines inside a quoted field) and splits fields lazily in the parallel phase.

mod ftm;
mod header;
mod reader;
mod rows;
mod sheet;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use self::header::ColumnMap;
pub use self::reader::TextEncoding;
use self::reader::{Raw, RecordReader};
use crate::ingest::record::{Origin, Record, Reject};

/// How many rows above the header (titles, query dates) are skipped looking for it.
pub const MAX_TITLE_ROWS: usize = 20;

/// The longest row read; a longer one is rejected (`too_long`) without being buffered.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The file layouts fraudnet reads. See fixtures/README.md for columns and aliases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `caller,callee,start_time,duration_s,imei,cell_id,source`.
    Calls,
    /// A carrier's per-number call records (本机号码, 对方号码, 呼叫类型, 通话起始时间…).
    CarrierCalls,
    /// `from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source`.
    Transfers,
    /// A bank's per-account statement (交易明细: 交易卡号, 交易金额, 收付标志, 交易对手账卡号…).
    BankStatement,
    /// `person_key,name,id_number,roles,phones,accounts,notes,source` (+ devices, wallets, status).
    Persons,
    /// `from,to,kind,time,source` with canonical references (+ amount, note).
    Links,
    /// FollowTheMoney entities, one JSON object per line.
    FtmJsonl,
}

impl Layout {
    pub const ALL: [Layout; 7] = [
        Layout::Calls,
        Layout::CarrierCalls,
        Layout::Transfers,
        Layout::BankStatement,
        Layout::Persons,
        Layout::Links,
        Layout::FtmJsonl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Layout::Calls => "calls",
            Layout::CarrierCalls => "carrier_calls",
            Layout::Transfers => "transfers",
            Layout::BankStatement => "bank_statement",
            Layout::Persons => "persons",
            Layout::Links => "links",
            Layout::FtmJsonl => "ftm_jsonl",
        }
    }

    /// The columns a layout needs and reads (first alias of each), for messages and docs.
    pub fn expected_columns(self) -> String {
        match self {
            Layout::FtmJsonl => "ftm_jsonl: one FollowTheMoney entity per line ({\"id\", \"schema\", \"properties\"})"
                .to_string(),
            _ => header::describe(self),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file cannot be parsed at all. Row problems are [`Reject`]s, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("cannot read {path}")]
    Io { path: String, source: io::Error },
    #[error("{path} is a directory, not a file")]
    Directory { path: String },
    #[error("{path} is empty")]
    Empty { path: String },
    #[error("{path}: {detail}")]
    Encoding { path: String, detail: String },
    #[error("{path}: {detail}")]
    Workbook { path: String, detail: String },
    #[error("{path}: the header {header:?} matches no known layout (nor does any of the next rows, searched in case it is a title). Expected one of:\n{expected}")]
    UnknownLayout {
        path: String,
        header: String,
        expected: String,
    },
}

/// A row kept with something dropped (an unreadable optional IMEI, an unknown role…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub line: u64,
    /// Stable class for the summary (`bad_imei`, `unknown_role`…).
    pub reason: &'static str,
    pub detail: String,
}

/// The result of one [`FileParser::next_chunk`]: records and rejects in row order.
#[derive(Debug, Default)]
pub struct Chunk {
    pub records: Vec<(Origin, Record)>,
    pub rejects: Vec<Reject>,
    pub notes: Vec<Note>,
    /// Data rows this chunk consumed (records + rejects, except FtM links resolved later).
    pub rows: u64,
}

/// A row's failure inside a parser: a reason class and a human detail.
#[derive(Debug)]
pub(crate) struct Bad {
    pub reason: &'static str,
    pub detail: String,
}

impl Bad {
    pub(crate) fn new(reason: &'static str, detail: impl Into<String>) -> Bad {
        Bad {
            reason,
            detail: detail.into(),
        }
    }
}

/// A record parsed from one row, with what it dropped.
pub(crate) struct Parsed {
    pub record: Record,
    pub label: Option<String>,
    pub notes: Vec<(&'static str, String)>,
}

/// The outcome of one row of a chunk.
enum RowOut {
    Record(Parsed),
    Ftm(ftm::Item),
    Bad(Bad),
}

/// One raw row of a chunk: a range of the chunk's byte buffer.
struct RawRow {
    line: u64,
    start: usize,
    end: usize,
    /// `None` for a complete row; else the reject the reader already decided.
    problem: Option<Bad>,
    /// A spreadsheet row's cells, already split: a range of [`Batch::fields`].
    cells: Option<(usize, usize)>,
}

/// Raw rows read from the file: their bytes back to back, and where each row is.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    rows: Vec<RawRow>,
    /// Spreadsheet rows' cell ranges, relative to their row's start.
    fields: Vec<(u32, u32)>,
}

/// Where a parser's raw rows come from.
enum Source {
    Text(RecordReader),
    Sheet(sheet::SheetRows),
}

/// What the parallel phase shares about the file.
struct Ctx {
    layout: Layout,
    encoding: TextEncoding,
    delim: u8,
    map: ColumnMap,
}

/// Per-thread buffers of the parallel phase.
#[derive(Default)]
struct Scratch {
    ranges: Vec<(u32, u32)>,
    unquoted: String,
}

/// A file being parsed. Created by [`open`] (or [`FileParser::from_reader`]).
pub struct FileParser {
    file: Arc<str>,
    ctx: Ctx,
    reader: Source,
    warnings: Vec<String>,
    ftm: ftm::Resolver,
    /// The raw rows being parsed, and the next ones, read while the current ones are parsed.
    cur: Batch,
    next: Batch,
    /// Whether `next` was filled by the previous call.
    prefetched: bool,
    eof: bool,
    done: bool,
}

/// Opens a file and recognises its layout and encoding from its start: one parser for a text file,
/// one per sheet with data for a workbook. Fails, before any row is parsed, when the file is
/// missing, unreadable, a directory, empty, in an unsupported encoding, a damaged or encrypted
/// workbook, or when a header matches no layout (the error lists every layout's expected columns).
pub fn open(path: &Path) -> Result<Vec<FileParser>, ParseError> {
    let name = path.display().to_string();
    let io_err = |source| ParseError::Io {
        path: name.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return Err(ParseError::Directory { path: name });
    }
    if sheet::is_workbook(path) {
        return Ok(sheet::open(path)?
            .into_iter()
            .map(FileParser::from_sheet)
            .collect());
    }
    let f = File::open(path).map_err(io_err)?;
    Ok(vec![FileParser::from_reader(&name, Box::new(f))?])
}

/// The error for a file or sheet none of whose first rows is a known header.
fn unknown_layout(path: &str, first: &str) -> ParseError {
    let expected = header::CSV_LAYOUTS
        .iter()
        .map(|l| format!("  {}", header::describe(*l)))
        .chain(std::iter::once(format!(
            "  {}",
            Layout::FtmJsonl.expected_columns()
        )))
        .collect::<Vec<_>>()
        .join("\n");
    ParseError::UnknownLayout {
        path: path.to_string(),
        header: first.chars().take(300).collect(),
        expected,
    }
}

/// The file-level warnings of a recognised header: title rows skipped above it, unknown and
/// repeated columns.
fn header_warnings(name: &str, map: &ColumnMap, titles: &[(u64, String)]) -> Vec<String> {
    let mut warnings = Vec::new();
    if !titles.is_empty() {
        let shown: Vec<String> = titles
            .iter()
            .map(|(line, t)| format!("{line}: {:?}", t.chars().take(60).collect::<String>()))
            .collect();
        warnings.push(format!(
            "{name}: {} title row(s) above the header skipped ({})",
            titles.len(),
            shown.join("; ")
        ));
    }
    if !map.unknown.is_empty() {
        warnings.push(format!(
            "{name}: ignored unknown columns: {}",
            map.unknown.join(", ")
        ));
    }
    if !map.duplicate.is_empty() {
        warnings.push(format!(
            "{name}: repeated columns (the first of each is read): {}",
            map.duplicate.join(", ")
        ));
    }
    warnings
}

fn first_line(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    bytes[..end].strip_suffix(b"\r").unwrap_or(&bytes[..end])
}

/// Decides the encoding from the start of the file (after any UTF-8 BOM).
fn sniff_encoding(start: &[u8], had_bom: bool) -> Result<TextEncoding, String> {
    if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") {
        return Err(
            "UTF-16 text is not supported; save the file as UTF-8 (or GBK) CSV".to_string(),
        );
    }
    if had_bom {
        return Ok(TextEncoding::Utf8);
    }
    let gb = |b: &[u8]| {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(b)
            .is_some()
    };
    let header = first_line(start);
    if std::str::from_utf8(header).is_err() {
        return if gb(header) {
            Ok(TextEncoding::Gb18030)
        } else {
            Err("the header is neither UTF-8 nor GB18030 text".to_string())
        };
    }
    // An ASCII header says nothing: look at the first rows. A GBK row is almost never valid UTF-8,
    // and one bad row in a UTF-8 file is outnumbered by its valid non-ASCII rows.
    let mut utf8_rows = 0usize;
    let mut gb_rows = 0usize;
    let complete = match start.iter().rposition(|&b| b == b'\n') {
        Some(i) => &start[..i],
        None => start,
    };
    for line in complete.split(|&b| b == b'\n').skip(1) {
        if line.is_ascii() {
            continue;
        }
        if std::str::from_utf8(line).is_ok() {
            utf8_rows += 1;
        } else if gb(line) {
            gb_rows += 1;
        }
    }
    Ok(if gb_rows > utf8_rows {
        TextEncoding::Gb18030
    } else {
        TextEncoding::Utf8
    })
}

/// Decodes a record's bytes in the file's encoding.
fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<std::borrow::Cow<'_, str>, Bad> {
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Spreadsheet => std::str::from_utf8(bytes)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|e| {
                Bad::new(
                    "bad_utf8",
                    format!("invalid UTF-8 at byte {} of the row", e.valid_up_to()),
                )
            }),
        TextEncoding::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or_else(|| Bad::new("bad_encoding", "bytes that are not GB18030 text")),
    }
}

/// A row's text for a reject: decoded as far as it goes, unreadable bytes replaced.
fn raw_text(bytes: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Spreadsheet => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        TextEncoding::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

impl FileParser {
    /// Parses from any reader; `name` is the file name used in origins, rejects and errors.
    pub fn from_reader(name: &str, src: Box<dyn Read + Send>) -> Result<FileParser, ParseError> {
        let path = name.to_string();
        let io_err = |source| ParseError::Io {
            path: path.clone(),
            source,
        };
        let mut reader = RecordReader::new(src, MAX_ROW_BYTES);
        let had_bom = reader
            .peek_start()
            .map_err(io_err)?
            .starts_with(b"\xEF\xBB\xBF");
        reader.skip_bom().map_err(io_err)?;
        let start = reader.peek_start().map_err(io_err)?;
        if start.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::Empty { path });
        }
        let encoding = sniff_encoding(start, had_bom).map_err(|detail| ParseError::Encoding {
            path: path.clone(),
            detail,
        })?;
        let first = start.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let file: Arc<str> = Arc::from(name);
        let mut warnings = Vec::new();
        let (layout, map, delim) = if first == Some(b'{') {
            let empty: [&str; 0] = [];
            (
                Layout::FtmJsonl,
                ColumnMap::build(Layout::FtmJsonl, &empty),
                b',',
            )
        } else {
            // The header is the first row that matches a layout; rows above it are titles.
            let mut titles: Vec<(u64, String)> = Vec::new();
            loop {
                reader.set_quoting(Some(b','));
                let (line, header_bytes) = match reader.next_record().map_err(io_err)? {
                    Some(
                        Raw::Row { line, start, end } | Raw::Unterminated { line, start, end },
                    ) => (line, reader.bytes(start, end).to_vec()),
                    Some(Raw::TooLong { line, head, .. }) => (line, head),
                    None if titles.is_empty() => return Err(ParseError::Empty { path }),
                    None => return Err(unknown_layout(&path, &titles[0].1)),
                };
                let text = decode(&header_bytes, encoding)
                    .map(|t| t.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(&header_bytes).into_owned());
                let commas = text.bytes().filter(|&b| b == b',').count();
                let tabs = text.bytes().filter(|&b| b == b'\t').count();
                let delim = if tabs > commas { b'\t' } else { b',' };
                reader.set_quoting(Some(delim));
                let mut ranges = Vec::new();
                let mut scratch = String::new();
                let base = reader::split_fields(&text, delim, &mut ranges, &mut scratch);
                let names: Vec<&str> = ranges
                    .iter()
                    .map(|&(a, b)| base.get(a as usize..b as usize).unwrap_or(""))
                    .collect();
                if let Some((layout, map)) = header::detect(&names) {
                    warnings = header_warnings(name, &map, &titles);
                    break (layout, map, delim);
                }
                if titles.len() >= MAX_TITLE_ROWS {
                    return Err(unknown_layout(&path, &titles[0].1));
                }
                titles.push((line, text));
            }
        };
        Ok(FileParser {
            file,
            ctx: Ctx {
                layout,
                encoding,
                delim,
                map,
            },
            reader: Source::Text(reader),
            warnings,
            ftm: ftm::Resolver::default(),
            cur: Batch::default(),
            next: Batch::default(),
            prefetched: false,
            eof: false,
            done: false,
        })
    }

    /// A parser for one recognised sheet of a workbook.
    fn from_sheet(s: sheet::OpenedSheet) -> FileParser {
        FileParser {
            file: s.name,
            ctx: Ctx {
                layout: s.layout,
                encoding: TextEncoding::Spreadsheet,
                delim: b'\t',
                map: s.map,
            },
            reader: Source::Sheet(s.rows),
            warnings: s.warnings,
            ftm: ftm::Resolver::default(),
            cur: Batch::default(),
            next: Batch::default(),
            prefetched: false,
            eof: false,
            done: false,
        }
    }

    pub fn layout(&self) -> Layout {
        self.ctx.layout
    }

    pub fn encoding(&self) -> TextEncoding {
        self.ctx.encoding
    }

    /// The file name shared by every [`Origin`] of this file.
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    /// File-level warnings for the summary (unknown or repeated columns), each reported once.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads up to `max_rows` rows and parses them in parallel. `Ok(None)` once the file is done.
    /// An `Err` is an I/O failure of the file itself; row problems are in [`Chunk::rejects`].
    ///
    /// While a chunk's rows are parsed, the next chunk's raw rows are already being read (one
    /// rayon task), so reading overlaps parsing.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Chunk>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let max_rows = max_rows.max(1);
        if self.prefetched {
            std::mem::swap(&mut self.cur, &mut self.next);
        } else {
            read_raw(
                &mut self.reader,
                &mut self.eof,
                &self.file,
                &mut self.cur,
                max_rows,
            )?;
        }
        if self.cur.rows.is_empty() {
            self.done = true;
            let chunk = self.ftm.finish(&self.file);
            return Ok((!chunk.rejects.is_empty() || !chunk.records.is_empty()).then_some(chunk));
        }
        let ctx = &self.ctx;
        let cur = &self.cur;
        let (reader, eof, file, next) =
            (&mut self.reader, &mut self.eof, &self.file, &mut self.next);
        let (outs, read) = rayon::join(
            || {
                cur.rows
                    .par_iter()
                    .map_init(Scratch::default, |scratch, raw| {
                        parse_row(ctx, cur, raw, scratch)
                    })
                    .collect::<Vec<RowOut>>()
            },
            || read_raw(reader, eof, file, next, max_rows),
        );
        read?;
        self.prefetched = true;
        let mut chunk = Chunk {
            rows: self.cur.rows.len() as u64,
            records: Vec::with_capacity(self.cur.rows.len()),
            ..Chunk::default()
        };
        let mut ftm_items = Vec::new();
        let data = &self.cur.data;
        for (raw, out) in self.cur.rows.iter().zip(outs) {
            match out {
                RowOut::Record(p) => {
                    for (reason, detail) in p.notes {
                        chunk.notes.push(Note {
                            line: raw.line,
                            reason,
                            detail,
                        });
                    }
                    let origin = Origin {
                        file: Arc::clone(&self.file),
                        line: raw.line,
                        label: p.label,
                    };
                    chunk.records.push((origin, p.record));
                }
                RowOut::Ftm(item) => {
                    let text = raw_text(&data[raw.start..raw.end], self.ctx.encoding);
                    ftm_items.push((raw.line, text, item));
                }
                RowOut::Bad(bad) => chunk.rejects.push(Reject {
                    file: self.file.to_string(),
                    line: raw.line,
                    reason: bad.reason,
                    detail: bad.detail,
                    raw: raw_text(&data[raw.start..raw.end], self.ctx.encoding),
                }),
            }
        }
        if !ftm_items.is_empty() {
            self.ftm.resolve(&self.file, ftm_items, &mut chunk);
        }
        Ok(Some(chunk))
    }
}

/// Fills `batch` with up to `max_rows` raw rows (fewer at the end of the file).
fn read_raw(
    source: &mut Source,
    eof: &mut bool,
    file: &Arc<str>,
    batch: &mut Batch,
    max_rows: usize,
) -> Result<(), ParseError> {
    batch.data.clear();
    batch.rows.clear();
    batch.fields.clear();
    let reader = match source {
        Source::Text(reader) => reader,
        Source::Sheet(sheet) => {
            while batch.rows.len() < max_rows && !*eof {
                let start = batch.data.len();
                let first = batch.fields.len();
                match sheet.next_row(&mut batch.data, &mut batch.fields) {
                    None => *eof = true,
                    Some(row) => batch.rows.push(RawRow {
                        line: row.line,
                        start,
                        end: batch.data.len(),
                        problem: row.problem,
                        cells: Some((first, batch.fields.len())),
                    }),
                }
            }
            return Ok(());
        }
    };
    while batch.rows.len() < max_rows && !*eof {
        let raw = reader.next_record().map_err(|source| ParseError::Io {
            path: file.to_string(),
            source,
        })?;
        let start = batch.data.len();
        let (line, problem) = match raw {
            None => {
                *eof = true;
                break;
            }
            Some(Raw::Row {
                line,
                start: a,
                end: b,
            }) => {
                batch.data.extend_from_slice(reader.bytes(a, b));
                (line, None)
            }
            Some(Raw::TooLong { line, head, len }) => {
                batch.data.extend_from_slice(&head);
                let detail =
                    format!("row of {len} bytes is longer than the {MAX_ROW_BYTES}-byte limit");
                (line, Some(Bad::new("too_long", detail)))
            }
            Some(Raw::Unterminated {
                line,
                start: a,
                end: b,
            }) => {
                batch.data.extend_from_slice(reader.bytes(a, b));
                let detail = format!(
                    "a quoted field opened here is not closed within {MAX_ROW_BYTES} bytes"
                );
                (line, Some(Bad::new("bad_quote", detail)))
            }
        };
        batch.rows.push(RawRow {
            line,
            start,
            end: batch.data.len(),
            problem,
            cells: None,
        });
    }
    Ok(())
}

/// Parses one raw row (runs on rayon threads).
fn parse_row(ctx: &Ctx, batch: &Batch, raw: &RawRow, scratch: &mut Scratch) -> RowOut {
    if let Some(p) = &raw.problem {
        return RowOut::Bad(Bad::new(p.reason, p.detail.clone()));
    }
    let bytes = &batch.data[raw.start..raw.end];
    let text = match decode(bytes, ctx.encoding) {
        Ok(t) => t,
        Err(bad) => return RowOut::Bad(bad),
    };
    if ctx.layout == Layout::FtmJsonl {
        return match ftm::parse_line(&text) {
            Ok(item) => RowOut::Ftm(item),
            Err(bad) => RowOut::Bad(bad),
        };
    }
    let Scratch { ranges, unquoted } = scratch;
    let base = match raw.cells {
        // A spreadsheet row: its cells are already split.
        Some((a, b)) => {
            ranges.clear();
            ranges.extend_from_slice(&batch.fields[a..b]);
            &text
        }
        None => reader::split_fields(&text, ctx.delim, ranges, unquoted),
    };
    if ranges.len() < ctx.map.width {
        return RowOut::Bad(Bad::new(
            "truncated",
            format!("{} fields, the header has {}", ranges.len(), ctx.map.width),
        ));
    }
    let row = rows::Row {
        base,
        ranges,
        map: &ctx.map,
    };
    match rows::parse(ctx.layout, &row) {
        Ok(p) => RowOut::Record(p),
        Err(bad) => RowOut::Bad(bad),
    }
}
