//! The demo case generator: a Ningdu-like telecom-fraud investigation, written in the file layouts
//! investigators receive, with the ground truth beside it.
//!
//! [`generate`] builds a background population of N people (villages, households, jobs, phones and
//! bank cards; default 100,000) and, drawn from it, a scam compound of about 1,200 people with the
//! people around it. It writes:
//!
//! | file | layout | what |
//! |---|---|---|
//! | `persons.csv` | `person_key,name,id_number,roles,phones,accounts,devices,wallets,status,notes,source` | real-name registry (everyone), returnee list, victims' reports |
//! | `calls.csv` | `caller,callee,start_time,duration_s,imei,cell_id,source` | carrier records and seized-handset extractions |
//! | `carrier_calls_<n>.csv` | 本机号码,对方号码,呼叫类型,通话起始时间,通话时长,IMEI,IMSI,LAC,CI | per-number records of requested numbers |
//! | `transfers.csv` | `from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source` | bank transfers |
//! | `bank_<n>.csv` | 交易卡号,交易户名,交易时间,交易金额,收付标志,交易对手账卡号,对手户名,交易流水号,摘要说明,IP地址,MAC地址 | statements of requested accounts |
//! | `links.csv` | `from,to,kind,time,source` | debriefs, household registry, border and travel records |
//! | `wallets.ftm.jsonl` | FollowTheMoney JSON lines | USDT wallets, payments, ownership |
//! | `truth.json` | see below | the answer: who is who |
//!
//! # What the input knows and what only the truth knows
//! The input carries the roles the police know before the investigation: `returnee` for the ~30% of
//! compound members the returnee registry flagged (one of them the seed) and `victim` for victims who
//! reported. Everything else must be found.
//!
//! # Who counts as criminal
//! `truth.json`'s `criminal` list is the compound and its service providers: boss, financiers,
//! managers (company heads included), team leaders, members (staff included), recruiters,
//! smugglers and launderers (the laundering crew, USDT dealers and cash-out crew). These are the
//! people prosecuted for the fraud itself or as its organised accomplices.
//!
//! Card farmers (`card_farmer`) and the holders of the mule accounts (`mule`, the card farmers
//! whose sold bank cards carried the victims' money) are listed under their roles but are **not**
//! criminal: they sold a card or a SIM for 100–300 yuan, lead otherwise ordinary lives, and are
//! handled by the card-cutting campaign's disciplinary measures (account bans, credit marks) or
//! prosecuted separately for assisting (帮信罪) rather than as members of the network. Their
//! identifiers (the mule accounts, the GOIP SIMs) are leads; they themselves are not the gang.
//!
//! # truth.json
//! `{"seed": "person:<id>", "seed_phone": "<as written in the returnee list>", "criminal": [refs],
//! "roles": {"boss": [...], "financier": [...], "manager": [...], "team_leader": [...],
//! "member": [...], "recruiter": [...], "smuggler": [...], "card_farmer": [...], "launderer": [...],
//! "mule": [...]}, "compound_members": [...], "mule_accounts_level1": ["account:<digits>"],
//! "financier_accounts": [...], "financier_wallets": [...], "money_chain": {"mule_accounts_level2": [...],
//! "mule_accounts_level3": [...], "usdt_dealer_accounts": [...], "cash_out_accounts": [...],
//! "payroll_accounts": [...]}, "outside_recruiters": [...], "victims": [...], "seed_phone_ref": "phone:+86…",
//! "compound_place": "place:…", "params": {...}}`. Person refs are
//! `person:<18-character resident ID>`; a person can hold several roles (a member who recruited his
//! cousin is also a recruiter).
//!
//! # Determinism
//! Every random choice comes from a ChaCha8 generator keyed by the seed, a stream number and a block
//! number; background blocks are made in parallel and written in block order. The same seed and size
//! give byte-identical files.
//!
//! # Complexity
//! O(N) time; memory O(N) for the population table (a few dozen bytes a person) plus the compound's
//! events, while the background rows are streamed block by block.

mod background;
mod clock;
mod ids;
mod network;
mod out;
mod population;

#[cfg(test)]
mod tests;

use network::{role, Flagged, Network};
use out::{Ctx, Out};
use population::{flag, Population};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateConfig {
    /// Size of the background population.
    pub persons: usize,
    pub seed: u64,
}

/// Rows written per file, and the case's sizes.
#[derive(Clone, Debug)]
pub struct GenerateReport {
    /// (file name, data rows without the header).
    pub files: Vec<(String, u64)>,
    pub persons: usize,
    pub compound_members: usize,
    pub criminals: usize,
    pub victims: usize,
    pub seed_ref: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("population too small: {0} persons (at least {MIN_PERSONS} are needed)")]
    TooSmall(usize),
    #[error("population too large: {0} persons (at most {MAX_PERSONS})")]
    TooLarge(usize),
}

pub const MIN_PERSONS: usize = 2_000;
pub const MAX_PERSONS: usize = 20_000_000;

/// Background blocks generated in parallel before being written.
const WINDOW: u64 = 16;

struct Sink {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Sink {
    fn create(dir: &Path, name: &str) -> Result<Sink, GenerateError> {
        let path = dir.join(name);
        let f = File::create(&path).map_err(|source| GenerateError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Sink {
            path,
            w: BufWriter::with_capacity(1 << 20, f),
        })
    }

    fn put(&mut self, s: &str) -> Result<(), GenerateError> {
        self.w
            .write_all(s.as_bytes())
            .map_err(|source| GenerateError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn finish(mut self) -> Result<(), GenerateError> {
        self.w.flush().map_err(|source| GenerateError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

fn write_file(dir: &Path, name: &str, body: &str) -> Result<(), GenerateError> {
    let mut s = Sink::create(dir, name)?;
    s.put(body)?;
    s.finish()
}

/// Generates the demo case into `out_dir` (created if missing).
pub fn generate(cfg: &GenerateConfig, out_dir: &Path) -> Result<GenerateReport, GenerateError> {
    if cfg.persons < MIN_PERSONS {
        return Err(GenerateError::TooSmall(cfg.persons));
    }
    if cfg.persons > MAX_PERSONS {
        return Err(GenerateError::TooLarge(cfg.persons));
    }
    std::fs::create_dir_all(out_dir).map_err(|source| GenerateError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let pop = Population::build(cfg.persons, cfg.seed);
    let net = network::build(&pop, cfg.seed);
    let mut files = Vec::new();

    let req_phones: FxHashSet<_> = net.req_phones.iter().copied().collect();
    let req_accounts: FxHashSet<u64> = net.req_accounts.iter().copied().collect();
    let ctx = Ctx {
        pop: &pop,
        req_phones: &req_phones,
        req_accounts: &req_accounts,
    };

    let seed_phone_written = write_persons(&pop, &net, out_dir, &mut files)?;

    // Calls and transfers: background blocks in parallel, written in order; then the network's.
    let mut calls = Sink::create(out_dir, "calls.csv")?;
    let mut txs = Sink::create(out_dir, "transfers.csv")?;
    calls.put(out::CALLS_HEADER)?;
    txs.put(out::TRANSFERS_HEADER)?;
    let mut req = Out::default();
    let blocks = (pop.len() as u64).div_ceil(u64::from(background::BLOCK));
    let mut b = 0;
    while b < blocks {
        let hi = (b + WINDOW).min(blocks);
        let outs: Vec<Out> = (b..hi)
            .into_par_iter()
            .map(|k| background::block(&ctx, &net.dark, k))
            .collect();
        for mut o in outs {
            calls.put(&o.calls)?;
            txs.put(&o.tx)?;
            o.calls = String::new();
            o.tx = String::new();
            req.append(o);
        }
        b = hi;
    }
    let mut nout = Out::default();
    for c in &net.calls {
        nout.call(&ctx, *c);
    }
    for t in &net.txs {
        nout.tx(&ctx, *t);
    }
    calls.put(&nout.calls)?;
    txs.put(&nout.tx)?;
    nout.calls = String::new();
    nout.tx = String::new();
    req.append(nout);
    calls.finish()?;
    txs.finish()?;
    files.push(("calls.csv".to_string(), req.n_calls));
    files.push(("transfers.csv".to_string(), req.n_tx));

    // Bank text messages reach the requested numbers too.
    let mut req_calls = req.req_calls;
    for (i, ph) in net.req_phones.iter().enumerate() {
        let mut rng = clock::rng(cfg.seed, 30, i as u64);
        for _ in 0..rand::Rng::gen_range(&mut rng, 3..12) {
            let t = clock::ordinary(&mut rng, clock::T0, clock::T1);
            let mut c = out::Call::new(ids::Ph::Svc([95588, 10086, 95533][i % 3]), *ph, t, 0);
            c.sms = true;
            req_calls.push(c);
        }
    }
    for (i, ph) in net.req_phones.iter().enumerate() {
        let (body, n) = out::carrier_file(*ph, &req_calls);
        let name = format!("carrier_calls_{}.csv", i + 1);
        write_file(out_dir, &name, &body)?;
        files.push((name, n));
    }
    for (i, a) in net.req_accounts.iter().enumerate() {
        let (body, n) = out::bank_file(&pop, *a, &req.req_tx);
        let name = format!("bank_{}.csv", i + 1);
        write_file(out_dir, &name, &body)?;
        files.push((name, n));
    }

    let n_links = write_links(&pop, &net, cfg.seed, out_dir)?;
    files.push(("links.csv".to_string(), n_links));
    let mut ftm = net.ftm.join("\n");
    ftm.push('\n');
    write_file(out_dir, "wallets.ftm.jsonl", &ftm)?;
    files.push(("wallets.ftm.jsonl".to_string(), net.ftm.len() as u64));

    let truth = truth_json(&pop, &net, cfg, &seed_phone_written);
    let body = serde_json::to_string_pretty(&truth).unwrap_or_default();
    write_file(out_dir, "truth.json", &(body + "\n"))?;
    files.push(("truth.json".to_string(), 1));

    let criminals = net
        .roles
        .values()
        .filter(|r| *r & role::CRIMINAL != 0)
        .count();
    Ok(GenerateReport {
        files,
        persons: pop.len(),
        compound_members: net.compound.len(),
        criminals,
        victims: net.victims.len(),
        seed_ref: pop.person_ref(net.seed),
    })
}

/// persons.csv; returns the seed's phone as the returnee list writes it.
fn write_persons(
    pop: &Population,
    net: &Network,
    dir: &Path,
    files: &mut Vec<(String, u64)>,
) -> Result<String, GenerateError> {
    use std::fmt::Write as _;
    let mut s = Sink::create(dir, "persons.csv")?;
    s.put("person_key,name,id_number,roles,phones,accounts,devices,wallets,status,notes,source\n")?;
    let mut courier_phone: FxHashMap<u32, Vec<u64>> = FxHashMap::default();
    for cs in &pop.couriers {
        for &(p, k) in cs {
            courier_phone.entry(p).or_default().push(k);
        }
    }
    let mut rows = 0u64;
    let mut buf = String::with_capacity(1 << 20);
    for p in 0..pop.len() as u32 {
        let x = &pop.people[p as usize];
        let h = ids::mix2(pop.seed ^ 0x9E7, u64::from(p));
        let id = pop.id_number(p);
        let _ = write!(
            buf,
            "R{:08},{},{},,",
            p + 1,
            pop.name(p),
            ids::write_id_mixed(&id, h)
        );
        let mut first = true;
        let mut sep = |buf: &mut String| {
            if !first {
                buf.push(';');
            }
            first = false;
        };
        for slot in 0..2 {
            if let Some(ph) = pop.phone(p, slot) {
                sep(&mut buf);
                ph.write_mixed(&mut buf, h >> (8 + slot * 8));
            }
        }
        if x.has(flag::RECYCLED) {
            // An old registration of a number that now belongs to someone else.
            let q = (ids::mix(h) % pop.len() as u64) as u32;
            if let Some(ph) = pop.phone(q, 0) {
                sep(&mut buf);
                ph.write_mixed(&mut buf, h >> 3);
            }
        }
        for &k in courier_phone.get(&p).map_or(&[][..], |v| v.as_slice()) {
            sep(&mut buf);
            ids::cn_mobile(k).write_mixed(&mut buf, h >> 5);
        }
        for ph in net.extra_phones.get(&p).map_or(&[][..], |v| v.as_slice()) {
            sep(&mut buf);
            ph.write_mixed(&mut buf, ids::mix(h ^ ph_digits(*ph)));
        }
        buf.push(',');
        let mut first = true;
        let mut sep = |buf: &mut String| {
            if !first {
                buf.push(';');
            }
            first = false;
        };
        for slot in 0..2 {
            if let Some(a) = pop.account(p, slot) {
                sep(&mut buf);
                ids::write_card_mixed(&mut buf, a, h >> (24 + slot * 7));
            }
        }
        for &a in net.extra_accounts.get(&p).map_or(&[][..], |v| v.as_slice()) {
            sep(&mut buf);
            ids::write_card_mixed(&mut buf, a, ids::mix(h ^ a));
        }
        buf.push_str(",,");
        if let Some(ws) = net.wallets_of.get(&p) {
            buf.push_str(&ws.join(";"));
        }
        buf.push_str(",,,实名登记\n");
        rows += 1;
        if buf.len() > (1 << 20) - 4096 {
            s.put(&buf)?;
            buf.clear();
        }
    }
    // The returnee registry.
    let mut seed_written = String::new();
    for (k, &(p, st)) in net.flagged.iter().enumerate() {
        let h = ids::mix2(pop.seed ^ 0x4E7, u64::from(p));
        let phone = pop
            .phone(p, 0)
            .or_else(|| net.extra_phones.get(&p).and_then(|v| v.first().copied()))
            .map(|ph| ph.mixed(h))
            .unwrap_or_default();
        if p == net.seed {
            seed_written.clone_from(&phone);
        }
        let device = net.seized_devices.get(&p).map(|&d| {
            let mut s = String::new();
            ids::write_imei(&mut s, d, h >> 9);
            s
        });
        let (status, note) = match st {
            Flagged::Returned(t) => (format!("returned:{}", clock::date(t)), "缅北移交回流人员"),
            Flagged::Persuaded(t) => (
                format!("persuaded_to_return:{}", clock::date(t)),
                "劝返回流人员",
            ),
            Flagged::Abroad(t) => (format!("abroad:{}", clock::date(t)), "滞留缅北 劝返中"),
        };
        let _ = writeln!(
            buf,
            "HL{:05},{},{},returnee,{},,{},,{},{},回流人员名单",
            k + 1,
            pop.name(p),
            pop.id_number(p),
            phone,
            device.unwrap_or_default(),
            status,
            note
        );
        rows += 1;
    }
    // Victims' reports.
    for (k, &v) in net.reported_victims.iter().enumerate() {
        let h = ids::mix2(pop.seed ^ 0xB1C, u64::from(v));
        let phone = pop.phone(v, 0).map(|ph| ph.mixed(h)).unwrap_or_default();
        let mut acct = String::new();
        if let Some(a) = pop.account(v, 0) {
            ids::write_card_mixed(&mut acct, a, h >> 8);
        }
        let loss = net.victim_loss.get(&v).copied().unwrap_or(0);
        let _ = writeln!(
            buf,
            "BA{:06},{},{},victim,{},{},,,,报案称被骗{}元,报案登记",
            k + 1,
            pop.name(v),
            pop.id_number(v),
            phone,
            acct,
            crate::model::time::Yuan(loss)
        );
        rows += 1;
    }
    s.put(&buf)?;
    s.finish()?;
    files.push(("persons.csv".to_string(), rows));
    Ok(seed_written)
}

fn ph_digits(ph: ids::Ph) -> u64 {
    match ph {
        ids::Ph::Cn(n) | ids::Ph::Intl(n) | ids::Ph::Svc(n) => n,
    }
}

/// links.csv: the network's records, household registry extracts, legitimate border crossings.
fn write_links(
    pop: &Population,
    net: &Network,
    seed: u64,
    dir: &Path,
) -> Result<u64, GenerateError> {
    use rand::Rng;
    use std::fmt::Write as _;
    let mut s = Sink::create(dir, "links.csv")?;
    s.put("from,to,kind,time,source\n")?;
    let mut buf = String::new();
    let mut rows = 0u64;
    for l in &net.links {
        let t = l.t.map(clock::fmt).unwrap_or_default();
        let _ = writeln!(buf, "{},{},{},{},{}", l.from, l.to, l.kind, t, l.source);
        rows += 1;
    }
    s.put(&buf)?;
    buf.clear();
    // Household registry: pulled for the flagged returnees' households and for a share of all.
    let flagged_hh: FxHashSet<u32> = net
        .flagged
        .iter()
        .map(|f| pop.people[f.0 as usize].household)
        .collect();
    let mut rng = clock::rng(seed, 40, 0);
    for h in 0..(pop.households.len() - 1) as u32 {
        let pulled = rng.gen_bool(0.2) || flagged_hh.contains(&h);
        if !pulled {
            continue;
        }
        let (a, b) = pop.household_range(h);
        let head = pop.person_ref(a);
        for q in a + 1..b {
            let _ = writeln!(buf, "{},{},relative,,户籍信息", head, pop.person_ref(q));
            rows += 1;
        }
        if buf.len() > 1 << 20 {
            s.put(&buf)?;
            buf.clear();
        }
    }
    // Legitimate travellers through the border ports.
    let ports = [
        "place:云南镇康南伞口岸",
        "place:云南瑞丽口岸",
        "place:云南耿马孟定清水河口岸",
    ];
    for p in 0..pop.len() as u32 {
        let Some((start, lac)) = pop.trip(p) else {
            continue;
        };
        if net.roles.contains_key(&p) {
            continue;
        }
        let t = start + clock::HOUR * 5;
        let port = ports[lac as usize % ports.len()];
        let _ = writeln!(
            buf,
            "{},{},crossed_border,{},出入境边防检查记录",
            pop.person_ref(p),
            port,
            clock::fmt(t)
        );
        rows += 1;
        if rng.gen_bool(0.3) {
            // Travelling with family.
            if let Some(q) = pop.family(p).next() {
                let _ = writeln!(
                    buf,
                    "{},{},travelled_with,{},出入境边防检查记录",
                    pop.person_ref(p),
                    pop.person_ref(q),
                    clock::fmt(t)
                );
                rows += 1;
            }
        }
    }
    s.put(&buf)?;
    s.finish()?;
    Ok(rows)
}

fn truth_json(
    pop: &Population,
    net: &Network,
    cfg: &GenerateConfig,
    seed_phone: &str,
) -> serde_json::Value {
    let mut people: Vec<(u32, u32)> = net.roles.iter().map(|(&p, &r)| (p, r)).collect();
    people.sort_unstable();
    let refs = |bit: u32| -> Vec<String> {
        people
            .iter()
            .filter(|(_, r)| r & bit != 0)
            .map(|(p, _)| pop.person_ref(*p))
            .collect()
    };
    let mut roles = serde_json::Map::new();
    for (bit, name) in role::NAMES {
        roles.insert(name.to_string(), serde_json::json!(refs(bit)));
    }
    let mut compound: Vec<u32> = net.compound.clone();
    compound.sort_unstable();
    let mut victims: Vec<u32> = net.victims.clone();
    victims.sort_unstable();
    victims.dedup();
    let accts = |v: &[u64]| -> Vec<String> { v.iter().map(|a| format!("account:{a}")).collect() };
    let mut chain = serde_json::Map::new();
    for (k, v) in &net.other_accounts {
        chain.insert((*k).to_string(), serde_json::json!(accts(v)));
    }
    serde_json::json!({
        "seed": pop.person_ref(net.seed),
        "seed_phone": seed_phone,
        "seed_phone_ref": format!("phone:{}", net.seed_phone.canonical()),
        "criminal": refs(role::CRIMINAL),
        "roles": roles,
        "compound_members": compound.iter().map(|&p| pop.person_ref(p)).collect::<Vec<_>>(),
        "mule_accounts_level1": accts(&net.l1),
        "financier_accounts": accts(&net.financier_accounts),
        "financier_wallets": net.financier_wallets.iter().map(|w| format!("wallet:{w}")).collect::<Vec<_>>(),
        "money_chain": chain,
        "outside_recruiters": net.outside_recruiters.iter().map(|&p| pop.person_ref(p)).collect::<Vec<_>>(),
        "victims": victims.iter().map(|&p| pop.person_ref(p)).collect::<Vec<_>>(),
        "compound_place": format!("place:{}", net.compound_place),
        "params": {
            "persons": cfg.persons,
            "seed": cfg.seed,
            "compound_size": net.compound.len(),
            "victims": net.victims.len(),
            "reported_victims": net.reported_victims.len(),
            "returnees_flagged": net.flagged.len(),
            "requested_numbers": net.req_phones.iter().map(|p| format!("phone:{}", p.canonical())).collect::<Vec<_>>(),
            "requested_accounts": accts(&net.req_accounts),
            "window": [clock::fmt(clock::T0), clock::fmt(clock::T1)],
            "criminal_definition": "boss, financier, manager, team_leader, member, recruiter, smuggler, launderer; card farmers and mules are listed but not criminal",
        }
    })
}
