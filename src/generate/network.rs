//! The scam compound and the people around it, drawn from the background population: the boss
//! and financiers, the compound's companies, managers, team leaders and staff; the recruiters and
//! smugglers who send people there; the laundering crew with its card farmers, mule accounts,
//! USDT dealers and cash-out crew; the victims; and the families who receive wages.
//!
//! Everything the police could have collected about them becomes events (calls, transfers,
//! registry facts, debrief statements); what the police could not see stays in `truth.json` only.

use super::clock::{self, at, DAY, HOUR, MINUTE, T0, T1};
use super::ids::{self, lognormal, mix2, skewed, Ph};
use super::out::{channel, memo, Call, Src, Tx};
use super::population::{flag, Area, Holder, Person, Population, ANXI, COUNTIES, NINGDU};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Truth roles (bits).
pub(crate) mod role {
    pub const BOSS: u32 = 1;
    pub const FINANCIER: u32 = 2;
    pub const MANAGER: u32 = 4;
    pub const TEAM_LEADER: u32 = 8;
    pub const MEMBER: u32 = 16;
    pub const RECRUITER: u32 = 32;
    pub const SMUGGLER: u32 = 64;
    pub const CARD_FARMER: u32 = 128;
    pub const LAUNDERER: u32 = 256;
    pub const MULE: u32 = 512;
    pub const VICTIM: u32 = 1024;
    /// Compound and service providers: what the police prosecute as the network.
    pub const CRIMINAL: u32 =
        BOSS | FINANCIER | MANAGER | TEAM_LEADER | MEMBER | RECRUITER | SMUGGLER | LAUNDERER;
    pub const NAMES: [(u32, &str); 10] = [
        (BOSS, "boss"),
        (FINANCIER, "financier"),
        (MANAGER, "manager"),
        (TEAM_LEADER, "team_leader"),
        (MEMBER, "member"),
        (RECRUITER, "recruiter"),
        (SMUGGLER, "smuggler"),
        (CARD_FARMER, "card_farmer"),
        (LAUNDERER, "launderer"),
        (MULE, "mule"),
    ];
}

/// What the returnee registry says about a flagged compound member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flagged {
    Returned(i64),
    Persuaded(i64),
    Abroad(i64),
}

/// A link row of links.csv.
pub(crate) struct LinkRow {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub t: Option<i64>,
    pub source: String,
}

/// Sizes derived from the population size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub compound: usize,
    pub victims: usize,
}

impl Scale {
    pub fn for_population(n: usize, rng: &mut ChaCha8Rng) -> Scale {
        let full = 1150 + rng.gen_range(0..=100);
        let compound = full.min(n * 12 / 1000).max(30);
        let victims = (n * 3 / 100).clamp(60, 30_000);
        Scale { compound, victims }
    }
}

pub(crate) struct Network {
    pub roles: FxHashMap<u32, u32>,
    pub compound: Vec<u32>,
    /// Domestic phones dark while abroad: person → [from, to).
    pub dark: FxHashMap<u32, (i64, i64)>,
    pub flagged: Vec<(u32, Flagged)>,
    pub reported_victims: Vec<u32>,
    pub victims: Vec<u32>,
    pub extra_phones: FxHashMap<u32, Vec<Ph>>,
    pub extra_accounts: FxHashMap<u32, Vec<u64>>,
    pub seized_devices: FxHashMap<u32, u64>,
    pub wallets_of: FxHashMap<u32, Vec<String>>,
    pub victim_loss: FxHashMap<u32, i64>,
    pub seed: u32,
    pub seed_phone: Ph,
    /// Recruiters outside the compound (members who brought relatives are recruiters too).
    pub outside_recruiters: Vec<u32>,
    pub l1: Vec<u64>,
    /// Further accounts of the chain and its ends, by kind (level2, level3, usdt_dealer, cash_out, payroll).
    pub other_accounts: Vec<(&'static str, Vec<u64>)>,
    pub financier_accounts: Vec<u64>,
    /// The financiers' USDT wallets (half of them have no holder in the records).
    pub financier_wallets: Vec<String>,
    pub calls: Vec<Call>,
    pub txs: Vec<Tx>,
    pub links: Vec<LinkRow>,
    pub ftm: Vec<String>,
    pub req_phones: Vec<Ph>,
    pub req_accounts: Vec<u64>,
    pub compound_place: String,
}

/// A compound insider.
#[derive(Clone, Debug)]
struct Insider {
    p: u32,
    rank: u32,
    team: usize,
    manager: usize,
    company: usize,
    arrive: i64,
    depart: i64,
    leave: i64,
    work: Ph,
    work2: Option<(Ph, i64)>,
    handset: u64,
    shared: Option<u64>,
    seized: bool,
    recruiter: Option<u32>,
    smuggler: Option<u32>,
    batch: usize,
}

/// A GOIP SIM: number, gateway IMEI, cell, active from, active to.
type GoipSim = (Ph, u64, (u32, u32), i64, i64);
/// An account and its holder.
type Acct = (u64, Holder);

const HANDOVER: i64 = 1_700_006_400; // 2023-11-15 08:00 Beijing

struct Ctx<'a> {
    pop: &'a Population,
    rng: ChaCha8Rng,
    used: FxHashSet<u32>,
    next_extra: u64,
    next_foreign: u64,
    tx_seq: u64,
    net: Network,
}

/// County indices by area.
fn counties_where(f: impl Fn(&super::population::County) -> bool) -> Vec<usize> {
    COUNTIES
        .iter()
        .enumerate()
        .filter(|(_, c)| f(c))
        .map(|(i, _)| i)
        .collect()
}

impl Ctx<'_> {
    fn extra(&mut self) -> u64 {
        let k = self.next_extra;
        self.next_extra += 1;
        k
    }

    fn tx_id(&mut self) -> u64 {
        self.tx_seq += 1;
        (2 << 56) | self.tx_seq
    }

    /// Picks an unused person from the given counties matching `pred`, falling back to anyone.
    fn pick(&mut self, counties: &[usize], pred: &dyn Fn(&Person) -> bool) -> u32 {
        let pop = self.pop;
        for attempt in 0..400 {
            let p = if attempt < 300 && !counties.is_empty() {
                let ci = counties[self.rng.gen_range(0..counties.len())];
                match pop.random_in_county(&mut self.rng, ci) {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                self.rng.gen_range(0..pop.len() as u32)
            };
            if !self.used.contains(&p) && (attempt >= 380 || pred(&pop.people[p as usize])) {
                self.used.insert(p);
                return p;
            }
        }
        // Population nearly exhausted: first unused.
        let p = (0..pop.len() as u32)
            .find(|p| !self.used.contains(p))
            .unwrap_or(0);
        self.used.insert(p);
        p
    }

    /// Picks an unused person in `range` matching `pred` (a village or household), if any.
    fn pick_in(&mut self, (s, e): (u32, u32), pred: &dyn Fn(&Person) -> bool) -> Option<u32> {
        if e <= s {
            return None;
        }
        for _ in 0..40 {
            let p = self.rng.gen_range(s..e);
            if !self.used.contains(&p) && pred(&self.pop.people[p as usize]) {
                self.used.insert(p);
                return Some(p);
            }
        }
        None
    }

    fn add_role(&mut self, p: u32, r: u32) {
        *self.net.roles.entry(p).or_insert(0) |= r;
    }

    fn call(&mut self, c: Call) {
        self.net.calls.push(c);
    }

    /// A call between two people's domestic phones at `t`, with handsets and cells.
    fn person_call(&mut self, a: u32, b: u32, t: i64, dur: u32) {
        let pop = self.pop;
        let (Some(pa), Some(pb)) = (pop.phone(a, 0), pop.phone(b, 0)) else {
            return;
        };
        let r = mix2(t as u64, u64::from(a));
        let mut c = Call::new(pa, pb, t, dur);
        c.imei_a = pop.handset(a, t);
        c.cell_a = pop.cell(a, r);
        c.imei_b = pop.handset(b, t);
        c.cell_b = pop.cell(b, r >> 7);
        self.call(c);
    }

    /// Records `c`, a call from a compound work number on `handset` to person `other`'s domestic
    /// phone, with `other`'s handset and cell (`cell_key`); with probability `p_incoming` it is
    /// `other` who called.
    fn work_call(&mut self, mut c: Call, handset: u64, other: u32, cell_key: u64, p_incoming: f64) {
        c.imei_a = handset;
        c.imei_b = self.pop.handset(other, c.t);
        c.cell_b = self.pop.cell(other, cell_key);
        if self.rng.gen_bool(p_incoming) {
            c.swap_ends();
        }
        self.call(c);
    }

    fn duration(&mut self, median: f64) -> u32 {
        if self.rng.gen_bool(0.08) {
            0
        } else {
            lognormal(&mut self.rng, median, 0.9).clamp(3.0, 7200.0) as u32
        }
    }

    fn tx(
        &mut self,
        from: (u64, Holder),
        to: (u64, Holder),
        amount: i64,
        t: i64,
        ch: u8,
        m: u8,
    ) -> Tx {
        let id = self.tx_id();
        let tx = Tx {
            from: from.0,
            from_h: from.1,
            to: to.0,
            to_h: to.1,
            amount: amount.max(1),
            t,
            id,
            channel: ch,
            memo: m,
            ip: 0,
            mac: 0,
        };
        self.net.txs.push(tx);
        tx
    }

    fn link(&mut self, from: String, to: String, kind: &'static str, t: Option<i64>, source: &str) {
        self.net.links.push(LinkRow {
            from,
            to,
            kind,
            t,
            source: source.to_string(),
        });
    }

    fn pref(&self, p: u32) -> String {
        self.pop.person_ref(p)
    }

    fn own_account(&self, p: u32) -> Option<(u64, Holder)> {
        self.pop.account(p, 0).map(|a| (a, Holder::Person(p)))
    }

    /// Gives `p` a bank card registered to them (beyond their own), returns it.
    fn new_card(&mut self, p: u32) -> (u64, Holder) {
        let k = self.extra();
        let a = ids::card_number(k);
        self.net.extra_accounts.entry(p).or_default().push(a);
        (a, Holder::Person(p))
    }

    fn new_sim(&mut self, p: u32) -> Ph {
        let k = self.extra();
        let ph = ids::cn_mobile(k);
        self.net.extra_phones.entry(p).or_default().push(ph);
        ph
    }

    fn foreign(&mut self) -> Ph {
        self.next_foreign += 1;
        let country = match self.rng.gen_range(0..100) {
            0..=84 => 95,
            85..=94 => 66,
            _ => 855,
        };
        ids::foreign_mobile(self.next_foreign, country)
    }

    /// A personal account to pay or be paid by; gives the person one if they have none.
    fn account_of(&mut self, p: u32) -> (u64, Holder) {
        match self.own_account(p) {
            Some(a) => a,
            None => {
                if let Some(v) = self.net.extra_accounts.get(&p) {
                    if let Some(&a) = v.first() {
                        return (a, Holder::Person(p));
                    }
                }
                self.new_card(p)
            }
        }
    }
}

fn adult(lo: u32, hi: u32, male_share: f64, seed: u64) -> impl Fn(&Person) -> bool {
    move |x: &Person| {
        let age = x.age();
        let male_ok = x.male
            || (mix2(seed, u64::from(x.birth) ^ u64::from(x.seq)) % 1000) as f64
                >= male_share * 1000.0;
        (lo..=hi).contains(&age) && male_ok
    }
}

fn with_phone(f: impl Fn(&Person) -> bool) -> impl Fn(&Person) -> bool {
    move |x: &Person| x.has(flag::PHONE) && f(x)
}

#[allow(clippy::too_many_lines)]
pub(crate) fn build(pop: &Population, seed: u64) -> Network {
    let mut rng = clock::rng(seed, 2, 0);
    let scale = Scale::for_population(pop.len(), &mut rng);
    let mut cx = Ctx {
        pop,
        rng,
        used: FxHashSet::default(),
        next_extra: pop.next_extra,
        next_foreign: 0,
        tx_seq: 0,
        net: Network {
            roles: FxHashMap::default(),
            compound: Vec::new(),
            dark: FxHashMap::default(),
            flagged: Vec::new(),
            reported_victims: Vec::new(),
            victims: Vec::new(),
            extra_phones: FxHashMap::default(),
            extra_accounts: FxHashMap::default(),
            seized_devices: FxHashMap::default(),
            wallets_of: FxHashMap::default(),
            victim_loss: FxHashMap::default(),
            seed: 0,
            seed_phone: Ph::Svc(0),
            outside_recruiters: Vec::new(),
            l1: Vec::new(),
            other_accounts: Vec::new(),
            financier_accounts: Vec::new(),
            financier_wallets: Vec::new(),
            calls: Vec::new(),
            txs: Vec::new(),
            links: Vec::new(),
            ftm: Vec::new(),
            req_phones: Vec::new(),
            req_accounts: Vec::new(),
            compound_place: "缅甸掸邦果敢自治区老街市金海园区".to_string(),
        },
    };
    let ningdu: Vec<usize> = counties_where(|c| c.code == NINGDU);
    let ganzhou: Vec<usize> = counties_where(|c| c.area == Area::Ganzhou && c.code != NINGDU);
    let fujian: Vec<usize> = counties_where(|c| c.area == Area::Fujian);
    let anxi: Vec<usize> = counties_where(|c| c.code == ANXI);
    let border: Vec<usize> = counties_where(|c| c.area == Area::Border);
    let rural: Vec<usize> = counties_where(|c| c.area == Area::Rural);
    let city: Vec<usize> = counties_where(|c| c.area == Area::City);
    let all: Vec<usize> = (0..COUNTIES.len()).collect();
    let place = format!("place:{}", cx.net.compound_place);
    let c_size = scale.compound;

    // ---- Leadership --------------------------------------------------------------------------
    let boss = cx.pick(&anxi, &with_phone(adult(36, 52, 1.0, seed)));
    cx.add_role(boss, role::BOSS);
    let n_fin = cx.rng.gen_range(3..=6);
    let financiers: Vec<u32> = (0..n_fin)
        .map(|i| {
            let cs = if i < 2 { anxi.clone() } else { fujian.clone() };
            let p = cx.pick(&cs, &with_phone(adult(32, 60, 0.7, seed + 1)));
            cx.add_role(p, role::FINANCIER);
            p
        })
        .collect();
    let n_heads = (c_size / 250).clamp(1, 6);
    let staff_n = (c_size * 4 / 100).max(1);
    let core = c_size.saturating_sub(1 + n_heads + staff_n);
    let n_teams = ((core as f64 / 11.5).round() as usize).max(1);
    let n_mgr = n_teams.div_ceil(4).max(1);
    let n_members = c_size.saturating_sub(1 + n_heads + n_mgr + n_teams + staff_n);
    let mut heads = Vec::new();
    for i in 0..n_heads {
        let cs = match i % 4 {
            0 | 1 => fujian.clone(),
            2 => ganzhou.clone(),
            _ => city.clone(),
        };
        let p = cx.pick(&cs, &with_phone(adult(28, 50, 1.0, seed + 2)));
        cx.add_role(p, role::MANAGER);
        heads.push(p);
    }
    let mut managers = Vec::new();
    for i in 0..n_mgr {
        let cs = match i % 10 {
            0..=2 => fujian.clone(),
            3..=6 => [ningdu.clone(), ganzhou.clone()].concat(),
            _ => all.clone(),
        };
        let p = cx.pick(&cs, &with_phone(adult(24, 46, 0.9, seed + 3)));
        cx.add_role(p, role::MANAGER);
        managers.push(p);
    }

    // ---- Recruiters and their recruits, along village and kin lines ---------------------------
    let n_rec = (c_size / 35).max(2);
    let mut recruiters = Vec::new();
    for i in 0..n_rec {
        let cs = match (i * 37 + 11) % 20 {
            0..=8 => ningdu.clone(),
            9..=12 => ganzhou.clone(),
            13..=15 => rural.clone(),
            16..=17 => city.clone(),
            18 => fujian.clone(),
            _ => border.clone(),
        };
        let p = cx.pick(&cs, &with_phone(adult(24, 56, 0.8, seed + 4)));
        cx.add_role(p, role::RECRUITER);
        recruiters.push(p);
    }
    cx.net.outside_recruiters = recruiters.clone();
    let need = n_members + n_teams + staff_n;
    let peer_n = need * 12 / 100;
    let prof_n = need - peer_n;
    let weights: Vec<f64> = (0..n_rec)
        .map(|r| 1.0 / ((r + 1) as f64).powf(1.15))
        .collect();
    let wsum: f64 = weights.iter().sum();
    let mut quotas: Vec<usize> = weights
        .iter()
        .map(|w| ((w / wsum) * prof_n as f64).floor().max(1.0) as usize)
        .collect();
    let mut short = prof_n.saturating_sub(quotas.iter().sum());
    let mut qi = 0;
    while short > 0 {
        quotas[qi % n_rec] += 1;
        short -= 1;
        qi += 1;
    }
    quotas.shuffle(&mut cx.rng);
    let recruit_ok = adult(18, 42, 0.75, seed + 5);
    // (recruit, recruiter person, peer recruiter?)
    let mut recruits: Vec<(u32, u32, bool)> = Vec::new();
    for (ri, &r) in recruiters.iter().enumerate() {
        let home = pop.village_range(r);
        let rc = pop.people[r as usize].county as usize;
        let area = COUNTIES[rc].area;
        let same_area: Vec<usize> = counties_where(|c| c.area == area);
        let mut got = 0;
        while got < quotas[ri] {
            let x = cx.rng.gen_range(0..100);
            let p = match x {
                0..=49 => cx.pick_in(home, &recruit_ok),
                50..=84 => None,
                _ => Some(cx.pick(&same_area, &recruit_ok)),
            };
            let p = p.unwrap_or_else(|| cx.pick(&[rc], &recruit_ok));
            recruits.push((p, r, false));
            got += 1;
            if got < quotas[ri] && cx.rng.gen_bool(0.35) {
                // A brother, cousin or neighbour goes too.
                let hh = pop.people[p as usize].household;
                let lo = hh.saturating_sub(2);
                let range = (
                    pop.households[lo as usize],
                    pop.households[(hh as usize + 3).min(pop.households.len() - 1)],
                );
                let (vs, ve) = pop.village_range(p);
                let range = (range.0.max(vs), range.1.min(ve));
                if let Some(k) = cx.pick_in(range, &recruit_ok) {
                    recruits.push((k, r, false));
                    got += 1;
                }
            }
        }
    }
    // Peer recruiting: members bring relatives and fellow villagers later.
    for _ in 0..peer_n {
        let (m, _, _) = recruits[cx.rng.gen_range(0..recruits.len())];
        let p = cx
            .pick_in(pop.village_range(m), &recruit_ok)
            .unwrap_or_else(|| cx.pick(&[pop.people[m as usize].county as usize], &recruit_ok));
        recruits.push((p, m, true));
    }

    // ---- Departure groups, crossing batches and smugglers ------------------------------------
    let n_smug = (c_size / 100).max(2);
    let smugglers: Vec<u32> = (0..n_smug)
        .map(|_| {
            let p = cx.pick(&border, &with_phone(adult(25, 55, 0.9, seed + 6)));
            cx.add_role(p, role::SMUGGLER);
            p
        })
        .collect();
    // Group consecutive recruits of one recruiter; give each group a departure date.
    let pre_lo = at(2022, 5, 1, 0, 0);
    let pre_hi = at(2022, 12, 20, 0, 0);
    let in_lo = at(2023, 1, 15, 0, 0);
    let in_hi = at(2023, 9, 30, 0, 0);
    let mut groups: Vec<(i64, Vec<usize>)> = Vec::new(); // (date, recruit indices)
    let mut i = 0;
    let n_prof = recruits.len() - peer_n;
    while i < n_prof {
        let r = recruits[i].1;
        let size = skewed(&mut cx.rng, 1, 8) as usize;
        let mut g = Vec::new();
        while i < n_prof && g.len() < size && recruits[i].1 == r {
            g.push(i);
            i += 1;
        }
        let date = if cx.rng.gen_bool(0.35) {
            cx.rng.gen_range(pre_lo..pre_hi)
        } else {
            cx.rng.gen_range(in_lo..in_hi)
        };
        groups.push((clock::midnight(date), g));
    }
    groups.sort_by_key(|(d, g)| (*d, g[0]));
    // Merge groups into crossing batches of 3–30 within a few days.
    struct Batch {
        night: i64,
        smuggler: u32,
        members: Vec<usize>,
    }
    let mut batches: Vec<Batch> = Vec::new();
    let mut gi = 0;
    while gi < groups.len() {
        let target = skewed(&mut cx.rng, 3, 30) as usize;
        let d0 = groups[gi].0;
        let mut members = Vec::new();
        while gi < groups.len() && (members.len() < target) && groups[gi].0 - d0 <= 4 * DAY {
            members.extend(groups[gi].1.iter().copied());
            gi += 1;
        }
        let smuggler = smugglers[skewed(&mut cx.rng, 0, (n_smug - 1) as u32) as usize];
        let night = groups[gi - 1].0 + 22 * HOUR + cx.rng.gen_range(0..5 * HOUR);
        batches.push(Batch {
            night,
            smuggler,
            members,
        });
    }
    let mut depart = vec![0i64; recruits.len()];
    let mut batch_of = vec![usize::MAX; recruits.len()];
    let mut smuggler_of = vec![0u32; recruits.len()];
    for (bi, b) in batches.iter().enumerate() {
        for &m in &b.members {
            depart[m] = b.night;
            batch_of[m] = bi;
            smuggler_of[m] = b.smuggler;
        }
    }
    // Peer recruits leave after their recruiter arrived, in small batches of their own.
    let mut pi = n_prof;
    while pi < recruits.len() {
        let size = skewed(&mut cx.rng, 1, 6) as usize;
        let end = (pi + size).min(recruits.len());
        let recruiter_idx = recruits
            .iter()
            .position(|x| x.0 == recruits[pi].1)
            .unwrap_or(0);
        let base = depart[recruiter_idx].max(in_lo);
        let night = clock::midnight(base + cx.rng.gen_range(30..150) * DAY)
            .min(at(2023, 10, 10, 0, 0))
            + 23 * HOUR
            + cx.rng.gen_range(0..4 * HOUR);
        let smuggler = smugglers[cx.rng.gen_range(0..n_smug)];
        let bi = batches.len();
        batches.push(Batch {
            night,
            smuggler,
            members: (pi..end).collect(),
        });
        for m in pi..end {
            depart[m] = night;
            batch_of[m] = bi;
            smuggler_of[m] = smuggler;
        }
        pi = end;
    }

    // ---- Organisation: teams, managers, companies --------------------------------------------
    let mut order: Vec<usize> = (0..recruits.len()).collect();
    order.sort_by_key(|&k| (depart[k], k));
    // Team leaders: experienced people from the earliest arrivals.
    let early = (recruits.len() * 2 / 5).max(n_teams).min(recruits.len());
    let mut early_pool: Vec<usize> = order[..early].to_vec();
    early_pool.shuffle(&mut cx.rng);
    let tl_idx: Vec<usize> = early_pool[..n_teams.min(early_pool.len())].to_vec();
    let tl_set: FxHashSet<usize> = tl_idx.iter().copied().collect();
    let rest: Vec<usize> = order
        .iter()
        .copied()
        .filter(|k| !tl_set.contains(k))
        .collect();
    let staff_idx: FxHashSet<usize> = {
        let mut r = rest.clone();
        r.shuffle(&mut cx.rng);
        r.into_iter().take(staff_n).collect()
    };
    let team_mgr: Vec<usize> = (0..n_teams).map(|t| t % n_mgr).collect();
    let mgr_company: Vec<usize> = (0..n_mgr).map(|m| m % n_heads).collect();
    let mut insiders: Vec<Insider> = Vec::new();
    let leader_arrive =
        |rng: &mut ChaCha8Rng| rng.gen_range(at(2021, 6, 1, 0, 0)..at(2022, 6, 1, 0, 0));
    let mk = |cx: &mut Ctx<'_>,
              p: u32,
              rank: u32,
              team: usize,
              manager: usize,
              company: usize,
              arrive: i64,
              depart: i64| {
        let work = cx.foreign();
        let handset = if cx.rng.gen_bool(0.6) && pop.phone(p, 0).is_some() {
            pop.handset(p, depart - DAY)
        } else {
            let k = cx.extra();
            ids::imei14(k)
        };
        Insider {
            p,
            rank,
            team,
            manager,
            company,
            arrive,
            depart,
            leave: T1 + 30 * DAY,
            work,
            work2: None,
            handset,
            shared: None,
            seized: false,
            recruiter: None,
            smuggler: None,
            batch: usize::MAX,
        }
    };
    let a = leader_arrive(&mut cx.rng);
    insiders.push(mk(
        &mut cx,
        boss,
        role::BOSS,
        usize::MAX,
        usize::MAX,
        usize::MAX,
        a,
        a - DAY,
    ));
    for (c, &h) in heads.iter().enumerate() {
        let a = leader_arrive(&mut cx.rng);
        insiders.push(mk(
            &mut cx,
            h,
            role::MANAGER,
            usize::MAX,
            usize::MAX,
            c,
            a,
            a - DAY,
        ));
    }
    for (m, &p) in managers.iter().enumerate() {
        let a = leader_arrive(&mut cx.rng) + cx.rng.gen_range(0..200) * DAY;
        insiders.push(mk(
            &mut cx,
            p,
            role::MANAGER,
            usize::MAX,
            m,
            mgr_company[m],
            a,
            a - DAY,
        ));
    }
    let mut team_size = vec![0usize; n_teams];
    for (t, &k) in tl_idx.iter().enumerate() {
        let (p, r, _) = recruits[k];
        let mut ins = mk(
            &mut cx,
            p,
            role::TEAM_LEADER,
            t,
            team_mgr[t],
            mgr_company[team_mgr[t]],
            depart[k] + DAY,
            depart[k],
        );
        ins.recruiter = Some(r);
        ins.smuggler = Some(smuggler_of[k]);
        ins.batch = batch_of[k];
        insiders.push(ins);
        team_size[t] += 1;
    }
    let mut last_batch_team: FxHashMap<usize, usize> = FxHashMap::default();
    for &k in &rest {
        let (p, r, _) = recruits[k];
        let staff = staff_idx.contains(&k);
        let team = if staff {
            usize::MAX
        } else if let Some(&t) = last_batch_team
            .get(&batch_of[k])
            .filter(|_| cx.rng.gen_bool(0.5))
        {
            t
        } else {
            // The smallest of three random teams.
            (0..3)
                .map(|_| cx.rng.gen_range(0..n_teams))
                .min_by_key(|&t| (team_size[t], t))
                .unwrap_or(0)
        };
        if team != usize::MAX {
            team_size[team] += 1;
            last_batch_team.insert(batch_of[k], team);
        }
        let (mgr, comp) = if team == usize::MAX {
            let c = cx.rng.gen_range(0..n_heads);
            (usize::MAX, c)
        } else {
            (team_mgr[team], mgr_company[team_mgr[team]])
        };
        let mut ins = mk(
            &mut cx,
            p,
            role::MEMBER,
            team,
            mgr,
            comp,
            depart[k] + DAY,
            depart[k],
        );
        ins.recruiter = Some(r);
        ins.smuggler = Some(smuggler_of[k]);
        ins.batch = batch_of[k];
        insiders.push(ins);
    }
    for ins in &insiders {
        cx.add_role(ins.p, ins.rank);
        cx.net.compound.push(ins.p);
    }
    for &(p, r, peer) in &recruits {
        let _ = p;
        if peer {
            cx.add_role(r, role::RECRUITER);
        }
    }

    // Shared team handsets: several SIMs in one phone.
    let team_handsets: Vec<u64> = (0..n_teams).map(|_| ids::imei14(cx.extra())).collect();
    for ins in &mut insiders {
        if ins.team != usize::MAX && cx.rng.gen_bool(0.3) {
            ins.shared = Some(team_handsets[ins.team]);
        }
        if cx.rng.gen_bool(0.25) {
            let switch = cx
                .rng
                .gen_range(ins.arrive.max(T0)..(ins.arrive.max(T0) + 200 * DAY));
            cx.next_foreign += 1;
            let ph = ids::foreign_mobile(cx.next_foreign, 95);
            ins.work2 = Some((ph, switch));
        }
    }

    // ---- Who came back, who was flagged, whose phones were seized -----------------------------
    let mut flag_w: Vec<(usize, f64)> = insiders
        .iter()
        .enumerate()
        .filter(|(_, x)| x.rank != role::BOSS)
        .map(|(i, x)| {
            let area = COUNTIES[pop.people[x.p as usize].county as usize].area;
            let mut w = if area == Area::Ganzhou { 2.2 } else { 0.8 };
            if x.rank == role::MANAGER {
                w *= 0.3;
            }
            (i, w * cx.rng.gen_range(0.0..1.0))
        })
        .collect();
    flag_w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let n_flag = (insiders.len() * 30 / 100).max(1);
    let flagged_idx: Vec<usize> = flag_w.iter().take(n_flag).map(|x| x.0).collect();
    let flagged_set: FxHashSet<usize> = flagged_idx.iter().copied().collect();
    for &i in &flagged_idx {
        let x = cx.rng.gen_range(0..100);
        let st = match x {
            0..=74 => Flagged::Returned(
                cx.rng
                    .gen_range(at(2023, 10, 20, 0, 0)..at(2023, 12, 15, 0, 0)),
            ),
            75..=94 => Flagged::Persuaded(
                cx.rng
                    .gen_range(at(2023, 9, 1, 0, 0)..at(2024, 1, 20, 0, 0)),
            ),
            _ => Flagged::Abroad(
                cx.rng
                    .gen_range(at(2023, 9, 1, 0, 0)..at(2023, 12, 31, 0, 0)),
            ),
        };
        let ins = &mut insiders[i];
        match st {
            Flagged::Returned(t) => {
                ins.leave = t;
                ins.seized = true;
            }
            Flagged::Persuaded(t) => ins.leave = t,
            Flagged::Abroad(_) => {}
        }
        cx.net.flagged.push((ins.p, st));
    }
    for (i, ins) in insiders.iter_mut().enumerate() {
        if flagged_set.contains(&i) || ins.rank == role::BOSS {
            continue;
        }
        if cx.rng.gen_bool(0.35) {
            ins.leave = cx
                .rng
                .gen_range(at(2023, 10, 1, 0, 0)..at(2024, 1, 25, 0, 0));
            ins.seized = cx.rng.gen_bool(0.5);
        } else if ins.rank == role::MANAGER || ins.rank == role::TEAM_LEADER {
            ins.seized = cx.rng.gen_bool(0.3);
        }
    }
    for ins in &insiders {
        cx.net
            .dark
            .insert(ins.p, (ins.depart.min(T0 + 1).min(ins.depart), ins.leave));
        if ins.seized && cx.net.flagged.iter().any(|f| f.0 == ins.p) {
            cx.net.seized_devices.insert(ins.p, ins.handset);
        }
    }
    // The dark interval starts at departure (or before the records for early leavers).
    for ins in &insiders {
        cx.net.dark.insert(ins.p, (ins.depart, ins.leave));
    }

    // ---- The seed: an ordinary flagged member who returned, reachable by phone ----------------
    let seed_idx = flagged_idx
        .iter()
        .copied()
        .filter(|&i| {
            let x = &insiders[i];
            x.rank == role::MEMBER
                && x.team != usize::MAX
                && x.depart > T0 + 20 * DAY
                && pop.phone(x.p, 0).is_some()
                && matches!(
                    cx.net.flagged.iter().find(|f| f.0 == x.p),
                    Some((_, Flagged::Returned(_)))
                )
        })
        .min_by_key(|&i| {
            let x = &insiders[i];
            let ningdu_first = u32::from(pop.people[x.p as usize].county as usize != ningdu[0]);
            (ningdu_first, mix2(seed, x.p.into()))
        })
        .or_else(|| flagged_idx.first().copied())
        .unwrap_or(0);
    let seed_p = insiders[seed_idx].p;
    cx.net.seed = seed_p;
    let seed_phone = match pop.phone(seed_p, 0) {
        Some(ph) => ph,
        None => cx.new_sim(seed_p),
    };
    cx.net.seed_phone = seed_phone;

    // ---- Recruiting calls, smuggling night, per-head pay ---------------------------------------
    let insider_of: FxHashMap<u32, usize> =
        insiders.iter().enumerate().map(|(i, x)| (x.p, i)).collect();
    let fin_accounts: Vec<(u64, Holder)> = {
        let mut v = Vec::new();
        for &f in &financiers {
            let n = cx.rng.gen_range(1..=3);
            for _ in 0..n {
                let holder = if cx.rng.gen_bool(0.3) {
                    pop.family(f)
                        .find(|&q| pop.people[q as usize].age() >= 18)
                        .unwrap_or(f)
                } else {
                    f
                };
                v.push(cx.new_card(holder));
            }
        }
        v
    };
    cx.net.financier_accounts = fin_accounts.iter().map(|a| a.0).collect();
    // Managers run bank cards of their own (mobile banking from abroad).
    let mgr_accounts: Vec<(u64, Holder)> = heads
        .iter()
        .chain(&managers)
        .map(|&m| cx.account_of(m))
        .collect();
    let recruiter_rate: FxHashMap<u32, i64> = recruiters
        .iter()
        .map(|&r| {
            (
                r,
                [3000i64, 5000, 8000, 10_000, 10_000, 12_000, 15_000, 20_000]
                    [cx.rng.gen_range(0..8)],
            )
        })
        .collect();
    let mut pay_groups: FxHashMap<(u32, usize), Vec<u32>> = FxHashMap::default();
    for ins in insiders.iter().filter(|x| x.recruiter.is_some()) {
        let r = ins.recruiter.unwrap_or(0);
        let peer = insider_of.contains_key(&r);
        // Calls before departure.
        if ins.depart > T0 + 3 * DAY {
            let n = cx.rng.gen_range(2..=8);
            for _ in 0..n {
                let t = clock::ordinary(
                    &mut cx.rng,
                    (ins.depart - 30 * DAY).max(T0),
                    ins.depart - 6 * HOUR,
                );
                let d = cx.duration(150.0);
                if peer {
                    let rr = &insiders[insider_of[&r]];
                    let (work, hs) = (rr.work, rr.handset);
                    if let Some(ph) = pop.phone(ins.p, 0) {
                        let mut c = Call::new(work, ph, t, d);
                        c.imei_a = hs;
                        c.imei_b = pop.handset(ins.p, t);
                        c.cell_b = pop.cell(ins.p, t as u64);
                        cx.call(c);
                    }
                } else if cx.rng.gen_bool(0.7) {
                    cx.person_call(r, ins.p, t, d);
                } else {
                    cx.person_call(ins.p, r, t, d);
                }
            }
        }
        pay_groups.entry((r, ins.batch)).or_default().push(ins.p);
    }
    let mut pay_keys: Vec<(u32, usize)> = pay_groups.keys().copied().collect();
    pay_keys.sort_unstable();
    for key in pay_keys {
        let (r, bi) = key;
        let heads_n = pay_groups[&key].len() as i64;
        let arrive = batches.get(bi).map_or(T0, |b| b.night + DAY);
        let t = arrive + cx.rng.gen_range(3..20) * DAY + cx.rng.gen_range(9 * HOUR..22 * HOUR);
        if !(T0..T1).contains(&t) {
            continue;
        }
        let peer = insider_of.contains_key(&r);
        let rate = if peer {
            3000
        } else {
            recruiter_rate.get(&r).copied().unwrap_or(8000)
        };
        let payer = if cx.rng.gen_bool(0.5) {
            fin_accounts[cx.rng.gen_range(0..fin_accounts.len())]
        } else {
            mgr_accounts[cx.rng.gen_range(0..mgr_accounts.len())]
        };
        let payee = if peer {
            // A member's bonus goes home.
            let fam = pop
                .family(r)
                .find(|&q| pop.account(q, 0).is_some())
                .unwrap_or(r);
            cx.account_of(fam)
        } else {
            cx.account_of(r)
        };
        cx.tx(
            payer,
            payee,
            rate * heads_n * 100,
            t,
            channel::MOBILE,
            memo::TRANSFER,
        );
    }
    // Smuggling nights: calls to each member of the batch, last domestic calls from border cells.
    let border_villages: Vec<u32> = pop
        .villages
        .iter()
        .enumerate()
        .filter(|(_, v)| COUNTIES[v.county as usize].area == Area::Border)
        .map(|(i, _)| i as u32)
        .collect();
    for b in &batches {
        if b.night < T0 || b.night >= T1 {
            continue;
        }
        let bv = border_villages
            .get((b.night as usize / 7) % border_villages.len().max(1))
            .copied();
        let cell = bv.map_or((9999, 1), |v| {
            (
                pop.villages[v as usize].lac,
                50_000 + (b.night.rem_euclid(7)) as u32,
            )
        });
        for &m in &b.members {
            let p = recruits[m].0;
            let Some(ph) = pop.phone(p, 0) else { continue };
            let Some(sp) = pop.phone(b.smuggler, 0) else {
                continue;
            };
            for k in 0..cx.rng.gen_range(1..=2) {
                let t = b.night - cx.rng.gen_range(1..6) * HOUR + k * 600;
                let mut c = Call::new(sp, ph, t, cx.rng.gen_range(20..120));
                c.imei_a = pop.handset(b.smuggler, t);
                c.cell_a = cell;
                c.imei_b = pop.handset(p, t);
                c.cell_b = cell;
                cx.call(c);
            }
            // A last call home from the border.
            if let Some(f) = pop.family(p).find(|&q| pop.phone(q, 0).is_some()) {
                let t = b.night - cx.rng.gen_range(1..3) * HOUR;
                if let Some(fp) = pop.phone(f, 0) {
                    let mut c = Call::new(ph, fp, t, cx.rng.gen_range(30..400));
                    c.imei_a = pop.handset(p, t);
                    c.cell_a = cell;
                    c.imei_b = pop.handset(f, t);
                    c.cell_b = pop.cell(f, 1);
                    cx.call(c);
                }
            }
        }
        // The smuggler and the recruiters of the batch arrange it.
        let mut recs: Vec<u32> = b
            .members
            .iter()
            .map(|&m| recruits[m].1)
            .filter(|r| !insider_of.contains_key(r))
            .collect();
        recs.sort_unstable();
        recs.dedup();
        for r in recs {
            for _ in 0..cx.rng.gen_range(1..=3) {
                let t =
                    b.night - cx.rng.gen_range(1..5) * DAY + cx.rng.gen_range(9 * HOUR..21 * HOUR);
                let d = cx.duration(120.0);
                cx.person_call(r, b.smuggler, t, d);
            }
        }
        // Travel and hotel records for some batches.
        if cx.rng.gen_bool(0.5) {
            let src = if cx.rng.gen_bool(0.5) {
                "铁路购票记录"
            } else {
                "旅馆业住宿登记"
            };
            let kind = if src == "旅馆业住宿登记" {
                "met_in_hotel"
            } else {
                "travelled_with"
            };
            for w in b.members.windows(2) {
                let (x, y) = (recruits[w[0]].0, recruits[w[1]].0);
                let t = b.night - cx.rng.gen_range(1..2) * DAY;
                let (fx, fy) = (cx.pref(x), cx.pref(y));
                cx.link(fx, fy, kind, Some(t), src);
            }
        }
    }
    // Caught smugglers' case files list everyone they took across.
    let caught: FxHashSet<u32> = smugglers
        .iter()
        .copied()
        .filter(|_| cx.rng.gen_bool(0.5))
        .collect();
    for b in &batches {
        if caught.contains(&b.smuggler) {
            for &m in &b.members {
                let (s, p) = (cx.pref(b.smuggler), cx.pref(recruits[m].0));
                cx.link(s, p, "smuggled", Some(b.night), "边境管理大队案卷");
            }
        }
    }

    // ---- Calls inside the compound, visible on seized handsets ---------------------------------
    let mut by_team: Vec<Vec<usize>> = vec![Vec::new(); n_teams];
    let mut tl_of = vec![usize::MAX; n_teams];
    let mut mgr_ins = vec![usize::MAX; n_mgr];
    let mut head_ins = vec![usize::MAX; n_heads];
    for (i, x) in insiders.iter().enumerate() {
        if x.team != usize::MAX {
            by_team[x.team].push(i);
            if x.rank == role::TEAM_LEADER {
                tl_of[x.team] = i;
            }
        }
        if x.rank == role::MANAGER && x.manager != usize::MAX {
            mgr_ins[x.manager] = i;
        } else if x.rank == role::MANAGER {
            head_ins[x.company] = i;
        }
    }
    let boss_i = 0usize;
    let mut pairs: Vec<(usize, usize, u32)> = Vec::new();
    for (i, x) in insiders.iter().enumerate() {
        match x.rank {
            role::MEMBER if x.team != usize::MAX => {
                let tl = tl_of[x.team];
                if tl != usize::MAX {
                    pairs.push((i, tl, skewed(&mut cx.rng, 3, 30)));
                }
                let mates = &by_team[x.team];
                for _ in 0..cx.rng.gen_range(2..=5) {
                    let j = mates[cx.rng.gen_range(0..mates.len())];
                    if j != i {
                        pairs.push((i, j, skewed(&mut cx.rng, 1, 8)));
                    }
                }
                if cx.rng.gen_bool(0.3) && mgr_ins[x.manager] != usize::MAX {
                    pairs.push((i, mgr_ins[x.manager], skewed(&mut cx.rng, 1, 3)));
                }
            }
            role::MEMBER => {
                // Staff: IT, finance, HR, security.
                if head_ins[x.company] != usize::MAX {
                    pairs.push((i, head_ins[x.company], skewed(&mut cx.rng, 3, 12)));
                }
                pairs.push((i, boss_i, skewed(&mut cx.rng, 1, 4)));
                for _ in 0..cx.rng.gen_range(2..=6) {
                    let j = cx.rng.gen_range(0..insiders.len());
                    if j != i {
                        pairs.push((i, j, skewed(&mut cx.rng, 1, 3)));
                    }
                }
            }
            role::TEAM_LEADER => {
                if mgr_ins[x.manager] != usize::MAX {
                    pairs.push((i, mgr_ins[x.manager], skewed(&mut cx.rng, 5, 25)));
                }
                let j = tl_of[cx.rng.gen_range(0..n_teams)];
                if j != i && j != usize::MAX {
                    pairs.push((i, j, skewed(&mut cx.rng, 1, 5)));
                }
            }
            role::MANAGER if x.manager != usize::MAX => {
                if head_ins[x.company] != usize::MAX {
                    pairs.push((i, head_ins[x.company], skewed(&mut cx.rng, 5, 25)));
                }
                let j = mgr_ins[cx.rng.gen_range(0..n_mgr)];
                if j != i && j != usize::MAX {
                    pairs.push((i, j, skewed(&mut cx.rng, 1, 4)));
                }
            }
            role::MANAGER => {
                pairs.push((i, boss_i, skewed(&mut cx.rng, 5, 20)));
                let j = head_ins[cx.rng.gen_range(0..n_heads)];
                if j != i && j != usize::MAX {
                    pairs.push((i, j, skewed(&mut cx.rng, 1, 4)));
                }
            }
            _ => {}
        }
        // Fellow villagers in other teams.
        if x.team != usize::MAX && cx.rng.gen_bool(0.25) {
            let v = pop.people[x.p as usize].village;
            if let Some(j) = (0..8)
                .map(|_| cx.rng.gen_range(0..insiders.len()))
                .find(|&j| j != i && pop.people[insiders[j].p as usize].village == v)
            {
                pairs.push((i, j, skewed(&mut cx.rng, 1, 5)));
            }
        }
    }
    let work_at = |x: &Insider, t: i64| match x.work2 {
        Some((ph, s)) if t >= s => ph,
        _ => x.work,
    };
    for (i, j, n) in pairs {
        let (x, y) = (&insiders[i], &insiders[j]);
        let lo = x.arrive.max(y.arrive).max(T0);
        let hi = x.leave.min(y.leave).min(HANDOVER);
        if hi - lo < DAY || !(x.seized || y.seized) {
            continue;
        }
        for k in 0..n {
            let t = clock::ordinary(&mut cx.rng, lo, hi);
            let (a, b) = if k % 3 == 2 { (y, x) } else { (x, y) };
            let ha = match a.shared {
                Some(s) if cx.rng.gen_bool(0.3) => s,
                _ => a.handset,
            };
            let mut c = Call::new(work_at(a, t), work_at(b, t), t, cx.duration(70.0));
            c.imei_a = ha;
            c.imei_b = b.handset;
            for side in [a, b] {
                if side.seized {
                    c.src = Src::Seized(side.handset);
                    cx.net.calls.push(c);
                }
            }
        }
    }
    // Calls home from the work numbers, carried by the domestic side's carrier.
    for x in insiders.iter() {
        if !cx.rng.gen_bool(0.6) {
            continue;
        }
        let fam: Vec<u32> = pop
            .family(x.p)
            .filter(|&q| pop.phone(q, 0).is_some())
            .collect();
        if fam.is_empty() {
            continue;
        }
        let lo = x.arrive.max(T0);
        let hi = x.leave.min(T1);
        let months = ((hi - lo) / (30 * DAY)).max(0);
        // Some keep their domestic SIM on international roaming: not every number goes dark.
        let roaming = pop.phone(x.p, 0).filter(|_| cx.rng.gen_bool(0.1));
        for _ in 0..months * i64::from(cx.rng.gen_range(1..=3u32)) {
            let t = clock::ordinary(&mut cx.rng, lo, hi);
            let f = fam[cx.rng.gen_range(0..fam.len())];
            let Some(fp) = pop.phone(f, 0) else { continue };
            let own = match roaming {
                Some(ph) if cx.rng.gen_bool(0.4) => ph,
                _ => work_at(x, t),
            };
            let c = Call::new(own, fp, t, cx.duration(240.0));
            cx.work_call(c, x.handset, f, t as u64, 0.25);
        }
    }
    // The boss and the managers talk to the financiers and the recruiters at home.
    let boss_x = insiders[boss_i].clone();
    for &f in &financiers {
        let n = cx.rng.gen_range(10..40);
        for _ in 0..n {
            let t = clock::ordinary(&mut cx.rng, T0, HANDOVER);
            let Some(fp) = pop.phone(f, 0) else { continue };
            let c = Call::new(work_at(&boss_x, t), fp, t, cx.duration(200.0));
            cx.work_call(c, boss_x.handset, f, 0, 0.4);
        }
        for &g in &financiers {
            if g > f {
                for _ in 0..cx.rng.gen_range(2..12) {
                    let t = clock::ordinary(&mut cx.rng, T0, T1);
                    let d = cx.duration(180.0);
                    cx.person_call(f, g, t, d);
                }
            }
        }
    }
    for (mi, &m) in managers.iter().enumerate() {
        let x = insiders[insider_of[&m]].clone();
        // The recruiters whose people went to this manager's teams.
        let mut recs: Vec<u32> = insiders
            .iter()
            .filter(|y| {
                y.manager == mi && y.recruiter.is_some_and(|r| !insider_of.contains_key(&r))
            })
            .filter_map(|y| y.recruiter)
            .collect();
        recs.sort_unstable();
        recs.dedup();
        for r in recs {
            let Some(rp) = pop.phone(r, 0) else { continue };
            for _ in 0..cx.rng.gen_range(2..10) {
                let t = clock::ordinary(&mut cx.rng, x.arrive.max(T0), x.leave.min(HANDOVER));
                let c = Call::new(work_at(&x, t), rp, t, cx.duration(150.0));
                cx.work_call(c, x.handset, r, 0, 0.5);
            }
        }
    }

    // ---- Laundering crew, U-dealers, cash-out crew ---------------------------------------------
    let gd: Vec<usize> = counties_where(|c| matches!(c.code, 440_306 | 440_111 | 441_900));
    let crew_boss = cx.pick(&gd, &with_phone(adult(26, 50, 0.9, seed + 7)));
    let mut operators = vec![crew_boss];
    for _ in 0..cx.rng.gen_range(4..=8) {
        let p = cx.pick(
            &[gd.clone(), fujian.clone()].concat(),
            &with_phone(adult(20, 45, 0.8, seed + 8)),
        );
        operators.push(p);
    }
    let dealers: Vec<u32> = (0..cx.rng.gen_range(3..=5))
        .map(|_| {
            cx.pick(
                &[gd.clone(), fujian.clone(), city.clone()].concat(),
                &with_phone(adult(22, 50, 0.8, seed + 9)),
            )
        })
        .collect();
    let cashers: Vec<u32> = (0..cx.rng.gen_range(3..=6))
        .map(|_| {
            cx.pick(
                &[gd.clone(), border.clone()].concat(),
                &with_phone(adult(18, 40, 0.9, seed + 10)),
            )
        })
        .collect();
    for &p in operators.iter().chain(&dealers).chain(&cashers) {
        cx.add_role(p, role::LAUNDERER);
    }
    let op_ip: Vec<(u32, u64)> = operators
        .iter()
        .map(|&p| {
            let h = mix2(seed, u64::from(p));
            (
                ((113u32 << 24) | (h as u32 & 0x00FF_FFFF)),
                0x00E0_4C00_0000 | (h >> 40),
            )
        })
        .collect();
    for &f in &financiers {
        for _ in 0..cx.rng.gen_range(5..15) {
            let t = clock::ordinary(&mut cx.rng, T0, T1);
            let d = cx.duration(150.0);
            cx.person_call(crew_boss, f, t, d);
        }
    }
    for &o in &operators[1..] {
        for _ in 0..cx.rng.gen_range(10..40) {
            let t = clock::ordinary(&mut cx.rng, T0, T1);
            let d = cx.duration(100.0);
            cx.person_call(crew_boss, o, t, d);
        }
    }
    for &d in dealers.iter().chain(&cashers) {
        for _ in 0..cx.rng.gen_range(3..12) {
            let t = clock::ordinary(&mut cx.rng, T0, T1);
            let dd = cx.duration(90.0);
            let o = operators[cx.rng.gen_range(0..operators.len())];
            cx.person_call(o, d, t, dd);
        }
    }

    // ---- Card farmers: villages in a few counties sell cards and SIMs ---------------------------
    let mut farmer_counties = rural.clone();
    farmer_counties.shuffle(&mut cx.rng);
    farmer_counties.truncate(3);
    farmer_counties.extend(ganzhou.iter().take(1));
    let mut farmer_villages: Vec<u32> = Vec::new();
    for &ci in &farmer_counties {
        let vs: Vec<u32> = pop
            .villages
            .iter()
            .enumerate()
            .filter(|(_, v)| v.county as usize == ci)
            .map(|(i, _)| i as u32)
            .collect();
        for _ in 0..cx.rng.gen_range(2..=5) {
            if let Some(&v) = vs.get(cx.rng.gen_range(0..vs.len().max(1))) {
                farmer_villages.push(v);
            }
        }
    }
    farmer_villages.sort_unstable();
    farmer_villages.dedup();
    let farmer_ok = adult(18, 66, 0.0, seed + 11);
    // A supply of cards: each comes from a farmer in one of the villages, sold some days earlier.
    struct Supply {
        farmers: Vec<(u32, u32)>, // (person, cards left)
    }
    let mut supply = Supply {
        farmers: Vec::new(),
    };
    let mut farmer_list: Vec<u32> = Vec::new();
    let mut sim_count: FxHashMap<u32, u32> = FxHashMap::default();
    let mut card_owner: FxHashMap<u64, u32> = FxHashMap::default();
    let mut get_card =
        |cx: &mut Ctx<'_>, use_at: i64, farmer_list: &mut Vec<u32>| -> (u64, Holder) {
            if supply.farmers.last().is_none_or(|f| f.1 == 0) {
                let v = if farmer_villages.is_empty() {
                    None
                } else {
                    Some(farmer_villages[cx.rng.gen_range(0..farmer_villages.len())])
                };
                let p = v
                    .and_then(|v| {
                        let vv = &pop.villages[v as usize];
                        cx.pick_in((vv.start, vv.end), &farmer_ok)
                    })
                    .unwrap_or_else(|| cx.pick(&farmer_counties, &farmer_ok));
                cx.add_role(p, role::CARD_FARMER);
                farmer_list.push(p);
                let n = skewed(&mut cx.rng, 1, 3);
                supply.farmers.push((p, n));
                // The sale: a call or two from the crew, a small payment.
                let sale = use_at - cx.rng.gen_range(2..30) * DAY;
                let o = operators[cx.rng.gen_range(0..operators.len())];
                for _ in 0..cx.rng.gen_range(1..=3) {
                    let t = sale - cx.rng.gen_range(0..3 * DAY);
                    let d = cx.duration(60.0);
                    cx.person_call(o, p, t, d);
                }
                let sims = cx.rng.gen_range(0..=3);
                for _ in 0..sims {
                    cx.new_sim(p);
                }
                *sim_count.entry(p).or_insert(0) += sims;
                if cx.rng.gen_bool(0.5) && sale > T0 {
                    let price =
                        (i64::from(n) * cx.rng.gen_range(150..=300) + i64::from(sims) * 100) * 100;
                    let from = cx.account_of(o);
                    let to = cx.account_of(p);
                    cx.tx(from, to, price, sale, channel::MOBILE, memo::TRANSFER);
                }
            }
            let last = supply.farmers.len() - 1;
            supply.farmers[last].1 -= 1;
            let p = supply.farmers[last].0;
            cx.add_role(p, role::MULE);
            let card = cx.new_card(p);
            // Each card is sold with a SIM for its text messages.
            cx.new_sim(p);
            card_owner.insert(card.0, p);
            card
        };

    // ---- Victims and their payments -------------------------------------------------------------
    let victim_ok =
        |x: &Person| (20..=78).contains(&x.age()) && x.has(flag::PHONE) && x.has(flag::ACCOUNT);
    let mut victims: Vec<u32> = Vec::new();
    for _ in 0..scale.victims {
        let cs = if cx.rng.gen_bool(0.7) { &city } else { &all };
        let p = cx.pick(cs, &victim_ok);
        victims.push(p);
    }
    let mut payments: Vec<(i64, u32, i64)> = Vec::new(); // (time, victim, fen)
    let mut first_contact: FxHashMap<u32, i64> = FxHashMap::default();
    for &v in &victims {
        let t0 = cx
            .rng
            .gen_range(at(2023, 3, 1, 0, 0)..at(2023, 10, 15, 0, 0));
        first_contact.insert(v, t0);
        let k = skewed(&mut cx.rng, 1, 6);
        let mut t = t0 + cx.rng.gen_range(2..20) * DAY;
        let mut amt = lognormal(&mut cx.rng, 3000.0, 0.8);
        let mut total = 0i64;
        for _ in 0..k {
            let t_pay = clock::midnight(t) + clock::day_seconds(&mut cx.rng).max(8 * HOUR);
            if t_pay >= at(2023, 11, 10, 0, 0) {
                break;
            }
            let yuan = amt.min(2_000_000.0);
            let fen = if cx.rng.gen_bool(0.6) {
                ((yuan / 100.0).round().max(1.0) as i64) * 100 * 100
            } else {
                (yuan * 100.0) as i64
            };
            payments.push((t_pay, v, fen));
            total += fen;
            t += cx.rng.gen_range(1..12) * DAY;
            amt *= cx.rng.gen_range(1.3..3.5);
        }
        cx.add_role(v, role::VICTIM);
        cx.net.victim_loss.insert(v, total);
    }
    payments.sort_unstable();
    let span_days = ((at(2023, 11, 10, 0, 0) - at(2023, 3, 3, 0, 0)) / DAY) as f64;
    let per_day = payments.len() as f64 / span_days;
    let conc1 = ((per_day * 7.5 / 14.0).round() as usize).max(1);

    // Account pools: open accounts with windows, picked at random among the active.
    #[derive(Clone)]
    struct Pool {
        open: Vec<(u64, Holder, i64, i64, u32, u32)>, // acct, holder, start, end, used, cap
        all: Vec<(u64, Holder)>,
    }
    let mut l1 = Pool {
        open: Vec::new(),
        all: Vec::new(),
    };
    let mut l2 = Pool {
        open: Vec::new(),
        all: Vec::new(),
    };
    let mut l3 = Pool {
        open: Vec::new(),
        all: Vec::new(),
    };
    let mut operator_of: FxHashMap<u64, usize> = FxHashMap::default();
    let mut take = |cx: &mut Ctx<'_>,
                    pool: &mut Pool,
                    t: i64,
                    conc: usize,
                    days: (i64, i64),
                    cap: (u32, u32),
                    farmer_list: &mut Vec<u32>,
                    operator_of: &mut FxHashMap<u64, usize>|
     -> (u64, Holder) {
        pool.open
            .retain(|a| !((t > a.3 && a.4 >= cap.0) || t > a.2 + days.1 * DAY || a.4 >= a.5));
        if pool.open.len() < conc {
            let card = get_card(cx, t, farmer_list);
            let end = t + cx.rng.gen_range(days.0..=days.1) * DAY;
            let c = cx.rng.gen_range(cap.0..=cap.1);
            pool.open.push((card.0, card.1, t, end, 0, c));
            pool.all.push(card);
            operator_of.insert(card.0, cx.rng.gen_range(0..operators.len()));
        }
        let i = cx.rng.gen_range(0..pool.open.len());
        pool.open[i].4 += 1;
        (pool.open[i].0, pool.open[i].1)
    };
    // Money moves as events: inflows pile up in an account until it flushes onwards.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        /// A victim pays into a first-level account.
        Victim(u32, i64),
        /// Another client of the crew (an unrelated gambling racket) pays into a second-level account.
        Other(i64),
        Flush(u8, u64),
    }
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    for &(t, v, fen) in &payments {
        seq += 1;
        heap.push(Reverse((t, seq, Ev::Victim(v, fen))));
    }
    let n_other = payments.len() / 5;
    for _ in 0..n_other {
        seq += 1;
        let t = cx
            .rng
            .gen_range(at(2023, 3, 10, 0, 0)..at(2023, 11, 5, 0, 0));
        let fen = (lognormal(&mut cx.rng, 4000.0, 0.9) * 100.0) as i64;
        heap.push(Reverse((t, seq, Ev::Other(fen))));
    }
    // pending per account: (ours, theirs, level, holder)
    let mut pending: FxHashMap<u64, (i64, i64, Holder)> = FxHashMap::default();
    let mut scheduled: FxHashSet<u64> = FxHashSet::default();
    let dealer_acc: Vec<(u64, Holder)> = dealers.iter().map(|&d| cx.account_of(d)).collect();
    let casher_acc: Vec<(u64, Holder)> = cashers.iter().map(|&d| cx.account_of(d)).collect();
    // The unrelated racket's own collection accounts.
    let other_sinks: Vec<(u64, Holder)> = (0..3)
        .map(|_| {
            let p = cx.pick(&rural, &farmer_ok);
            cx.new_card(p)
        })
        .collect();
    let gamblers: Vec<u32> = (0..(payments.len() / 10).max(5))
        .map(|_| cx.rng.gen_range(0..pop.len() as u32))
        .filter(|&p| pop.account(p, 0).is_some())
        .collect();
    let mut dealer_in: Vec<Vec<(i64, i64)>> = vec![Vec::new(); dealer_acc.len()];
    let mut victim_l1: Vec<(u32, u64, i64)> = Vec::new();
    let conc2 = conc1.div_ceil(3).max(1);
    let conc3 = conc1.div_ceil(5).max(1);
    let cgnat = |h: u64| (100u32 << 24) | (64 << 16) | ((h as u32) & 0x3F_FFFF);
    while let Some(Reverse((t, _, ev))) = heap.pop() {
        match ev {
            Ev::Victim(v, fen) => {
                let acct = take(
                    &mut cx,
                    &mut l1,
                    t,
                    conc1,
                    (1, 14),
                    (3, 30),
                    &mut farmer_list,
                    &mut operator_of,
                );
                let from = (pop.account(v, 0).unwrap_or(0), Holder::Person(v));
                let ch = if cx.rng.gen_bool(0.7) {
                    channel::MOBILE
                } else {
                    channel::ONLINE
                };
                cx.tx(from, acct, fen, t, ch, memo::TRANSFER);
                if let Some(last) = cx.net.txs.last_mut() {
                    last.ip = (mix2(seed, u64::from(v)) as u32 & 0x00FF_FFFF) | (36 << 24);
                }
                victim_l1.push((v, acct.0, t));
                let e = pending.entry(acct.0).or_insert((0, 0, acct.1));
                e.0 += fen;
                if scheduled.insert(acct.0) {
                    seq += 1;
                    let d = cx.rng.gen_range(2 * MINUTE..45 * MINUTE);
                    heap.push(Reverse((t + d, seq, Ev::Flush(1, acct.0))));
                }
            }
            Ev::Other(fen) => {
                if gamblers.is_empty() {
                    continue;
                }
                let g = gamblers[cx.rng.gen_range(0..gamblers.len())];
                let acct = take(
                    &mut cx,
                    &mut l2,
                    t,
                    conc2,
                    (5, 25),
                    (10, 200),
                    &mut farmer_list,
                    &mut operator_of,
                );
                let from = (pop.account(g, 0).unwrap_or(0), Holder::Person(g));
                cx.tx(from, acct, fen, t, channel::THIRD_PARTY, memo::TOPUP);
                let e = pending.entry(acct.0).or_insert((0, 0, acct.1));
                e.1 += fen;
                if scheduled.insert(acct.0) {
                    seq += 1;
                    let d = cx.rng.gen_range(10 * MINUTE..3 * HOUR);
                    heap.push(Reverse((t + d, seq, Ev::Flush(2, acct.0))));
                }
            }
            Ev::Flush(level, a) => {
                scheduled.remove(&a);
                let Some((ours, theirs, holder)) = pending.remove(&a) else {
                    continue;
                };
                let op = operator_of.get(&a).copied().unwrap_or(0);
                let (ip, mac) = op_ip[op];
                let ip = if cx.rng.gen_bool(0.2) {
                    cgnat(mix2(t as u64, a))
                } else {
                    ip
                };
                let mut tt = t;
                let send = |cx: &mut Ctx<'_>, to: (u64, Holder), amount: i64, tt: i64| {
                    cx.tx((a, holder), to, amount, tt, channel::ONLINE, memo::ONLINE);
                    if let Some(last) = cx.net.txs.last_mut() {
                        last.ip = ip;
                        last.mac = mac;
                    }
                };
                if theirs > 0 {
                    let out = theirs - theirs * cx.rng.gen_range(10..30) / 1000;
                    tt += cx.rng.gen_range(30..600);
                    let s = other_sinks[cx.rng.gen_range(0..other_sinks.len())];
                    send(&mut cx, s, out, tt);
                }
                if ours <= 0 {
                    continue;
                }
                let fee = ours * cx.rng.gen_range(10..=30) / 1000;
                let total = ours - fee;
                if level == 3 {
                    let x = cx.rng.gen_range(0..100);
                    tt += cx.rng.gen_range(60..1800);
                    if x < 60 {
                        let f = fin_accounts[cx.rng.gen_range(0..fin_accounts.len())];
                        send(&mut cx, f, total, tt);
                    } else if x < 85 {
                        let d = cx.rng.gen_range(0..dealer_acc.len());
                        send(&mut cx, dealer_acc[d], total, tt);
                        dealer_in[d].push((tt, total));
                    } else {
                        let c = casher_acc[cx.rng.gen_range(0..casher_acc.len())];
                        send(&mut cx, c, total, tt);
                    }
                    continue;
                }
                let m = if level == 1 {
                    cx.rng.gen_range(2..=6)
                } else {
                    cx.rng.gen_range(1..=3)
                };
                let mut weights: Vec<i64> = (0..m).map(|_| cx.rng.gen_range(50..150)).collect();
                let wsum: i64 = weights.iter().sum();
                let mut left = total;
                let n_w = weights.len();
                for (k, w) in weights.iter_mut().enumerate() {
                    let piece = if k + 1 == n_w {
                        left
                    } else {
                        total * *w / wsum
                    };
                    left -= piece;
                    if piece <= 0 {
                        continue;
                    }
                    tt += cx.rng.gen_range(20..600);
                    let to = if level == 1 {
                        take(
                            &mut cx,
                            &mut l2,
                            tt,
                            conc2,
                            (5, 25),
                            (10, 200),
                            &mut farmer_list,
                            &mut operator_of,
                        )
                    } else {
                        take(
                            &mut cx,
                            &mut l3,
                            tt,
                            conc3,
                            (7, 30),
                            (10, 300),
                            &mut farmer_list,
                            &mut operator_of,
                        )
                    };
                    send(&mut cx, to, piece, tt);
                    let e = pending.entry(to.0).or_insert((0, 0, to.1));
                    e.0 += piece;
                    if scheduled.insert(to.0) {
                        seq += 1;
                        let d = if level == 1 {
                            cx.rng.gen_range(10 * MINUTE..3 * HOUR)
                        } else {
                            cx.rng.gen_range(30 * MINUTE..12 * HOUR)
                        };
                        heap.push(Reverse((tt + d, seq, Ev::Flush(level + 1, to.0))));
                    }
                }
            }
        }
    }
    cx.net.l1 = l1.all.iter().map(|a| a.0).collect();
    cx.net
        .other_accounts
        .push(("mule_accounts_level2", l2.all.iter().map(|a| a.0).collect()));
    cx.net
        .other_accounts
        .push(("mule_accounts_level3", l3.all.iter().map(|a| a.0).collect()));
    cx.net.other_accounts.push((
        "usdt_dealer_accounts",
        dealer_acc.iter().map(|a| a.0).collect(),
    ));
    cx.net.other_accounts.push((
        "cash_out_accounts",
        casher_acc.iter().map(|a| a.0).collect(),
    ));

    // ---- Reaching the victims: GOIP boxes and work numbers --------------------------------------
    let n_goip = (scale.victims / 400).clamp(1, 60);
    let goip_places: Vec<u32> = (0..n_goip)
        .map(|_| {
            let cs = if cx.rng.gen_bool(0.5) { &gd } else { &ganzhou };
            let ci = cs[cx.rng.gen_range(0..cs.len())];
            let (s, e) = pop.county_ranges[ci];
            pop.people[cx.rng.gen_range(s..e.max(s + 1)) as usize].village
        })
        .collect();
    let mut goip_sims: Vec<GoipSim> = Vec::new(); // sim, imei, cell, from, to
    let mut sim_farmer: Option<(u32, u32)> = None;
    for (g, &v) in goip_places.iter().enumerate() {
        let imei = ids::goip_imei14(g as u64 + mix2(seed, 5) % 1000);
        let cell = pop.cell(pop.villages[v as usize].start, 0);
        let n = cx.rng.gen_range(8..=32);
        let mut start = cx
            .rng
            .gen_range(at(2023, 3, 1, 0, 0)..at(2023, 9, 15, 0, 0));
        for _ in 0..n {
            // SIM-only card farmers: a few SIMs each, sold for about 100 yuan apiece.
            let farmer = match sim_farmer {
                Some((p, left)) if left > 0 => {
                    sim_farmer = Some((p, left - 1));
                    p
                }
                _ => {
                    let v = farmer_villages
                        .get(cx.rng.gen_range(0..farmer_villages.len().max(1)))
                        .copied();
                    let p = v
                        .and_then(|v| {
                            let vv = &pop.villages[v as usize];
                            cx.pick_in((vv.start, vv.end), &farmer_ok)
                        })
                        .unwrap_or_else(|| cx.pick(&farmer_counties, &farmer_ok));
                    cx.add_role(p, role::CARD_FARMER);
                    farmer_list.push(p);
                    sim_farmer = Some((p, skewed(&mut cx.rng, 0, 3)));
                    p
                }
            };
            let sim = cx.new_sim(farmer);
            let len = cx.rng.gen_range(5..20) * DAY;
            goip_sims.push((sim, imei, cell, start, start + len));
            start += len / 2;
        }
    }
    for &(sim, imei, cell, from, to) in &goip_sims {
        let n = cx.rng.gen_range(60..250);
        for _ in 0..n {
            let t = clock::ordinary(&mut cx.rng, from, to);
            let q = cx.rng.gen_range(0..pop.len() as u32);
            let Some(qp) = pop.phone(q, 0) else { continue };
            let dur = match cx.rng.gen_range(0..100) {
                0..=49 => 0,
                50..=84 => cx.rng.gen_range(1..30),
                _ => cx.rng.gen_range(30..300),
            };
            let mut c = Call::new(sim, qp, t, dur);
            c.imei_a = imei;
            c.cell_a = cell;
            c.imei_b = pop.handset(q, t);
            c.cell_b = pop.cell(q, t as u64);
            cx.call(c);
            if cx.rng.gen_bool(0.03) {
                let mut back = Call::new(
                    qp,
                    sim,
                    t + cx.rng.gen_range(60..3 * HOUR),
                    cx.rng.gen_range(0..20),
                );
                back.imei_a = c.imei_b;
                back.cell_a = c.cell_b;
                back.imei_b = imei;
                back.cell_b = cell;
                cx.call(back);
            }
        }
    }
    // Each victim is worked by one team: calls from a GOIP SIM or a caller's work number.
    let callers: Vec<usize> = (0..insiders.len())
        .filter(|&i| insiders[i].rank == role::MEMBER && insiders[i].team != usize::MAX)
        .collect();
    let mut pays_of: FxHashMap<u32, Vec<i64>> = FxHashMap::default();
    for &(t, v, _) in &payments {
        pays_of.entry(v).or_default().push(t);
    }
    for &v in &victims {
        let Some(vp) = pop.phone(v, 0) else { continue };
        let t0 = first_contact[&v];
        let last = pays_of
            .get(&v)
            .and_then(|p| p.last().copied())
            .unwrap_or(t0 + 5 * DAY);
        let n = cx.rng.gen_range(2..=10);
        let caller = callers
            .get(cx.rng.gen_range(0..callers.len().max(1)))
            .copied();
        for _ in 0..n {
            let t = clock::ordinary(&mut cx.rng, t0, last.max(t0 + DAY));
            let mut c;
            if cx.rng.gen_bool(0.6) || caller.is_none() {
                let near = goip_sims.iter().filter(|s| s.3 <= t && t < s.4).count();
                let s = if near > 0 {
                    *goip_sims
                        .iter()
                        .filter(|s| s.3 <= t && t < s.4)
                        .nth(cx.rng.gen_range(0..near))
                        .unwrap_or(&goip_sims[0])
                } else {
                    goip_sims[cx.rng.gen_range(0..goip_sims.len())]
                };
                c = Call::new(s.0, vp, t, cx.rng.gen_range(120..2400));
                c.imei_a = s.1;
                c.cell_a = s.2;
            } else {
                let x = &insiders[caller.unwrap_or(0)];
                c = Call::new(work_at(x, t), vp, t, cx.rng.gen_range(60..3000));
                c.imei_a = x.handset;
            }
            c.imei_b = pop.handset(v, t);
            c.cell_b = pop.cell(v, t as u64);
            cx.call(c);
        }
        // The anti-fraud centre calls some of them.
        if cx.rng.gen_bool(0.3) {
            let t = clock::ordinary(&mut cx.rng, t0, T1);
            let mut c = Call::new(
                Ph::Svc(ids::ANTI_FRAUD_LINE),
                vp,
                t,
                cx.rng.gen_range(20..400),
            );
            c.imei_b = pop.handset(v, t);
            c.cell_b = pop.cell(v, 0);
            cx.call(c);
        }
    }

    // ---- Wages home, payroll accounts, ransoms --------------------------------------------------
    let payroll: Vec<(u64, Holder)> = (0..cx.rng.gen_range(3..=6))
        .map(|_| get_card(&mut cx, at(2023, 1, 10, 0, 0), &mut farmer_list))
        .collect();
    let mut payroll_need: FxHashMap<(usize, i64), i64> = FxHashMap::default();
    let mut wage_rows: Vec<(Acct, Acct, i64, i64, usize)> = Vec::new();
    for x in insiders.iter() {
        if x.rank == role::BOSS || !cx.rng.gen_bool(0.6) {
            continue;
        }
        let Some(fam) = pop
            .family(x.p)
            .find(|&q| pop.account(q, 0).is_some() && pop.people[q as usize].age() >= 18)
        else {
            continue;
        };
        let to = (pop.account(fam, 0).unwrap_or(0), Holder::Person(fam));
        let base = lognormal(&mut cx.rng, 7000.0, 0.45).clamp(2000.0, 40_000.0);
        let mut month = clock::midnight(x.arrive.max(T0)) + 30 * DAY;
        let src_kind = cx.rng.gen_range(0..10);
        let pr = cx.rng.gen_range(0..payroll.len());
        while month < x.leave.min(HANDOVER) {
            let t = month + cx.rng.gen_range(0..10) * DAY + cx.rng.gen_range(9 * HOUR..22 * HOUR);
            let yuan = base * cx.rng.gen_range(0.8..1.25);
            let fen = if cx.rng.gen_bool(0.5) {
                (yuan / 100.0).round() as i64 * 10_000
            } else {
                (yuan * 100.0) as i64
            };
            let (from, k) = match src_kind {
                0..=3 => (
                    fin_accounts[cx.rng.gen_range(0..fin_accounts.len())],
                    usize::MAX,
                ),
                4..=6 => (
                    mgr_accounts[cx.rng.gen_range(0..mgr_accounts.len())],
                    usize::MAX,
                ),
                _ => (payroll[pr], pr),
            };
            wage_rows.push((from, to, fen, t, k));
            if k != usize::MAX {
                *payroll_need.entry((k, clock::midnight(month))).or_insert(0) += fen;
            }
            month += 30 * DAY;
        }
    }
    let mut need: Vec<((usize, i64), i64)> = payroll_need.into_iter().collect();
    need.sort_unstable();
    for ((k, month), fen) in need {
        let t = month - cx.rng.gen_range(1..4) * DAY + 10 * HOUR;
        let f = fin_accounts[cx.rng.gen_range(0..fin_accounts.len())];
        let amount = (fen / 1_000_000 + 1) * 1_000_000;
        cx.tx(f, payroll[k], amount, t, channel::ONLINE, memo::DEALINGS);
    }
    for (from, to, fen, t, _) in wage_rows {
        let m = if cx.rng.gen_bool(0.5) {
            memo::LIVING
        } else {
            memo::TRANSFER
        };
        cx.tx(from, to, fen, t, channel::MOBILE, m);
    }

    // ---- USDT: dealers pay the financiers' wallets ----------------------------------------------
    let wallet_of = |cx: &mut Ctx<'_>| {
        let mut body = [0u8; 20];
        cx.rng.fill(&mut body);
        ids_wallet(&body)
    };
    let fin_wallets: Vec<String> = financiers.iter().map(|_| wallet_of(&mut cx)).collect();
    let dealer_wallets: Vec<String> = dealers.iter().map(|_| wallet_of(&mut cx)).collect();
    let mut ftm = Vec::new();
    for (i, &f) in financiers.iter().enumerate() {
        ftm.push(ftm_person(pop, f));
        ftm.push(ftm_wallet(
            &fin_wallets[i],
            (i % 2 == 0).then(|| pop.person_ref(f)),
        ));
        if i % 2 == 0 {
            ftm.push(ftm_ownership(pop, f, &fin_wallets[i]));
        }
    }
    for (i, &d) in dealers.iter().enumerate() {
        ftm.push(ftm_person(pop, d));
        ftm.push(ftm_wallet(&dealer_wallets[i], Some(pop.person_ref(d))));
        ftm.push(ftm_ownership(pop, d, &dealer_wallets[i]));
        cx.net
            .wallets_of
            .entry(d)
            .or_default()
            .push(dealer_wallets[i].clone());
        // One payment per month of inflows (a few dozen lines in all).
        let mut weeks: Vec<(i64, i64)> = Vec::new();
        for &(t, fen) in &dealer_in[i] {
            let w = (t - T0) / (30 * DAY);
            match weeks.last_mut() {
                Some(l) if l.0 == w => l.1 += fen,
                _ => weeks.push((w, fen)),
            }
        }
        for (w, fen) in weeks {
            let t = T0 + (w + 1) * 30 * DAY + cx.rng.gen_range(0..2 * DAY);
            let usdt = fen as f64 / 100.0 / 7.2;
            let to = &fin_wallets[cx.rng.gen_range(0..fin_wallets.len())];
            ftm.push(ftm_payment(&dealer_wallets[i], to, usdt, t));
        }
    }
    for (i, &f) in financiers.iter().enumerate() {
        if i % 2 == 0 {
            cx.net.wallets_of.entry(f).or_default();
        }
    }
    cx.net.ftm = ftm;
    cx.net.financier_wallets = fin_wallets;

    // ---- Debriefs of the returnees ----------------------------------------------------------------
    let flagged_list = cx.net.flagged.clone();
    for (p, st) in flagged_list {
        let t = match st {
            Flagged::Returned(t) | Flagged::Persuaded(t) => {
                t + cx.rng.gen_range(0..10) * DAY + 10 * HOUR
            }
            Flagged::Abroad(_) => continue,
        };
        let src = format!("询问笔录-{}", clock::date(t));
        let i = insider_of[&p];
        let x = insiders[i].clone();
        let me = cx.pref(p);
        cx.link(me.clone(), place.clone(), "member_of", Some(t), &src);
        if let Some(r) = x.recruiter.filter(|_| cx.rng.gen_bool(0.9)) {
            let rr = cx.pref(r);
            cx.link(rr, me.clone(), "recruited", Some(x.depart), &src);
        }
        if let Some(s) = x.smuggler.filter(|_| cx.rng.gen_bool(0.7)) {
            let ss = cx.pref(s);
            cx.link(ss, me.clone(), "smuggled", Some(x.depart), &src);
        }
        if let Some(b) = batches.get(x.batch) {
            if cx.rng.gen_bool(0.8) {
                let mates: Vec<u32> = b
                    .members
                    .iter()
                    .map(|&m| recruits[m].0)
                    .filter(|&q| q != p)
                    .collect();
                for _ in 0..cx.rng.gen_range(1..=4).min(mates.len()) {
                    let q = mates[cx.rng.gen_range(0..mates.len())];
                    let qq = cx.pref(q);
                    cx.link(me.clone(), qq, "travelled_with", Some(x.depart), &src);
                }
            }
        }
        let wk = format!(
            "phone:{}",
            work_at(&x, x.leave.min(HANDOVER) - DAY).canonical()
        );
        cx.link(me.clone(), wk, "uses", Some(t), &src);
        let mut named: Vec<u32> = Vec::new();
        if x.team != usize::MAX {
            if tl_of[x.team] != usize::MAX && tl_of[x.team] != i {
                named.push(insiders[tl_of[x.team]].p);
                if cx.rng.gen_bool(0.5) {
                    let tl = insiders[tl_of[x.team]].clone();
                    let ph = format!("phone:{}", tl.work.canonical());
                    let tlr = cx.pref(tl.p);
                    cx.link(tlr, ph, "uses", Some(t), &src);
                }
            }
            let mates = &by_team[x.team];
            for _ in 0..cx.rng.gen_range(1..=5) {
                let j = mates[cx.rng.gen_range(0..mates.len())];
                if j != i {
                    named.push(insiders[j].p);
                }
            }
        }
        if x.manager != usize::MAX && mgr_ins[x.manager] != usize::MAX && cx.rng.gen_bool(0.6) {
            named.push(insiders[mgr_ins[x.manager]].p);
        }
        if x.company != usize::MAX && head_ins[x.company] != usize::MAX && cx.rng.gen_bool(0.2) {
            named.push(insiders[head_ins[x.company]].p);
        }
        if cx.rng.gen_bool(0.3) {
            let j = cx.rng.gen_range(0..insiders.len());
            named.push(insiders[j].p);
        }
        // Everybody knows who the boss is; a few know his number.
        if cx.rng.gen_bool(0.25) {
            let (me2, b) = (me.clone(), cx.pref(boss));
            cx.link(me2, b, "named_boss", Some(t), &src);
            if cx.rng.gen_bool(0.3) {
                let ph = format!("phone:{}", insiders[boss_i].work.canonical());
                let b = cx.pref(boss);
                cx.link(b, ph, "uses", Some(t), &src);
            }
        }
        // Now and then a statement names the wrong man: a fellow villager of the same surname.
        if cx.rng.gen_bool(0.05) {
            let (vs, ve) = pop.village_range(p);
            let q = cx.rng.gen_range(vs..ve);
            if !insider_of.contains_key(&q) {
                named.push(q);
            }
        }
        named.sort_unstable();
        named.dedup();
        for q in named {
            if q != p {
                let qq = cx.pref(q);
                cx.link(me.clone(), qq, "colleague", Some(t), &src);
            }
        }
        // A family that paid to get him out.
        if cx.rng.gen_bool(0.05) {
            if let Some(f) = pop
                .family(p)
                .find(|&q| pop.account(q, 0).is_some() && pop.people[q as usize].age() >= 18)
            {
                let m = if x.manager != usize::MAX && mgr_ins[x.manager] != usize::MAX {
                    insiders[mgr_ins[x.manager]].p
                } else {
                    heads[0]
                };
                let to = cx.account_of(m);
                let from = (pop.account(f, 0).unwrap_or(0), Holder::Person(f));
                let amt = cx.rng.gen_range(3..15) * 1_000_000;
                let tt = x.leave - cx.rng.gen_range(5..30) * DAY;
                cx.tx(from, to, amt, tt, channel::COUNTER, memo::TRANSFER);
                let (ff, mm) = (cx.pref(f), cx.pref(m));
                cx.link(ff, mm, "paid_ransom_to", Some(tt), &src);
            }
        }
    }

    // ---- Returnees keep in touch after they are back ------------------------------------------
    let back: Vec<(u32, i64)> = cx
        .net
        .flagged
        .iter()
        .filter_map(|&(p, st)| match st {
            Flagged::Returned(t) | Flagged::Persuaded(t) => Some((p, t)),
            Flagged::Abroad(_) => None,
        })
        .collect();
    for &(p, t) in &back {
        if !cx.rng.gen_bool(0.5) {
            continue;
        }
        let x = &insiders[insider_of[&p]];
        let (team, batch, village) = (x.team, x.batch, pop.people[p as usize].village);
        let mates: Vec<(u32, i64)> = back
            .iter()
            .copied()
            .filter(|&(q, _)| {
                let y = &insiders[insider_of[&q]];
                q != p
                    && ((team != usize::MAX && y.team == team)
                        || y.batch == batch
                        || pop.people[q as usize].village == village)
            })
            .collect();
        for _ in 0..cx.rng.gen_range(1..=2) {
            let Some(&(q, tq)) = mates.get(cx.rng.gen_range(0..mates.len().max(1))) else {
                break;
            };
            for _ in 0..cx.rng.gen_range(1..=4) {
                let from = t.max(tq) + HOUR;
                if from + DAY >= T1 {
                    break;
                }
                let tt = clock::ordinary(&mut cx.rng, from, T1);
                let d = cx.duration(150.0);
                cx.person_call(p, q, tt, d);
            }
        }
    }

    // ---- Victims who reported --------------------------------------------------------------------
    for &v in &victims {
        if cx.rng.gen_bool(0.6) {
            cx.net.reported_victims.push(v);
        }
    }
    cx.net.victims = victims;

    // ---- What the investigators requested ------------------------------------------------------
    let seed_x = insiders[seed_idx].clone();
    let mut req_p = vec![seed_phone];
    let mut others: Vec<&Insider> = insiders
        .iter()
        .filter(|y| {
            y.p != seed_p
                && cx.net.flagged.iter().any(|f| f.0 == y.p)
                && (y.team == seed_x.team || y.recruiter == seed_x.recruiter)
        })
        .collect();
    others.sort_by_key(|y| y.p);
    for y in others.iter().take(3) {
        if let Some(ph) = pop.phone(y.p, 0) {
            req_p.push(ph);
        }
    }
    if let Some(r) = seed_x.recruiter {
        if let Some(ph) = pop.phone(r, 0) {
            req_p.push(ph);
        }
    }
    if let Some(s) = goip_sims.first() {
        req_p.push(s.0);
    }
    req_p.dedup();
    cx.net.req_phones = req_p;
    let mut req_a: Vec<u64> = Vec::new();
    let reported: FxHashSet<u32> = cx.net.reported_victims.iter().copied().collect();
    let mut l1_reported: Vec<u64> = victim_l1
        .iter()
        .filter(|x| reported.contains(&x.0))
        .map(|x| x.1)
        .collect();
    l1_reported.dedup();
    req_a.extend(l1_reported.iter().take(3));
    if let Some(&a1) = req_a.first() {
        // Follow the first one downstream: a second-level and a third-level account.
        let next = |a: u64, txs: &[Tx]| txs.iter().find(|t| t.from == a).map(|t| t.to);
        if let Some(a2) = next(a1, &cx.net.txs) {
            req_a.push(a2);
            if let Some(a3) = next(a2, &cx.net.txs) {
                req_a.push(a3);
                if let Some(a4) = next(a3, &cx.net.txs) {
                    req_a.push(a4);
                }
            }
        }
    }
    if let Some(a) = pop.account(seed_p, 0) {
        req_a.push(a);
    }
    if let Some(r) = seed_x.recruiter {
        req_a.push(cx.account_of(r).0);
    }
    req_a.push(payroll[0].0);
    let mut seen = FxHashSet::default();
    req_a.retain(|a| seen.insert(*a));
    cx.net.req_accounts = req_a;

    // ---- Registry facts about families of flagged returnees (relative links) are added by the
    // writer; border crossings of legitimate travellers too. Here: seized handsets.
    for ins in &insiders {
        if ins.seized && cx.net.flagged.iter().any(|f| f.0 == ins.p) {
            cx.net.seized_devices.insert(ins.p, ins.handset);
        }
    }
    cx.net
        .other_accounts
        .push(("payroll_accounts", payroll.iter().map(|a| a.0).collect()));
    let _ = (sim_count, card_owner);
    cx.net
}

fn ids_wallet(body: &[u8; 20]) -> String {
    crate::model::ident::trc20_address(body)
}

fn ftm_person(pop: &Population, p: u32) -> String {
    serde_json::json!({
        "id": pop.person_ref(p),
        "schema": "Person",
        "properties": {
            "name": [pop.name(p)],
            "idNumber": [pop.id_number(p)],
            "nationality": ["cn"],
            "phone": pop.phone(p, 0).map(|ph| vec![ph.canonical()]).unwrap_or_default(),
        }
    })
    .to_string()
}

fn ftm_wallet(addr: &str, holder: Option<String>) -> String {
    let mut props = serde_json::json!({
        "publicKey": [addr],
        "currency": ["USDT"],
        "mangingExchange": ["TRON (TRC20)"],
    });
    if let (Some(h), Some(obj)) = (holder, props.as_object_mut()) {
        obj.insert("holder".to_string(), serde_json::json!([h]));
    }
    serde_json::json!({"id": format!("wallet:{addr}"), "schema": "CryptoWallet", "properties": props}).to_string()
}

fn ftm_ownership(pop: &Population, p: u32, addr: &str) -> String {
    serde_json::json!({
        "id": format!("own-{}-{}", pop.id_number(p), &addr[..10]),
        "schema": "Ownership",
        "properties": {
            "owner": [pop.person_ref(p)],
            "asset": [format!("wallet:{addr}")],
            "role": ["holder"],
        }
    })
    .to_string()
}

fn ftm_payment(from: &str, to: &str, usdt: f64, t: i64) -> String {
    serde_json::json!({
        "id": format!("pay-{}-{}", &from[..10], t),
        "schema": "Payment",
        "properties": {
            "payer": [format!("wallet:{from}")],
            "beneficiary": [format!("wallet:{to}")],
            "amount": [format!("{usdt:.2}")],
            "currency": ["USDT"],
            "date": [clock::fmt(t).replace(' ', "T") + "+08:00"],
            "purpose": ["USDT TRC20 transfer"],
        }
    })
    .to_string()
}
