//! `fraudnet user …` (accounts) and `fraudnet audit …` (the hash-chained audit log).

use crate::server::audit::{self, AuditFilter, AuditLog};
use crate::server::auth::{self, Role};
use crate::server::util::iso_utc;
use crate::store::Store;
use anyhow::{anyhow, bail, Context, Result};
use std::sync::Arc;

#[derive(clap::Args, Debug, Clone)]
pub struct UserArgs {
    #[command(flatten)]
    pub store: super::GlobalDbArg,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// Create an account. Without --password a password is generated and printed once.
    Add {
        /// User name (letters, digits, '_', '-', '.'; Chinese names work).
        name: String,
        /// investigator, analyst, supervisor or admin.
        #[arg(long)]
        role: String,
        /// At least 8 characters. Prefer leaving it out: command lines end up in shell history.
        #[arg(long)]
        password: Option<String>,
    },
    /// List accounts (never passwords).
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: UserArgs) -> Result<()> {
    let store = Store::open(&args.store.db)
        .with_context(|| format!("opening the store at {}", args.store.db.display()))?;
    match args.command {
        UserCommand::Add {
            name,
            role,
            password,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow!("role must be investigator, analyst, supervisor or admin (got `{role}`)")
            })?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(auth::generate_password);
            auth::add_user(&store, &name, role, &password)?;
            let log = AuditLog::open(Arc::new(store))?;
            log.append(
                "cli",
                "user_add",
                vec![format!("user:{name}")],
                format!("role {role}"),
            )?;
            if generated {
                println!("created {name} ({role}); password (shown once): {password}");
            } else {
                println!("created {name} ({role})");
            }
        }
        UserCommand::List { json } => {
            let users = auth::list_users(&store)?;
            if json {
                let v: Vec<serde_json::Value> = users
                    .iter()
                    .map(|u| serde_json::json!({"name": u.name, "role": u.role, "created": u.created}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for u in users {
                    println!(
                        "{:<24} {:<13} {}",
                        u.name,
                        u.role.as_str(),
                        iso_utc(u.created)
                    );
                }
            }
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct AuditArgs {
    #[command(flatten)]
    pub store: super::GlobalDbArg,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum AuditCommand {
    /// Recompute the hash chain; exits non-zero when it is broken.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// The latest entries, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        user: Option<String>,
        /// Entries naming this ref (e.g. `casemap:cm-…` or `phone:+86…`).
        #[arg(long = "ref")]
        entity_ref: Option<String>,
    },
}

pub fn run_audit(args: AuditArgs) -> Result<()> {
    let store = Store::open(&args.store.db)
        .with_context(|| format!("opening the store at {}", args.store.db.display()))?;
    match args.command {
        AuditCommand::Verify { json } => {
            let r = audit::verify(&store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if r.ok {
                println!(
                    "audit log intact: {} entries, head {}",
                    r.entries,
                    r.head.as_deref().unwrap_or("-")
                );
            }
            if !r.ok {
                bail!(
                    "audit log BROKEN at entry {}: {}",
                    r.first_bad.as_deref().unwrap_or("?"),
                    r.reason.as_deref().unwrap_or("")
                );
            }
        }
        AuditCommand::List {
            limit,
            user,
            entity_ref,
        } => {
            let log = AuditLog::open(Arc::new(store))?;
            let f = AuditFilter {
                user,
                entity_ref,
                ..AuditFilter::default()
            };
            for e in log.query(&f, limit)? {
                println!(
                    "{:>6} {} {:<12} {:<18} {} {}",
                    e.seq,
                    iso_utc(e.time),
                    e.user,
                    e.action,
                    e.refs.join(" "),
                    e.detail
                );
            }
        }
    }
    Ok(())
}
