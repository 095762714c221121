//! The server as a process: an import while it answers queries (through its control socket),
//! backups while it runs and their restore, and its start-up guards (loopback only, audit chain).

use crate::support::Dir;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PASSWORD: &str = "correct-horse-42";

/// A running `fraudnet serve` on a free loopback port.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Dir, db: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fraudnet"))
            .args(["serve", "--db", db, "--addr", "127.0.0.1:0"])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the server");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line)
            .expect("reading the server's address");
        let addr = line
            .trim()
            .strip_prefix("fraudnet viewer: http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("no address in {line:?}; stderr: {}", stderr.lock().unwrap()))
            .to_string();
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// What the server wrote on stderr, once it contains `needle` (or after 10 s).
    fn stderr_with(&self, needle: &str) -> String {
        for _ in 0..500 {
            let s = self.stderr.lock().unwrap().clone();
            if s.contains(needle) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stderr.lock().unwrap().clone()
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection: `(status, headers in lower case, body)`.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> (u16, BTreeMap<String, String>, Value) {
    let mut s = TcpStream::connect(addr).expect("connecting to the server");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!(
        "Content-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, mut rest) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut decoded = String::new();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            decoded.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
    } else {
        decoded = rest.to_string();
    }
    let v = serde_json::from_str(&decoded).unwrap_or(Value::String(decoded));
    (status, headers, v)
}

fn login(addr: &str, user: &str) -> String {
    let (s, h, v) = http(
        addr,
        "POST",
        "/api/login",
        None,
        Some(&json!({"user": user, "password": PASSWORD})),
        &[],
    );
    assert_eq!(s, 200, "{v}");
    h["set-cookie"].split(';').next().unwrap().to_string()
}

/// The files among `all` whose names start with one of `names`.
/// A viewer account on the store `db` of `dir`, with the tests' password.
fn add_user(dir: &Dir, name: &str, role: &str) {
    dir.ok(&[
        "user",
        "add",
        name,
        "--db",
        "db",
        "--role",
        role,
        "--password",
        PASSWORD,
    ]);
}

fn case_files(all: &[String], names: &[&str]) -> Vec<String> {
    all.iter()
        .filter(|p| {
            let n = std::path::Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy();
            names.iter().any(|w| n.starts_with(w))
        })
        .cloned()
        .collect()
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    during_import: AtomicU64,
    /// generation → (entities, links) as every `/api/status` answer reported them.
    seen: Mutex<BTreeMap<u64, BTreeSet<(u64, u64)>>>,
    errors: Mutex<Vec<String>>,
}

#[test]
fn import_while_serving_swaps_the_snapshot_atomically_and_backups_restore() {
    let dir = Dir::new();
    let all = dir.generate(5000, 7);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case/truth.json")).unwrap())
            .unwrap();
    let seed = truth["seed"].as_str().unwrap().to_string();
    // Registries first, without the server; calls and transfers later, through it.
    let mut first = vec!["import", "--db", "db"];
    let registries = case_files(&all, &["persons", "links", "wallets"]);
    first.extend(registries.iter().map(String::as_str));
    dir.ok(&first);
    add_user(&dir, "admin", "admin");

    let server = Server::start(&dir, "db");
    let err = server.stderr_with("chain intact");
    assert!(err.contains("chain intact"), "{err}");
    let addr = server.addr.clone();
    let cookie = login(&addr, "admin");
    let (s, _, before) = http(&addr, "GET", "/api/status", Some(&cookie), None, &[]);
    assert_eq!(s, 200, "{before}");
    let g0 = before["generation"].as_u64().unwrap();

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let importing = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let (tally, stop, importing) = (tally.clone(), stop.clone(), importing.clone());
            let (addr, cookie, seed) = (addr.clone(), cookie.clone(), seed.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let during = importing.load(Ordering::Relaxed);
                    let (s, _, v) = match (w + i) % 3 {
                        0 => http(&addr, "GET", "/api/status", Some(&cookie), None, &[]),
                        1 => http(
                            &addr,
                            "GET",
                            &format!("/api/entity/{seed}"),
                            Some(&cookie),
                            None,
                            &[],
                        ),
                        _ => http(
                            &addr,
                            "POST",
                            "/api/expand",
                            Some(&cookie),
                            Some(&json!({"seeds": [seed], "hops": 2, "limit": 50})),
                            &[],
                        ),
                    };
                    i += 1;
                    if s != 200 {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        tally.errors.lock().unwrap().push(format!("{s} {v}"));
                        continue;
                    }
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                    if during && importing.load(Ordering::Relaxed) {
                        tally.during_import.fetch_add(1, Ordering::Relaxed);
                    }
                    if let (Some(g), Some(n), Some(l)) = (
                        v["generation"].as_u64(),
                        v["entities"].as_u64(),
                        v["links"].as_u64(),
                    ) {
                        tally
                            .seen
                            .lock()
                            .unwrap()
                            .entry(g)
                            .or_default()
                            .insert((n, l));
                    }
                }
            })
        })
        .collect();
    while tally.ok.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }

    // The CLI finds the store locked and imports through the server.
    importing.store(true, Ordering::Relaxed);
    let reloader = {
        let (addr, cookie) = (addr.clone(), cookie.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            http(
                &addr,
                "POST",
                "/api/snapshot/reload",
                Some(&cookie),
                None,
                &[],
            )
        })
    };
    let mut args = vec!["import", "--db", "db", "--batch", "5000", "--json"];
    let rest = case_files(&all, &["calls", "carrier", "transfers", "bank"]);
    args.extend(rest.iter().map(String::as_str));
    let summary = dir.json(&args);
    importing.store(false, Ordering::Relaxed);
    assert_eq!(summary["through_server"], true, "{summary:#}");
    assert!(summary["evidence_new"].as_u64().unwrap() > 0, "{summary:#}");
    let g1 = summary["snapshot"]["generation"].as_u64().unwrap();
    assert!(g1 > g0);
    let (s, _, v) = reloader.join().unwrap();
    assert_eq!(s, 200, "reload during the import: {v}");
    // Keep querying until the new snapshot has been answered a few times.
    let answered_new = || {
        tally
            .seen
            .lock()
            .unwrap()
            .keys()
            .filter(|g| **g >= g1)
            .count()
    };
    while answered_new() == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let errors = tally.errors.lock().unwrap().clone();
    assert_eq!(tally.failed.load(Ordering::Relaxed), 0, "{errors:?}");
    let during = tally.during_import.load(Ordering::Relaxed);
    assert!(during > 0, "no query was answered during the import");

    // Every answer came from a whole snapshot: the one before the import, or one of a completed
    // import (the reload waited for it), each generation always with the same counts.
    let stats = dir.json(&["stats", "--db", "db", "--json"]);
    let after = (
        summary["snapshot"]["entities"].as_u64().unwrap(),
        summary["snapshot"]["links"].as_u64().unwrap(),
    );
    assert_eq!(after.0, stats["entities"].as_u64().unwrap());
    let old = (
        before["entities"].as_u64().unwrap(),
        before["links"].as_u64().unwrap(),
    );
    let seen = tally.seen.lock().unwrap().clone();
    for (g, counts) in &seen {
        assert_eq!(counts.len(), 1, "generation {g} answered with {counts:?}");
        let c = *counts.iter().next().unwrap();
        assert!(
            c == old || c == after,
            "generation {g} has {c:?}: neither {old:?} nor {after:?}"
        );
        assert_eq!(c == old, *g < g1, "generation {g}: {c:?}");
    }
    eprintln!(
        "concurrency: {} requests answered, {during} of them during the import, 0 errors; \
         generations {:?}",
        tally.ok.load(Ordering::Relaxed),
        seen.keys().collect::<Vec<_>>()
    );

    // No CORS: a cross-origin request gets no Access-Control-Allow-Origin.
    let (_, h, _) = http(
        &addr,
        "GET",
        "/api/status",
        Some(&cookie),
        None,
        &[("Origin", "http://evil.example")],
    );
    assert!(!h.contains_key("access-control-allow-origin"), "{h:?}");

    // A backup while the server runs goes through it.
    let b = dir.json(&["backup", "--db", "db", "backup", "--json"]);
    assert_eq!(b["evidence"], stats["evidence"], "{b:#}");
    server.stop();

    // Restore it elsewhere: every entity and evidence record is there (counts and digest).
    let live = dir.json(&["check", "--db", "db", "--digest", "--json"]);
    let r = dir.json(&["restore", "--db", "restored", "backup", "--json"]);
    let back = dir.json(&["check", "--db", "restored", "--digest", "--json"]);
    assert_eq!(back["sound"], true, "{back:#}");
    for k in ["entities", "identifiers", "links", "evidence", "digest"] {
        assert_eq!(back[k], live[k], "{k}");
    }
    assert_eq!(r["digest"], live["digest"]);
    let shown = dir.json(&["show", "--db", "restored", &seed, "--json"]);
    assert!(shown.is_object(), "{shown}");

    // Restoring over a store kept open by a server is refused.
    let server = Server::start(&dir, "restored");
    let out = dir.run(&["restore", "--db", "restored", "backup"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}

#[test]
fn serve_refuses_network_addresses_without_the_flag_and_warns_of_a_broken_audit_chain() {
    let dir = Dir::new();
    add_user(&dir, "admin", "admin");
    add_user(&dir, "inv", "investigator");
    let out = dir.run(&["serve", "--db", "db", "--addr", "0.0.0.0:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-network"), "{err}");

    // Remove the first audit entry behind the server's back: start-up says the chain is broken.
    {
        let store = fraudnet::store::Store::open(&dir.join("db")).unwrap();
        let entries = store
            .scan_docs(fraudnet::server::audit::AUDIT_COLLECTION)
            .unwrap();
        assert!(entries.len() >= 2);
        store
            .delete_doc(fraudnet::server::audit::AUDIT_COLLECTION, &entries[0].0)
            .unwrap();
    }
    let server = Server::start(&dir, "db");
    let err = server.stderr_with("BROKEN");
    assert!(
        err.contains("WARNING") && err.contains("BROKEN"),
        "no warning at start-up: {err}"
    );
    // It still serves.
    login(&server.addr, "inv");
    server.stop();
}
