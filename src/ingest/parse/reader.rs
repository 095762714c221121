//! Physical reading: bytes from a file to raw records, with exact line numbers, bounded memory and
//! the encoding decided once from the file's start.
//!
//! A record is one physical line, or several when a quoted field spans line breaks (RFC 4180). A
//! record longer than the cap is skipped without being buffered and reported as too long; an
//! unterminated quote that would swallow more than the cap is reported on its first line, and reading
//! resumes on the next line, so one stray `"` cannot eat the rest of the file.

use std::io::{self, Read};

/// How a file's bytes become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// GB18030 (a superset of GBK and GB2312), as Chinese banks and carriers export.
    Gb18030,
    /// No text encoding: a workbook's cells, decoded to UTF-8 text.
    Spreadsheet,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gb18030 => "GB18030",
            TextEncoding::Spreadsheet => "spreadsheet",
        }
    }
}

/// One raw record as found in the file; ranges index [`RecordReader::bytes`] until the next read.
#[derive(Debug)]
pub(crate) enum Raw {
    /// A complete record (without its line terminator) starting on `line`.
    Row { line: u64, start: usize, end: usize },
    /// A physical line longer than the cap: only its head is kept.
    TooLong {
        line: u64,
        head: Vec<u8>,
        len: usize,
    },
    /// A quoted field opened on `line` and not closed within the cap (its first line).
    Unterminated { line: u64, start: usize, end: usize },
}

/// The smallest buffer the reader keeps, whatever the cap.
const MIN_BUF: usize = 256 * 1024;
/// How many bytes of an over-long line a reject keeps.
const HEAD_KEEP: usize = 256;

/// Carried state of the RFC 4180 quote scanner across the lines of one record.
#[derive(Clone, Copy)]
struct QuoteState {
    field_start: bool,
    field_quoted: bool,
    in_quote: bool,
}

impl QuoteState {
    const START: QuoteState = QuoteState {
        field_start: true,
        field_quoted: false,
        in_quote: false,
    };

    /// Feeds bytes; inside a quoted field every `"` toggles (so `""` stays inside).
    fn feed(&mut self, bytes: &[u8], delim: u8) {
        for &b in bytes {
            if self.field_start {
                self.field_start = false;
                self.field_quoted = b == b'"';
                if self.field_quoted {
                    self.in_quote = true;
                    continue;
                }
            }
            if b == b'"' && self.field_quoted {
                self.in_quote = !self.in_quote;
            } else if !self.in_quote && b == delim {
                self.field_start = true;
            }
        }
    }
}

pub(crate) struct RecordReader {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// The 1-based number of the physical line starting at `pos`.
    line: u64,
    /// `Some(delimiter)` for CSV (quotes join lines); `None` for JSON lines.
    quoting: Option<u8>,
    max_row: usize,
}

fn find_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The end of a line without its `\r`.
fn strip_cr(buf: &[u8], start: usize, end: usize) -> usize {
    if end > start && buf[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

impl RecordReader {
    pub(crate) fn new(src: Box<dyn Read + Send>, max_row: usize) -> RecordReader {
        RecordReader {
            src,
            buf: vec![0; MIN_BUF.max(max_row.saturating_mul(2))],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            quoting: None,
            max_row,
        }
    }

    pub(crate) fn set_quoting(&mut self, delim: Option<u8>) {
        self.quoting = delim;
    }

    /// Fills the buffer as far as it goes; afterwards the unread bytes start at 0.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while !self.eof && self.end < self.buf.len() {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    // One read is enough unless the buffer is nearly empty.
                    if self.end >= 64 * 1024 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The bytes read so far and not yet consumed (for sniffing the encoding at the start).
    pub(crate) fn peek_start(&mut self) -> io::Result<&[u8]> {
        if self.end - self.pos < 64 * 1024 && !self.eof {
            self.fill()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Drops a UTF-8 byte-order mark at the current position.
    pub(crate) fn skip_bom(&mut self) -> io::Result<()> {
        if self.peek_start()?.starts_with(b"\xEF\xBB\xBF") {
            self.pos += 3;
        }
        Ok(())
    }

    pub(crate) fn bytes(&self, start: usize, end: usize) -> &[u8] {
        &self.buf[start..end]
    }

    /// The next non-blank record, or `None` at the end of the input.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Raw>> {
        loop {
            let start_line = self.line;
            let mut state = QuoteState::START;
            let mut scan = self.pos; // everything in pos..scan belongs to the record so far
            let mut newlines = 0u64;
            let mut first_line_end: Option<usize> = None;
            let found = loop {
                match find_newline(&self.buf[scan..self.end]) {
                    Some(i) => {
                        let nl = scan + i;
                        if nl - self.pos > self.max_row {
                            break None; // too long: handled below
                        }
                        if let Some(d) = self.quoting {
                            let part = &self.buf[scan..nl];
                            if state.in_quote || part.contains(&b'"') {
                                state.feed(part, d);
                                state.feed(b"\n", d);
                            }
                        }
                        if state.in_quote {
                            first_line_end.get_or_insert(nl);
                            newlines += 1;
                            scan = nl + 1;
                            continue;
                        }
                        break Some(nl);
                    }
                    None => {
                        if self.end - self.pos > self.max_row {
                            break None;
                        }
                        if self.eof {
                            if self.pos == self.end {
                                return Ok(None);
                            }
                            if first_line_end.is_some() && state.in_quote {
                                break None; // a quote never closed before the end of the file
                            }
                            break Some(self.end); // last line without a terminator
                        }
                        let shift = self.pos;
                        self.fill()?;
                        scan -= shift;
                        if let Some(f) = first_line_end.as_mut() {
                            *f -= shift;
                        }
                    }
                }
            };
            match found {
                Some(nl) => {
                    let start = self.pos;
                    self.pos = (nl + 1).min(self.end);
                    self.line += newlines + 1;
                    let end = strip_cr(&self.buf, start, nl);
                    if self.buf[start..end].iter().all(|b| b.is_ascii_whitespace()) {
                        continue; // blank line
                    }
                    return Ok(Some(Raw::Row {
                        line: start_line,
                        start,
                        end,
                    }));
                }
                None => {
                    if let Some(f) = first_line_end {
                        // A quote opened on the first line and never closed within the cap.
                        let start = self.pos;
                        self.pos = f + 1;
                        self.line += 1;
                        return Ok(Some(Raw::Unterminated {
                            line: start_line,
                            start,
                            end: strip_cr(&self.buf, start, f),
                        }));
                    }
                    let head = self.buf[self.pos..self.end.min(self.pos + HEAD_KEEP)].to_vec();
                    let mut len = 0usize;
                    loop {
                        match find_newline(&self.buf[self.pos..self.end]) {
                            Some(i) => {
                                len += i;
                                self.pos += i + 1;
                                break;
                            }
                            None => {
                                len += self.end - self.pos;
                                self.pos = self.end;
                                if self.eof {
                                    break;
                                }
                                self.fill()?;
                            }
                        }
                    }
                    self.line += 1;
                    return Ok(Some(Raw::TooLong {
                        line: start_line,
                        head,
                        len,
                    }));
                }
            }
        }
    }
}

/// Splits one record's text into fields (RFC 4180 quoting, lenient like spreadsheet exports).
/// Field ranges index `text` when the record has no quotes, else `scratch`, which then holds
/// every field unescaped; returns which of the two the ranges index.
pub(crate) fn split_fields<'a>(
    text: &'a str,
    delim: u8,
    ranges: &mut Vec<(u32, u32)>,
    scratch: &'a mut String,
) -> &'a str {
    ranges.clear();
    let bytes = text.as_bytes();
    if !bytes.contains(&b'"') {
        let mut start = 0usize;
        for (i, &b) in bytes.iter().enumerate() {
            if b == delim {
                ranges.push((start as u32, i as u32));
                start = i + 1;
            }
        }
        ranges.push((start as u32, bytes.len() as u32));
        return text;
    }
    scratch.clear();
    let mut field_start = scratch.len();
    let mut at_start = true;
    let mut quoted = false;
    let mut in_quote = false;
    let mut seg = 0usize; // start of the pending run of bytes copied verbatim
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if at_start {
            at_start = false;
            quoted = b == b'"';
            if quoted {
                in_quote = true;
                i += 1;
                seg = i;
                continue;
            }
        }
        if b == b'"' && quoted {
            scratch.push_str(&text[seg..i]);
            if in_quote && bytes.get(i + 1) == Some(&b'"') {
                scratch.push('"');
                i += 2;
            } else {
                in_quote = !in_quote;
                i += 1;
            }
            seg = i;
            continue;
        }
        if !in_quote && b == delim {
            scratch.push_str(&text[seg..i]);
            ranges.push((field_start as u32, scratch.len() as u32));
            field_start = scratch.len();
            at_start = true;
            i += 1;
            seg = i;
            continue;
        }
        i += 1;
    }
    scratch.push_str(&text[seg..]);
    ranges.push((field_start as u32, scratch.len() as u32));
    scratch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &[u8], max_row: usize) -> Vec<String> {
        let mut r = RecordReader::new(Box::new(io::Cursor::new(input.to_vec())), max_row);
        r.set_quoting(Some(b','));
        let mut out = Vec::new();
        while let Some(raw) = r.next_record().unwrap() {
            out.push(match raw {
                Raw::Row { line, start, end } => {
                    format!("{line}:{}", String::from_utf8_lossy(r.bytes(start, end)))
                }
                Raw::TooLong { line, len, .. } => format!("{line}:too_long({len})"),
                Raw::Unterminated { line, start, end } => {
                    format!(
                        "{line}:open:{}",
                        String::from_utf8_lossy(r.bytes(start, end))
                    )
                }
            });
        }
        out
    }

    fn fields(text: &str) -> Vec<String> {
        let mut ranges = Vec::new();
        let mut scratch = String::new();
        let base = split_fields(text, b',', &mut ranges, &mut scratch);
        ranges
            .iter()
            .map(|&(a, b)| base[a as usize..b as usize].to_string())
            .collect()
    }

    #[test]
    fn lines_blank_lines_crlf_and_quoted_newlines() {
        let input = b"a,b\r\n\r\n1,\"x\ny\"\n2,3\n\"q\"\"\n\",4\n5,6";
        assert_eq!(
            rows(input, 1000),
            ["1:a,b", "3:1,\"x\ny\"", "5:2,3", "6:\"q\"\"\n\",4", "8:5,6"]
        );
    }

    #[test]
    fn too_long_lines_and_open_quotes_are_bounded() {
        let mut input = b"a,b\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend(b"\n1,2\n\"open,3\n4,5\n");
        input.extend(std::iter::repeat_n(b'y', 90));
        input.extend(b"\n6,7\n");
        let expected = [
            "1:a,b".to_string(),
            "2:too_long(5000)".to_string(),
            "3:1,2".to_string(),
            "4:open:\"open,3".to_string(),
            "5:4,5".to_string(),
            format!("6:{}", "y".repeat(90)),
            "7:6,7".to_string(),
        ];
        assert_eq!(rows(&input, 100), expected);
    }

    #[test]
    fn a_quote_open_at_the_end_costs_one_line() {
        let input = b"a,b\n\"open,1\n2,3\n4,5";
        assert_eq!(
            rows(input, 1000),
            ["1:a,b", "2:open:\"open,1", "3:2,3", "4:4,5"]
        );
    }

    #[test]
    fn quoted_fields_unescape() {
        assert_eq!(
            fields("a,\"b,c\",\"d\"\"e\",,f"),
            ["a", "b,c", "d\"e", "", "f"]
        );
        assert_eq!(fields("张三,\"李\n四\""), ["张三", "李\n四"]);
        assert_eq!(fields("ab\"c,d"), ["ab\"c", "d"]);
        assert_eq!(fields(""), [""]);
    }
}
