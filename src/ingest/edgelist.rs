//! Plain edge-list files: one edge `u v [weight]` per line, whitespace-separated, `#` or `%`
//! comment lines, blank lines ignored, extra columns after the weight ignored.
//!
//! Node labels may be integers or arbitrary strings; they are mapped to dense `u32` ids. While every
//! label is a plain non-negative integer (no sign, no leading zero, so phone numbers such as
//! `0086…` stay strings) the reader keeps integers, and at the end renumbers ids in ascending label
//! order, so the labels `0..n` of generated graphs keep their ids. As soon as a label is not such an
//! integer, all labels become strings, numbered in order of first appearance.
//!
//! A data line that is not an edge (one field, a weight that is not a finite non-negative number, a
//! label that is not UTF-8) does not stop the reading: it is returned with its line number and
//! text in [`EdgeList::rejected`], and the good lines are kept.
//!
//! The file is streamed line by line; memory is the edge array plus the label table.

use std::io::BufRead;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Integer labels below this use a dense lookup table instead of a hash map.
const DENSE_LABELS: u64 = 1 << 24;
const NONE: u32 = u32::MAX;

/// A file that cannot be read as an edge list.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeListError {
    #[error("reading the edge list: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: more than {max} distinct nodes")]
    TooManyNodes { line: u64, max: u64 },
}

/// The original label of every node id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeLabels {
    Integers(Vec<u64>),
    Strings(Vec<String>),
}

impl NodeLabels {
    pub fn len(&self) -> usize {
        match self {
            NodeLabels::Integers(v) => v.len(),
            NodeLabels::Strings(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label of `id`, for display.
    pub fn label(&self, id: u32) -> Label<'_> {
        match self {
            NodeLabels::Integers(v) => Label::Integer(v[id as usize]),
            NodeLabels::Strings(v) => Label::Str(&v[id as usize]),
        }
    }
}

/// One node label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label<'a> {
    Integer(u64),
    Str(&'a str),
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Integer(x) => write!(f, "{x}"),
            Label::Str(s) => f.write_str(s),
        }
    }
}

/// Edges over dense ids `0..labels.len()`, in file order, weight 1 where the file gives none.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeList {
    pub edges: Vec<(u32, u32, f32)>,
    pub labels: NodeLabels,
    /// Lines read, comments included.
    pub lines: u64,
    /// Data lines that could not be read as an edge, in file order.
    pub rejected: Vec<RejectedLine>,
}

/// A data line left out of the edge list, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number.
    pub line: u64,
    pub message: String,
    /// The line as read (invalid UTF-8 replaced, at most [`RAW_MAX`] bytes, no line break).
    pub raw: String,
}

/// Bytes of a rejected line's text kept for the report.
pub const RAW_MAX: usize = 200;

impl EdgeList {
    pub fn node_count(&self) -> usize {
        self.labels.len()
    }
}

/// Label → id while reading.
enum Interner {
    Ints {
        dense: Vec<u32>,
        sparse: FxHashMap<u64, u32>,
        labels: Vec<u64>,
    },
    Strs {
        map: FxHashMap<Box<str>, u32>,
        labels: Vec<String>,
    },
}

impl Interner {
    fn len(&self) -> usize {
        match self {
            Interner::Ints { labels, .. } => labels.len(),
            Interner::Strs { labels, .. } => labels.len(),
        }
    }

    /// The id of a label, checked by [`label_ok`] first.
    fn intern(&mut self, tok: &[u8], line: u64) -> Result<u32, EdgeListError> {
        if self.len() >= NONE as usize {
            return Err(EdgeListError::TooManyNodes {
                line,
                max: u64::from(NONE),
            });
        }
        let next = self.len() as u32;
        if let Interner::Ints {
            dense,
            sparse,
            labels,
        } = self
        {
            if let Some(x) = parse_label_int(tok) {
                if x < DENSE_LABELS {
                    let i = x as usize;
                    if i >= dense.len() {
                        dense.resize((i + 1).next_power_of_two(), NONE);
                    }
                    if dense[i] == NONE {
                        dense[i] = next;
                        labels.push(x);
                    }
                    return Ok(dense[i]);
                }
                let id = *sparse.entry(x).or_insert(next);
                if id == next {
                    labels.push(x);
                }
                return Ok(id);
            }
            // First non-integer label: every label becomes a string from here on.
            let mut labels: Vec<String> = labels.iter().map(u64::to_string).collect();
            let mut map: FxHashMap<Box<str>, u32> = labels
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone().into_boxed_str(), i as u32))
                .collect();
            let id = intern_str(&mut map, &mut labels, tok);
            *self = Interner::Strs { map, labels };
            return Ok(id);
        }
        match self {
            Interner::Strs { map, labels } => Ok(intern_str(map, labels, tok)),
            Interner::Ints { .. } => Ok(NONE),
        }
    }
}

/// Why a label cannot be a node, if it cannot.
fn label_ok(tok: &[u8]) -> Result<(), String> {
    // ASCII (every integer label) needs no UTF-8 decoding.
    if tok.is_ascii() || std::str::from_utf8(tok).is_ok() {
        Ok(())
    } else {
        Err("node label is not valid UTF-8".to_owned())
    }
}

fn intern_str(map: &mut FxHashMap<Box<str>, u32>, labels: &mut Vec<String>, tok: &[u8]) -> u32 {
    // Checked by `label_ok` before.
    let s = String::from_utf8_lossy(tok);
    let s: &str = &s;
    if let Some(&id) = map.get(s) {
        return id;
    }
    let id = labels.len() as u32;
    map.insert(s.into(), id);
    labels.push(s.to_owned());
    id
}

/// A canonical non-negative decimal integer (no sign, no leading zero unless "0").
fn parse_label_int(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 19 || (tok.len() > 1 && tok[0] == b'0') {
        return None;
    }
    let mut x = 0u64;
    for &b in tok {
        if !b.is_ascii_digit() {
            return None;
        }
        x = x * 10 + u64::from(b - b'0');
    }
    Some(x)
}

/// Reads an edge list (see the module doc).
///
/// # Errors
/// I/O errors; more than `u32::MAX - 1` distinct nodes. Bad data lines are not errors: they are
/// returned in [`EdgeList::rejected`].
///
/// # Complexity
/// O(total bytes) time, O(n + m) memory.
pub fn read_edgelist<R: BufRead>(mut reader: R) -> Result<EdgeList, EdgeListError> {
    let mut interner = Interner::Ints {
        dense: Vec::new(),
        sparse: FxHashMap::default(),
        labels: Vec::new(),
    };
    let mut edges: Vec<(u32, u32, f32)> = Vec::new();
    let mut rejected = Vec::new();
    let mut buf = Vec::with_capacity(256);
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let mut toks = buf
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty());
        let Some(a) = toks.next() else { continue };
        if a[0] == b'#' || a[0] == b'%' {
            continue;
        }
        let edge = toks
            .next()
            .ok_or_else(|| "expected `u v [weight]`, found one field".to_owned())
            .and_then(|b| {
                let w = toks.next().map_or(Ok(1.0), parse_weight)?;
                label_ok(a)?;
                label_ok(b)?;
                Ok((b, w))
            });
        match edge {
            Ok((b, w)) => {
                let u = interner.intern(a, line)?;
                let v = interner.intern(b, line)?;
                edges.push((u, v, w));
            }
            Err(message) => rejected.push(RejectedLine {
                line,
                message,
                raw: raw_text(&buf),
            }),
        }
    }
    let labels = match interner {
        Interner::Ints { labels, .. } => {
            // Renumber ids in ascending label order.
            let mut by_label: Vec<(u64, u32)> = labels
                .iter()
                .enumerate()
                .map(|(i, &l)| (l, i as u32))
                .collect();
            by_label.par_sort_unstable();
            let mut new_id = vec![0u32; labels.len()];
            for (rank, &(_, old)) in by_label.iter().enumerate() {
                new_id[old as usize] = rank as u32;
            }
            edges.par_iter_mut().for_each(|e| {
                e.0 = new_id[e.0 as usize];
                e.1 = new_id[e.1 as usize];
            });
            NodeLabels::Integers(by_label.into_iter().map(|(l, _)| l).collect())
        }
        Interner::Strs { labels, .. } => NodeLabels::Strings(labels),
    };
    Ok(EdgeList {
        edges,
        labels,
        lines: line,
        rejected,
    })
}

fn parse_weight(t: &[u8]) -> Result<f32, String> {
    match std::str::from_utf8(t)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
    {
        Some(w) if w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(format!(
            "weight `{}` is not a finite non-negative number",
            String::from_utf8_lossy(t)
        )),
    }
}

/// A line's text for a report: no line break, at most [`RAW_MAX`] bytes (cut at a char boundary).
fn raw_text(buf: &[u8]) -> String {
    let s = String::from_utf8_lossy(buf);
    let s = s.trim_end_matches(['\n', '\r']);
    let mut end = s.len().min(RAW_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<EdgeList, EdgeListError> {
        read_edgelist(s.as_bytes())
    }

    #[test]
    fn integer_labels_keep_their_order() {
        let el = read("# comment\n% konect\n\n2 0\n0 1 2.5\n1\t2 1 999\n").unwrap();
        assert_eq!(el.labels, NodeLabels::Integers(vec![0, 1, 2]));
        assert_eq!(el.edges, vec![(2, 0, 1.0), (0, 1, 2.5), (1, 2, 1.0)]);
        assert_eq!(el.lines, 6);
    }

    #[test]
    fn sparse_integer_labels() {
        let el = read("13812345678 7\n7 99999999999\n").unwrap();
        assert_eq!(
            el.labels,
            NodeLabels::Integers(vec![7, 13812345678, 99999999999])
        );
        assert_eq!(el.edges, vec![(1, 0, 1.0), (0, 2, 1.0)]);
        assert_eq!(el.labels.label(1).to_string(), "13812345678");
    }

    #[test]
    fn strings_switch_mode_and_keep_first_appearance_order() {
        let el = read("1 2\n2 张三\n0086138 1\n").unwrap();
        assert_eq!(
            el.labels,
            NodeLabels::Strings(vec![
                "1".into(),
                "2".into(),
                "张三".into(),
                "0086138".into()
            ])
        );
        assert_eq!(el.edges, vec![(0, 1, 1.0), (1, 2, 1.0), (3, 0, 1.0)]);
        assert_eq!(el.labels.label(2).to_string(), "张三");
    }

    #[test]
    fn bad_lines_are_set_aside_with_their_number_and_the_good_kept() {
        let el =
            read_edgelist(&b"0 1\n2\n1 2 -3\n2 3 nan\n0 \xff\xfe\n# c\n3 4 0.5\r\n4 5 inf\n"[..])
                .unwrap();
        assert_eq!(el.edges, vec![(0, 1, 1.0), (2, 3, 0.5)]);
        assert_eq!(el.labels, NodeLabels::Integers(vec![0, 1, 3, 4]));
        let lines: Vec<u64> = el.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 8]);
        assert_eq!(el.rejected[0].raw, "2");
        assert!(el.rejected[0].message.contains("one field"));
        assert!(el.rejected[1].message.contains("`-3`"));
        assert!(el.rejected[3].message.contains("UTF-8"));
        assert_eq!(el.rejected[3].raw, "0 \u{fffd}\u{fffd}");
        // A rejected line's labels do not become nodes.
        assert_eq!(el.node_count(), 4);
    }

    #[test]
    fn a_long_bad_line_is_cut_at_a_char_boundary() {
        let line = format!("{}\n", "张".repeat(100));
        let el = read(&line).unwrap();
        let raw = &el.rejected[0].raw;
        assert!(
            raw.len() <= RAW_MAX && raw.len() > RAW_MAX - 3,
            "{}",
            raw.len()
        );
        assert!(raw.chars().all(|c| c == '张'));
    }

    #[test]
    fn empty_file() {
        let el = read("").unwrap();
        assert!(el.labels.is_empty());
        assert!(el.edges.is_empty());
    }
}
