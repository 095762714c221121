use super::*;
use crate::ingest::parse::{open, FileParser, TextEncoding};
use crate::ingest::record::{Origin, Record, Reject};
use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};
use rust_xlsxwriter::{Format, Formula, Workbook};

fn text(cell: Data) -> Result<String, String> {
    let mut s = String::new();
    cell_text(&cell, &mut s).map(|()| s).map_err(|b| b.detail)
}

fn date(v: f64, is_1904: bool) -> Data {
    Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, is_1904))
}

/// The 1900-system serial of a Beijing wall-clock time (25569 is 1970-01-01).
fn serial(day: (i64, i64, i64), time: (i64, i64, i64)) -> f64 {
    25_569.0 + timestamp(day, time, 0).unwrap() as f64 / 86_400.0
}

#[test]
fn whole_numbers_are_their_exact_digits_or_an_error() {
    assert_eq!(text(Data::Float(13_800_138_000.0)).unwrap(), "13800138000");
    assert_eq!(
        text(Data::Float(622_848_001_234.0)).unwrap(),
        "622848001234"
    );
    assert_eq!(text(Data::Float(-500.0)).unwrap(), "-500");
    assert_eq!(
        text(Data::Int(6_222_020_200_112_345)).unwrap(),
        "6222020200112345"
    );
    // 15 significant digits are exact; a 16-digit number below 2^53 is exact unless it ends in the
    // 0 a spreadsheet writes past its 15 digits.
    assert_eq!(
        text(Data::Float(999_999_999_999_999.0)).unwrap(),
        "999999999999999"
    );
    assert_eq!(
        text(Data::Float(6_217_001_234_567_891.0)).unwrap(),
        "6217001234567891"
    );
    let cut = text(Data::Float(6_217_001_234_567_890.0)).unwrap_err();
    assert!(cut.contains("lost digits"), "{cut}");
    // A 19-digit card stored as a double.
    let card: f64 = "6222020200112345678".parse().unwrap();
    let lost = text(Data::Float(card)).unwrap_err();
    assert!(
        lost.contains("6.22202020011234") && lost.contains("text"),
        "{lost}"
    );
    assert!(text(Data::Float(f64::NAN)).is_err());
}

#[test]
fn fractions_read_as_a_spreadsheet_shows_them() {
    assert_eq!(text(Data::Float(1234.56)).unwrap(), "1234.56");
    assert_eq!(text(Data::Float(0.1 + 0.2)).unwrap(), "0.3");
    assert_eq!(text(Data::Float(-20.5)).unwrap(), "-20.5");
}

#[test]
fn date_cells_become_beijing_wall_clock_text_in_either_date_system() {
    let v = serial((2024, 3, 5), (14, 30, 15));
    assert_eq!(text(date(v, false)).unwrap(), "2024-03-05 14:30:15");
    // The 1904 system counts from 1904-01-01: 1462 days fewer for the same day.
    assert_eq!(text(date(v - 1462.0, true)).unwrap(), "2024-03-05 14:30:15");
    // Rounded to the second, carrying into the next day.
    let late = serial((2024, 3, 5), (23, 59, 59)) + 0.6 / 86_400.0;
    assert_eq!(text(date(late, false)).unwrap(), "2024-03-06 00:00:00");
    // A time without a date, and a duration.
    assert_eq!(text(date(90.0 / 86_400.0, false)).unwrap(), "0:01:30");
    let d = Data::DateTime(ExcelDateTime::new(
        1.5 / 24.0,
        ExcelDateTimeType::TimeDelta,
        false,
    ));
    assert_eq!(text(d).unwrap(), "5400");
    // The same text reads to the same instant as a CSV time.
    let t = crate::ingest::parse::rows::time(&text(date(v, false)).unwrap()).unwrap();
    assert_eq!(
        t,
        timestamp((2024, 3, 5), (14, 30, 15), BEIJING_OFFSET).unwrap()
    );
}

#[test]
fn other_cells() {
    assert_eq!(text(Data::String(" 张三 ".into())).unwrap(), " 张三 ");
    assert_eq!(text(Data::Bool(true)).unwrap(), "TRUE");
    assert_eq!(text(Data::Empty).unwrap(), "");
    assert_eq!(
        text(Data::DateTimeIso("2024-03-05T14:30:15".into())).unwrap(),
        "2024-03-05T14:30:15"
    );
    assert!(text(Data::Error(CellErrorType::NA))
        .unwrap_err()
        .contains("#N/A"));
    assert_eq!(
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"],
        [0, 25, 26, 51, 52, 701, 702].map(column_name)
    );
}

const HEADER: [&str; 8] = [
    "交易卡号",
    "交易户名",
    "交易时间",
    "交易金额",
    "收付标志",
    "交易对手账卡号",
    "对手户名",
    "摘要说明",
];

/// A cell of the test statements: how it is written to the workbook.
enum C {
    S(&'static str),
    N(f64),
    /// A date cell: the serial of this Beijing wall-clock time.
    T((i64, i64, i64), (i64, i64, i64)),
}

/// Two accounts' statements, each on its own sheet under a merged title row and a query-date row,
/// and an empty third sheet; returns the workbook's bytes and the CSV text of each sheet.
fn statements() -> (Vec<u8>, Vec<String>) {
    let sheets: [(&str, Vec<[C; 8]>); 2] = [
        (
            "账户1",
            vec![
                [
                    C::S("6222020200112345678"),
                    C::S("张三"),
                    C::T((2024, 3, 5), (14, 30, 15)),
                    C::N(5000.0),
                    C::S("出"),
                    C::N(6_217_001_234_567_891.0),
                    C::S("李四"),
                    C::S("转账"),
                ],
                [
                    C::S("6222020200112345678"),
                    C::S("张三"),
                    C::S("2024-03-05 15:00:00"),
                    C::N(1234.56),
                    C::S("进"),
                    C::N(622_848_001_234.0),
                    C::S("王五"),
                    C::S("货款"),
                ],
            ],
        ),
        (
            "账户2",
            vec![[
                C::N(6_217_001_234_567_891.0),
                C::S("李四"),
                C::T((2024, 3, 5), (14, 31, 0)),
                C::N(4900.0),
                C::S("出"),
                C::N(13_800_138_000.0),
                C::S("赵六"),
                C::S("转账"),
            ]],
        ),
    ];
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let mut csvs = Vec::new();
    for (name, rows) in &sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).unwrap();
        ws.merge_range(0, 0, 0, 7, "XX银行账户交易明细", &bold)
            .unwrap();
        ws.write_string(1, 0, "查询日期：2024-04-01").unwrap();
        let mut csv = "XX银行账户交易明细,,,,,,,\n查询日期：2024-04-01,,,,,,,\n".to_string();
        for (j, h) in HEADER.iter().enumerate() {
            ws.write_string(2, j as u16, *h).unwrap();
        }
        csv.push_str(&HEADER.join(","));
        csv.push('\n');
        for (i, row) in rows.iter().enumerate() {
            let r = 3 + i as u32;
            let mut fields = Vec::new();
            for (j, c) in row.iter().enumerate() {
                let j = j as u16;
                match c {
                    C::S(s) => {
                        ws.write_string(r, j, *s).unwrap();
                        fields.push(s.to_string());
                    }
                    C::N(n) => {
                        ws.write_number(r, j, *n).unwrap();
                        fields.push(format!("{n}"));
                    }
                    C::T(d, t) => {
                        ws.write_number_with_format(r, j, serial(*d, *t), &when)
                            .unwrap();
                        let (y, m, dd) = *d;
                        let (h, mi, s) = *t;
                        fields.push(format!("{y:04}-{m:02}-{dd:02} {h:02}:{mi:02}:{s:02}"));
                    }
                }
            }
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
        csvs.push(csv);
    }
    wb.add_worksheet().set_name("Sheet3").unwrap();
    (wb.save_to_buffer().unwrap(), csvs)
}

struct Parsed {
    file: String,
    warnings: Vec<String>,
    records: Vec<(Origin, Record)>,
    rejects: Vec<Reject>,
}

fn drain(mut p: FileParser) -> Parsed {
    let mut out = Parsed {
        file: p.file().to_string(),
        warnings: p.warnings().to_vec(),
        records: Vec::new(),
        rejects: Vec::new(),
    };
    while let Some(c) = p.next_chunk(2).unwrap() {
        out.records.extend(c.records);
        out.rejects.extend(c.rejects);
    }
    out
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn every_sheet_parses_like_the_same_rows_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (xlsx, csvs) = statements();
    let path = write(&dir, "bank.xlsx", &xlsx);
    let parsers = open(&path).unwrap();
    assert_eq!(parsers.len(), 2, "the empty sheet is skipped");
    assert!(parsers
        .iter()
        .all(|p| p.layout() == Layout::BankStatement && p.encoding() == TextEncoding::Spreadsheet));
    let sheets: Vec<Parsed> = parsers.into_iter().map(drain).collect();
    let name = path.display().to_string();
    assert_eq!(sheets[0].file, format!("{name} [账户1]"));
    assert_eq!(sheets[1].file, format!("{name} [账户2]"));
    assert!(
        sheets[0].warnings.iter().any(|w| w.contains("Sheet3")),
        "{:?}",
        sheets[0].warnings
    );
    for (sheet, csv) in sheets.iter().zip(&csvs) {
        assert!(
            sheet
                .warnings
                .iter()
                .any(|w| w.contains("2 title row(s)") && w.contains("XX银行账户交易明细")),
            "{:?}",
            sheet.warnings
        );
        let from_csv = drain(
            FileParser::from_reader("s.csv", Box::new(std::io::Cursor::new(csv.clone()))).unwrap(),
        );
        assert!(sheet.rejects.is_empty() && from_csv.rejects.is_empty());
        assert!(!sheet.records.is_empty());
        let strip = |p: &Parsed| -> Vec<(u64, Record)> {
            p.records.iter().map(|(o, r)| (o.line, r.clone())).collect()
        };
        // Same records on the same lines (the header is on row 3 in both).
        assert_eq!(strip(sheet), strip(&from_csv));
        assert_eq!(sheet.records[0].0.line, 4);
    }
    let Record::Transfer(t) = &sheets[1].records[0].1 else {
        panic!("a transfer")
    };
    // Numbers stored as numbers keep their digits.
    assert_eq!(t.from.key, "6217001234567891");
    assert_eq!(t.to.key, "13800138000");
}

#[test]
fn a_number_that_lost_digits_rejects_its_row_naming_file_sheet_row_and_cell() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("流水").unwrap();
    for (j, h) in HEADER.iter().enumerate() {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    let row: [&str; 8] = [
        "6222020200112345678",
        "张三",
        "2024-03-05 14:30:15",
        "100",
        "出",
        "",
        "李四",
        "",
    ];
    for r in 1..=3u32 {
        for (j, v) in row.iter().enumerate() {
            ws.write_string(r, j as u16, *v).unwrap();
        }
    }
    // Row 3: the counterparty card as a double; row 4: an error in a column the layout reads;
    // an unread column's bad number costs nothing.
    ws.write_number(2, 5, "6222020200112345678".parse::<f64>().unwrap())
        .unwrap();
    ws.write_formula(3, 3, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    ws.write_number(1, 8, 6.2e18).unwrap();
    ws.write_string(0, 8, "备用").unwrap();
    let path = write(&dir, "b.xlsx", &wb.save_to_buffer().unwrap());
    let mut parsers = open(&path).unwrap();
    let got = drain(parsers.remove(0));
    assert_eq!(got.records.len(), 1, "{:?}", got.rejects);
    assert_eq!(got.records[0].0.line, 2);
    let file = format!("{} [流水]", path.display());
    let r = &got.rejects;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        (r[0].file.as_str(), r[0].line, r[0].reason),
        (file.as_str(), 3, "bad_number")
    );
    assert!(r[0].detail.starts_with("cell F3: "), "{}", r[0].detail);
    assert!(r[0].raw.contains("6.22202020011234"), "{}", r[0].raw);
    assert_eq!((r[1].line, r[1].reason), (4, "bad_cell"));
    assert!(r[1].detail.starts_with("cell D4: "), "{}", r[1].detail);
}

#[test]
fn damaged_encrypted_and_empty_workbooks_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = |path: &std::path::Path| open(path).err().expect("an error").to_string();
    let e = err(&write(
        &dir,
        "junk.xlsx",
        b"PK\x03\x04 this is not a zip archive",
    ));
    assert!(
        e.contains("junk.xlsx") && e.contains("not a readable workbook"),
        "{e}"
    );
    // An OLE container (what an encrypted .xlsx is) holding garbage, named .xls.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend([0u8; 600]);
    let e = err(&write(&dir, "old.xls", &ole));
    assert!(e.contains("old.xls"), "{e}");
    // Truncated halfway: a damaged download.
    let (xlsx, _) = statements();
    let e = err(&write(&dir, "half.xlsx", &xlsx[..xlsx.len() / 2]));
    assert!(e.contains("half.xlsx"), "{e}");
    // Only empty sheets.
    let mut wb = Workbook::new();
    wb.add_worksheet();
    let e = err(&write(&dir, "empty.xlsx", &wb.save_to_buffer().unwrap()));
    assert!(e.contains("empty.xlsx") && e.contains("empty"), "{e}");
    // A sheet whose rows match no layout names the sheet.
    let mut wb = Workbook::new();
    wb.add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "本文件仅供查询")
        .unwrap();
    let e = err(&write(&dir, "notes.xlsx", &wb.save_to_buffer().unwrap()));
    assert!(
        e.contains("notes.xlsx [说明]") && e.contains("本文件仅供查询"),
        "{e}"
    );
}
