//! Issue 3 end to end on the generated case (through the library): generate, import, expand from the seed returnee alone,
//! rank, and trace money from first-level mule accounts to the financiers.
//!
//! The acceptance targets of the issue are precision ≥ 0.90 among the top K person leads, the boss and
//! every financier in the top 50, recruiters' median rank < 200: the bounds asserted below, for
//! seeds 1 and 2, and for seed 4, where a financier's accounts are registered to a relative (the
//! money counts toward him as the one running those fronts).

use crate::support::generated_store;
use fraudnet::algo::expand::{expand, ExpandConfig};
use fraudnet::algo::rank::{rank, RankConfig};
use fraudnet::algo::trace::{trace, TraceConfig, Unit};
use fraudnet::model::ident::parse_ref;
use fraudnet::model::EntityKind;
use fraudnet::snapshot::transfers::{FlowDirection, StoreTransfers};
use fraudnet::snapshot::{Ix, Snapshot};
use fraudnet::store::Store;
use std::path::Path;

const PERSONS: usize = 100_000;

fn lookup(snap: &Snapshot, r: &str) -> Option<Ix> {
    let n = parse_ref(r).ok()?;
    snap.lookup(n.kind, &n.key)
}

fn refs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn case(dir: &Path, seed: u64) {
    let (out, db) = generated_store(dir, PERSONS, seed);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let store = Store::open_read_only(&db).unwrap();
    let (snap, _) = Snapshot::build(&store, 1).unwrap();
    let seed_ix = lookup(&snap, truth["seed"].as_str().unwrap()).expect("seed in the store");
    let criminal: Vec<Ix> = refs(&truth["criminal"])
        .iter()
        .filter_map(|r| lookup(&snap, r))
        .filter(|&v| v != seed_ix)
        .collect();

    let exp = expand(&snap, &ExpandConfig::standard(vec![seed_ix])).unwrap();
    let mut rc = RankConfig::standard(0);
    rc.paths_per_lead = 0;
    let ranking = rank(&snap, &exp, &rc);
    let persons: Vec<Ix> = ranking
        .leads
        .iter()
        .map(|l| l.ix)
        .filter(|&v| snap.kind(v) == EntityKind::Person)
        .collect();
    let k = criminal.len();
    let mut criminal = criminal;
    criminal.sort_unstable();
    let hits = persons
        .iter()
        .take(k)
        .filter(|v| criminal.binary_search(v).is_ok())
        .count();
    let precision = hits as f64 / k as f64;
    let rank_of = |r: &str| -> usize {
        lookup(&snap, r)
            .and_then(|v| persons.iter().position(|&p| p == v))
            .map_or(usize::MAX, |p| p + 1)
    };
    let boss: Vec<usize> = refs(&truth["roles"]["boss"])
        .iter()
        .map(|r| rank_of(r))
        .collect();
    let financiers: Vec<usize> = refs(&truth["roles"]["financier"])
        .iter()
        .map(|r| rank_of(r))
        .collect();
    let mut recruiters: Vec<usize> = refs(&truth["roles"]["recruiter"])
        .iter()
        .map(|r| rank_of(r))
        .collect();
    recruiters.sort_unstable();
    let median = recruiters[recruiters.len() / 2];
    eprintln!(
        "seed {seed}: K={k} precision@K={precision:.3} boss {boss:?} financiers {financiers:?} \
         recruiters' median {median}; reached {} in {:.3}+{:.3} s",
        exp.len(),
        exp.stats.seconds,
        ranking.seconds
    );
    assert!(precision >= 0.90, "precision@K {precision}");
    assert!(boss.iter().all(|&r| r <= 50), "boss {boss:?}");
    assert!(
        financiers.iter().all(|&r| r <= 50),
        "financiers {financiers:?}"
    );
    assert!(median < 200, "recruiters' median {median}");

    // money from first-level mule accounts: conserved per unit (yuan on bank legs, USDT on
    // wallet legs, exactly), and most of what leaves the mule network ends with the financiers:
    // at their accounts, or at their wallets after crossing an OTC dealer's desk. Not all of it:
    // cash-out crews take part (where the records end in cash), and second-level accounts also
    // carry another racket's money, so FIFO hands part of ours to its collection accounts.
    trace_mules(&snap, &store, &truth, seed);
}

fn trace_mules(snap: &Snapshot, store: &Store, truth: &serde_json::Value, seed: u64) {
    let set = |v: &serde_json::Value| -> Vec<Ix> {
        let mut v: Vec<Ix> = refs(v).iter().filter_map(|r| lookup(snap, r)).collect();
        v.sort_unstable();
        v
    };
    let mut financiers = set(&truth["financier_accounts"]);
    financiers.extend(set(&truth["financier_wallets"]));
    financiers.sort_unstable();
    let mut mules = set(&truth["mule_accounts_level1"]);
    for k in ["mule_accounts_level2", "mule_accounts_level3"] {
        mules.extend(set(&truth["money_chain"][k]));
    }
    mules.sort_unstable();
    let cash = set(&truth["money_chain"]["cash_out_accounts"]);
    let src = StoreTransfers::new(snap, store, 100_000);
    let (mut left, mut to_fin, mut to_cash, mut crossed) = (0f64, 0f64, 0f64, 0);
    for r in refs(&truth["mule_accounts_level1"]).iter().take(6) {
        let mule = lookup(snap, r).expect("a first-level mule account");
        let t = trace(
            snap,
            &src,
            &TraceConfig {
                account: mule,
                direction: FlowDirection::Forward,
                hops: 6,
                window: None,
                horizon: Some(fraudnet::algo::trace::DEFAULT_HORIZON_S),
                settle: Some(fraudnet::algo::trace::DEFAULT_SETTLE_S),
                min_amount: 100,
                max_edges: 100_000,
            },
        )
        .unwrap();
        assert!(src.take_error().is_none());
        for u in t.totals() {
            assert_eq!(
                u.traced + u.created,
                u.ends + u.held + u.converted,
                "{r}: {u:?}"
            );
        }
        // USDT valued at the yuan it was converted from
        let (cny, usdt) = t
            .conversions
            .iter()
            .fold((0, 0), |a, c| (a.0 + c.cny, a.1 + c.usdt));
        let yuan = |s: &fraudnet::algo::trace::Sink| -> f64 {
            match s.unit {
                Unit::Cny => s.amount as f64,
                Unit::Usdt => s.amount as f64 * cny as f64 / usdt.max(1) as f64,
            }
        };
        let all: Vec<_> = t.sinks.iter().chain(&t.held).collect();
        let at = |set: &[Ix]| -> f64 {
            all.iter()
                .filter(|s| set.binary_search(&s.account).is_ok())
                .map(|s| yuan(s))
                .sum()
        };
        let l = t.start_amount as f64 - at(&mules);
        let f = at(&financiers);
        eprintln!(
            "seed {seed}: trace from {r}: ¥{:.2} in, ¥{:.2} left the mules, {:.1}% to the \
             financiers ({} conversions, ¥{:.2} = {:.2} USDT), {:.1}% to cash-out",
            t.start_amount as f64 / 100.0,
            l / 100.0,
            100.0 * f / l,
            t.conversions.len(),
            cny as f64 / 100.0,
            usdt as f64 / 100.0,
            100.0 * at(&cash) / l
        );
        left += l;
        to_fin += f;
        to_cash += at(&cash);
        crossed += t.conversions.len();
    }
    assert!(crossed > 0, "money crosses to USDT at the dealers");
    assert!(
        to_fin >= 0.70 * left,
        "to the financiers: {to_fin} of {left}"
    );
    assert!(
        to_fin + to_cash >= 0.85 * left,
        "to the financiers and cash-out: {} of {left}",
        to_fin + to_cash
    );
}

// Each generated case serves the expansion checks and then the community runs
// (`communities.rs`): one generation and import per seed.
#[test]
fn generated_case_seed_1() {
    let dir = tempfile::tempdir().unwrap();
    case(dir.path(), 1);
    crate::communities::check(dir.path(), 1);
}

#[test]
fn generated_case_seed_2() {
    let dir = tempfile::tempdir().unwrap();
    case(dir.path(), 2);
    crate::communities::check(dir.path(), 2);
}

#[test]
fn generated_case_seed_4_fronts() {
    let dir = tempfile::tempdir().unwrap();
    case(dir.path(), 4);
}
