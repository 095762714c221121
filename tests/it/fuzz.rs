//! Fuzz targets for every parser: the file layouts (CSV), FtM JSON lines, identifiers, times,
//! amounts and the API's request bodies.
//!
//! A small seeded mutation fuzzer (the toolchain is stable-only, so no cargo-fuzz): each target
//! starts from its corpus in `fixtures/fuzz/<target>/`, mutates inputs (bit flips, random and
//! "interesting" bytes, deletions, duplications, splices of two inputs), and keeps in memory
//! every input whose outcome has a shape not seen before. A target fails on a panic (the input is
//! written next to the test binary's temporary files and printed in hex) or, for the API, on a
//! 5xx answer. Runs are bounded by time and by count: `FRAUDNET_FUZZ_SECS` seconds per target
//! (default 2) and `FRAUDNET_FUZZ_MAX` executions (default 1,000,000); `FRAUDNET_FUZZ_SEED` picks
//! the seed (default fixed, so a failure found in CI is found again).

use fraudnet::ingest::parse::FileParser;
use fraudnet::model::ident::{interpretations, normalize, parse_ref, to_half_width};
use fraudnet::model::time::{parse_amount, parse_time};
use fraudnet::model::EntityKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Inputs grow at most to this size (four times the parsers' 64 KiB row bound, so mutations
/// can build rows past the bound).
const MAX_INPUT: usize = 256 * 1024;

/// Byte strings that tend to matter to these parsers.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\0",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xc4\xe3",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"-",
    b".",
    b"+",
    b"e308",
    b"9999999999999999999999",
    b"-9223372036854775808",
    b"\xe3\x80\x80",
    b"\xef\xbc\x8c",
    b"\xe5\xb9\xb4",
    b"null",
    b"\\u0000",
    b"\\ud800",
    b"%2e%2e/",
    b"X",
    b"0",
    b";",
    b"|",
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let c: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!c.is_empty(), "empty corpus {}", dir.display());
    c
}

fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..=8) {
        let len = v.len();
        match rng.gen_range(0..8) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                v[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                v[i] = rng.gen();
            }
            2 => {
                let i = rng.gen_range(0..=len);
                let s = INTERESTING[rng.gen_range(0..INTERESTING.len())];
                v.splice(i..i, s.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..=64)).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                // Duplicate a range, sometimes many times (long fields, long rows).
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..=256)).min(len);
                let piece = v[a..b].to_vec();
                let times = if rng.gen_ratio(1, 16) { 512 } else { 1 };
                for _ in 0..times {
                    if v.len() + piece.len() > MAX_INPUT {
                        break;
                    }
                    v.splice(b..b, piece.iter().copied());
                }
            }
            5 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let a = rng.gen_range(0..=len);
                let b = rng.gen_range(0..other.len());
                v.truncate(a);
                v.extend_from_slice(&other[b..]);
            }
            6 if len > 0 => v.truncate(rng.gen_range(0..len)),
            _ => {
                let i = rng.gen_range(0..=len);
                v.insert(i, rng.gen_range(0x20..0x7f));
            }
        }
    }
    v.truncate(MAX_INPUT);
    v
}

/// Runs one target: `exec` returns a signature of the outcome's shape (new shapes join the
/// corpus) or an error message for an outcome that must not happen.
fn fuzz(target: &str, mut exec: impl FnMut(&[u8]) -> Result<u64, String>) -> u64 {
    let secs = env_u64("FRAUDNET_FUZZ_SECS", 2);
    let max = env_u64("FRAUDNET_FUZZ_MAX", 1_000_000);
    let seed = env_u64("FRAUDNET_FUZZ_SEED", 6);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ target.len() as u64);
    let mut pool = corpus(target);
    let mut seen = BTreeSet::new();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let mut execs = 0u64;
    let mut run = |input: &[u8], execs: &mut u64| -> Option<u64> {
        *execs += 1;
        let out = catch_unwind(AssertUnwindSafe(|| exec(input)));
        let failure = match out {
            Ok(Ok(sig)) => return Some(sig),
            Ok(Err(msg)) => msg,
            Err(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string()),
        };
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{target}-failure"));
        let _ = std::fs::write(&path, input);
        let hex: String = input.iter().take(512).map(|b| format!("{b:02x}")).collect();
        panic!(
            "fuzz target {target}: {failure}\nafter {execs} executions (seed {seed}); input saved \
             in {} ({} bytes), starts {hex}",
            path.display(),
            input.len()
        );
    };
    for input in pool.clone() {
        if let Some(sig) = run(&input, &mut execs) {
            seen.insert(sig);
        }
    }
    while execs < max && Instant::now() < deadline {
        let a = rng.gen_range(0..pool.len());
        let b = rng.gen_range(0..pool.len());
        let input = mutate(&mut rng, &pool[a], &pool[b]);
        if let Some(sig) = run(&input, &mut execs) {
            if seen.insert(sig) && pool.len() < 2_000 {
                pool.push(input);
            }
        }
    }
    println!(
        "fuzz {target:<7} {execs:>8} executions in {:.1} s, {} outcome shapes, corpus {} → {}",
        t0.elapsed().as_secs_f64(),
        seen.len(),
        corpus(target).len(),
        pool.len()
    );
    execs
}

fn hash(parts: &[u64]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Parses a whole file from bytes; the signature is the layout, the reject reasons and whether
/// records came out. Every reject must carry a line and a reason (nothing is dropped silently),
/// and every row is either a record, a reject, or skipped as blank.
fn parse_file(name: &str, bytes: &[u8]) -> Result<u64, String> {
    let mut p = match FileParser::from_reader(name, Box::new(std::io::Cursor::new(bytes.to_vec())))
    {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            if !msg.contains(name) {
                return Err(format!("a file error that does not name the file: {msg}"));
            }
            return Ok(hash(&[1, msg.len().min(8) as u64]));
        }
    };
    let mut reasons = BTreeSet::new();
    let mut records = 0u64;
    let mut last_line = 0u64;
    loop {
        match p.next_chunk(7) {
            Ok(Some(c)) => {
                records += c.records.len() as u64;
                for r in &c.rejects {
                    if r.line == 0 || r.reason.is_empty() {
                        return Err(format!("a reject without line or reason: {r:?}"));
                    }
                    if r.raw.len() > 2 * 64 * 1024 {
                        return Err(format!("a reject keeps a {}-byte row", r.raw.len()));
                    }
                    last_line = last_line.max(r.line);
                    reasons.insert(r.reason);
                }
            }
            Ok(None) => break,
            Err(e) => {
                reasons.insert("file_error");
                let _ = e.to_string();
                break;
            }
        }
    }
    let mut parts = vec![2, p.layout() as u64, u64::from(records > 0)];
    parts.extend(
        reasons
            .iter()
            .map(|r| r.len() as u64 * 31 + r.as_bytes()[0] as u64),
    );
    Ok(hash(&parts))
}

#[test]
fn fuzz_csv_layouts() {
    assert!(fuzz("csv", |b| parse_file("fuzz.csv", b)) > 0);
}

#[test]
fn fuzz_ftm_json_lines() {
    assert!(fuzz("ftm", |b| parse_file("fuzz.ftm.jsonl", b)) > 0);
}

#[test]
fn fuzz_identifiers() {
    assert!(
        fuzz("ident", |b| {
            let s = String::from_utf8_lossy(b);
            let mut parts = vec![3];
            for kind in EntityKind::ALL {
                parts.push(u64::from(normalize(kind, &s).is_ok()));
            }
            parts.push(u64::from(parse_ref(&s).is_ok()));
            parts.push(interpretations(&s).len() as u64);
            let _ = to_half_width(&s);
            Ok(hash(&parts))
        }) > 0
    );
}

#[test]
fn fuzz_times() {
    assert!(
        fuzz("time", |b| {
            let s = String::from_utf8_lossy(b);
            Ok(match parse_time(&s) {
                Ok(t) => hash(&[
                    4,
                    u64::from(t < 0),
                    (t.unsigned_abs() > 4_102_444_800) as u64,
                ]),
                Err(e) => hash(&[5, e.to_string().len() as u64 % 7]),
            })
        }) > 0
    );
}

#[test]
fn fuzz_amounts() {
    assert!(
        fuzz("amount", |b| {
            let s = String::from_utf8_lossy(b);
            Ok(match parse_amount(&s) {
                Ok(f) => hash(&[6, u64::from(f < 0), u64::from(f % 100 == 0)]),
                Err(e) => hash(&[7, e.to_string().len() as u64 % 7]),
            })
        }) > 0
    );
}

#[test]
fn fuzz_api_request_bodies() {
    use axum::body::Body;
    use axum::http::{header, Method, Request};
    use fraudnet::server::{auth, router, AppState, ServerConfig};
    use fraudnet::store::Store;
    use std::sync::Arc;
    use tower::ServiceExt;

    let store = Arc::new(Store::in_memory());
    let files: Vec<std::path::PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    fraudnet::ingest::import::import_files(
        &store,
        &files,
        &fraudnet::ingest::import::ImportConfig { chunk_rows: 1000 },
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    auth::add_user(
        store.as_ref(),
        "inv",
        auth::Role::Investigator,
        "password-123",
    )
    .unwrap();
    let state = AppState::with_store(store.clone(), ServerConfig::standard()).unwrap();
    state.graph.rebuild(store).unwrap();
    let app = router(state);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let call = |uri: &str, cookie: Option<&str>, body: Vec<u8>| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = rt
            .block_on(app.clone().oneshot(req.body(Body::from(body)).unwrap()))
            .unwrap();
        let status = resp.status();
        let set = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or("").to_string());
        (status, set)
    };
    let (s, cookie) = call(
        "/api/login",
        None,
        br#"{"user":"inv","password":"password-123"}"#.to_vec(),
    );
    assert!(s.is_success(), "login: {s}");
    let cookie = cookie.expect("a session cookie");
    // One corpus for every endpoint with a JSON body, each input sent to one of them in turn.
    // (`/api/communities/membership` answers 503 "not wired yet" whatever the body: left out
    // until community runs are served.)
    let endpoints = [
        ("/api/expand", 0u8),
        ("/api/path", 1),
        ("/api/trace", 2),
        ("/api/casemaps", 3),
        ("/api/login", 4),
    ];
    let mut round = 0usize;
    assert!(
        fuzz("api", |b| {
            // Logins are slow by design (argon2): one in 50 executions.
            round += 1;
            let (uri, code) = if round % 50 == 0 {
                endpoints[4]
            } else {
                endpoints[round % 4]
            };
            let (s, _) = call(uri, Some(&cookie), b.to_vec());
            if s.is_server_error() {
                return Err(format!("{uri} answered {s}"));
            }
            Ok(hash(&[8, u64::from(code), u64::from(s.as_u16())]))
        }) > 0
    );
}
