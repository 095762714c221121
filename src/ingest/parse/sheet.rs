//! Spreadsheets (.xlsx, .xlsm, .xlsb, .xls, .ods), read with calamine: every sheet becomes a row
//! source whose cells are decoded to text here, and from there on the rows go through the same
//! header detection, row parsing and reject reporting as CSV (see [`super::FileParser`]).
//!
//! Decoding a cell is the only spreadsheet-specific step, and it never guesses:
//! - a text cell is its text;
//! - a whole number is its exact digits (`13800138000`, not `1.3800138E+10`) when the number is
//!   provably exact: at most 15 significant digits (what a spreadsheet keeps), or 16 digits below 2^53
//!   ending in a digit other than 0 (a spreadsheet that cut a number to 15 digits leaves a 0 there).
//!   Anything larger (a 19-digit card number stored as a number is `6.22202123456789E+18`, its last
//!   digits gone) rejects the row, naming the cell, when the layout reads that column;
//! - a fraction is its shortest decimal at 15 significant digits (`1234.56`);
//! - a date cell (a serial number with a date format, in the workbook's 1900 or 1904 date system)
//!   becomes `YYYY-MM-DD HH:MM:SS`, rounded to the second, read like a CSV time without an offset
//!   (Beijing time); a time-only or duration cell becomes `H:MM:SS` or seconds;
//! - an error cell (`#N/A`) rejects the row when the layout reads that column.
//!
//! A workbook is read whole into memory, one sheet at a time as it is opened (calamine's ranges).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Range, Reader};

use super::header::{self, ColumnMap};
use super::{Bad, Layout, ParseError};
use crate::model::time::{timestamp, BeijingTime, BEIJING_OFFSET};

/// File name endings read as workbooks (besides any file that starts like one).
const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Whether `path` is a workbook: by its name, or by its first bytes (a zip or an OLE container).
pub(crate) fn is_workbook(path: &Path) -> bool {
    let by_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
    by_name || {
        let mut magic = [0u8; 4];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && (magic == *b"PK\x03\x04" || magic == [0xD0, 0xCF, 0x11, 0xE0])
    }
}

/// One sheet, recognised: its layout and column map, and the rows below its header.
pub(crate) struct SheetRows {
    range: Range<Data>,
    /// The next row to hand out, relative to the range's first row.
    next: usize,
    /// The range's first absolute row and column (0-based).
    origin: (u32, u32),
    /// For each column of the range, whether the layout reads it (a bad cell there rejects the row).
    used: Vec<bool>,
}

/// A sheet's row once decoded: its 1-based row number and the first problem of a cell the layout
/// reads (the row is then rejected).
pub(crate) struct SheetRow {
    pub line: u64,
    pub problem: Option<Bad>,
}

/// A workbook opened and recognised: one entry per sheet that has data.
pub(crate) struct OpenedSheet {
    pub name: Arc<str>,
    pub layout: Layout,
    pub map: ColumnMap,
    pub rows: SheetRows,
    pub warnings: Vec<String>,
}

/// Opens a workbook and recognises every sheet's header. Empty sheets are skipped with a warning;
/// a workbook without any data, unreadable, encrypted, or with a sheet whose header matches no
/// layout is an error naming the file (and the sheet).
pub(crate) fn open(path: &Path) -> Result<Vec<OpenedSheet>, ParseError> {
    let name = path.display().to_string();
    let err = |detail: String| ParseError::Workbook {
        path: name.clone(),
        detail,
    };
    // A malformed file must not take the import down, even if the reader has a bug.
    let read = std::panic::catch_unwind(|| read_sheets(path)).map_err(|_| {
        err("the spreadsheet reader failed on this file (is it a damaged workbook?)".to_string())
    })?;
    let sheets = read.map_err(err)?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (sheet, range) in sheets {
        if range.is_empty() || range.used_cells().all(|(_, _, c)| is_blank(c)) {
            skipped.push(sheet);
            continue;
        }
        let file: Arc<str> = Arc::from(format!("{name} [{sheet}]"));
        out.push(recognise(&file, range)?);
    }
    if out.is_empty() {
        return Err(ParseError::Empty { path: name });
    }
    if !skipped.is_empty() {
        out[0].warnings.push(format!(
            "{name}: empty sheets skipped: {}",
            skipped.join(", ")
        ));
    }
    Ok(out)
}

type Sheets = Vec<(String, Range<Data>)>;

fn read_sheets(path: &Path) -> Result<Sheets, String> {
    let by_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
    if by_name {
        sheets_of(calamine::open_workbook_auto(path).map_err(describe)?)
    } else {
        // Any name: calamine tries each format in turn on the bytes.
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        sheets_of(
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(describe)?,
        )
    }
}

fn sheets_of<R: Read + std::io::Seek>(mut wb: calamine::Sheets<R>) -> Result<Sheets, String> {
    let mut sheets = Vec::new();
    for sheet in wb.sheet_names() {
        let range = wb
            .worksheet_range(&sheet)
            .map_err(|e| format!("sheet {sheet:?}: {}", describe(e)))?;
        sheets.push((sheet, range));
    }
    if sheets.is_empty() {
        return Err("the workbook has no sheets".to_string());
    }
    Ok(sheets)
}

/// calamine's error, said for an investigator.
fn describe(e: calamine::Error) -> String {
    let text = e.to_string();
    if text.contains("password protected") {
        "the workbook is password-protected (encrypted); open it in a spreadsheet program, remove \
         the password and save it again"
            .to_string()
    } else {
        format!("not a readable workbook: {text}")
    }
}

fn is_blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Finds the header among the sheet's first rows (title rows above it are skipped and named in a
/// warning) and maps it onto a layout.
fn recognise(file: &Arc<str>, range: Range<Data>) -> Result<OpenedSheet, ParseError> {
    let origin = range.start().unwrap_or((0, 0));
    let mut titles: Vec<(u64, String)> = Vec::new();
    let mut found = None;
    for (i, row) in range.rows().enumerate() {
        if row.iter().all(is_blank) {
            continue;
        }
        let names: Vec<String> = row.iter().map(lossy).collect();
        let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
        let line = u64::from(origin.0) + i as u64 + 1;
        if let Some(hit) = header::detect(&names_ref) {
            found = Some((i, hit));
            break;
        }
        titles.push((line, names.join(" ").trim().to_string()));
        if titles.len() > super::MAX_TITLE_ROWS {
            break;
        }
    }
    let Some((header_row, (layout, map))) = found else {
        return Err(super::unknown_layout(
            file,
            titles.first().map_or("", |(_, t)| t.as_str()),
        ));
    };
    let warnings = super::header_warnings(file, &map, &titles);
    let mut used = vec![false; range.width()];
    for i in map.index.iter().flatten() {
        if let Some(u) = used.get_mut(usize::from(*i)) {
            *u = true;
        }
    }
    Ok(OpenedSheet {
        name: Arc::clone(file),
        layout,
        map,
        rows: SheetRows {
            range,
            next: header_row + 1,
            origin,
            used,
        },
        warnings,
    })
}

impl SheetRows {
    /// Decodes the next non-blank row into `data` (cells joined by tabs) and `fields` (each cell's
    /// range in `data`, relative to `start`). `None` at the end of the sheet.
    pub(crate) fn next_row(
        &mut self,
        data: &mut Vec<u8>,
        fields: &mut Vec<(u32, u32)>,
    ) -> Option<SheetRow> {
        let width = self.range.width();
        loop {
            let i = self.next;
            if i >= self.range.height() {
                return None;
            }
            self.next += 1;
            let row = &self.range[i];
            if row.iter().all(is_blank) {
                continue;
            }
            let line = u64::from(self.origin.0) + i as u64 + 1;
            let start = data.len();
            let mut problem = None;
            let mut text = String::new();
            for (j, cell) in row.iter().enumerate().take(width) {
                if j > 0 {
                    data.push(b'\t');
                }
                text.clear();
                let checked = self.used.get(j).copied().unwrap_or(false);
                match cell_text(cell, &mut text) {
                    Ok(()) => {}
                    Err(why) if checked && problem.is_none() => {
                        let col = self.origin.1 + j as u32;
                        problem = Some(Bad::new(
                            why.reason,
                            format!("cell {}{line}: {}", column_name(col), why.detail),
                        ));
                    }
                    Err(_) => {}
                }
                let a = data.len() - start;
                data.extend_from_slice(text.as_bytes());
                let b = data.len() - start;
                fields.push((a as u32, b as u32));
            }
            return Some(SheetRow { line, problem });
        }
    }
}

/// `A`…`Z`, `AA`… for a 0-based column.
pub(crate) fn column_name(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        out.push(b'A' + r);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A cell's text for a header name or a reject: what [`cell_text`] gives, or the value as shown
/// (a number too long to be exact in exponent form, an error cell as `#N/A`).
fn lossy(cell: &Data) -> String {
    let mut s = String::new();
    if cell_text(cell, &mut s).is_err() {
        s.clear();
        match cell {
            Data::Float(f) => s.push_str(&format!("{f:e}")),
            Data::Error(e) => s.push_str(&e.to_string()),
            other => s.push_str(&other.to_string()),
        }
    }
    s
}

/// The largest whole number a double holds exactly with all smaller ones (2^53).
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Decodes one cell to the text a CSV export of it would hold (see the module doc). On an error
/// `out` holds the cell as shown, for the reject's raw row.
pub(crate) fn cell_text(cell: &Data, out: &mut String) -> Result<(), Bad> {
    use std::fmt::Write;
    match cell {
        Data::Empty => Ok(()),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            out.push_str(s);
            Ok(())
        }
        Data::Bool(b) => {
            out.push_str(if *b { "TRUE" } else { "FALSE" });
            Ok(())
        }
        Data::Int(i) => {
            let _ = write!(out, "{i}");
            Ok(())
        }
        Data::Float(f) => number(*f, out),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            if !v.is_finite() || v < 0.0 {
                let _ = write!(out, "{v}");
                return Err(Bad::new(
                    "bad_time",
                    format!("date serial {v} is not a date"),
                ));
            }
            if dt.is_duration() {
                let _ = write!(out, "{}", (v * 86_400.0).round() as i64);
                return Ok(());
            }
            let secs = ((v - v.floor()) * 86_400.0).round() as i64;
            if v < 1.0 {
                // A time of day without a date (or a duration formatted as a time).
                let _ = write!(
                    out,
                    "{}:{:02}:{:02}",
                    secs / 3600,
                    secs % 3600 / 60,
                    secs % 60
                );
                return Ok(());
            }
            // calamine knows the workbook's date system (1900 or 1904) and Excel's 1900 leap-year
            // bug; the date comes from it and the time of day from the serial's fraction, rounded to
            // the second (so 23:59:59.6 carries into the next day).
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            let day = (i64::from(y), i64::from(m), i64::from(d));
            match timestamp(day, (0, 0, 0), BEIJING_OFFSET) {
                Some(midnight) => {
                    let _ = write!(out, "{}", BeijingTime(midnight + secs));
                    Ok(())
                }
                None => {
                    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
                    Err(Bad::new(
                        "bad_time",
                        format!("date {y:04}-{m:02}-{d:02} is out of range"),
                    ))
                }
            }
        }
        Data::Error(e) => {
            let _ = write!(out, "{e}");
            Err(Bad::new(
                "bad_cell",
                format!("the cell holds the spreadsheet error {e}"),
            ))
        }
    }
}

/// A number cell's text: exact digits for a whole number that is provably exact, the shortest
/// 15-significant-digit decimal for a fraction, an error for a whole number that may have lost digits.
fn number(f: f64, out: &mut String) -> Result<(), Bad> {
    use std::fmt::Write;
    if !f.is_finite() {
        let _ = write!(out, "{f}");
        return Err(Bad::new("bad_number", format!("{f} is not a number")));
    }
    if f.fract() == 0.0 {
        let a = f.abs();
        // Below 10^15 every whole number is exact; 16 digits are exact below 2^53 unless they end in
        // the 0 a spreadsheet writes for the digits past its 15.
        let exact = a < 1e15 || (a < EXACT_LIMIT && (a as i64) % 10 != 0);
        if exact {
            let _ = write!(out, "{}", f as i64);
            return Ok(());
        }
        let _ = write!(out, "{f:e}");
        return Err(Bad::new(
            "bad_number",
            format!(
                "the number {f:e} is stored as a floating-point number and may have lost digits \
                 (a spreadsheet keeps 15 significant digits); export the column as text"
            ),
        ));
    }
    // What a spreadsheet shows: 15 significant digits (so 0.1 + 0.2 reads as 0.3).
    let shown: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    let _ = write!(out, "{shown}");
    Ok(())
}

#[cfg(test)]
mod tests;
