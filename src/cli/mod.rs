//! The command line: the only place `anyhow` lives. Each command parses its arguments, calls the
//! library, and prints a human table or, with `--json`, one JSON document for scripts.

pub mod analyze;
mod backup;
pub mod cluster;
pub mod communities;
mod control;
mod data;
pub mod demo;
pub mod expand;
pub mod generate;
pub mod serve;
pub mod user;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The store directory used when `--db` is not given.
pub const DEFAULT_DB: &str = "fraudnet-data";

#[derive(Parser, Debug)]
#[command(
    name = "fraudnet",
    version,
    about = "Graph store, lead expansion, money tracing and community detection for telecom-fraud investigations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The store to work on.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArg {
    /// Store directory (created by `import`).
    #[arg(long, env = "FRAUDNET_DB", default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

/// The store, for commands with subcommands: `--db` may come before or after the subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalDbArg {
    /// Store directory.
    #[arg(long, env = "FRAUDNET_DB", default_value = DEFAULT_DB, global = true)]
    pub db: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import call records, bank statements, registries, debrief links or FtM JSON lines.
    Import(data::ImportArgs),
    /// Counts of entities, links and evidence in the store.
    Stats(data::StatsArgs),
    /// One entity: its identifiers, roles, statuses and links with evidence.
    Show(data::ShowArgs),
    /// Find entities by name, identifier (any writing) or fragment.
    Search(data::SearchArgs),
    /// Check the store's internal consistency (counts, identifiers, both link directions, evidence).
    Check(data::CheckArgs),
    /// Write a consistent copy of the store into a new directory (works while a server runs).
    Backup(backup::BackupArgs),
    /// Put a backup back as the store (the server must be stopped; the old store is kept aside).
    Restore(backup::RestoreArgs),
    /// Write a demo case (a Ningdu-like compound in a background population) and its truth.json.
    Generate(generate::GenerateArgs),
    /// Run community detection, components, k-core, PageRank or BFS on a plain edge-list file.
    Analyze(analyze::AnalyzeArgs),
    /// Community detection over the store (runs kept, ids stable between runs) and its reports.
    Communities(communities::CommunitiesArgs),
    /// Generate the demo case, import it, create demo accounts and serve the viewer.
    Demo(demo::DemoArgs),
    /// Serve the web viewer and the JSON API.
    Serve(serve::ServeArgs),
    /// Manage viewer accounts.
    User(user::UserArgs),
    /// Read or verify the audit log.
    Audit(user::AuditArgs),
    /// Ranked, explained leads from one or more seeds.
    Expand(expand::ExpandArgs),
    /// Shortest and k shortest paths between two entities, by evidence strength.
    Path(expand::PathArgs),
    /// Money-flow trace from an account, forward or backward, in time order.
    Trace(expand::TraceArgs),
    /// Write the graph of one or more stores (or an edge list) as partitions for `cluster`.
    Export(cluster::ExportArgs),
    /// Run components, label propagation, PageRank or Leiden across processes (timely dataflow).
    Cluster(cluster::ClusterArgs),
}

/// Parses an option that must be a finite number above zero (resolutions, densities).
pub(crate) fn positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

/// Parses an option that must be a finite number, zero or above (tolerances).
pub(crate) fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not zero or a positive number")),
    }
}

/// Runs the command line and maps errors to an exit code; a closed pipe (`| head`) is success.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Import(a) => data::import(&a),
        Command::Stats(a) => data::stats(&a),
        Command::Show(a) => data::show(&a),
        Command::Search(a) => data::search(&a),
        Command::Check(a) => data::check(&a),
        Command::Backup(a) => backup::backup(&a),
        Command::Restore(a) => backup::restore(&a),
        Command::Generate(a) => generate::run(&a),
        Command::Analyze(a) => analyze::run(&a),
        Command::Communities(a) => communities::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Serve(a) => serve::run(a),
        Command::User(a) => user::run(a),
        Command::Audit(a) => user::run_audit(a),
        Command::Expand(a) => expand::run_expand(&a),
        Command::Path(a) => expand::run_path(&a),
        Command::Trace(a) => expand::run_trace(&a),
        Command::Export(a) => cluster::export(&a),
        Command::Cluster(a) => cluster::cluster(&a),
    }
}

/// Rejected edge-list lines shown on stderr; the rest are counted (and written with `--rejects`).
const REJECTS_SHOWN: usize = 10;

/// The `--rejects` option of the commands that read edge-list files.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RejectsArg {
    /// Write the edge-list lines that could not be read here (`line<TAB>reason<TAB>text`); the
    /// good lines are used either way.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

/// Reads an edge-list file for a command: the good lines are kept; the bad ones are reported on
/// stderr with file and line (the first few, then a count) and written to `--rejects` if given.
///
/// # Errors
/// An unreadable file, a file none of whose data lines is an edge, an unwritable rejects file.
pub(crate) fn read_edge_file(
    path: &std::path::Path,
    rejects: &RejectsArg,
) -> Result<crate::ingest::edgelist::EdgeList> {
    use anyhow::Context;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let el =
        crate::ingest::edgelist::read_edgelist(std::io::BufReader::with_capacity(1 << 20, file))
            .with_context(|| format!("reading {}", path.display()))?;
    let bad = &el.rejected;
    if bad.is_empty() {
        return Ok(el);
    }
    let mut err = std::io::stderr().lock();
    for r in bad.iter().take(REJECTS_SHOWN) {
        writeln!(
            err,
            "{}:{}: rejected: {} (`{}`)",
            path.display(),
            r.line,
            r.message,
            r.raw
        )?;
    }
    if bad.len() > REJECTS_SHOWN {
        writeln!(err, "... and {} more", bad.len() - REJECTS_SHOWN)?;
    }
    if let Some(out) = &rejects.rejects {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        for r in bad {
            writeln!(w, "{}\t{}\t{}", r.line, r.message, r.raw)?;
        }
        w.flush()
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if el.edges.is_empty() {
        anyhow::bail!(
            "{}: none of its {} data lines is an edge `u v [weight]` (line {}: {})",
            path.display(),
            bad.len(),
            bad[0].line,
            bad[0].message
        );
    }
    writeln!(
        err,
        "{}: {} rejected, {} edges read{}",
        path.display(),
        match bad.len() {
            1 => "1 line".to_owned(),
            k => format!("{k} lines"),
        },
        el.edges.len(),
        match &rejects.rejects {
            Some(out) => format!("; the rejected lines are in {}", out.display()),
            None => "; `--rejects FILE` writes all of them".to_owned(),
        }
    )?;
    Ok(el)
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_options_are_checked_when_parsed() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let analyze = ["fraudnet", "analyze", "--edgelist", "g.el"];
        for (option, value) in [
            ("--resolution", "nan"),
            ("--resolution", "-1"),
            ("--resolution", "inf"),
            ("--resolution", "0"),
            ("--tolerance", "-1e-4"),
            ("--tolerance", "NaN"),
            ("--tolerance", "ten"),
        ] {
            let arg = format!("{option}={value}");
            let e = parse(&[&analyze[..], &[arg.as_str()]].concat()).unwrap_err();
            assert!(e.contains(option) && e.contains(value), "{e}");
        }
        assert!(
            parse(&[&analyze[..], &["--resolution", "0.5", "--tolerance", "0"]].concat()).is_ok()
        );
        for option in ["--resolution", "--part-density", "--link-density"] {
            let arg = format!("{option}=-2");
            let e = parse(&["fraudnet", "communities", arg.as_str()]).unwrap_err();
            assert!(e.contains(option), "{e}");
        }
        assert!(parse(&["fraudnet", "communities", "--part-density", "1.5"]).is_ok());
    }
}
