//! A small compound-like case built through the real writer, shared by the tests of `rank`, `paths`,
//! `trace` and `projection`.

use super::*;
use crate::algo::expand::{expand, ExpandConfig, HubPolicy, LinkFilter};
use crate::ingest::record::{Call, Link as LinkRec, Origin, Person, Record, Transfer};
use crate::ingest::writer::Writer;
use crate::model::ident::{bank_account, imei, phone, Normalized};
use crate::store::Store;
use std::sync::Arc;

pub(crate) const T0: i64 = 1_700_000_000;

pub(crate) fn person_key(k: &str) -> Normalized {
    Normalized {
        kind: EntityKind::Person,
        key: k.to_string(),
        flags: Flags::default(),
    }
}

/// Builds the case and its snapshot.
///
/// - seed `S` (returnee) holds `13800000000` and the Myanmar number `+95 9 4000 0000`;
/// - members `M1..M6` each hold a domestic `1390000000i` and a Myanmar `+95 9 4000 000i`; the
///   Myanmar numbers call each other and the seed's; `M1`, `M2` share a handset with the seed's
///   Myanmar number; `M3`, `M4` are flagged returnees;
/// - relative `R` of the seed (household registry) and villagers `V1..V5` who call `R` only;
/// - a hotline `95588` that everybody calls, and 250 background callers of it;
/// - the recruiter `C` calls `M1..M3` and is paid 3 × ¥5,000 by the boss `B`'s account;
/// - victims `X1..X4` (reported) pay the mule account `A1`, which splits to `A2`, which pays the
///   financier `F`'s account `FA` later; `FA` also receives a little from `V1` earlier (noise).
pub(crate) fn case() -> (Snapshot, Store) {
    case_with(Vec::new())
}

/// [`case`] with `extra` records added after its own.
pub(crate) fn case_with(extra: Vec<Record>) -> (Snapshot, Store) {
    let store = Store::in_memory();
    let mut rows: Vec<(Origin, Record)> = Vec::new();
    let mut line = 0;
    let mut push = |r: Record| {
        line += 1;
        rows.push((
            Origin {
                file: Arc::from("case.csv"),
                line,
                label: Some("test".into()),
            },
            r,
        ));
    };
    let (person, call, transfer) = (person_record, call_record, pay);
    let dom = |i: u32| format!("1390000000{i}");
    let myan = |i: u32| format!("+95 9 4000 000{i}");
    let acct = |s: &str| bank_account(s).unwrap();
    push(person(
        "S",
        "Seed",
        &["returnee"],
        vec![phone("13800000000").unwrap(), phone(&myan(0)).unwrap()],
    ));
    for i in 1..=6 {
        let roles: &[&str] = if i == 3 || i == 4 { &["returnee"] } else { &[] };
        push(person(
            &format!("M{i}"),
            &format!("Member{i}"),
            roles,
            vec![phone(&dom(i)).unwrap(), phone(&myan(i)).unwrap()],
        ));
    }
    let shared_handset = "490154203237518";
    push(call(&myan(0), &myan(1), T0, 120, Some(shared_handset)));
    push(call(&myan(1), &myan(0), T0 + 10, 60, Some(shared_handset)));
    push(call(&myan(2), &myan(0), T0 + 20, 60, Some(shared_handset)));
    for i in 1..=6u32 {
        for j in 1..=6u32 {
            if i != j {
                push(call(
                    &myan(i),
                    &myan(j),
                    T0 + i64::from(i * 10 + j),
                    90,
                    None,
                ));
            }
        }
        push(call(&myan(i), &myan(0), T0 + 100 + i64::from(i), 30, None));
    }
    push(person(
        "R",
        "Relative",
        &[],
        vec![phone("13700000000").unwrap()],
    ));
    push(Record::Link(LinkRec {
        from: person_key("S"),
        to: person_key("R"),
        kind: "relative".into(),
        time: None,
        amount: None,
        note: None,
    }));
    push(call("13700000000", "13800000000", T0, 300, None));
    for v in 1..=5 {
        let p = format!("1360000000{v}");
        push(person(
            &format!("V{v}"),
            &format!("Villager{v}"),
            &[],
            vec![phone(&p).unwrap()],
        ));
        push(call(&p, "13700000000", T0 + v, 60, None));
        push(call(&p, "95588", T0 + v, 60, None));
    }
    push(call("13800000000", "95588", T0, 60, None));
    push(call(&dom(1), "95588", T0, 60, None));
    for b in 0..250 {
        push(call(&format!("135{b:08}"), "95588", T0, 60, None));
    }
    // recruiter
    push(person(
        "C",
        "Recruiter",
        &[],
        vec![phone("13300000000").unwrap(), acct("6222000000000000001")],
    ));
    for i in 1..=3 {
        push(call("13300000000", &dom(i), T0 - 86_400 * 30, 200, None));
    }
    push(person(
        "B",
        "Boss",
        &[],
        vec![phone(&myan(7)).unwrap(), acct("6222000000000000002")],
    ));
    push(call(&myan(7), &myan(1), T0, 100, None));
    push(call(&myan(7), &myan(0), T0, 100, None));
    for k in 0..3 {
        push(transfer(
            "6222000000000000002",
            "6222000000000000001",
            500_000,
            T0 + k * 86_400,
        ));
    }
    // money: victims -> A1 -> A2 -> FA
    push(person(
        "F",
        "Financier",
        &[],
        vec![acct("6222000000000000009"), phone(&myan(8)).unwrap()],
    ));
    push(call(&myan(8), &myan(7), T0, 100, None));
    push(person(
        "MULE",
        "Mule holder",
        &[],
        vec![acct("6222000000000000100")],
    ));
    for x in 1..=4 {
        let a = format!("62220000000000010{x:02}");
        push(person(
            &format!("X{x}"),
            &format!("Victim{x}"),
            &["victim"],
            vec![acct(&a)],
        ));
        push(transfer(
            &a,
            "6222000000000000100",
            1_000_000 * x,
            T0 + 1000 + x,
        ));
    }
    push(transfer(
        "6222000000000000100",
        "6222000000000000200",
        6_000_000,
        T0 + 2000,
    ));
    push(transfer(
        "6222000000000000100",
        "6222000000000000300",
        3_900_000,
        T0 + 2100,
    ));
    push(transfer(
        "6222000000000000200",
        "6222000000000000009",
        5_900_000,
        T0 + 3000,
    ));
    push(transfer(
        "6222000000000000300",
        "6222000000000000009",
        3_800_000,
        T0 + 3100,
    ));
    push(transfer(
        "6222000000000000005",
        "6222000000000000200",
        100_000,
        T0 + 1500,
    ));
    push(transfer(
        "6222000000000000006",
        "6222000000000000200",
        100_000,
        T0 + 1500,
    ));
    push(transfer(
        "6222000000000000007",
        "6222000000000000200",
        100_000,
        T0 + 1500,
    ));
    // an old transfer into FA before the victims paid (must not be traced forward from A1)
    push(transfer(
        "6222000000000000400",
        "6222000000000000009",
        77_700,
        T0 - 5000,
    ));
    // F links to the mule holder? no: F only reached through money and the boss's calls.
    push(call(&myan(1), "13800000000", T0, 60, None));
    push(call(&dom(5), &myan(8), T0, 10, None));
    for r in extra {
        push(r);
    }
    Writer::write_all(&store, &rows).unwrap();
    let (snap, _) = Snapshot::build(&store, 1).unwrap();
    (snap, store)
}

pub(crate) fn ix(snap: &Snapshot, kind: EntityKind, key: &str) -> Ix {
    snap.lookup(kind, key)
        .unwrap_or_else(|| panic!("{kind}:{key} not in the case"))
}

pub(crate) fn person(snap: &Snapshot, key: &str) -> Ix {
    ix(snap, EntityKind::Person, key)
}

fn expansion(snap: &Snapshot, hops: u32) -> Expansion {
    let mut cfg = ExpandConfig::standard(vec![person(snap, "S")]);
    cfg.hops = hops;
    cfg.hubs = HubPolicy {
        degree: Some(100),
        service_numbers: true,
        organisations: true,
    };
    cfg.filter = LinkFilter::all();
    expand(snap, &cfg).unwrap()
}

fn position(r: &Ranking, v: Ix) -> usize {
    r.leads.iter().position(|l| l.ix == v).unwrap_or(usize::MAX)
}

#[test]
fn members_outrank_the_village_and_hubs_are_out() {
    let (snap, _) = case();
    let e = expansion(&snap, 3);
    let hotline = ix(&snap, EntityKind::Phone, "95588");
    assert!(e.is_hub(hotline), "the hotline is a hub");
    let r = rank(&snap, &e, &RankConfig::standard(0));
    assert!(r.leads.iter().all(|l| l.ix != hotline));
    assert!(
        r.leads.iter().all(|l| e.hop(l.ix).unwrap() > 0),
        "seed side is not a lead"
    );
    // background callers of the hotline never came in
    assert!(snap
        .lookup(EntityKind::Phone, "+8613500000000")
        .is_none_or(|b| e.hop(b).is_none()));
    let persons: Vec<Ix> = r
        .leads
        .iter()
        .map(|l| l.ix)
        .filter(|&v| snap.kind(v) == EntityKind::Person)
        .collect();
    let worst_member = (1..=6)
        .map(|i| position(&r, person(&snap, &format!("M{i}"))))
        .max()
        .unwrap();
    let best_villager = (1..=5)
        .map(|i| position(&r, person(&snap, &format!("V{i}"))))
        .min()
        .unwrap();
    assert!(
        worst_member < best_villager,
        "members {worst_member} vs villagers {best_villager}: {persons:?}"
    );
    let boss = position(&r, person(&snap, "B"));
    assert!(boss < best_villager);
    // scores are sorted and components are named
    assert!(r.leads.windows(2).all(|w| w[0].score >= w[1].score));
    let m3 = &r.leads[position(&r, person(&snap, "M3"))];
    for name in ["proximity", "community", "core", "core_ties", "money"] {
        assert!(m3.components.iter().any(|(n, _)| *n == name), "{name}");
    }
    assert!(m3.components.iter().all(|&(_, c)| (0.0..=1.0).contains(&c)));
    assert!(
        m3.reasons.iter().any(|s| s.contains("Myanmar number")),
        "{:?}",
        m3.reasons
    );
    assert!(
        m3.reasons.iter().any(|s| s.contains("flagged returnee")),
        "{:?}",
        m3.reasons
    );
    let m1 = &r.leads[position(&r, person(&snap, "M1"))];
    assert!(m1.signals.shares_device_with_seed, "{:?}", m1.signals);
    assert!(m1
        .reasons
        .iter()
        .any(|s| s.contains("called") || s.contains("was called")));
}

#[test]
fn explanation_paths_start_at_a_seed_and_chain() {
    let (snap, _) = case();
    let e = expansion(&snap, 3);
    let r = rank(&snap, &e, &RankConfig::standard(20));
    assert_eq!(r.leads.len(), 20);
    for lead in &r.leads {
        assert!(!lead.paths.is_empty(), "{}", snap.reference(lead.ix));
        assert!(lead.paths.len() <= 3);
        for p in &lead.paths {
            assert!(e.seeds.contains(&p[0].from));
            assert_eq!(p.last().unwrap().to, lead.ix);
            for w in p.windows(2) {
                assert_eq!(w[0].to, w[1].from);
            }
            for s in p {
                let l = snap.link(s.link);
                assert_eq!(
                    if s.forward {
                        (l.src, l.dst)
                    } else {
                        (l.dst, l.src)
                    },
                    (s.from, s.to)
                );
            }
        }
    }
}

#[test]
fn money_and_payment_signals() {
    let (snap, _) = case();
    let e = expansion(&snap, 5);
    let r = rank(&snap, &e, &RankConfig::standard(0));
    let fa = ix(&snap, EntityKind::Account, "6222000000000000009");
    let lead = &r.leads[position(&r, fa)];
    // the victims' money ends in FA after A1 and A2, none of it in the mule accounts
    assert_eq!(lead.signals.money_hops, 3, "{:?}", lead.signals);
    assert!(lead.signals.victim_share > 0.5, "{:?}", lead.signals);
    assert!(lead
        .reasons
        .iter()
        .any(|s| s.contains("of reported victims' money")));
    let f = &r.leads[position(&r, person(&snap, "F"))];
    assert!(f.signals.victim_money >= lead.signals.victim_money);
    let a1 = &r.leads[position(&r, ix(&snap, EntityKind::Account, "6222000000000000100"))];
    assert!(
        a1.signals.victim_share < lead.signals.victim_share,
        "{:?}",
        a1.signals
    );
    let c_acct = ix(&snap, EntityKind::Account, "6222000000000000001");
    let c = &r.leads[position(&r, c_acct)];
    assert_eq!(
        (c.signals.round_payments, c.signals.round_amount),
        (3, 500_000)
    );
    // the recruiter inherits it
    let cp = &r.leads[position(&r, person(&snap, "C"))];
    assert_eq!(cp.signals.round_payments, 3);
    // victims are ranked down
    let x1 = &r.leads[position(&r, person(&snap, "X1"))];
    assert!(x1.reasons.iter().any(|s| s.contains("victim")));
}

#[test]
fn what_the_snapshot_alone_says_is_prepared_once_and_matches_its_links() {
    let (snap, _) = case();
    let prep = prepare(&snap);
    assert!(
        Arc::ptr_eq(&prep, &prepare(&snap)),
        "kept with the snapshot"
    );
    assert_eq!(prep.entity.len(), snap.node_count());
    for (l, link) in snap.links().iter().enumerate() {
        assert_eq!(prep.strength[l].to_bits(), strength(link).to_bits());
        assert_eq!(snap.link_kind(l as u32), link.kind);
    }
    // the first dated call, from the links' side: each dated call or message at both its ends
    let mut first: Vec<Option<i64>> = vec![None; snap.node_count()];
    for l in snap.links() {
        if matches!(l.kind, LinkKind::CALL | LinkKind::SMS) && l.has_time() {
            for end in [l.src, l.dst] {
                let f = &mut first[end as usize];
                *f = Some(f.map_or(l.first, |t| t.min(l.first)));
            }
        }
    }
    let called = first.iter().filter(|f| f.is_some()).count();
    assert!(called > 5, "the case has calls");
    for (v, f) in first.iter().enumerate() {
        assert_eq!(prep.entity[v].first_call, *f, "{}", snap.reference(v as Ix));
    }
    // a handset shared by the seed's phone and a member's: both phones and the handset say so
    let shared: Vec<Ix> = (0..snap.node_count() as Ix)
        .filter(|&v| {
            snap.kind(v) == EntityKind::Device && prep.entity[v as usize].shared_device > 0
        })
        .collect();
    assert!(!shared.is_empty());
    for d in shared {
        for (p, l) in snap.all_links(d) {
            if snap.link_kind(l) == LinkKind::DEVICE_OF {
                assert!(
                    prep.entity[p as usize].shared_device > 0,
                    "{}",
                    snap.reference(p)
                );
            }
        }
    }
}

#[test]
fn ranking_is_deterministic_across_threads() {
    let (snap, _) = case();
    let e = expansion(&snap, 3);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| rank(&snap, &e, &RankConfig::standard(0)))
    };
    let a = run(1);
    let b = run(2);
    let ka: Vec<(Ix, u64)> = a
        .leads
        .iter()
        .map(|l| (l.ix, (l.score * 1e9) as u64))
        .collect();
    let kb: Vec<(Ix, u64)> = b
        .leads
        .iter()
        .map(|l| (l.ix, (l.score * 1e9) as u64))
        .collect();
    assert_eq!(ka, kb);
}

#[test]
fn a_grown_subgraph_is_the_one_built_afresh() {
    let (snap, _) = case();
    let e = expansion(&snap, 1);
    let hub: Vec<bool> = e.nodes.iter().map(|&(v, _)| e.is_hub(v)).collect();
    let mut grown = Sub::build(&snap, &e, e.nodes.clone(), hub.clone(), 0.05);
    let core: Vec<(Ix, f64)> = grown
        .nodes
        .iter()
        .filter(|&&v| snap.kind(v) == EntityKind::Person)
        .map(|&v| (v, 1.0))
        .collect();
    let (more, more_hub) = widen(&snap, &e, &grown, &core, 2);
    assert!(!more.is_empty(), "the widening adds entities");
    let mut all = e.nodes.clone();
    all.extend_from_slice(&more);
    let mut all_hub = hub;
    all_hub.extend_from_slice(&more_hub);
    let fresh = Sub::build(&snap, &e, all, all_hub, 0.05);
    let touched = grown.add(&snap, &e, &more, &more_hub, 0.05);
    assert!(!touched.is_empty(), "old entities gain links to new ones");
    assert_eq!(grown.nodes, fresh.nodes);
    assert_eq!(grown.hop, fresh.hop);
    assert_eq!(grown.adj, fresh.adj);
    assert_eq!(grown.st, fresh.st);
    assert_eq!(grown.row, fresh.row);
    assert_eq!(grown.nbr, fresh.nbr);
    assert_eq!(grown.pull, fresh.pull);
    assert_eq!(grown.wsum, fresh.wsum);
    assert_eq!(grown.total_w, fresh.total_w);
    assert_eq!(grown.held, fresh.held);
    assert_eq!(grown.holders, fresh.holders);
    // the explanation tree stopped at some targets agrees with the whole search on them
    let seeds: Vec<u32> = e.seeds.iter().filter_map(|&s| fresh.at(s)).collect();
    let (d_all, p_all) = dijkstra(&snap, &fresh, &seeds, &[]);
    let targets: Vec<u32> = (0..fresh.nodes.len() as u32)
        .filter(|&i| !fresh.hub[i as usize] && d_all[i as usize].is_finite())
        .step_by(3)
        .collect();
    assert!(!targets.is_empty());
    let (d, p) = dijkstra(&snap, &fresh, &seeds, &targets);
    for &t in &targets {
        assert_eq!(d[t as usize], d_all[t as usize]);
        assert_eq!(
            tree_path(&snap, &fresh, &p, t),
            tree_path(&snap, &fresh, &p_all, t)
        );
    }
}

/// The case with `extra` records, expanded 5 hops from its seed and ranked.
fn ranked_with(extra: Vec<Record>) -> (Snapshot, Ranking) {
    let (snap, _) = case_with(extra);
    let e = expansion(&snap, 5);
    let r = rank(&snap, &e, &RankConfig::standard(0));
    (snap, r)
}

/// The lead of person `key`, which must be one.
fn lead_of<'r>(snap: &Snapshot, r: &'r Ranking, key: &str) -> &'r Lead {
    let at = position(r, person(snap, key));
    assert!(at < r.leads.len(), "{key} is a lead");
    &r.leads[at]
}

fn person_record(key: &str, name: &str, roles: &[&str], owns: Vec<Normalized>) -> Record {
    let mut r = Roles::default();
    for x in roles {
        r.insert_name(x);
    }
    Record::Person(Person {
        key: person_key(key),
        aliases: vec![],
        name: Some(name.into()),
        roles: r,
        statuses: vec![],
        owns,
        notes: None,
    })
}

fn holder(key: &str, roles: &[&str], owns: Vec<Normalized>) -> Record {
    person_record(key, key, roles, owns)
}

fn call_record(a: &str, b: &str, t: i64, dur: i64, dev: Option<&str>) -> Record {
    Record::Call(Call {
        imei: dev.map(|d| imei(d).unwrap()),
        ..Call::between(phone(a).unwrap(), phone(b).unwrap(), t, dur)
    })
}

fn calls(a: &str, b: &str, t: i64, n: i64) -> Vec<Record> {
    (0..n)
        .map(|k| call_record(a, b, t + k * 86_400, 60, None))
        .collect()
}

fn pay(a: &str, b: &str, amount: i64, t: i64) -> Record {
    Record::Transfer(Transfer {
        tx_id: Some(format!("tx{a}{b}{t}")),
        ..Transfer::between(
            bank_account(a).unwrap(),
            bank_account(b).unwrap(),
            amount,
            t,
        )
    })
}

#[test]
fn a_fronts_money_counts_toward_who_runs_it() {
    // victims pay into FR, held by H, who deals with no suspect; K calls H and two members;
    // J calls H and one member; L is only paid from FR (the money's way, no personal tie)
    let mut extra = vec![
        holder(
            "H",
            &[],
            vec![
                phone("13100000000").unwrap(),
                bank_account("6222000000000000500").unwrap(),
            ],
        ),
        holder("K", &[], vec![phone("13100000001").unwrap()]),
        holder("J", &[], vec![phone("13100000002").unwrap()]),
        holder(
            "L",
            &[],
            vec![
                phone("13100000003").unwrap(),
                bank_account("6222000000000000501").unwrap(),
            ],
        ),
    ];
    for x in 5..=8 {
        let a = format!("62220000000000010{x:02}");
        extra.push(holder(
            &format!("X{x}"),
            &["victim"],
            vec![bank_account(&a).unwrap()],
        ));
        extra.push(pay(&a, "6222000000000000500", 2_000_000, T0 + 1000 + x));
    }
    extra.push(pay(
        "6222000000000000500",
        "6222000000000000501",
        50_000,
        T0 + 5000,
    ));
    extra.extend(calls("13100000001", "13100000000", T0, 5));
    extra.extend(calls("13100000001", "+95 9 4000 0001", T0, 3));
    extra.extend(calls("13100000001", "+95 9 4000 0002", T0, 3));
    extra.extend(calls("13100000002", "13100000000", T0, 5));
    extra.extend(calls("13100000002", "+95 9 4000 0003", T0, 3));
    extra.extend(calls("13100000003", "+95 9 4000 0001", T0, 3));
    extra.extend(calls("13100000003", "+95 9 4000 0002", T0, 3));
    let (snap, r) = ranked_with(extra);
    let lead = |k: &str| lead_of(&snap, &r, k);
    let k = lead("K");
    assert_eq!(k.signals.front_holders, 1, "{:?}", k.signals);
    assert!(k.signals.front_money >= 7_000_000.0, "{:?}", k.signals);
    assert!(k.signals.victim_money >= k.signals.front_money);
    assert!(
        k.reasons.iter().any(|s| s.contains("fronts it may run")),
        "{:?}",
        k.reasons
    );
    // one tie to a suspect is not enough; a payment on the money's way is no personal tie
    assert_eq!(lead("J").signals.front_holders, 0);
    assert_eq!(lead("L").signals.front_holders, 0);
    // the holder keeps the money of its own accounts
    assert!(lead("H").signals.victim_money >= 7_000_000.0);
}

#[test]
fn calls_from_abroad_before_a_phone_went_dark_are_a_run_up() {
    // Y's phone calls home for months, then goes dark for good (records run on for half a
    // year); in the last weeks before, the foreign number of RC called it, and so did the
    // domestic number of D: only the call from abroad counts (someone already in the compound
    // drawing Y in), and a departure known from the silence alone needs it
    let day = 86_400;
    let mut extra = vec![
        holder("Y", &[], vec![phone("13200000000").unwrap()]),
        holder("YF", &[], vec![phone("13200000001").unwrap()]),
        holder("RC", &[], vec![phone("+95 9 4000 0099").unwrap()]),
        holder("D", &[], vec![phone("13200000002").unwrap()]),
    ];
    extra.extend(calls("13200000001", "13200000000", T0 - 120 * day, 1));
    extra.extend(calls("13200000001", "13200000000", T0 - 60 * day, 1));
    extra.extend(calls("13200000001", "13200000000", T0 - 10 * day, 1));
    extra.extend(calls("+95 9 4000 0099", "13200000000", T0 - 30 * day, 3));
    extra.extend(calls("13200000002", "13200000000", T0 - 30 * day, 3));
    extra.extend(calls("+95 9 4000 0099", "+95 9 4000 0001", T0, 3));
    extra.extend(calls("13200000002", "+95 9 4000 0001", T0, 3));
    extra.extend(calls("13800000000", "13700000000", T0 + 200 * day, 1));
    let (snap, r) = ranked_with(extra);
    let lead = |k: &str| lead_of(&snap, &r, k);
    let rc = lead("RC");
    assert_eq!(rc.signals.run_up_contacts, 1, "{:?}", rc.signals);
    assert_eq!(lead("D").signals.run_up_contacts, 0);
    // the family calls all year round
    assert_eq!(lead("YF").signals.run_up_contacts, 0);
}
