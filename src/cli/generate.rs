//! `fraudnet generate`: writes the demo case (a Ningdu-like scam-compound investigation) and its
//! ground truth.

use crate::generate::{generate, GenerateConfig};
use anyhow::Context as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Directory to write the case files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Size of the background population.
    #[arg(long, default_value_t = 100_000)]
    pub persons: usize,
    /// Random seed: the same seed and size give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = GenerateConfig {
        persons: args.persons,
        seed: args.seed,
    };
    let report = generate(&cfg, &args.out)
        .with_context(|| format!("generating the demo case into {}", args.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    // Written through a locked handle so a closed pipe is an error the caller can treat as success.
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "generated {} persons ({} in the compound, {} criminal, {} victims) into {} in {secs:.1} s",
        report.persons,
        report.compound_members,
        report.criminals,
        report.victims,
        args.out.display()
    )?;
    writeln!(out, "seed: {}", report.seed_ref)?;
    for (name, rows) in &report.files {
        writeln!(out, "  {name:<24} {rows:>10} rows")?;
    }
    Ok(())
}
