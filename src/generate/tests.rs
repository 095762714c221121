use super::*;
use crate::model::ident;
use crate::model::time::{parse_amount, parse_time};
use crate::model::Flags;
use std::collections::{BTreeMap, HashMap, HashSet};

fn gen(n: usize, seed: u64) -> (tempfile::TempDir, GenerateReport) {
    let dir = tempfile::tempdir().unwrap();
    let report = generate(&GenerateConfig { persons: n, seed }, dir.path()).unwrap();
    (dir, report)
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap();
    r.records().map(Result::unwrap).collect()
}

fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_case() {
    let (a, ra) = gen(4000, 7);
    let (b, _) = gen(4000, 7);
    let (c, _) = gen(4000, 8);
    for (name, _) in &ra.files {
        let x = std::fs::read(a.path().join(name)).unwrap();
        let y = std::fs::read(b.path().join(name)).unwrap();
        assert!(x == y, "{name} differs between two runs with the same seed");
    }
    let x = std::fs::read(a.path().join("calls.csv")).unwrap();
    let z = std::fs::read(c.path().join("calls.csv")).unwrap();
    assert_ne!(x, z);
}

#[test]
fn too_small_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        generate(
            &GenerateConfig {
                persons: 10,
                seed: 1
            },
            dir.path()
        ),
        Err(GenerateError::TooSmall(10))
    ));
}

/// Every identifier written parses with the model's rules, and the truth's refs are exactly what
/// those rules make of the input.
#[test]
fn identifiers_parse_back_to_the_truth_refs() {
    let (dir, _) = gen(12_000, 3);
    let d = dir.path();
    let t = truth(d);
    let mut person_phones: HashMap<String, HashSet<String>> = HashMap::new();
    let mut person_accounts: HashMap<String, HashSet<String>> = HashMap::new();
    let mut returnees = HashSet::new();
    let mut ids_seen = HashSet::new();
    for r in rows(&d.join("persons.csv")) {
        assert_eq!(r.len(), 11);
        let id = ident::resident_id(&r[2]).unwrap();
        assert!(!id.flags.contains(Flags::BAD_CHECKSUM), "{}", &r[2]);
        let pref = id.to_ref().to_string();
        if &r[10] == "实名登记" {
            assert!(
                ids_seen.insert(pref.clone()),
                "duplicate registry row {pref}"
            );
        }
        for ph in r[4].split(';').filter(|s| !s.is_empty()) {
            let n = ident::phone(ph).unwrap();
            person_phones
                .entry(pref.clone())
                .or_default()
                .insert(n.to_ref().to_string());
        }
        for a in r[5].split(';').filter(|s| !s.is_empty()) {
            let n = ident::bank_account(a).unwrap();
            assert!(!n.flags.contains(Flags::BAD_CHECKSUM), "{a}");
            person_accounts
                .entry(pref.clone())
                .or_default()
                .insert(n.to_ref().to_string());
        }
        for dev in r[6].split(';').filter(|s| !s.is_empty()) {
            assert!(!ident::imei(dev)
                .unwrap()
                .flags
                .contains(Flags::BAD_CHECKSUM));
        }
        for w in r[7].split(';').filter(|s| !s.is_empty()) {
            assert_eq!(ident::wallet(w).unwrap().flags, Flags::default());
        }
        if r[3].contains("returnee") {
            returnees.insert(pref.clone());
            assert!(r[8].contains(':'));
        }
        assert!(
            r[3].is_empty() || &r[3] == "returnee" || &r[3] == "victim",
            "{}",
            &r[3]
        );
    }
    // Every person in the truth is a registered person.
    let seed = t["seed"].as_str().unwrap();
    assert!(returnees.contains(seed));
    for p in strings(&t["criminal"])
        .iter()
        .chain(&strings(&t["victims"]))
        .chain(&strings(&t["compound_members"]))
    {
        assert!(ids_seen.contains(p), "{p}");
        assert_eq!(ident::parse_ref(p).unwrap().to_ref().to_string(), *p);
    }
    // The seed's phone, as written, is the seed's registered phone.
    let sp = ident::phone(t["seed_phone"].as_str().unwrap())
        .unwrap()
        .to_ref()
        .to_string();
    assert_eq!(sp, t["seed_phone_ref"].as_str().unwrap());
    assert!(person_phones[seed].contains(&sp));
    // Mule and financier accounts are real-name registered to somebody.
    let registered: HashSet<&String> = person_accounts.values().flatten().collect();
    for a in strings(&t["mule_accounts_level1"])
        .iter()
        .chain(&strings(&t["financier_accounts"]))
    {
        assert_eq!(ident::parse_ref(a).unwrap().to_ref().to_string(), *a);
        assert!(registered.contains(a), "{a} not registered");
    }
    // Calls and transfers: every identifier and time reads.
    for r in rows(&d.join("calls.csv")) {
        ident::phone(&r[0]).unwrap();
        ident::phone(&r[1]).unwrap();
        parse_time(&r[2]).unwrap();
        r[3].parse::<u32>().unwrap();
        if !r[4].is_empty() {
            assert_eq!(
                ident::imei(&r[4]).unwrap().flags,
                Flags::default(),
                "{}",
                &r[4]
            );
        }
    }
    for r in rows(&d.join("transfers.csv")) {
        ident::bank_account(&r[0]).unwrap();
        ident::bank_account(&r[1]).unwrap();
        assert!(parse_amount(&r[2]).unwrap() > 0);
        parse_time(&r[3]).unwrap();
    }
    for r in rows(&d.join("links.csv")) {
        ident::parse_ref(&r[0]).unwrap();
        ident::parse_ref(&r[1]).unwrap();
        if !r[3].is_empty() {
            parse_time(&r[3]).unwrap();
        }
    }
    for line in std::fs::read_to_string(d.join("wallets.ftm.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["schema"] == "CryptoWallet" {
            let k = v["properties"]["publicKey"][0].as_str().unwrap();
            assert_eq!(ident::wallet(k).unwrap().flags, Flags::default());
        }
    }
}

struct Money {
    /// tx id → (from, to, fen, time)
    txs: BTreeMap<String, (String, String, i64, i64)>,
}

/// Every transfer from the generic file and the statements, deduplicated by transaction id.
fn money(d: &Path) -> Money {
    let mut txs = BTreeMap::new();
    for r in rows(&d.join("transfers.csv")) {
        let from = ident::bank_account(&r[0]).unwrap().key;
        let to = ident::bank_account(&r[1]).unwrap().key;
        txs.insert(
            r[4].to_string(),
            (
                from,
                to,
                parse_amount(&r[2]).unwrap(),
                parse_time(&r[3]).unwrap(),
            ),
        );
    }
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("bank_") {
            continue;
        }
        for r in rows(&p) {
            let own = ident::bank_account(&r[0]).unwrap().key;
            let other = ident::bank_account(&r[5]).unwrap().key;
            let (from, to) = if &r[4] == "出" {
                (own, other)
            } else {
                (other, own)
            };
            let v = (
                from,
                to,
                parse_amount(&r[3]).unwrap(),
                parse_time(&r[2]).unwrap(),
            );
            if let Some(prev) = txs.get(&r[7]) {
                assert_eq!(*prev, v, "one transaction, two stories: {}", &r[7]);
            }
            txs.insert(r[7].to_string(), v);
        }
    }
    Money { txs }
}

/// Money never leaves a mule account before it arrived, and victims' money reaches the financiers
/// through strictly later hops.
#[test]
fn money_flows_in_time_order_along_the_mule_chain() {
    let (dir, _) = gen(12_000, 5);
    let d = dir.path();
    let t = truth(d);
    let m = money(d);
    let l1: HashSet<String> = strings(&t["mule_accounts_level1"])
        .iter()
        .map(|a| a[8..].to_string())
        .collect();
    let fin: HashSet<String> = strings(&t["financier_accounts"])
        .iter()
        .map(|a| a[8..].to_string())
        .collect();
    let mut by_acct: HashMap<&str, Vec<(i64, i64)>> = HashMap::new(); // (time, +in/-out)
    for (from, to, fen, time) in m.txs.values() {
        by_acct.entry(from).or_default().push((*time, -fen));
        by_acct.entry(to).or_default().push((*time, *fen));
    }
    for a in &l1 {
        let mut ev = by_acct[a.as_str()].clone();
        ev.sort_by_key(|&(t, f)| (t, -f));
        let mut bal = 0i64;
        let mut inflow = 0i64;
        for (_, f) in &ev {
            bal += f;
            inflow += f.max(&0);
            assert!(bal >= 0, "{a} pays out money it has not received");
        }
        // Fast in, fast out: little is left behind.
        assert!(bal * 100 <= inflow * 5, "{a} kept {bal} of {inflow}");
        let victims_in = ev.iter().filter(|e| e.1 > 0).count();
        assert!((1..=40).contains(&victims_in), "{a}: {victims_in} inflows");
    }
    // Time-respecting reachability from the first-level accounts to the financiers.
    let mut out_edges: HashMap<&str, Vec<(&str, i64)>> = HashMap::new();
    for (from, to, _, time) in m.txs.values() {
        out_edges.entry(from).or_default().push((to, *time));
    }
    let mut reached = 0;
    for a in &l1 {
        let first_in = by_acct[a.as_str()]
            .iter()
            .filter(|e| e.1 > 0)
            .map(|e| e.0)
            .min()
            .unwrap();
        let mut frontier = vec![(a.as_str(), first_in)];
        let mut seen = HashSet::new();
        let mut hit = false;
        for _ in 0..4 {
            let mut next = Vec::new();
            for (x, t0) in frontier {
                for &(y, t1) in out_edges.get(x).map_or(&[][..], |v| v.as_slice()) {
                    if t1 > t0 && seen.insert(y) {
                        hit |= fin.contains(y);
                        next.push((y, t1));
                    }
                }
            }
            frontier = next;
        }
        reached += usize::from(hit);
    }
    assert!(
        reached * 10 >= l1.len() * 8,
        "only {reached} of {} first-level accounts reach a financier",
        l1.len()
    );
}

#[test]
fn sizes_and_proportions_are_in_range() {
    let (dir, report) = gen(100_000 / 4, 11);
    let d = dir.path();
    let t = truth(d);
    let compound = strings(&t["compound_members"]);
    let n = compound.len();
    assert_eq!(n, report.compound_members);
    assert!((250..=320).contains(&n), "compound {n}");
    let roles = &t["roles"];
    assert_eq!(strings(&roles["boss"]).len(), 1);
    assert!((3..=6).contains(&strings(&roles["financier"]).len()));
    let leaders = strings(&roles["manager"]).len() + 1;
    assert!(leaders * 100 / n <= 8, "leadership is a few percent");
    let teams = strings(&roles["team_leader"]).len();
    let per_team = (strings(&roles["member"]).len() + teams) as f64 / teams as f64;
    assert!((8.0..=13.0).contains(&per_team), "team size {per_team}");
    // About 30% of the compound flagged as returnees.
    let returnees: HashSet<String> = rows(&d.join("persons.csv"))
        .iter()
        .filter(|r| &r[3] == "returnee")
        .map(|r| ident::resident_id(&r[2]).unwrap().to_ref().to_string())
        .collect();
    let share = returnees.len() as f64 / n as f64;
    assert!((0.25..=0.35).contains(&share), "returnee share {share}");
    assert!(returnees.iter().all(|p| compound.contains(p)));
    // Nobody outside the input's returnee and victim lists carries a role in the input.
    let victims = strings(&t["victims"]);
    assert!((500..=1000).contains(&victims.len()));
    let criminal: HashSet<String> = strings(&t["criminal"]).into_iter().collect();
    assert!(victims.iter().all(|v| !criminal.contains(v)));
    for f in strings(&roles["card_farmer"]) {
        assert!(
            !criminal.contains(&f),
            "card farmers are not counted as criminal"
        );
    }
    // Hubs exist: some service numbers reach a large share of everyone.
    let mut callers_of: HashMap<String, HashSet<String>> = HashMap::new();
    for r in rows(&d.join("calls.csv")) {
        let b = ident::phone(&r[1]).unwrap().key;
        if b.len() == 5 {
            callers_of
                .entry(b)
                .or_default()
                .insert(ident::phone(&r[0]).unwrap().key);
        }
    }
    let biggest = callers_of.values().map(HashSet::len).max().unwrap_or(0);
    assert!(biggest > 25_000 / 10, "largest hotline reached {biggest}");
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            generate(
                &GenerateConfig {
                    persons: 5000,
                    seed: 2,
                },
                dir.path(),
            )
            .unwrap()
        });
        dir
    };
    let (a, b) = (run(1), run(3));
    for name in ["calls.csv", "transfers.csv", "persons.csv", "truth.json"] {
        assert!(
            std::fs::read(a.path().join(name)).unwrap()
                == std::fs::read(b.path().join(name)).unwrap(),
            "{name} depends on the thread count"
        );
    }
}
