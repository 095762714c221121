//! Import through the CLI: every format, idempotence, malformed rows, missing files.

use crate::support::{fixture, fixtures_in, Dir};

fn import(dir: &Dir, files: &[String]) -> serde_json::Value {
    let mut args = vec!["import", "--db", "db", "--json"];
    args.extend(files.iter().map(String::as_str));
    dir.json(&args)
}

#[test]
fn every_format_imports_and_a_second_import_adds_nothing() {
    let dir = Dir::new();
    let files = fixtures_in("formats");
    let first = import(&dir, &files);
    assert_eq!(first["rejected"], 0, "{first:#}");
    assert_eq!(first["files"].as_array().unwrap().len(), 7);
    let stats = dir.json(&["stats", "--db", "db", "--json"]);
    for kind in ["person", "phone", "account", "device", "wallet"] {
        assert!(
            stats["entities_by_kind"][kind].as_u64().unwrap_or(0) > 0,
            "no {kind} in {stats:#}"
        );
    }
    let again = import(&dir, &files);
    assert_eq!(again["entities_new"], 0);
    assert_eq!(again["evidence_new"], 0);
    assert_eq!(again["links_new"], 0);
    let mut stats_again = dir.json(&["stats", "--db", "db", "--json"]);
    let mut stats = stats;
    // the store grows by its own bookkeeping (write-ahead log); the counts must not
    stats_again["store_bytes"] = serde_json::Value::Null;
    stats["store_bytes"] = serde_json::Value::Null;
    assert_eq!(stats, stats_again);
    let check = dir.json(&["check", "--db", "db", "--json"]);
    assert_eq!(check["sound"], true, "{check:#}");
}

#[test]
fn malformed_rows_are_reported_with_file_and_line_and_good_rows_land() {
    let dir = Dir::new();
    let files = fixtures_in("malformed");
    let rep = import(&dir, &files);
    let rejected = rep["rejected"].as_u64().unwrap();
    assert!(rejected > 0);
    for f in rep["files"].as_array().unwrap() {
        assert!(
            f["records"].as_u64().unwrap() > 0,
            "no good row of {} landed",
            f["file"]
        );
        assert!(
            f["rejected"].as_u64().unwrap() > 0,
            "{} has bad rows that were not reported",
            f["file"]
        );
    }
    let rejects_file = rep["rejects_file"].as_str().expect("a rejects file");
    let mut rdr = csv::Reader::from_path(dir.path().join(rejects_file)).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() as u64, rejected);
    for r in &rows {
        assert!(r[0].contains("malformed"), "file named: {r:?}");
        assert!(
            r[1].parse::<u64>().unwrap() >= 2,
            "data rows start at line 2: {r:?}"
        );
        assert!(
            !r[2].is_empty() && !r[3].is_empty(),
            "reason and detail: {r:?}"
        );
    }
    let reasons: Vec<&str> = rows.iter().map(|r| r.get(2).unwrap()).collect();
    for expected in ["bad_time", "bad_amount", "truncated", "bad_utf8"] {
        assert!(
            reasons.contains(&expected),
            "no {expected} among {reasons:?}"
        );
    }
    // a specific row: the truncated transfer on line 9
    assert!(rows
        .iter()
        .any(|r| r[0].ends_with("transfers.csv") && &r[1] == "9" && &r[2] == "truncated"));
    assert_eq!(dir.json(&["check", "--db", "db", "--json"])["sound"], true);
}

#[test]
fn a_missing_file_stops_the_import_before_anything_is_written() {
    let dir = Dir::new();
    let out = dir.run(&[
        "import",
        "--db",
        "db",
        &fixture("formats/calls.csv"),
        "nope.csv",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.csv"), "{err}");
    assert!(
        !dir.join("db").exists(),
        "the store was created although nothing could be imported"
    );
}

#[test]
fn an_unknown_layout_is_a_clear_error() {
    let dir = Dir::new();
    std::fs::write(dir.join("weird.csv"), "a,b,c\n1,2,3\n").unwrap();
    let out = dir.run(&["import", "--db", "db", "weird.csv"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("matches no known layout") && err.contains("caller"),
        "{err}"
    );
    assert!(
        !dir.join("db").exists(),
        "the store was created although nothing could be imported"
    );
}

#[test]
fn show_and_search_find_an_entity_by_any_writing() {
    let dir = Dir::new();
    import(&dir, &fixtures_in("formats"));
    let stats = dir.json(&["stats", "--db", "db", "--json"]);
    assert!(stats["entities"].as_u64().unwrap() > 0);
    let s = dir.json(&["search", "--db", "db", "--json", "李"]);
    assert!(!s["results"].as_array().unwrap().is_empty(), "{s:#}");
    let first = s["results"][0]["ref"].as_str().unwrap().to_string();
    let shown = dir.json(&["show", "--db", "db", "--json", &first]);
    assert_eq!(shown["ref"], first.as_str());
    let out = dir.run(&["show", "--db", "db", "phone:+8619999999999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no entity"));
}

/// Issue 2: importing a generated case twice leaves identical `stats`, and importing its files one by
/// one (an interrupted import resumed file by file) gives the same counts as one import of all of them.
#[test]
fn a_generated_case_imported_twice_or_file_by_file_leaves_identical_stats() {
    let dir = Dir::new();
    let files = dir.generate(2000, 7);
    let stats_of = |db: &str| {
        let mut s = dir.json(&["stats", "--db", db, "--json"]);
        // the store grows by its own bookkeeping; the counts must not
        s["store_bytes"] = serde_json::Value::Null;
        s
    };
    let mut args = vec!["import", "--db", "db", "--json"];
    args.extend(files.iter().map(String::as_str));
    let first = dir.json(&args);
    assert_eq!(first["rejected"], 0, "{first:#}");
    assert!(
        first["evidence_new"].as_u64().unwrap() > 10_000,
        "{first:#}"
    );
    let stats = stats_of("db");
    let again = dir.json(&args);
    assert_eq!(again["entities_new"], 0, "{again:#}");
    assert_eq!(again["links_new"], 0, "{again:#}");
    assert_eq!(again["evidence_new"], 0, "{again:#}");
    assert_eq!(stats, stats_of("db"));

    // In the order one import takes them (registries first); small batches cross many chunk
    // boundaries.
    let rank = |f: &String| {
        ["persons.csv", ".jsonl", "links.csv", "calls"]
            .iter()
            .position(|k| f.rsplit('/').next().is_some_and(|n| n.contains(k)))
            .unwrap_or(4)
    };
    let mut one_by_one = files.clone();
    one_by_one.sort_by_key(|f| rank(f));
    for f in &one_by_one {
        dir.json(&["import", "--db", "db2", "--json", "--batch", "7000", f]);
    }
    assert_eq!(stats, stats_of("db2"));
    for db in ["db", "db2"] {
        let check = dir.json(&["check", "--db", db, "--json"]);
        assert_eq!(check["sound"], true, "{check:#}");
    }
}

/// A bank statement as an .xlsx workbook (a merged title row above the header, card numbers and
/// amounts stored as numbers, times as date cells) imports to the same links and evidence as the
/// same rows as CSV.
#[test]
fn an_xlsx_bank_statement_imports_like_the_same_rows_as_csv() {
    use rust_xlsxwriter::{Format, Workbook};
    let dir = Dir::new();
    let header = [
        "交易卡号",
        "交易户名",
        "交易时间",
        "交易金额",
        "收付标志",
        "交易对手账卡号",
        "对手户名",
        "交易流水号",
    ];
    // (counterparty as a number, day, hh:mm:ss, amount, flag, counterparty name, tx id)
    let rows = [
        (
            6_217_001_234_567_891.0,
            5,
            (14, 30, 15),
            5000.0,
            "出",
            "李四",
            "T001",
        ),
        (
            622_848_001_234.0,
            5,
            (15, 0, 0),
            1234.56,
            "进",
            "王五",
            "T002",
        ),
        (
            6_217_001_234_567_891.0,
            6,
            (9, 5, 59),
            300.0,
            "进",
            "李四",
            "T003",
        ),
    ];
    let own = "6222020200112345678";
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("账户交易明细").unwrap();
    ws.merge_range(0, 0, 0, 7, "XX银行账户交易明细", &Format::new().set_bold())
        .unwrap();
    let mut csv = "XX银行账户交易明细,,,,,,,\n".to_string();
    for (j, h) in header.iter().enumerate() {
        ws.write_string(1, j as u16, *h).unwrap();
    }
    csv.push_str(&header.join(","));
    csv.push('\n');
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (i, (counter, day, (h, m, s), amount, flag, name, tx)) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        // 2024-03-01 is serial 45352 in the 1900 date system.
        let serial = 45_352.0 + f64::from(day - 1) + f64::from(h * 3600 + m * 60 + s) / 86_400.0;
        ws.write_string(r, 0, own).unwrap();
        ws.write_string(r, 1, "张三").unwrap();
        ws.write_number_with_format(r, 2, serial, &when).unwrap();
        ws.write_number(r, 3, *amount).unwrap();
        ws.write_string(r, 4, *flag).unwrap();
        ws.write_number(r, 5, *counter).unwrap();
        ws.write_string(r, 6, *name).unwrap();
        ws.write_string(r, 7, *tx).unwrap();
        csv.push_str(&format!(
            "{own},张三,2024-03-{day:02} {h:02}:{m:02}:{s:02},{amount},{flag},{counter},{name},{tx}\n"
        ));
    }
    wb.save(dir.join("statement.xlsx")).unwrap();
    std::fs::write(dir.join("statement.csv"), csv).unwrap();

    let x = dir.json(&["import", "--db", "dbx", "--json", "statement.xlsx"]);
    let c = dir.json(&["import", "--db", "dbc", "--json", "statement.csv"]);
    assert_eq!(x["rejected"], 0, "{x:#}");
    assert_eq!(c["rejected"], 0, "{c:#}");
    assert_eq!(
        x["files"][0]["file"], "statement.xlsx [账户交易明细]",
        "{x:#}"
    );
    assert_eq!(x["files"][0]["records"], 3, "{x:#}");
    for key in ["entities_new", "links_new", "evidence_new"] {
        assert_eq!(x[key], c[key], "{key}: {x:#} {c:#}");
    }
    let shown = |db: &str| {
        let mut v = dir.json(&["show", "--db", db, "--json", &format!("account:{own}")]);
        for l in v["links"].as_array_mut().unwrap() {
            for e in l["evidence"].as_array_mut().unwrap() {
                e["source"] = serde_json::Value::Null; // the file's own name
            }
        }
        v
    };
    let (vx, vc) = (shown("dbx"), shown("dbc"));
    // out to 李四; in from 李四 and from 王五
    assert_eq!(vx["links"].as_array().unwrap().len(), 3, "{vx:#}");
    assert_eq!(vx, vc);
}
