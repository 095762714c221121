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
