//! Ranking the leads of an expansion, and explaining each one.
//!
//! Every entity an [`Expansion`] reached (persons and identifiers: phones, accounts, devices, wallets;
//! not the seeds' own side, not hubs) gets a score that is a weighted sum of named components, each in
//! `[0, 1]`, so an investigator can read why a lead is high:
//!
//! | component | what it measures |
//! |---|---|
//! | `proximity` | random walk with restart from the seeds over the reached subgraph, links weighted by evidence; walks that enter a hub go back to the seeds (hubs are damped) |
//! | `community` | the same walk restarting at the seeds *and* every flagged returnee reached, read as *lift*: the walk's mass on the lead divided by what its links alone would draw (its share of all link weight). A compound member's links stay among returnees; a relative's, a courier's or a busy villager's spread over the population, so their lift is low however many returnees they touch |
//! | `evidence` | strength of the lead's own links (call counts and minutes, transfer counts and amounts, log-scaled) |
//! | `foreign` | the lead is, or holds, a foreign number; or calls several (a relative abroad is one or two numbers: beyond [`FOREIGN_FEW`], each distinct foreign number counts fully) |
//! | `shared_device` | a handset shared by several numbers (one of the lead's, or the lead itself) |
//! | `per_head` | repeated round-sum payments into the lead's accounts |
//! | `money` | share of the reported victims' money (paid into reached accounts) that *ends* in the lead's accounts, following transfers forward in time order and splitting in proportion, through the layering accounts that pass it on; in the second stage also what ends with the fronts the lead may run (accounts of a holder tied to the suspects only through them and, personally, to the lead: see [`FRONT_MIN_SHARE`]) |
//! | `known_role` | the lead already carries an investigative role (returnee, suspect…) |
//! | `stated` | a police source (debrief, case file) states the lead recruited, smuggled, financed or worked with suspects: flagged persons, the first-round core, or stated partners of those (at one remove, weaker) |
//! | `organiser` | the lead is the active party of such statements: it recruited, smuggled or financed suspects; or it called persons only in the weeks before their stated border crossing ([`RUN_UP_S`]: the run-up a recruiter arranges), each counting half a stated recruitment. Every call between the lead's side and the person's numbers at home (not their foreign ones, the compound's), both ways, must fall in the run-up, the calls of the crossing's eve ([`RUN_UP_EVE_S`]: the goodbye home from the border) aside, and the person's records must reach back before it (records that begin weeks before a crossing put every contact, the family's too, in its run-up). Where no source states the crossing, the person's domestic numbers gone dark for good ([`SILENT_GRACE_S`]) date it, and a run-up counts only with calls from abroad |
//! | `silent` | the lead's domestic numbers fell silent months before the records end ([`SILENT_GRACE_S`]): the phone went dark, as a member's does once abroad; everyone else calls someone every few weeks |
//! | `core` | second stage, guilt by association with the discovered core: a walk restarting at the first stage's top persons (in proportion to their score), read as lift like `community`. The people the core deals with rise (boss, financiers, recruiters) |
//! | `core_ties` | second stage: how many core persons the lead deals with directly, times their share of all its contacts. It counts as evidence of its own beside the walks: dozens of suspects making up nearly all of one's contacts (the boss) is not what a walk's lift measures |
//!
//! In the second stage the noisy-or of the components is the lead's `suspicion`, and the score is
//! `suspicion × (IMPORTANCE_FLOOR + (1 − IMPORTANCE_FLOOR) · importance)`, where `importance` is the
//! strongest of: the victims' money ending with the lead, the suspects it organised, the suspects it
//! deals with directly. Among suspects, those the network turns on (financiers, boss, recruiters,
//! smugglers) come before line workers; a lead of no importance keeps 40% of its suspicion.
//!
//! The second stage also widens the reach: the neighbours of the first-stage core (one hop, through
//! the expansion's filter, not through hubs) join the candidates, so members four hops from the seed
//! but next to the core are found.
//!
//! A reported victim's score is scaled down by [`VICTIM_FACTOR`]: victims are witnesses, not leads.
//! A person inherits the signals of the identifiers they own or use, and their walk mass is that of
//! them and their identifiers together.
//!
//! A stage scores every candidate (the number alone) and sorts them; components, reasons and paths
//! are built for the returned leads only, so what a lead costs beyond its signals is paid `limit`
//! times, not once per candidate.
//!
//! Each lead carries up to `paths_per_lead` explanation paths from a seed: the shortest path by evidence
//! (strong links are short) and the best alternatives through other neighbours.

use super::expand::{is_stated, Expansion, HubPolicy, HubReason, LinkFilter};
use super::trace::{holders, owners};
use crate::model::{EntityKind, Flags, LinkKind, Roles};
use crate::snapshot::{Ix, Link, Snapshot};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

/// A reported victim's score is multiplied by this.
pub const VICTIM_FACTOR: f64 = 0.3;

/// Share of the traced victims' money ending in a lead's accounts at which `money` reaches 63%.
pub const MONEY_SCALE: f64 = 0.005;

/// Persons whose first-stage score is at least this share of the best one form the core of the
/// second stage.
pub const CORE_SHARE: f64 = 0.5;

/// Lift (walk mass over what the lead's links alone would draw) at which `community` and `core`
/// reach 63%.
pub const LIFT_SCALE: f64 = 4.0;

/// First-round suspects a lead deals with directly at which `core_ties` reaches 63%: a member
/// deals with a handful, the boss, a recruiter or a smuggler with dozens.
pub const CORE_TIES_SCALE: f64 = 15.0;

/// A stated partner in crime (see [`is_stated`]) who is flagged or in the core makes `stated`
/// this strong; one who is a suspect only through their own stated partners, this.
pub const STATED_KNOWN: f64 = 0.8;
pub const STATED_NEAR: f64 = 0.6;

/// Suspects a lead is stated to have recruited, smuggled or financed at which `organiser` reaches
/// 63%.
pub const ORGANISER_SCALE: f64 = 1.5;

/// The second stage orders suspects by `suspicion × (IMPORTANCE_FLOOR + (1 − IMPORTANCE_FLOOR) ·
/// importance)`: a suspect of no particular importance keeps this share of its score.
pub const IMPORTANCE_FLOOR: f64 = 0.4;

/// Suspects a lead deals with directly at which the contacts part of `importance` reaches 63%;
/// suspects it is stated to have recruited, smuggled or financed, likewise (one already counts:
/// whoever sent people to the compound is worth more than a line worker).
pub const IMPORTANCE_TIES: f64 = 20.0;
pub const IMPORTANCE_ORGANISED: f64 = 0.5;
/// Share of the traced victims' money ending with a lead at which the money part of `importance`
/// reaches 63%: a quarter of [`MONEY_SCALE`], so the few accounts where the money ends come first.
pub const IMPORTANCE_MONEY: f64 = MONEY_SCALE / 4.0;

/// An account where at least this share of the traced victims' money ends, held by a person who
/// deals with no suspect other than through such accounts, is a front: the money counts toward
/// those of the holder's personal contacts who deal with the first-round suspects themselves (the
/// relative or friend who lent a card is not the one who runs it). See [`fronts`].
pub const FRONT_MIN_SHARE: f64 = 1e-4;
/// First-round suspects (the holder aside) a personal contact of a front's holder must deal with
/// to be credited with its money: one can be a tie of the family's (a cousin in the compound),
/// whoever runs the card deals with the network.
pub const FRONT_MIN_TIES: usize = 2;

/// Flows below this share of all the victims' money traced stay where they are (the trace would
/// otherwise spread crumbs over the whole population's transfers).
pub const MONEY_MIN_SHARE: f64 = 1e-6;

/// In the money trace, an account is a hub by degree only from this many times the hub threshold.
pub const MONEY_HUB_FACTOR: usize = 10;

/// Transfer hops followed from the victims' payments.
pub const MONEY_HOPS: u32 = 8;

/// A lead's calls with a person count as contacts in the run-up to that person's border crossing
/// when all of them fall in this window before it (the crossing's time as a police source states
/// it: the smuggling or the recruiting), and there were at least [`RUN_UP_CALLS`]. A recruiter
/// arranges the departure in the weeks before; a relative or a friend calls all year round.
pub const RUN_UP_S: i64 = 45 * 86_400;
pub const RUN_UP_CALLS: u32 = 2;
/// Calls on the eve of the crossing (the last hours before it) are the goodbye home from the
/// border and the smuggler's directions, not the arranging: they neither count nor disqualify.
pub const RUN_UP_EVE_S: i64 = 12 * 3600;

/// Contacts in a border crossing's run-up count as this share of a stated recruitment.
pub const RUN_UP_SHARE: f64 = 0.5;

/// Distinct foreign numbers beyond this many, called by a lead at home, count as contacts with
/// the compound (a relative abroad is one or two numbers; a recruiter calls dozens); the share of
/// `foreign` they make reaches 63% at [`FOREIGN_BREADTH`] more.
pub const FOREIGN_FEW: u32 = 2;
pub const FOREIGN_BREADTH: f64 = 4.0;

/// A person's domestic numbers silent for longer than this before the records end: the phone went
/// dark (its holder abroad, or a SIM thrown away); `silent` reaches 63% at [`SILENT_SCALE`] more.
/// Everyone else calls someone (a hotline, a courier) every few weeks.
pub const SILENT_GRACE_S: i64 = 60 * 86_400;
pub const SILENT_SCALE_S: f64 = 60.0 * 86_400.0;

/// Suspects a member deals with anyway (team-mates, the team leader): only ties beyond this many
/// count toward `importance`.
pub const TIES_HANDFUL: u32 = 10;

/// [`Sub::local`] of an entity outside the subgraph.
const NOT_LOCAL: u32 = u32::MAX;

/// How much each component counts: the probability that the component alone, at full strength,
/// makes the entity worth pursuing. Components are combined as independent pieces of evidence
/// (noisy-or): `score = 1 − Π (1 − weight · component)`, so one strong signal (money ending here)
/// is enough, and several weak ones add up.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub proximity: f64,
    pub evidence: f64,
    pub foreign: f64,
    pub shared_device: f64,
    pub per_head: f64,
    pub money: f64,
    pub known_role: f64,
    /// Of the strongest of `community`, `stated` and `core`; and, on its own, of `core_ties`.
    pub association: f64,
    pub organiser: f64,
    pub silent: f64,
}

impl Weights {
    /// The weights the command line uses.
    pub fn standard() -> Weights {
        Weights {
            proximity: 0.3,
            association: 0.9,
            evidence: 0.05,
            foreign: 0.3,
            shared_device: 0.2,
            per_head: 0.2,
            money: 0.97,
            known_role: 0.5,
            organiser: 0.9,
            silent: 0.6,
        }
    }
}

/// What to rank and how.
#[derive(Clone, Debug, PartialEq)]
pub struct RankConfig {
    /// Restart probability of the walks (0.15 is usual).
    pub restart: f64,
    pub iterations: u32,
    /// Weight factor of links into hubs (walks entering a hub restart).
    pub hub_damping: f64,
    /// Leads returned, best first; 0 = all.
    pub limit: usize,
    pub paths_per_lead: usize,
    pub weights: Weights,
    /// Hops the second stage adds around the first stage's core (0: no second stage at all).
    pub core_hops: u32,
}

impl RankConfig {
    pub fn standard(limit: usize) -> RankConfig {
        RankConfig {
            restart: 0.15,
            iterations: 30,
            hub_damping: 0.05,
            limit,
            paths_per_lead: 3,
            weights: Weights::standard(),
            core_hops: 1,
        }
    }
}

/// One step of an explanation path: from `from` to `to` over `link` (see [`Snapshot::link`] for its
/// kind and evidence); `forward` when the link points from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
    pub forward: bool,
}

/// The raw signals behind the components, kept for reasons and for callers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// Walk mass from the seeds.
    pub ppr: f64,
    /// Lift of the walk from the seeds and the flagged returnees (1 = what the lead's links predict).
    pub community_lift: f64,
    pub evidence: f64,
    /// Flagged returnees the lead (or one of its identifiers) is directly linked to.
    pub returnees: u32,
    /// Foreign numbers the lead is or holds.
    pub foreign_numbers: Vec<Ix>,
    pub foreign_contacts: u32,
    /// Most other numbers sharing a handset with one of the lead's numbers (or on the lead device).
    pub shared_device: u32,
    /// A handset shared with a number on the seeds' side.
    pub shares_device_with_seed: bool,
    pub round_payments: u32,
    pub round_amount: i64,
    /// Victims' money (fen) that ends in the lead's accounts, its share of all money traced, and the
    /// fewest transfer hops it took from a victim.
    pub victim_money: f64,
    pub victim_share: f64,
    pub money_hops: u32,
    /// Of `victim_money`, what ends in the accounts of front holders the lead may run (see
    /// [`FRONT_MIN_SHARE`]), and how many such holders.
    pub front_money: f64,
    pub front_holders: u32,
    /// Lift of the second-stage walk from the core, and how many core persons the lead deals with.
    pub core_lift: f64,
    pub core_contacts: u32,
    /// Persons the lead deals with directly (calls, money, relations, handsets).
    pub contacts: u32,
    /// Persons a police source states the lead co-offended with (recruited, smuggled, financed,
    /// worked with), and how many of those are suspects (flagged, in the core, or stated partners
    /// of a flagged person).
    pub stated_partners: u32,
    pub stated_suspects: u32,
    /// Suspects the lead is stated to have recruited, smuggled or financed (the active party).
    pub organised: u32,
    /// Of the stated suspects, those flagged or in the core themselves.
    pub stated_known: u32,
    /// Suspects (flagged, in the core, or stated partners of those) the lead deals with directly.
    pub suspect_contacts: u32,
    /// Persons with a stated border crossing whom the lead called in its run-up only (see
    /// [`RUN_UP_S`]).
    pub run_up_contacts: u32,
    /// Last call or message of the lead's domestic numbers (0: none on record), and how long
    /// before the end of the records that was (seconds).
    pub last_call: i64,
    pub silent_s: i64,
}

/// A ranked lead.
#[derive(Clone, Debug, PartialEq)]
pub struct Lead {
    pub ix: Ix,
    pub score: f64,
    pub hops: u32,
    pub components: Vec<(&'static str, f64)>,
    pub signals: Signals,
    pub reasons: Vec<String>,
    pub paths: Vec<Vec<PathStep>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// Best first (ties by index).
    pub leads: Vec<Lead>,
    /// Leads before the limit.
    pub candidates: usize,
    /// Entities the second stage added around the core, and the size of the core.
    pub widened: usize,
    pub core: usize,
    pub seconds: f64,
    /// Seconds spent in each phase, in order.
    pub phases: Vec<(&'static str, f64)>,
}

/// Evidence strength of one link: how much an investigator would lean on it.
pub fn strength(l: &Link) -> f64 {
    let c = f64::from(l.count.max(1));
    match l.kind {
        LinkKind::OWNS | LinkKind::USES => 4.0,
        LinkKind::DEVICE_OF => 3.0,
        LinkKind::CALL | LinkKind::SMS => {
            1.0 + c.ln_1p() + 0.3 * (l.total.max(0) as f64 / 60.0).ln_1p()
        }
        LinkKind::TRANSFER => 1.0 + c.ln_1p() + 0.2 * (l.total.max(0) as f64 / 10_000.0).ln_1p(),
        // stated co-offending (debriefs, case files): the strongest tie short of an identity
        LinkKind::RECRUITED
        | LinkKind::FINANCED
        | LinkKind::SMUGGLED
        | LinkKind::COLLEAGUE
        | LinkKind::MEMBER_OF => 5.0,
        LinkKind::TRAVELLED_WITH => 3.0,
        // kinship and addresses: every member has a family that knows nothing (the main noise)
        LinkKind::RELATIVE => 0.5,
        LinkKind::SAME_ADDRESS => 1.0,
        // other relations recorded by a police source (hotel registers, border checks, statements)
        _ => 2.5,
    }
}

/// Path cost of a link: strong links are short (`1 / (1 + ln(1 + count))`, identity links shorter).
pub fn cost(l: &Link) -> f64 {
    arc_cost(l.kind, strength(l))
}

/// [`cost`] of a link of `kind` whose [`strength`] is known.
fn arc_cost(kind: LinkKind, strength: f64) -> f64 {
    if is_identity(kind) {
        0.1
    } else {
        1.0 / (1.0 + strength)
    }
}

/// Stated links whose source is the organising party.
fn is_organising(kind: LinkKind) -> bool {
    matches!(
        kind,
        LinkKind::RECRUITED | LinkKind::SMUGGLED | LinkKind::FINANCED
    )
}

fn is_identity(kind: LinkKind) -> bool {
    matches!(kind, LinkKind::OWNS | LinkKind::USES)
}

fn is_lead_kind(k: EntityKind) -> bool {
    matches!(
        k,
        EntityKind::Person
            | EntityKind::Phone
            | EntityKind::Account
            | EntityKind::Device
            | EntityKind::Wallet
    )
}

/// One subgraph row: (neighbour, global link), sorted; each link's [`strength`] aligned with it; and
/// the entity's summed link weight.
type Row = (Vec<(u32, u32)>, Vec<f64>, f64);

/// The candidate subgraph in local indices: links between its entities that pass the expansion's
/// filter; hubs keep no links of their own (nothing flows out of them).
struct Sub {
    nodes: Vec<Ix>,
    hop: Vec<u32>,
    /// Local index of every snapshot entity ([`NOT_LOCAL`] outside the subgraph): a dense array, as
    /// the subgraph's links are looked up millions of times at a million persons.
    local: Vec<u32>,
    hub: Vec<bool>,
    /// Per local node: (neighbour, global link), sorted.
    adj: Vec<Vec<(u32, u32)>>,
    /// Per local node, aligned with `adj`: the link's [`strength`], computed once.
    st: Vec<Vec<f64>>,
    /// The walks' matrix, `adj` flattened row by row (`row[i]..row[i + 1]`): the neighbour, and the
    /// share of the neighbour's walk mass that moves over the link in one step (the link's
    /// strength over the neighbour's summed weight; 0 from a hub, whose walks restart).
    row: Vec<usize>,
    nbr: Vec<u32>,
    pull: Vec<f32>,
    /// Per local node: summed weight of all its links in the snapshot (`adj` covers only those
    /// inside the subgraph), damped into hubs; and the sum of all.
    wsum: Vec<f64>,
    total_w: f64,
    /// Identifiers each person holds, and the persons holding each identifier.
    held: Vec<Vec<u32>>,
    holders: Vec<Vec<u32>>,
    /// What the snapshot alone says of every entity and link.
    prep: Arc<Prepared>,
}

impl Sub {
    fn build(
        snap: &Snapshot,
        exp: &Expansion,
        nodes: Vec<(Ix, u32)>,
        hub: Vec<bool>,
        damping: f64,
    ) -> Sub {
        let mut sub = Sub {
            nodes: Vec::new(),
            hop: Vec::new(),
            local: vec![NOT_LOCAL; snap.node_count()],
            hub: Vec::new(),
            adj: Vec::new(),
            st: Vec::new(),
            row: Vec::new(),
            nbr: Vec::new(),
            pull: Vec::new(),
            wsum: Vec::new(),
            total_w: 0.0,
            held: Vec::new(),
            holders: Vec::new(),
            prep: prepare(snap),
        };
        sub.add(snap, exp, &nodes, &hub, damping);
        sub
    }

    /// Adds `nodes` (not yet in the subgraph) and their links to what is already there, with the
    /// same result as building the larger subgraph afresh: the new entities come after the old
    /// ones, so an old entity's new links sort after its old ones, and only the old entities with
    /// links to new ones have their rows and weights recomputed.
    fn add(
        &mut self,
        snap: &Snapshot,
        exp: &Expansion,
        nodes: &[(Ix, u32)],
        hub: &[bool],
        damping: f64,
    ) -> Vec<u32> {
        let old = self.nodes.len();
        for (k, &(v, h)) in nodes.iter().enumerate() {
            self.local[v as usize] = (old + k) as u32;
            self.nodes.push(v);
            self.hop.push(h);
        }
        self.hub.extend_from_slice(hub);
        let local = &self.local;
        let at = |u: Ix| Some(local[u as usize]).filter(|&j| j != NOT_LOCAL);
        let all_hub = &self.hub;
        let strength = &self.prep.strength;
        let passes = |l: u32| exp.filter.passes(snap.link(l));
        // a link's weight from one end: its strength (as f32, as the walks store it), damped when
        // it enters a hub (in the subgraph or not)
        let threshold = exp.stats.hub_threshold;
        let weight = move |u: Ix, st: f64| -> f64 {
            let s = f64::from(st as f32);
            let j = local[u as usize];
            let into_hub = if j != NOT_LOCAL {
                all_hub[j as usize]
            } else {
                snap.degree(u) >= threshold || snap.flags(u).contains(Flags::SERVICE)
            };
            if into_hub {
                s * damping
            } else {
                s
            }
        };
        // the new entities' rows, and the summed weight of all their links (inside the subgraph
        // or not: the walk leaks what leaves it, and the lift compares with the whole graph), in
        // one pass over their links
        let fresh: Vec<Row> = nodes
            .par_iter()
            .enumerate()
            .map(|(k, &(v, _))| {
                let i = old + k;
                if all_hub[i] {
                    return (Vec::new(), Vec::new(), 0.0);
                }
                let mut a: Vec<(u32, u32, f64)> = Vec::new();
                let mut w = 0.0;
                for (u, l) in snap.all_links(v) {
                    if u == v || !passes(l) {
                        continue;
                    }
                    let st = strength[l as usize];
                    w += weight(u, st);
                    if let Some(j) = at(u) {
                        a.push((j, l, st));
                    }
                }
                a.sort_unstable_by_key(|e| (e.0, e.1));
                let s = a.iter().map(|e| e.2).collect();
                (a.into_iter().map(|e| (e.0, e.1)).collect(), s, w)
            })
            .collect();
        // old entities' links to the new ones: (old entity, new entity, link), in row order
        let mut grown: Vec<(u32, u32, u32)> = if old == 0 {
            Vec::new()
        } else {
            nodes
                .par_iter()
                .enumerate()
                .flat_map_iter(|(k, &(v, _))| {
                    let j = (old + k) as u32;
                    snap.all_links(v)
                        .filter_map(move |(u, l)| {
                            let i = at(u)? as usize;
                            (i < old && !all_hub[i] && passes(l)).then_some((i as u32, j, l))
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        grown.par_sort_unstable();
        let mut touched: Vec<u32> = Vec::new();
        for &(i, j, l) in &grown {
            if touched.last() != Some(&i) {
                touched.push(i);
            }
            self.adj[i as usize].push((j, l));
            self.st[i as usize].push(strength[l as usize]);
        }
        let mut new_w = Vec::with_capacity(fresh.len());
        for (a, s, w) in fresh {
            self.adj.push(a);
            self.st.push(s);
            new_w.push(w);
        }
        // the old entities with new links: their weight again (the damping of a link into a new
        // hub changed)
        let wsum_of = |i: usize| -> f64 {
            if all_hub[i] {
                return 0.0;
            }
            let v = self.nodes[i];
            snap.all_links(v)
                .filter(|&(u, l)| u != v && passes(l))
                .map(|(u, l)| weight(u, strength[l as usize]))
                .sum()
        };
        let redo: Vec<(u32, f64)> = touched
            .par_iter()
            .map(|&i| (i, wsum_of(i as usize)))
            .collect();
        for (i, w) in redo {
            self.wsum[i as usize] = w;
        }
        self.wsum.extend(new_w);
        // identifiers held: the new persons' and those of old persons with new links
        let nodes_all = &self.nodes;
        let adj = &self.adj;
        let held_of = |i: usize| -> Vec<u32> {
            if snap.kind(nodes_all[i]) != EntityKind::Person {
                return Vec::new();
            }
            let mut h: Vec<u32> = adj[i]
                .iter()
                .filter(|&&(j, l)| {
                    is_identity(snap.link_kind(l))
                        && snap.kind(nodes_all[j as usize]) != EntityKind::Person
                })
                .map(|&(j, _)| j)
                .collect();
            h.dedup();
            h
        };
        let redo: Vec<(u32, Vec<u32>)> = touched
            .par_iter()
            .map(|&i| (i, held_of(i as usize)))
            .collect();
        let new_h: Vec<Vec<u32>> = (old..self.nodes.len())
            .into_par_iter()
            .map(held_of)
            .collect();
        for (i, h) in redo {
            self.held[i as usize] = h;
        }
        self.held.extend(new_h);
        let mut holders: Vec<Vec<u32>> = vec![Vec::new(); self.nodes.len()];
        for (p, ids) in self.held.iter().enumerate() {
            for &j in ids {
                holders[j as usize].push(p as u32);
            }
        }
        self.holders = holders;
        self.total_w = self.wsum.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        // the walks' matrix; the weight of u→v is that of v→u (v is no hub: hubs keep no links)
        let mut row = Vec::with_capacity(self.nodes.len() + 1);
        row.push(0);
        let mut nbr = Vec::new();
        for a in &self.adj {
            nbr.extend(a.iter().map(|&(u, _)| u));
            row.push(nbr.len());
        }
        let (hub, wsum, st) = (&self.hub, &self.wsum, &self.st);
        let step = 4096;
        let pieces: Vec<Vec<f32>> = (0..self.nodes.len().div_ceil(step))
            .into_par_iter()
            .map(|c| {
                let rows = c * step..((c + 1) * step).min(hub.len());
                let mut piece = Vec::with_capacity(row[rows.end] - row[rows.start]);
                for v in rows {
                    for (e, s) in (row[v]..row[v + 1]).zip(&st[v]) {
                        let u = nbr[e] as usize;
                        // the link's weight from v's side, damped when it enters a hub: only
                        // links into non-hubs pull, so it is undamped wherever it counts
                        let x = (if hub[u] { s * damping } else { *s }) as f32;
                        piece.push(if hub[u] || wsum[u] <= 0.0 {
                            0.0
                        } else {
                            (f64::from(x) / wsum[u]) as f32
                        });
                    }
                }
                piece
            })
            .collect();
        let pull = pieces.concat();
        self.row = row;
        self.nbr = nbr;
        self.pull = pull;
        touched
    }

    /// A person and the identifiers they hold; an identifier alone.
    fn unit(&self, i: u32) -> Vec<u32> {
        let mut u = vec![i];
        u.extend_from_slice(&self.held[i as usize]);
        u
    }

    /// The local index of a snapshot entity, if it is in the subgraph.
    fn at(&self, v: Ix) -> Option<u32> {
        Some(self.local[v as usize]).filter(|&j| j != NOT_LOCAL)
    }

    /// Random walks with restart, one to each of `restarts` (distributions over local nodes), run
    /// together (up to three at once) so each pass over the links serves all of them. Walks that
    /// enter a hub or a dead end restart. Sums are taken in index order: the result does not
    /// depend on the threads.
    fn walks(&self, restarts: &[&[f64]], cfg: &RankConfig) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(restarts.len());
        for group in restarts.chunks(3) {
            out.extend(match group.len() {
                1 => self.walks_k::<1>(group, cfg),
                2 => self.walks_k::<2>(group, cfg),
                _ => self.walks_k::<3>(group, cfg),
            });
        }
        out
    }

    fn walks_k<const K: usize>(&self, restarts: &[&[f64]], cfg: &RankConfig) -> Vec<Vec<f64>> {
        let n = self.nodes.len();
        let mut x = vec![[0.0f64; K]; n];
        for (j, r) in restarts.iter().enumerate() {
            for v in 0..n {
                x[v][j] = r[v];
            }
        }
        let mut pulled = vec![[0.0f64; K]; n];
        for _ in 0..cfg.iterations {
            let xr = &x;
            pulled
                .par_iter_mut()
                .with_min_len(1024)
                .enumerate()
                .for_each(|(v, out)| {
                    let mut acc = [0.0f64; K];
                    let (a, b) = (self.row[v], self.row[v + 1]);
                    for (&u, &p) in self.nbr[a..b].iter().zip(&self.pull[a..b]) {
                        let p = f64::from(p);
                        let xu = &xr[u as usize];
                        for j in 0..K {
                            acc[j] += xu[j] * p;
                        }
                    }
                    *out = acc;
                });
            let mut kept = [0.0f64; K];
            let mut total = [0.0f64; K];
            for v in 0..n {
                for j in 0..K {
                    kept[j] += pulled[v][j];
                    total[j] += x[v][j];
                }
            }
            let mut back = [0.0f64; K];
            for j in 0..K {
                back[j] = cfg.restart + (1.0 - cfg.restart) * (total[j] - kept[j]).max(0.0);
            }
            for v in 0..n {
                for j in 0..K {
                    x[v][j] = (1.0 - cfg.restart) * pulled[v][j] + back[j] * restarts[j][v];
                }
            }
        }
        (0..K).map(|j| (0..n).map(|v| x[v][j]).collect()).collect()
    }
    /// Lift of walk mass `x` on each candidate's unit over the unit's share of all link weight
    /// (the walk's stationary share without restarts), with one average entity's share added to the
    /// denominator so that entities with a single weak link are not lifted by chance.
    fn lift(&self, x: &[f64], i: u32) -> f64 {
        let total_w: f64 = self.total_w;
        let n = self.nodes.len().max(1) as f64;
        let unit = || std::iter::once(i).chain(self.held[i as usize].iter().copied());
        let mass: f64 = unit().map(|j| x[j as usize]).sum();
        let share: f64 = unit().map(|j| self.wsum[j as usize]).sum::<f64>() / total_w;
        mass * n / (n * share + 1.0)
    }
}

/// Ranks every lead of the expansion. See the module docs.
///
/// # Complexity
/// Two stages, each O(I·m_s) for its walks (I iterations over the m_s links of the candidate
/// subgraph, parallel), plus O(m_s · d) for the signals (each entity looks at its neighbours), plus
/// the money trace (O(transfer links within [`MONEY_HOPS`] of the victims' payments)), plus
/// O(m_s log n_s) for the explanation paths (one multi-source Dijkstra).
pub fn rank(snap: &Snapshot, exp: &Expansion, cfg: &RankConfig) -> Ranking {
    let t0 = Instant::now();
    let mut phases: Vec<(&'static str, f64)> = Vec::new();
    let mut lap = {
        let mut t = Instant::now();
        move |name: &'static str, phases: &mut Vec<(&'static str, f64)>| {
            phases.push((name, t.elapsed().as_secs_f64()));
            t = Instant::now();
        }
    };
    let hub: Vec<bool> = exp.nodes.iter().map(|&(v, _)| exp.is_hub(v)).collect();
    let mut sub = Sub::build(snap, exp, exp.nodes.clone(), hub, cfg.hub_damping);
    lap("subgraph", &mut phases);
    let money = victim_money_kept(snap, exp);
    lap("money", &mut phases);
    let (first, own) = score(snap, exp, &sub, None, None, &money, cfg);
    lap("first_stage", &mut phases);
    let (mut widened, mut core_size) = (0, 0);
    let mut second = None;
    if cfg.core_hops > 0 && !first.ranked.is_empty() {
        let person = |v: Ix| snap.kind(v) == EntityKind::Person;
        let best = first
            .ranked
            .iter()
            .find(|r| person(r.1))
            .map_or(0.0, |r| r.0.max(0.0));
        let floor = CORE_SHARE * best;
        let core: Vec<(Ix, f64)> = first
            .ranked
            .iter()
            .take_while(|r| r.0 >= floor && floor > 0.0)
            .filter(|r| person(r.1))
            .map(|r| (r.1, r.0 - floor + 0.01 * best))
            .collect();
        if !core.is_empty() {
            let (mut nodes, mut hub) = widen(snap, exp, &sub, &core, cfg.core_hops);
            let fronts = fronts(snap, exp, &sub, &nodes, &core, &money);
            let mut known: FxHashSet<Ix> = nodes.iter().map(|n| n.0).collect();
            for &(u, h) in &fronts.join {
                if sub.at(u).is_none() && known.insert(u) {
                    nodes.push((u, h));
                    hub.push(false);
                }
            }
            widened = nodes.len();
            core_size = core.len();
            // the widened subgraph is the first one grown, not built again
            let old = sub.nodes.len();
            let mut changed = vec![false; old];
            for i in sub.add(snap, exp, &nodes, &hub, cfg.hub_damping) {
                changed[i as usize] = true;
            }
            lap("widen", &mut phases);
            let total: f64 = core.iter().map(|c| c.1).sum();
            let mut restart = vec![0.0; sub.nodes.len()];
            for &(v, s) in &core {
                restart[sub.local[v as usize] as usize] = s / total;
            }
            let earlier = Earlier {
                own: &own,
                changed: &changed,
                fronts: &fronts,
            };
            second = Some(score(snap, exp, &sub, Some(&restart), Some(earlier), &money, cfg).0);
            lap("second_stage", &mut phases);
        }
    }
    let last = second.unwrap_or(first);
    let candidates = last.ranked.len();
    let mut leads = last.leads(&sub, snap, &cfg.weights, cfg.limit);

    // --- explanations ---------------------------------------------------------------------------
    let seed_local: Vec<u32> = exp.seeds.iter().filter_map(|&s| sub.at(s)).collect();
    let seed_side: FxHashSet<u32> = (0..sub.nodes.len() as u32)
        .filter(|&i| sub.hop[i as usize] == 0)
        .collect();
    let need_paths = cfg.paths_per_lead > 0 && !leads.is_empty();
    let tree = if need_paths {
        // the paths need the tree only as far as the leads' neighbours
        let mut targets: Vec<u32> = leads
            .iter()
            .flat_map(|l| {
                sub.adj[sub.local[l.ix as usize] as usize]
                    .iter()
                    .map(|&(u, _)| u)
            })
            .filter(|&u| !sub.hub[u as usize])
            .collect();
        targets.sort_unstable();
        targets.dedup();
        Some(dijkstra(snap, &sub, &seed_local, &targets))
    } else {
        None
    };
    leads.par_iter_mut().for_each(|lead| {
        let i = sub.local[lead.ix as usize];
        if let Some((dist, pred)) = &tree {
            lead.paths = explain(snap, &sub, dist, pred, i, cfg.paths_per_lead);
        }
        lead.reasons = reasons(snap, &sub, &seed_side, i, lead);
    });
    lap("explain", &mut phases);
    Ranking {
        leads,
        candidates,
        widened,
        core: core_size,
        seconds: t0.elapsed().as_secs_f64(),
        phases,
    }
}

/// The candidate set widened by `hops` around the core persons (and their identifiers), through
/// links that pass the expansion's filter, not through hubs; identity links are free, so a phone
/// brings its holder. A new entity's hop is one more than the entity it was reached from. Returns
/// the new entities, in the order they join the subgraph, and which of them are hubs.
fn widen(
    snap: &Snapshot,
    exp: &Expansion,
    sub: &Sub,
    core: &[(Ix, f64)],
    hops: u32,
) -> (Vec<(Ix, u32)>, Vec<bool>) {
    let mut nodes: Vec<(Ix, u32)> = Vec::new();
    let mut hub: Vec<bool> = Vec::new();
    let mut added: FxHashSet<Ix> = FxHashSet::default();
    let seen = |u: Ix, added: &FxHashSet<Ix>| sub.at(u).is_some() || added.contains(&u);
    let mut frontier: Vec<(Ix, u32)> = Vec::new();
    for &(v, _) in core {
        let i = sub.local[v as usize];
        for j in sub.unit(i) {
            frontier.push((sub.nodes[j as usize], sub.hop[j as usize]));
        }
    }
    frontier.sort_unstable();
    frontier.dedup_by_key(|f| f.0);
    let filter = &exp.filter;
    let admit = |u: Ix| filter.enters(snap.kind(u));
    for _ in 0..hops {
        // (entity, hop) first reached from the frontier, smallest hop kept
        let mut found: Vec<(Ix, u32, bool)> = frontier
            .par_iter()
            .flat_map_iter(|&(v, h)| {
                snap.all_links(v)
                    .filter(|&(_, l)| filter.passes(snap.link(l)))
                    .map(move |(u, l)| (u, h + u32::from(!is_identity(snap.link_kind(l))), false))
                    .collect::<Vec<_>>()
            })
            .filter(|&(u, _, _)| !seen(u, &added) && admit(u))
            .collect();
        found.sort_unstable();
        found.dedup_by_key(|f| f.0);
        // identity closure: the holders of new identifiers and the identifiers of new persons
        let mut closure: Vec<(Ix, u32, bool)> = found
            .par_iter()
            .flat_map_iter(|&(u, h, _)| {
                snap.all_links(u)
                    .filter(|&(_, l)| is_identity(snap.link_kind(l)))
                    .map(move |(w, _)| (w, h, false))
                    .collect::<Vec<_>>()
            })
            .filter(|&(w, _, _)| !seen(w, &added) && admit(w))
            .collect();
        found.append(&mut closure);
        found.sort_unstable();
        found.dedup_by_key(|f| f.0);
        for f in found.iter_mut() {
            f.2 = exp.hub_reason(snap, f.0).is_some();
        }
        frontier.clear();
        for &(u, h, is_hub) in &found {
            added.insert(u);
            nodes.push((u, h));
            hub.push(is_hub);
            if !is_hub {
                frontier.push((u, h));
            }
        }
    }
    (nodes, hub)
}

/// Front holders and their controllers (see [`fronts`]).
#[derive(Default)]
struct Fronts {
    /// Per controlling person: the victims' money ending with its fronts, and how many fronts.
    controlled: FxHashMap<Ix, (f64, u32)>,
    /// The fronts and their identifiers, with a hop one beyond their controller's, to join the
    /// candidates.
    join: Vec<(Ix, u32)>,
}

/// Accounts registered to someone other than who runs them (a parent's, a spouse's, a bought
/// card): where the victims' money ends in an account (at least [`FRONT_MIN_SHARE`] of it)
/// whose holder deals with no first-round suspect other than through such accounts (whoever runs
/// them pays the network's people from them; the holder may be in the core for the money alone),
/// the holder is a front, and the money is credited, in equal parts, to those of the holder's
/// personal contacts (calls, messages, kinship, address; not transfers, which the money trace
/// follows already; not through hubs) who are candidates and deal with at least
/// [`FRONT_MIN_TIES`] core persons other than the holder: whoever links the card to the network
/// runs it. Investigators attribute such accounts the same way, by who calls the holder.
fn fronts(
    snap: &Snapshot,
    exp: &Expansion,
    sub: &Sub,
    widened: &[(Ix, u32)],
    core: &[(Ix, f64)],
    money: &MoneyEnds,
) -> Fronts {
    let threshold = exp.stats.hub_threshold;
    let hub = |u: Ix| snap.degree(u) >= threshold || snap.flags(u).contains(Flags::SERVICE);
    let in_core: FxHashSet<Ix> = core.iter().map(|c| c.0).collect();
    let hop_of: FxHashMap<Ix, u32> = widened.iter().copied().collect();
    let candidate = |p: Ix| -> Option<u32> {
        match sub.at(p) {
            Some(j) => (!sub.hub[j as usize]).then(|| sub.hop[j as usize]),
            None => hop_of.get(&p).copied(),
        }
    };
    // a person's identifiers (not hubs), and the persons it deals with through them
    let unit = |p: Ix| -> Vec<Ix> {
        let mut u = vec![p];
        u.extend(
            snap.all_links(p)
                .filter(|&(w, l)| is_identity(snap.link_kind(l)) && !hub(w))
                .map(|(w, _)| w),
        );
        u.sort_unstable();
        u.dedup();
        u
    };
    // the other ends (persons or identifiers) of the ties of `mine` (a person and identifiers
    // of theirs), each given to `visit` until it breaks; `personal`: calls, messages, kinship and
    // addresses only (a transfer on the money's way is no personal tie: the trace follows those
    // already)
    let each_tie = |mine: &[Ix],
                    personal: bool,
                    visit: &mut dyn FnMut(Ix) -> ControlFlow<()>|
     -> ControlFlow<()> {
        for &u in mine {
            for (w, l) in snap.all_links(u) {
                let kind = snap.link_kind(l);
                if is_identity(kind) || hub(w) || !exp.filter.passes(snap.link(l)) {
                    continue;
                }
                let kept = match kind {
                    LinkKind::CALL
                    | LinkKind::SMS
                    | LinkKind::RELATIVE
                    | LinkKind::SAME_ADDRESS => true,
                    LinkKind::TRANSFER => !personal,
                    k => !personal && is_stated(k),
                };
                if kept {
                    visit(w)?;
                }
            }
        }
        ControlFlow::Continue(())
    };
    // the core persons holding each identifier (a tie to the identifier is a tie to them)
    let mut core_held: FxHashMap<Ix, Vec<Ix>> = FxHashMap::default();
    for &(c, _) in core {
        for (w, l) in snap.all_links(c) {
            if is_identity(snap.link_kind(l)) {
                core_held.entry(w).or_default().push(c);
            }
        }
    }
    // whether `p` deals with at least `at_least` core persons (other than `but`) through `mine`
    let deals_with_core = |p: Ix, mine: &[Ix], but: Option<Ix>, at_least: usize| -> bool {
        if at_least == 0 {
            return true;
        }
        let mut seen: Vec<Ix> = Vec::new();
        each_tie(mine, false, &mut |w| {
            let theirs: &[Ix] = if snap.kind(w) == EntityKind::Person {
                if in_core.contains(&w) {
                    std::slice::from_ref(&w)
                } else {
                    &[]
                }
            } else {
                core_held.get(&w).map_or(&[], Vec::as_slice)
            };
            for &q in theirs {
                if q != p && Some(q) != but && !seen.contains(&q) {
                    seen.push(q);
                    if seen.len() >= at_least {
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        })
        .is_break()
    };
    let floor = money.traced * FRONT_MIN_SHARE;
    let mut ends: Vec<(Ix, f64)> = money
        .ends
        .iter()
        .filter(|(_, e)| e.0 >= floor)
        .map(|(&a, e)| (a, e.0))
        .collect();
    ends.sort_unstable_by_key(|e| e.0);
    // per holder: the money ending in its accounts
    let mut held: FxHashMap<Ix, f64> = FxHashMap::default();
    for &(a, amount) in &ends {
        let holders = owners(snap, a);
        for &q in &holders {
            *held.entry(q).or_default() += amount / holders.len() as f64;
        }
    }
    let mut held: Vec<(Ix, f64)> = held.into_iter().collect();
    held.sort_unstable_by_key(|h| h.0);
    let front_accounts: FxHashSet<Ix> = ends.iter().map(|e| e.0).collect();
    // (holder, the persons who may run its accounts with their hops, the money)
    type Found = (Ix, Vec<(Ix, u32)>, f64);
    let found: Vec<Found> = held
        .par_iter()
        .filter_map(|&(h, amount)| {
            let mine = unit(h);
            // its dealings other than through the accounts where the money ends (whoever runs
            // those pays the network's people from them)
            let own: Vec<Ix> = mine
                .iter()
                .copied()
                .filter(|u| !front_accounts.contains(u))
                .collect();
            if deals_with_core(h, &own, None, 1) {
                return None; // deals with suspects itself: its own money
            }
            // the persons it deals with personally
            let mut personal: Vec<Ix> = Vec::new();
            let _ = each_tie(&mine, true, &mut |w| {
                if snap.kind(w) == EntityKind::Person {
                    personal.push(w);
                } else {
                    personal.extend(holders(snap, w));
                }
                ControlFlow::Continue(())
            });
            personal.retain(|&q| q != h);
            personal.sort_unstable();
            personal.dedup();
            let runs: Vec<(Ix, u32)> = personal
                .iter()
                .filter_map(|&c| {
                    let hop = candidate(c)?;
                    deals_with_core(c, &unit(c), Some(h), FRONT_MIN_TIES).then_some((c, hop))
                })
                .collect();
            (!runs.is_empty()).then_some((h, runs, amount))
        })
        .collect();
    let mut out = Fronts::default();
    for (h, runs, amount) in found {
        let part = amount / runs.len() as f64;
        for &(c, _) in &runs {
            let e = out.controlled.entry(c).or_default();
            e.0 += part;
            e.1 += 1;
        }
        let hop = runs.iter().map(|r| r.1).min().unwrap_or(0) + 1;
        for u in unit(h) {
            out.join.push((u, hop));
        }
    }
    out
}

/// Scores every candidate of `sub`; `core` is the restart distribution of the second-stage walk.
fn score(
    snap: &Snapshot,
    exp: &Expansion,
    sub: &Sub,
    core: Option<&[f64]>,
    earlier: Option<Earlier>,
    money: &MoneyEnds,
    cfg: &RankConfig,
) -> (Scored, Vec<Signals>) {
    let n = sub.nodes.len();
    let seed_local: Vec<u32> = exp.seeds.iter().filter_map(|&s| sub.at(s)).collect();
    let seed_side: FxHashSet<u32> = (0..n as u32)
        .filter(|&i| sub.hop[i as usize] == 0)
        .collect();

    // --- walks ---------------------------------------------------------------------------------
    let mut restart = vec![0.0; n];
    for &s in &seed_local {
        restart[s as usize] = 1.0 / seed_local.len().max(1) as f64;
    }
    let returnee_bit = Roles::bit("returnee").unwrap_or(0);
    let is_returnee = |i: usize| {
        snap.kind(sub.nodes[i]) == EntityKind::Person
            && snap.roles(sub.nodes[i]).0 & returnee_bit != 0
    };
    let flagged: Vec<u32> = (0..n as u32)
        .filter(|&i| seed_side.contains(&i) || (is_returnee(i as usize) && !sub.hub[i as usize]))
        .collect();
    let mut restart_c = vec![0.0; n];
    for &f in &flagged {
        restart_c[f as usize] = 1.0 / flagged.len() as f64;
    }
    let mut restarts: Vec<&[f64]> = vec![&restart, &restart_c];
    restarts.extend(core);
    let mut walked = sub.walks(&restarts, cfg).into_iter();
    let x = walked.next().unwrap_or_default();
    let xc = walked.next().unwrap_or_default();
    let xk = walked.next();
    let in_core: Vec<bool> = match core {
        Some(r) => r.iter().map(|&p| p > 0.0).collect(),
        None => vec![false; n],
    };

    // --- stated co-offending: police sources naming partners in crime -------------------------------
    let victim_bit = Roles::bit("victim").unwrap_or(0);
    let is_person = |i: usize| snap.kind(sub.nodes[i]) == EntityKind::Person;
    // a suspect already: flagged with a role other than victim, or in the first-round core
    let known: Vec<bool> = (0..n)
        .map(|i| is_person(i) && (snap.roles(sub.nodes[i]).0 & !victim_bit != 0 || in_core[i]))
        .collect();
    // per person: its stated partners (persons), and whether it is the active party
    let stated: Vec<Vec<(u32, bool)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if !is_person(i) || sub.hub[i] {
                return Vec::new();
            }
            let v = sub.nodes[i];
            let mut p: Vec<(u32, bool)> = sub.adj[i]
                .iter()
                .filter(|&&(j, l)| is_stated(snap.link_kind(l)) && is_person(j as usize))
                .map(|&(j, l)| {
                    let link = snap.link(l);
                    (j, link.src == v && is_organising(link.kind))
                })
                .collect();
            p.sort_unstable();
            p.dedup_by(|later, kept| {
                if later.0 == kept.0 {
                    kept.1 |= later.1;
                    true
                } else {
                    false
                }
            });
            p
        })
        .collect();
    // stated partners of a known suspect are suspects at one remove
    let near_known: Vec<bool> = stated
        .iter()
        .map(|p| p.iter().any(|&(j, _)| known[j as usize]))
        .collect();
    // --- money: victims' payments traced forward -------------------------------------------------
    let traced: f64 = money.traced.max(1.0);

    // --- signals of each entity on its own -------------------------------------------------------
    let own: Vec<Signals> = (0..n)
        .into_par_iter()
        .map(|i| match &earlier {
            Some(e) if i < e.changed.len() && !e.changed[i] => Signals {
                ppr: x[i],
                ..e.own[i].clone()
            },
            _ => own_signals(snap, sub, &seed_side, i, x[i]),
        })
        .collect();

    // the end of the records, as far as the reached numbers go
    let records_end = own.iter().map(|o| o.last_call).max().unwrap_or(0);

    // when a person left for abroad: the earliest time a police source states they crossed the
    // border (smuggled, or recruited: the statement's time is the departure); failing that, when
    // their domestic numbers went dark for good (see [`SILENT_GRACE_S`]), which says less (people
    // change numbers), so `stated` is false and only calls from abroad count in its run-up
    let crossed: Vec<Option<(i64, bool)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if !is_person(i) || sub.hub[i] {
                return None;
            }
            let v = sub.nodes[i];
            let unit = sub.unit(i as u32);
            let stated_at = sub.adj[i]
                .iter()
                .map(|&(_, l)| snap.link(l))
                .filter(|l| {
                    matches!(l.kind, LinkKind::SMUGGLED | LinkKind::RECRUITED)
                        && l.dst == v
                        && l.has_time()
                })
                .map(|l| l.first)
                .min();
            let (t, stated) = match stated_at {
                Some(t) => (t, true),
                None => {
                    // reported victims are witnesses; their phones say nothing of a departure
                    if snap.roles(v).0 & victim_bit != 0 {
                        return None;
                    }
                    let last = unit.iter().map(|&j| own[j as usize].last_call).max()?;
                    if last <= 0 || records_end - last <= SILENT_GRACE_S {
                        return None;
                    }
                    (last, false)
                }
            };
            // "only in the run-up" says something only where the person's call records reach
            // back before it: when the records begin a few weeks before the crossing, every
            // contact (the family's too) falls in the run-up
            let calls_since = unit
                .iter()
                .filter_map(|&j| sub.prep.entity[sub.nodes[j as usize] as usize].first_call)
                .min()?;
            (calls_since < t - RUN_UP_S).then_some((t, stated))
        })
        .collect();

    // --- leads ------------------------------------------------------------------------------
    let cand: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            let v = sub.nodes[i as usize];
            !sub.hub[i as usize] && sub.hop[i as usize] > 0 && is_lead_kind(snap.kind(v))
        })
        .collect();
    let merged: Vec<Signals> = cand
        .par_iter()
        .map(|&i| {
            let mut s = own[i as usize].clone();
            let unit = sub.unit(i);
            for &j in &unit[1..] {
                let o = &own[j as usize];
                s.ppr += o.ppr;
                s.evidence = s.evidence.max(o.evidence);
                s.foreign_numbers.extend_from_slice(&o.foreign_numbers);
                s.foreign_contacts = s.foreign_contacts.max(o.foreign_contacts);
                s.shared_device = s.shared_device.max(o.shared_device);
                s.shares_device_with_seed |= o.shares_device_with_seed;
                s.last_call = s.last_call.max(o.last_call);
                if o.round_payments > s.round_payments {
                    s.round_payments = o.round_payments;
                    s.round_amount = o.round_amount;
                }
            }
            s.foreign_numbers.sort_unstable();
            s.foreign_numbers.dedup();
            // persons directly linked to the unit (through calls, money, relations, handsets)
            let mut people: Vec<u32> = Vec::new();
            for &u in &unit {
                for &(w, lk) in &sub.adj[u as usize] {
                    if sub.hub[w as usize] || is_identity(snap.link_kind(lk)) {
                        continue;
                    }
                    if snap.kind(sub.nodes[w as usize]) == EntityKind::Person {
                        people.push(w);
                    } else {
                        people.extend_from_slice(&sub.holders[w as usize]);
                    }
                }
            }
            people.sort_unstable();
            people.dedup();
            people.retain(|p| !unit.contains(p));
            // persons called only in the run-up to their border crossing: every call between the
            // lead's side and their numbers at home, in both directions, falls in it (their
            // foreign numbers are the compound's: the calls there, after the crossing, say
            // nothing of who arranged it)
            let mut calls_with: Vec<(u32, u32, RunUp, bool)> = Vec::new();
            for &u in &unit {
                let abroad = snap.flags(sub.nodes[u as usize]).contains(Flags::FOREIGN);
                for &(w, lk) in &sub.adj[u as usize] {
                    if sub.hub[w as usize]
                        || !matches!(snap.link_kind(lk), LinkKind::CALL | LinkKind::SMS)
                        || snap.flags(sub.nodes[w as usize]).contains(Flags::FOREIGN)
                    {
                        continue;
                    }
                    let link = snap.link(lk);
                    let whose: &[u32] = if is_person(w as usize) {
                        std::slice::from_ref(&w)
                    } else {
                        &sub.holders[w as usize]
                    };
                    for &p in whose {
                        if let Some((t, _)) = crossed[p as usize] {
                            if link.has_time() && link.first >= t - RUN_UP_EVE_S && link.last <= t {
                                continue; // the goodbye home, the smuggler's directions
                            }
                            let when = if !link.has_time() || link.first < t - RUN_UP_S {
                                RunUp::Before
                            } else if link.last <= t {
                                RunUp::Inside
                            } else {
                                RunUp::After
                            };
                            calls_with.push((p, link.count, when, abroad));
                        }
                    }
                }
            }
            calls_with.sort_unstable();
            // a departure known only from the phone going dark counts when the calls came
            // (some of them) from abroad: a member already in the compound drawing someone in
            let mut run_up: Vec<u32> = calls_with
                .chunk_by(|a, b| a.0 == b.0)
                .filter(|c| {
                    let stated = crossed[c[0].0 as usize].is_some_and(|x| x.1);
                    c.iter().all(|x| x.2 == RunUp::Inside)
                        && c.iter().map(|x| x.1).sum::<u32>() >= RUN_UP_CALLS
                        && (stated || c.iter().any(|x| x.3))
                })
                .map(|c| c[0].0)
                .collect();
            run_up.retain(|p| !unit.contains(p));
            s.returnees = people.iter().filter(|&&p| is_returnee(p as usize)).count() as u32;
            s.contacts = people.len() as u32;
            s.core_contacts = people.iter().filter(|&&p| in_core[p as usize]).count() as u32;
            s.suspect_contacts = people
                .iter()
                .filter(|&&p| known[p as usize] || near_known[p as usize])
                .count() as u32;
            s.community_lift = sub.lift(&xc, i);
            if let Some(xk) = &xk {
                s.core_lift = sub.lift(xk, i);
            }
            for &j in &unit {
                if let Some(&(amount, hops)) = money.ends.get(&sub.nodes[j as usize]) {
                    s.victim_money += amount;
                    s.money_hops = if s.money_hops == 0 {
                        hops
                    } else {
                        s.money_hops.min(hops)
                    };
                }
            }
            if let Some(&(amount, holders)) = earlier
                .as_ref()
                .and_then(|e| e.fronts.controlled.get(&sub.nodes[i as usize]))
            {
                s.front_money = amount;
                s.front_holders = holders;
                s.victim_money += amount;
            }
            s.victim_share = s.victim_money / traced;
            let partners = &stated[i as usize];
            s.stated_partners = partners.len() as u32;
            let suspect = |j: u32| known[j as usize] || near_known[j as usize];
            s.stated_suspects = partners.iter().filter(|&&(j, _)| suspect(j)).count() as u32;
            s.organised = partners
                .iter()
                .filter(|&&(j, active)| active && suspect(j))
                .count() as u32;
            s.stated_known = partners.iter().filter(|&&(j, _)| known[j as usize]).count() as u32;
            // a crossing the lead is stated to have arranged counts once, as stated
            run_up.retain(|p| !partners.iter().any(|&(j, active)| active && j == *p));
            s.run_up_contacts = run_up.len() as u32;
            if s.last_call > 0 {
                s.silent_s = records_end - s.last_call;
            }
            s
        })
        .collect();
    let ppr_ref = 1.0 / n.max(1) as f64;
    let ppr_max = merged
        .iter()
        .map(|s| s.ppr)
        .fold(0.0, f64::max)
        .max(ppr_ref);
    let scale = Scale {
        ppr_ref,
        ppr_max,
        second: core.is_some(),
        victim_bit,
    };
    // the score alone for every candidate; the components only for the leads kept (see
    // [`Scored::leads`])
    let mut ranked: Vec<(f64, Ix, u32)> = cand
        .par_iter()
        .zip(&merged)
        .enumerate()
        .map(|(k, (&i, s))| {
            let v = sub.nodes[i as usize];
            (
                assess(s, snap.roles(v), &scale, &cfg.weights, None),
                v,
                k as u32,
            )
        })
        .collect();
    ranked.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    (
        Scored {
            ranked,
            cand,
            merged,
            scale,
        },
        own,
    )
}

/// Where a link between a lead's side and a person's falls against the person's border crossing
/// (see [`RUN_UP_S`]): begun before the run-up (or undated), within it, or lasting past the
/// crossing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RunUp {
    Before,
    Inside,
    After,
}

/// What turns a candidate's signals into its score, beside the weights.
struct Scale {
    ppr_ref: f64,
    ppr_max: f64,
    /// The second stage (the core's walk and ties count, and importance orders suspects).
    second: bool,
    victim_bit: u32,
}

/// Every candidate of a stage scored, best first (ties by index): (score, entity, index into
/// `cand` and `merged`). Only the leads returned get their components and reasons.
struct Scored {
    ranked: Vec<(f64, Ix, u32)>,
    cand: Vec<u32>,
    merged: Vec<Signals>,
    scale: Scale,
}

impl Scored {
    /// The best `limit` leads (0: all), with their components.
    fn leads(mut self, sub: &Sub, snap: &Snapshot, w: &Weights, limit: usize) -> Vec<Lead> {
        let keep = if limit > 0 {
            limit.min(self.ranked.len())
        } else {
            self.ranked.len()
        };
        let mut out = Vec::with_capacity(keep);
        for &(score, v, k) in &self.ranked[..keep] {
            let i = self.cand[k as usize];
            let s = std::mem::take(&mut self.merged[k as usize]);
            let mut components = Vec::with_capacity(13);
            let again = assess(&s, snap.roles(v), &self.scale, w, Some(&mut components));
            debug_assert_eq!(again.to_bits(), score.to_bits());
            out.push(Lead {
                ix: v,
                score,
                hops: sub.hop[i as usize],
                components,
                signals: s,
                reasons: Vec::new(),
                paths: Vec::new(),
            });
        }
        out
    }
}

/// A candidate's score from its merged signals; its components pushed to `components` when asked.
fn assess(
    s: &Signals,
    roles: Roles,
    scale: &Scale,
    w: &Weights,
    components: Option<&mut Vec<(&'static str, f64)>>,
) -> f64 {
    let Scale {
        ppr_ref,
        ppr_max,
        second,
        victim_bit,
    } = *scale;
    // lift above 1 on a log scale: 63% at LIFT_SCALE times what the links alone would draw
    let lift_score = |l: f64| 1.0 - (-(l.max(1.0).ln()) / LIFT_SCALE.ln()).exp();
    let sat = |x: f64, k: f64| 1.0 - (-x / k).exp();
    let proximity = (s.ppr / ppr_ref).ln_1p() / (ppr_max / ppr_ref).ln_1p();
    let community = lift_score(s.community_lift);
    let evidence = sat(s.evidence, 40.0);
    let foreign = if s.foreign_numbers.is_empty() {
        (0.5 * sat(f64::from(s.foreign_contacts), 3.0)).max(sat(
            f64::from(s.foreign_contacts.saturating_sub(FOREIGN_FEW)),
            FOREIGN_BREADTH,
        ))
    } else {
        1.0
    };
    let shared_device = if s.shares_device_with_seed {
        1.0
    } else {
        // one other number is a new phone or a relative's; a relay box holds many
        sat(f64::from(s.shared_device.saturating_sub(1)), 5.0)
    };
    let per_head = if s.round_payments >= 2 {
        sat(f64::from(s.round_payments), 4.0)
    } else {
        0.0
    };
    let money = sat(s.victim_share, MONEY_SCALE);
    let silent = if s.last_call > 0 {
        sat((s.silent_s - SILENT_GRACE_S).max(0) as f64, SILENT_SCALE_S)
    } else {
        0.0
    };
    let mut known = roles;
    known.0 &= !victim_bit;
    let known_role = if known.is_empty() { 0.0 } else { 1.0 };
    let mut components = components;
    let mut push = |name: &'static str, c: f64| {
        if let Some(out) = components.as_deref_mut() {
            out.push((name, c));
        }
    };
    for (name, c) in [
        ("proximity", proximity),
        ("community", community),
        ("evidence", evidence),
        ("foreign", foreign),
        ("shared_device", shared_device),
        ("per_head", per_head),
        ("money", money),
        ("known_role", known_role),
        ("silent", silent),
    ] {
        push(name, c);
    }
    // the walks' association measures overlap (a core member scores on all three), so
    // they count once, by the strongest
    // each stated partner in crime who is a suspect is one piece of evidence; a partner
    // flagged or in the core counts more than one known only through their own statements
    let stated = 1.0
        - (1.0 - STATED_KNOWN).powi(s.stated_known as i32)
            * (1.0 - STATED_NEAR).powi((s.stated_suspects - s.stated_known) as i32);
    // arranging a crossing's run-up is half a stated recruitment
    let organised = f64::from(s.organised) + RUN_UP_SHARE * f64::from(s.run_up_contacts);
    let organiser = sat(organised, ORGANISER_SCALE);
    push("stated", stated);
    push("organiser", organiser);
    let mut association = community.max(stated);
    let mut ties = 0.0;
    if second {
        let c = lift_score(s.core_lift);
        // many core contacts, and most of the lead's contacts in the core
        let t = sat(f64::from(s.core_contacts), CORE_TIES_SCALE) * f64::from(s.core_contacts)
            / f64::from(s.contacts.max(1));
        push("core", c);
        push("core_ties", t);
        association = association.max(c);
        ties = t;
    }
    let pairs = [
        (w.proximity, proximity),
        (w.association, association),
        (w.association, ties),
        (w.evidence, evidence),
        (w.foreign, foreign),
        (w.shared_device, shared_device),
        (w.per_head, per_head),
        (w.money, money),
        (w.known_role, known_role),
        (w.organiser, organiser),
        (w.silent, silent),
    ];
    let mut score = 1.0 - pairs.iter().map(|&(w, c)| 1.0 - w * c).product::<f64>();
    if second {
        // second stage: among suspects, those the network turns on come first (the
        // money ends with them, they organised others, or dozens of suspects deal with them)
        let importance = sat(s.victim_share, IMPORTANCE_MONEY)
            .max(sat(organised, IMPORTANCE_ORGANISED))
            .max(sat(
                f64::from(s.suspect_contacts.saturating_sub(TIES_HANDFUL)),
                IMPORTANCE_TIES,
            ));
        push("suspicion", score);
        push("importance", importance);
        score *= IMPORTANCE_FLOOR + (1.0 - IMPORTANCE_FLOOR) * importance;
    }
    if roles.0 & victim_bit != 0 {
        score *= VICTIM_FACTOR;
    }
    score
}

/// The first stage's signals of each entity on its own, for the second stage: the same but for
/// the walk mass, except for the entities whose links in the subgraph changed (`changed`, by
/// local index; entities beyond it are new).
struct Earlier<'a> {
    own: &'a [Signals],
    changed: &'a [bool],
    /// Victims' money ending with front holders, credited to the persons controlling them (see
    /// [`fronts`]).
    fronts: &'a Fronts,
}

/// Where the reported victims' money ends: per account, the amount (fen) that stays there and
/// the fewest transfer hops it took; `traced` is all the money followed.
struct MoneyEnds {
    ends: FxHashMap<Ix, (f64, u32)>,
    traced: f64,
}

/// The victims' money traces made on a snapshot, by what they depend on (the expansion's filter,
/// hub policy and hub threshold; not the seeds), the latest [`MONEY_KEPT`] of them.
#[derive(Default)]
struct MoneyKept(std::sync::Mutex<Vec<(MoneyKey, Arc<MoneyEnds>)>>);
type MoneyKey = (LinkFilter, HubPolicy, usize);
const MONEY_KEPT: usize = 8;

/// [`victim_money`], traced once per snapshot and filter.
fn victim_money_kept(snap: &Snapshot, exp: &Expansion) -> Arc<MoneyEnds> {
    let kept = snap.memo(|_| MoneyKept::default());
    let key: MoneyKey = (
        exp.filter.clone(),
        exp.hub_policy.clone(),
        exp.stats.hub_threshold,
    );
    let lock = || kept.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, m)) = lock().iter().find(|(k, _)| *k == key) {
        return Arc::clone(m);
    }
    let m = Arc::new(victim_money(snap, exp));
    let mut all = lock();
    if !all.iter().any(|(k, _)| *k == key) {
        if all.len() >= MONEY_KEPT {
            all.remove(0);
        }
        all.push((key, Arc::clone(&m)));
    }
    m
}

/// Follows the reported victims' payments (out of their accounts, into accounts that are neither
/// hubs nor other victims') forward over the snapshot's
/// transfer links, in time order (a link is followed only if its last transfer is not earlier than
/// the money's arrival), splitting in proportion to the links' totals. An account passes on at most
/// what it sends out relative to what it received; the rest stays. Hubs (clearing accounts) take money
/// out of the trace. Deterministic: entities are processed in index order.
fn victim_money(snap: &Snapshot, exp: &Expansion) -> MoneyEnds {
    let victim_bit = Roles::bit("victim").unwrap_or(0);
    let threshold = exp.stats.hub_threshold;
    // Platforms' clearing accounts end the trace; a person's account that many pay into is where
    // layered money consolidates, so degree alone makes no hub here unless it is extreme.
    let money_hub = |a: Ix| match exp.hub_reason(snap, a) {
        Some(HubReason::Degree) => snap.degree(a) >= MONEY_HUB_FACTOR * threshold,
        Some(_) => true,
        None => false,
    };
    // the reported victims' accounts, anywhere in the snapshot
    let mut victim_accounts: Vec<Ix> = (0..snap.node_count() as Ix)
        .into_par_iter()
        .filter(|&p| snap.kind(p) == EntityKind::Person && snap.roles(p).0 & victim_bit != 0)
        .flat_map_iter(|p| {
            snap.all_links(p)
                .filter(|&(a, l)| {
                    is_identity(snap.link_kind(l))
                        && matches!(snap.kind(a), EntityKind::Account | EntityKind::Wallet)
                        && snap.degree(a) < threshold
                })
                .map(|(a, _)| a)
                .collect::<Vec<_>>()
        })
        .collect();
    victim_accounts.sort_unstable();
    victim_accounts.dedup();
    let mut frontier: FxHashMap<Ix, (f64, i64)> = FxHashMap::default();
    let mut traced = 0.0;
    for &b in &victim_accounts {
        for (a, l) in snap.out_links(b) {
            let link = snap.link(l);
            if link.kind == LinkKind::TRANSFER
                && link.total > 0
                && exp.filter.passes(link)
                && victim_accounts.binary_search(&a).is_err()
                && !money_hub(a)
            {
                let e = frontier.entry(a).or_insert((0.0, i64::MAX));
                e.0 += link.total as f64;
                e.1 = e.1.min(link.first);
                traced += link.total as f64;
            }
        }
    }
    let mut stays: FxHashMap<Ix, (f64, u32)> = FxHashMap::default();
    let keep = |a: Ix, amount: f64, hop: u32, stays: &mut FxHashMap<Ix, (f64, u32)>| {
        let e = stays.entry(a).or_insert((0.0, hop));
        e.0 += amount;
        e.1 = e.1.min(hop);
    };
    let crumb = traced * MONEY_MIN_SHARE;
    for hop in 1..=MONEY_HOPS {
        let mut at: Vec<(Ix, (f64, i64))> = frontier.drain().collect();
        at.sort_unstable_by_key(|e| e.0);
        let last = hop == MONEY_HOPS;
        for (a, (amount, since)) in at {
            if money_hub(a) {
                continue; // into a platform: out of the trace
            }
            let inflow: f64 = snap
                .in_links(a)
                .map(|(_, l)| snap.link(l))
                .filter(|l| l.kind == LinkKind::TRANSFER)
                .map(|l| l.total.max(0) as f64)
                .sum();
            let outs: Vec<(Ix, f64, i64)> = snap
                .out_links(a)
                .map(|(b, l)| (b, snap.link(l)))
                .filter(|(_, l)| {
                    l.kind == LinkKind::TRANSFER
                        && l.total > 0
                        && l.last >= since
                        && exp.filter.passes(l)
                })
                .map(|(b, l)| (b, l.total as f64, l.first.max(since)))
                .collect();
            let out_total: f64 = outs.iter().map(|o| o.1).sum();
            let passed = if last || out_total <= 0.0 || amount < crumb {
                0.0
            } else {
                amount * (out_total / inflow.max(out_total)).min(1.0)
            };
            if amount - passed > 0.0 {
                keep(a, amount - passed, hop, &mut stays);
            }
            if passed > 0.0 {
                for (b, t, first) in outs {
                    let e = frontier.entry(b).or_insert((0.0, i64::MAX));
                    e.0 += passed * t / out_total;
                    e.1 = e.1.min(first);
                }
            }
        }
        if frontier.is_empty() {
            break;
        }
    }
    MoneyEnds {
        ends: stays,
        traced,
    }
}

/// Round sums at or above this, in multiples of [`ROUND_FEN`], count as per-head payments.
const ROUND_FEN: i64 = 50_000; // 500 yuan
const MIN_PER_HEAD_FEN: i64 = 100_000; // 1,000 yuan

fn own_signals(
    snap: &Snapshot,
    sub: &Sub,
    seed_side: &FxHashSet<u32>,
    i: usize,
    ppr: f64,
) -> Signals {
    let v = sub.nodes[i];
    let pre = sub.prep.entity[v as usize];
    let mut s = Signals {
        ppr,
        last_call: pre.last_call,
        foreign_contacts: pre.foreign_contacts,
        shared_device: pre.shared_device,
        round_payments: pre.round_payments,
        round_amount: pre.round_amount,
        ..Signals::default()
    };
    s.evidence = sub.adj[i]
        .iter()
        .zip(&sub.st[i])
        .filter(|&(&(_, l), _)| !is_identity(snap.link_kind(l)))
        .map(|(_, &st)| st)
        .sum();
    if snap.kind(v) == EntityKind::Phone {
        if snap.flags(v).contains(Flags::FOREIGN) {
            s.foreign_numbers.push(v);
        }
        // a handset shared with the seed's side: only where the handset is shared at all
        if pre.shared_device > 0 {
            s.shares_device_with_seed = handsets(snap, v)
                .flat_map(|d| handset_mates(snap, d, v))
                .any(|p| sub.at(p).is_some_and(|j| seed_side.contains(&j)));
        }
    }
    s
}

/// The handsets phone `v` is in, each with at most 10,000 links (a larger one is a data artefact,
/// not a handset).
fn handsets(snap: &Snapshot, v: Ix) -> impl Iterator<Item = Ix> + '_ {
    snap.all_links(v)
        .filter(move |&(d, l)| snap.link_kind(l) == LinkKind::DEVICE_OF && snap.degree(d) <= 10_000)
        .map(|(d, _)| d)
}

/// The phones of handset `d` other than `v`.
fn handset_mates(snap: &Snapshot, d: Ix, v: Ix) -> impl Iterator<Item = Ix> + '_ {
    snap.all_links(d)
        .filter(move |&(p, l)| p != v && snap.link_kind(l) == LinkKind::DEVICE_OF)
        .map(|(p, _)| p)
}

/// What ranking reads of one entity that depends on the snapshot alone: computed for every
/// entity once per snapshot (see [`prepare`]), not by every query for every candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Standing {
    /// A domestic phone's last dated call or message (0: none, or not a domestic phone).
    last_call: i64,
    /// The first dated call or message on any of the entity's links.
    first_call: Option<i64>,
    /// A phone's distinct foreign numbers called or messaged.
    foreign_contacts: u32,
    /// A phone: the most other phones in one of its handsets; a handset: its phones but one.
    shared_device: u32,
    /// An account or wallet: the most-repeated round per-head sum paid in, and how often.
    round_payments: u32,
    round_amount: i64,
}

fn standing(snap: &Snapshot, v: Ix) -> Standing {
    let mut s = Standing::default();
    let calls = || {
        snap.all_links(v)
            .map(|(u, l)| (u, snap.link(l)))
            .filter(|(_, l)| matches!(l.kind, LinkKind::CALL | LinkKind::SMS))
    };
    s.first_call = calls()
        .filter(|(_, l)| l.has_time())
        .map(|(_, l)| l.first)
        .min();
    match snap.kind(v) {
        EntityKind::Phone => {
            if !snap.flags(v).contains(Flags::FOREIGN) {
                s.last_call = calls()
                    .filter(|(_, l)| l.has_time())
                    .map(|(_, l)| l.last)
                    .max()
                    .unwrap_or(0);
            }
            let mut foreign: Vec<Ix> = calls()
                .filter(|&(u, _)| snap.flags(u).contains(Flags::FOREIGN))
                .map(|(u, _)| u)
                .collect();
            foreign.sort_unstable();
            foreign.dedup();
            s.foreign_contacts = foreign.len() as u32;
            s.shared_device = handsets(snap, v)
                .map(|d| handset_mates(snap, d, v).count() as u32)
                .max()
                .unwrap_or(0);
        }
        EntityKind::Device => {
            let phones = snap
                .all_links(v)
                .filter(|&(_, l)| snap.link_kind(l) == LinkKind::DEVICE_OF)
                .count() as u32;
            s.shared_device = phones.saturating_sub(1);
        }
        EntityKind::Account | EntityKind::Wallet => {
            let mut by_amount: FxHashMap<i64, u32> = FxHashMap::default();
            for (_, l) in snap.in_links(v) {
                if snap.link_kind(l) != LinkKind::TRANSFER {
                    continue;
                }
                let link = snap.link(l);
                let c = i64::from(link.count.max(1));
                // the same round sum paid repeatedly by one payer (victims pay once each)
                if c >= 2 && link.total % c == 0 {
                    let mean = link.total / c;
                    if mean >= MIN_PER_HEAD_FEN && mean % ROUND_FEN == 0 {
                        *by_amount.entry(mean).or_default() += link.count;
                    }
                }
            }
            if let Some((&amount, &count)) =
                by_amount.iter().max_by_key(|(a, c)| (**c, Reverse(**a)))
            {
                s.round_payments = count;
                s.round_amount = amount;
            }
        }
        _ => {}
    }
    s
}

/// What ranking derives from a snapshot alone, once: every entity's [`Standing`] and every
/// link's [`strength`].
pub struct Prepared {
    entity: Vec<Standing>,
    strength: Vec<f64>,
}

/// Computes (once per snapshot, then kept with it) what every ranking on `snap` reads of the
/// snapshot alone. [`rank`] calls it; a server calls it when it publishes a snapshot, so that no
/// query waits for it.
///
/// # Complexity
/// O(n + m) for the entities and links, plus, per phone, the links of its handsets (parallel).
pub fn prepare(snap: &Snapshot) -> Arc<Prepared> {
    snap.memo(|s| Prepared {
        entity: (0..s.node_count() as Ix)
            .into_par_iter()
            .map(|v| standing(s, v))
            .collect(),
        strength: s.links().par_iter().map(strength).collect(),
    })
}

/// Multi-source Dijkstra from the seeds over the reached subgraph, not through hubs.
/// It stops once every one of `targets` (sorted) is settled: their distances and tree paths are
/// then final, as they would be after the whole search.
fn dijkstra(
    snap: &Snapshot,
    sub: &Sub,
    seeds: &[u32],
    targets: &[u32],
) -> (Vec<f64>, Vec<Option<(u32, u32)>>) {
    let n = sub.nodes.len();
    let mut wanted = vec![false; n];
    for &t in targets {
        wanted[t as usize] = true;
    }
    let mut left = targets.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut pred: Vec<Option<(u32, u32)>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    for &s in seeds {
        dist[s as usize] = 0.0;
        heap.push(Reverse((Ord64(0.0), s)));
    }
    while let Some(Reverse((Ord64(d), v))) = heap.pop() {
        if d > dist[v as usize] {
            continue;
        }
        if wanted[v as usize] {
            wanted[v as usize] = false;
            left -= 1;
            if left == 0 {
                break;
            }
        }
        if sub.hub[v as usize] {
            continue;
        }
        for (&(u, l), &st) in sub.adj[v as usize].iter().zip(&sub.st[v as usize]) {
            let nd = d + arc_cost(snap.link_kind(l), st);
            if nd < dist[u as usize] {
                dist[u as usize] = nd;
                pred[u as usize] = Some((v, l));
                heap.push(Reverse((Ord64(nd), u)));
            }
        }
    }
    (dist, pred)
}

/// A totally ordered f64 for heaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ord64(pub(crate) f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn step(snap: &Snapshot, sub: &Sub, from: u32, to: u32, link: u32) -> PathStep {
    let f = sub.nodes[from as usize];
    PathStep {
        from: f,
        to: sub.nodes[to as usize],
        link,
        forward: snap.link(link).src == f,
    }
}

fn tree_path(snap: &Snapshot, sub: &Sub, pred: &[Option<(u32, u32)>], mut v: u32) -> Vec<PathStep> {
    let mut steps = Vec::new();
    while let Some((u, l)) = pred[v as usize] {
        steps.push(step(snap, sub, u, v, l));
        v = u;
        if steps.len() > sub.nodes.len() {
            break;
        }
    }
    steps.reverse();
    steps
}

fn explain(
    snap: &Snapshot,
    sub: &Sub,
    dist: &[f64],
    pred: &[Option<(u32, u32)>],
    v: u32,
    k: usize,
) -> Vec<Vec<PathStep>> {
    let mut via: Vec<(f64, u32, u32)> = sub.adj[v as usize]
        .iter()
        .zip(&sub.st[v as usize])
        .filter(|&(&(u, _), _)| dist[u as usize].is_finite() && !sub.hub[u as usize])
        .map(|(&(u, l), &st)| (dist[u as usize] + arc_cost(snap.link_kind(l), st), u, l))
        .collect();
    via.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<Vec<PathStep>> = Vec::new();
    let mut used: FxHashSet<u32> = FxHashSet::default();
    for (_, u, l) in via {
        if out.len() >= k {
            break;
        }
        if !used.insert(u) {
            continue;
        }
        let mut p = tree_path(snap, sub, pred, u);
        let vx = sub.nodes[v as usize];
        if p.iter().any(|s| s.from == vx || s.to == vx) {
            continue;
        }
        p.push(step(snap, sub, u, v, l));
        out.push(p);
    }
    out
}

/// The country of a foreign number, for reasons.
pub fn country(e164: &str) -> &'static str {
    const CODES: [(&str, &str); 10] = [
        ("+95", "Myanmar"),
        ("+855", "Cambodia"),
        ("+856", "Laos"),
        ("+66", "Thailand"),
        ("+63", "Philippines"),
        ("+60", "Malaysia"),
        ("+84", "Vietnam"),
        ("+852", "Hong Kong"),
        ("+853", "Macau"),
        ("+886", "Taiwan"),
    ];
    CODES
        .iter()
        .find(|(p, _)| e164.starts_with(p))
        .map_or("foreign", |(_, c)| *c)
}

fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        format!("¥{}", fen / 100)
    } else {
        format!("¥{}.{:02}", fen / 100, (fen % 100).abs())
    }
}

fn reasons(
    snap: &Snapshot,
    sub: &Sub,
    seed_side: &FxHashSet<u32>,
    i: u32,
    lead: &Lead,
) -> Vec<String> {
    let mut out = Vec::new();
    let s = &lead.signals;
    let v = sub.nodes[i as usize];
    let roles = snap.roles(v);
    let role_names: Vec<&str> = roles.names().collect();
    if !role_names.is_empty() {
        out.push(format!("flagged {}", role_names.join(", ")));
    }
    // direct links between the lead's side and the seeds' side
    let mine = sub.unit(i);
    let mut direct: Vec<String> = Vec::new();
    for &a in &mine {
        for &(b, l) in &sub.adj[a as usize] {
            if !seed_side.contains(&b) || b == i {
                continue;
            }
            let link = snap.link(l);
            if is_identity(link.kind) && a == i {
                continue;
            }
            let theirs = snap.node(sub.nodes[b as usize]);
            let what = match theirs.kind {
                EntityKind::Person => "the seed".to_string(),
                k => format!("the seed's {k} {}", theirs.key),
            };
            let outgoing = link.src == sub.nodes[a as usize];
            let text = match link.kind {
                LinkKind::CALL | LinkKind::SMS => {
                    let verb = match (link.kind == LinkKind::SMS, outgoing) {
                        (false, true) => "called",
                        (false, false) => "was called by",
                        (true, true) => "texted",
                        (true, false) => "was texted by",
                    };
                    let mins = if link.kind == LinkKind::CALL && link.total > 0 {
                        format!(", {} min in all", (link.total + 59) / 60)
                    } else {
                        String::new()
                    };
                    format!("{verb} {what} {} times{mins}", link.count)
                }
                LinkKind::TRANSFER => {
                    let (verb, dir) = if outgoing {
                        ("sent", "to")
                    } else {
                        ("received", "from")
                    };
                    format!(
                        "{verb} {} {dir} {what} in {} transfers",
                        yuan(link.total),
                        link.count
                    )
                }
                LinkKind::DEVICE_OF => format!("same handset as {what}"),
                k if is_identity(k) => format!("shares an identifier with {what}"),
                k => format!("{} link with {what}", snap.link_kind_name(k)),
            };
            direct.push(text);
        }
    }
    direct.sort();
    direct.dedup();
    out.extend(direct.into_iter().take(3));
    let c = |name: &str| {
        lead.components
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |c| c.1)
    };
    if c("proximity") >= 0.5 {
        out.push(format!(
            "close to the seed: {} hop{}, walk score {:.0}% of the closest lead's",
            lead.hops,
            if lead.hops == 1 { "" } else { "s" },
            100.0 * c("proximity")
        ));
    }
    if s.community_lift > 1.0 {
        out.push(format!(
            "in the seed's and the flagged returnees' circle: a walk from them visits it {:.1}× as often as its links alone would draw",
            s.community_lift
        ));
    }
    if s.returnees > 0 {
        out.push(format!(
            "deals directly with {} flagged returnee{}",
            s.returnees,
            if s.returnees == 1 { "" } else { "s" }
        ));
    }
    if s.organised > 0 {
        out.push(format!(
            "stated to have recruited, smuggled or financed {} suspect{}",
            s.organised,
            if s.organised == 1 { "" } else { "s" }
        ));
    }
    if s.run_up_contacts > 0 {
        out.push(format!(
            "called {} person{} only in the {} days before their stated border crossing",
            s.run_up_contacts,
            if s.run_up_contacts == 1 { "" } else { "s" },
            RUN_UP_S / 86_400
        ));
    }
    if s.stated_suspects > s.organised {
        let n = s.stated_suspects - s.organised;
        out.push(format!(
            "named with {n} suspect{} as partners in crime (recruited, smuggled, financed or worked together)",
            if n == 1 { "" } else { "s" }
        ));
    }
    if s.core_lift > 1.0 {
        out.push(format!(
            "deals with {} first-round suspect{}; a walk from them visits it {:.1}× as often as its links alone would draw",
            s.core_contacts,
            if s.core_contacts == 1 { "" } else { "s" },
            s.core_lift
        ));
    }
    if s.victim_money >= 100.0 {
        out.push(format!(
            "{} of reported victims' money ({:.1}% of what was traced) ends in its accounts, {} transfer hop{} after the victims paid",
            yuan(s.victim_money.round() as i64),
            100.0 * s.victim_share,
            s.money_hops,
            if s.money_hops == 1 { "" } else { "s" }
        ));
    }
    if s.front_holders > 0 {
        out.push(format!(
            "of which {} in the accounts of {} person{} tied to the suspects only through those accounts and, personally, this lead (fronts it may run)",
            yuan(s.front_money.round() as i64),
            s.front_holders,
            if s.front_holders == 1 { "" } else { "s" }
        ));
    }
    for &f in s.foreign_numbers.iter().take(2) {
        let key = snap.node(f).key;
        let c = country(key);
        if f == v {
            out.push(format!("{c} number"));
        } else {
            out.push(format!("uses {c} number {key}"));
        }
    }
    if s.foreign_numbers.is_empty() && s.foreign_contacts > 0 {
        out.push(format!(
            "in contact with {} foreign numbers",
            s.foreign_contacts
        ));
    }
    if s.last_call > 0 && s.silent_s > SILENT_GRACE_S {
        out.push(format!(
            "its domestic numbers fell silent {} days before the records end",
            s.silent_s / 86_400
        ));
    }
    if s.shares_device_with_seed {
        out.push("shares a handset with a number on the seed's side".to_string());
    } else if s.shared_device > 0 {
        out.push(format!(
            "handset shared with {} other number{}",
            s.shared_device,
            if s.shared_device == 1 { "" } else { "s" }
        ));
    }
    if s.round_payments >= 2 {
        out.push(format!(
            "received {} round-sum payments of {}",
            s.round_payments,
            yuan(s.round_amount)
        ));
    }
    if roles.contains("victim") {
        out.push("reported victim: ranked down".to_string());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
