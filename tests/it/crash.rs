//! Crash safety: the importer is killed (SIGKILL) at seeded random moments of a large import; after
//! each kill the store must pass `fraudnet check`, and re-running the import must end with exactly
//! the content (stats and content digest) of an uninterrupted import.

use crate::support::Dir;
use rand::{Rng, SeedableRng};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Kill points that must land while the importer is running.
const KILLS: usize = 20;

fn import_args<'a>(db: &'a str, files: &'a [String]) -> Vec<&'a str> {
    // Small batches: many batch boundaries for a kill to fall between (or inside).
    let mut args = vec!["import", "--db", db, "--batch", "2000"];
    args.extend(files.iter().map(String::as_str));
    args
}

fn stats_without_size(dir: &Dir, db: &str) -> serde_json::Value {
    let mut s = dir.json(&["stats", "--db", db, "--json"]);
    s["store_bytes"] = serde_json::Value::Null;
    s
}

fn check(dir: &Dir, db: &str) -> serde_json::Value {
    let c = dir.json(&["check", "--db", db, "--digest", "--json"]);
    assert_eq!(c["sound"], true, "{c:#}");
    c
}

#[test]
fn killed_imports_recover_to_the_uninterrupted_state() {
    let dir = Dir::new();
    let files = dir.generate(4000, 5);

    let t0 = Instant::now();
    dir.ok(&import_args("reference", &files));
    let full = t0.elapsed();
    let want = check(&dir, "reference");
    let want_stats = stats_without_size(&dir, "reference");

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_201);
    let (mut killed, mut finished_first) = (0usize, 0usize);
    // Bounded: a kill that comes after the import ended does not count, so allow some spares.
    for _ in 0..KILLS * 3 {
        if killed == KILLS {
            break;
        }
        // The first kills land in the first 2% of the import, while the store is being created.
        let share = if killed < 3 { 0.0..0.02 } else { 0.02..0.95 };
        let at = full.mul_f64(rng.gen_range(share));
        let mut child = Command::new(env!("CARGO_BIN_EXE_fraudnet"))
            .args(import_args("db", &files))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the import");
        std::thread::sleep(at);
        if child.try_wait().expect("polling the import").is_some() {
            // It completed: the state must be the uninterrupted one. Start afresh so that the
            // next kills land while records are being written, not during a no-op re-run.
            finished_first += 1;
            let c = check(&dir, "db");
            assert_eq!(c["digest"], want["digest"], "a completed re-run differs");
            std::fs::remove_dir_all(dir.join("db")).expect("removing the completed store");
            continue;
        } else {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaping the import");
            killed += 1;
        }
        // Killed before the store was created: nothing to check, the re-run starts it.
        if dir.join("db/CURRENT").exists() {
            check(&dir, "db");
        }
    }
    assert_eq!(
        killed, KILLS,
        "the import kept finishing before its kill point"
    );
    dir.ok(&import_args("db", &files));
    let got = check(&dir, "db");
    assert_eq!(got["digest"], want["digest"]);
    for k in ["entities", "identifiers", "links", "evidence"] {
        assert_eq!(got[k], want[k], "{k}");
    }
    assert_eq!(stats_without_size(&dir, "db"), want_stats);
    eprintln!(
        "crash safety: {killed} kill points survived ({finished_first} imports ended before their \
         kill point); uninterrupted import {:.1} s; digest {}",
        full.as_secs_f64(),
        want["digest"].as_str().unwrap_or("")
    );
}
