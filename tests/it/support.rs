//! Helpers: a temporary directory per test and the `fraudnet` binary run inside it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    /// Runs `fraudnet ARGS` in this directory; returns the output whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fraudnet"))
            .args(args)
            .current_dir(self.path())
            .env_remove("FRAUDNET_DB")
            .output()
            .expect("running fraudnet")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "fraudnet {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("fraudnet {args:?} printed no JSON ({e}):\n{out}"))
    }
}

/// A file under the repository's fixtures folder.
pub fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
        .display()
        .to_string()
}

pub fn fixtures_in(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(dir),
    )
    .expect("fixtures folder")
    .map(|e| e.expect("entry").path().display().to_string())
    .collect();
    files.sort();
    files
}

/// The importable files (`.csv`, `.jsonl`) of a generated case folder, sorted.
pub fn case_files(case: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case)
        .expect("case folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "jsonl"))
        .collect();
    files.sort();
    files
}

impl Dir {
    /// Runs `fraudnet generate` into `case/` and returns the importable files as arguments.
    pub fn generate(&self, persons: u32, seed: u64) -> Vec<String> {
        let (persons, seed) = (persons.to_string(), seed.to_string());
        self.ok(&[
            "generate",
            "--out",
            "case",
            "--persons",
            &persons,
            "--seed",
            &seed,
        ]);
        case_files(&self.join("case"))
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// Generates the demo case (`persons` in the background population) into `dir/case` and imports it
/// into the store `dir/db` through the library; returns both paths.
pub fn generated_store(dir: &Path, persons: usize, seed: u64) -> (PathBuf, PathBuf) {
    use fraudnet::generate::{generate, GenerateConfig};
    use fraudnet::ingest::import::{import_files, ImportConfig, INGEST_BATCH};
    use fraudnet::store::Store;
    let out = dir.join("case");
    let db = dir.join("db");
    generate(&GenerateConfig { persons, seed }, &out).expect("the case is generated");
    let files = case_files(&out);
    let store = Store::open(&db).unwrap();
    import_files(
        &store,
        &files,
        &ImportConfig {
            chunk_rows: INGEST_BATCH,
        },
        &mut |_| {},
        &mut |_| {},
    )
    .expect("the case imports");
    (out, db)
}
