//! Money-flow tracing (资金穿透): from one account, forward to where the money went or backward to
//! where it came from, the way an investigator reads bank statements: account by account, in time
//! order, with every account's balance respected.
//!
//! **Each account is a ledger.** All its transfers (in and out) are put in time order and matched
//! first in, first out (FIFO): an outflow is paid from the oldest money still in the account, and
//! only from money that arrived strictly before it (at the same second, outflows come first). An
//! outflow larger than what the records show in the account is paid, for the rest, from money of
//! unknown origin (a balance from before the records); an inflow not yet paid out when the records
//! end is still held. The matching depends on the account's records alone, not on what is traced,
//! so forward and backward traces read the same flows.
//!
//! **Traced money** moves through those matches. Forward, the money traced is what arrived at the
//! start account in `window` (all its records by default), plus what it paid out in the window
//! from a balance of unknown origin (its own funds: a victim's account has nothing else). An
//! inflow that carries `x` of traced money (of its amount `a`) passes `x·m/a` on to each outflow it
//! funds with `m`; that outflow carries it to the counterparty's ledger, and so on. Within one
//! transfer the traced and the other money are mixed in proportion; across transfers FIFO decides.
//! A transfer therefore never carries more traced money than its own amount, nor earlier than the
//! money arrived. Backward is the mirror image (the money traced is what left the start account in
//! the window plus what it still holds; an outflow's traced part goes back to the inflows that
//! funded it). Amounts are integer fen, split exactly (remainders by [`split`]).
//!
//! **Where it stops.** Traced money stops at an account when nothing carries it further within the
//! horizon (`horizon` seconds after the start account's last traced transfer; backward: before its
//! first) — it stays there; when the account's owner has a role of the network (a financier, a
//! launderer, a cash-out crew… anything but mule, card farmer or victim); at a **collection
//! account** (资金沉淀: over all its records it paid out less than a third of what it received —
//! where laundering layers consolidate, e.g. a financier's card paying wages and per-head fees from
//! a growing balance; pass-through mules pay out nearly everything); at a wallet (the money
//! left the banks); at a hub (a platform's clearing account or a service account, whose own
//! records are needed to go on); at the hop limit; below `min_amount`; or when `max_edges` flow
//! edges exist. Accounts where traced money stops and that passed none of it on are the **end
//! accounts** ([`Trace::sinks`]); money that stopped at an account that passed the rest on (a
//! mule's fee, a balance left behind) is **held** ([`Trace::held`]). Their sum is the amount
//! traced, exactly.
//!
//! Transfers come from a [`TransferSource`]: the store's per-record evidence (exact times and
//! amounts), or the snapshot's per-link aggregates (one transfer per link at its last time: an
//! approximation for quick looks).

use crate::algo::expand::{hub_reason, HubPolicy};
use crate::model::{EntityKind, Fen, LinkKind, Roles, Timestamp};
use crate::snapshot::transfers::{FlowDirection, TransferSource};
use crate::snapshot::{Ix, Snapshot};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// How long the money is followed by default: a week past the start account's last traced
/// transfer. Mules hold money for minutes to days; cash-outs and USDT purchases follow within days.
pub const DEFAULT_HORIZON_S: i64 = 7 * 86_400;

/// An account with this many links or more is a hub whatever else it is (its ledger is not read).
pub const HUB_LINKS: usize = 5_000;

/// Owner roles that do not stop the money: the network uses these people's cards.
const PASS_THROUGH_ROLES: [&str; 3] = ["mule", "card_farmer", "victim"];

/// What to trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceConfig {
    pub account: Ix,
    pub direction: FlowDirection,
    /// Transfers followed from the start, at most.
    pub hops: u32,
    /// Which of the start account's transfers carry the traced money (inclusive). `None`: all.
    pub window: Option<(Timestamp, Timestamp)>,
    /// Money is followed up to this many seconds after the start account's last traced transfer
    /// (backward: before its first). `None`: no limit.
    pub horizon: Option<i64>,
    /// Traced parts smaller than this (fen) are not followed further (they end where they are).
    pub min_amount: Fen,
    /// At most this many flow edges.
    pub max_edges: usize,
}

/// Traced money between two accounts (all the transfers between them that carried some).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowEdge {
    /// Money moves from `from` to `to` (backward traces too: edges keep the money's direction).
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
    /// First and last transfer that carried traced money.
    pub first: Timestamp,
    pub last: Timestamp,
    /// The traced amount (fen).
    pub amount: Fen,
    /// What those transfers moved in all.
    pub transferred: Fen,
    /// How many transfers carried traced money.
    pub records: u32,
    /// Transfers from the start account, fewest (1 for the start account's own).
    pub depth: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SinkReason {
    /// Nothing carries it further within the horizon: it stays here (backward: its origin is
    /// before the records, e.g. the holder's own funds).
    NoFurtherFlow,
    /// The account's owner has a role of the network.
    FlaggedOwner,
    /// A crypto wallet: the money left the banks.
    Wallet,
    /// A platform's clearing account or a service account.
    Hub,
    /// A collection account: it keeps most of what it receives (backward: it pays out far more
    /// than it receives), see the module docs.
    Collection,
    HopLimit,
    /// Below `min_amount`, or `max_edges` reached.
    Cut,
    /// Stayed at an account that passed the rest on (a fee, a balance left behind).
    Held,
}

impl SinkReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkReason::NoFurtherFlow => "no_further_flow",
            SinkReason::FlaggedOwner => "flagged_owner",
            SinkReason::Wallet => "wallet",
            SinkReason::Hub => "hub",
            SinkReason::Collection => "collection",
            SinkReason::HopLimit => "hop_limit",
            SinkReason::Cut => "cut",
            SinkReason::Held => "held",
        }
    }
}

/// An account where traced money stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Sink {
    pub account: Ix,
    pub amount: Fen,
    /// The reason of the largest part.
    pub reason: SinkReason,
    /// Depth of the shallowest part.
    pub depth: u32,
    /// Persons who own or use the account.
    pub owners: Vec<Ix>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub account: Ix,
    pub direction: FlowDirection,
    /// The amount traced; equals the sum of `sinks` and `held`.
    pub start_amount: Fen,
    /// The start account's first traced transfer (backward: last).
    pub start_time: Timestamp,
    /// In order of depth, then time.
    pub edges: Vec<FlowEdge>,
    /// End accounts, largest first.
    pub sinks: Vec<Sink>,
    /// Traced money that stayed at accounts which passed the rest on, largest first.
    pub held: Vec<Sink>,
    /// Accounts whose ledgers were read.
    pub accounts_read: usize,
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    #[error("entity index {0} is not in the snapshot")]
    UnknownEntity(Ix),
    #[error("{0} has no transfers")]
    NoTransfers(String),
}

/// Splits `amount` over `parts` in proportion to their weights, exactly (floor, then the remainder
/// one fen at a time to the largest weights, ties by position).
pub fn split(amount: Fen, weights: &[Fen]) -> Vec<Fen> {
    let total: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
    if total == 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<Fen> = weights
        .iter()
        .map(|&w| Fen::try_from(i128::from(amount) * i128::from(w.max(0)) / total).unwrap_or(0))
        .collect();
    let mut rest = amount - out.iter().sum::<Fen>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
    let mut k = 0;
    while rest > 0 && !order.is_empty() {
        out[order[k % order.len()]] += 1;
        rest -= 1;
        k += 1;
    }
    out
}

/// One transfer in an account's ledger. `(link, ord)` names it on both sides: the `ord`-th
/// transfer of that link in the source's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    other: Ix,
    link: u32,
    ord: u32,
    time: Timestamp,
    amount: Fen,
    out: bool,
}

/// An account's transfers in time order, matched FIFO (see the module docs).
#[derive(Debug, Default)]
struct Ledger {
    recs: Vec<Rec>,
    /// Per record, the records on the other side it is matched with, and how much.
    matched: Vec<Vec<(u32, Fen)>>,
    /// Per record, what the other side does not cover: an inflow's part still held when the
    /// records end; an outflow's part paid from money of unknown origin.
    rest: Vec<Fen>,
    index: FxHashMap<(u32, u32), u32>,
    /// All inflows and all outflows.
    total_in: Fen,
    total_out: Fen,
}

impl Ledger {
    /// A collection account (资金沉淀): over all its records it paid out something, but less than a third of what
    /// it received (backward, the mirror: received less than a third of what it paid out). Money
    /// settles there; pass-through accounts (mules, 快进快出) pay out nearly all of it.
    fn collects(&self, fwd: bool) -> bool {
        let (kept, passed) = if fwd {
            (self.total_in, self.total_out)
        } else {
            (self.total_out, self.total_in)
        };
        passed > 0 && i128::from(passed) * 3 < i128::from(kept)
    }

    fn read(source: &dyn TransferSource, v: Ix) -> Ledger {
        let mut recs = Vec::new();
        for (dir, out) in [
            (FlowDirection::Backward, false),
            (FlowDirection::Forward, true),
        ] {
            let mut ord: FxHashMap<u32, u32> = FxHashMap::default();
            for t in source.transfers(v, dir) {
                if t.other == v || t.amount <= 0 {
                    continue;
                }
                let o = ord.entry(t.link).or_insert(0);
                recs.push(Rec {
                    other: t.other,
                    link: t.link,
                    ord: *o,
                    time: t.last,
                    amount: t.amount,
                    out,
                });
                *o += 1;
            }
        }
        Ledger::match_fifo(recs)
    }

    fn match_fifo(mut recs: Vec<Rec>) -> Ledger {
        // outflows first at equal times: money leaves only after it arrived
        recs.sort_by_key(|r| (r.time, !r.out, r.link, r.ord));
        let mut matched: Vec<Vec<(u32, Fen)>> = vec![Vec::new(); recs.len()];
        let mut rest = vec![0; recs.len()];
        let mut queue: VecDeque<(u32, Fen)> = VecDeque::new();
        for (i, r) in recs.iter().enumerate() {
            if !r.out {
                queue.push_back((i as u32, r.amount));
                continue;
            }
            let mut need = r.amount;
            while need > 0 {
                let Some(front) = queue.front_mut() else {
                    break;
                };
                let take = need.min(front.1);
                matched[i].push((front.0, take));
                matched[front.0 as usize].push((i as u32, take));
                front.1 -= take;
                need -= take;
                if front.1 == 0 {
                    queue.pop_front();
                }
            }
            rest[i] = need;
        }
        for (i, left) in queue {
            rest[i as usize] = left;
        }
        let index = recs
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.link, r.ord), i as u32))
            .collect();
        let total = |out: bool| recs.iter().filter(|r| r.out == out).map(|r| r.amount).sum();
        Ledger {
            total_in: total(false),
            total_out: total(true),
            recs,
            matched,
            rest,
            index,
        }
    }
}

/// Traced money waiting on one transfer, at the account it enters (forward: the receiver).
struct Pending {
    account: Ix,
    amount: Fen,
    depth: u32,
    /// One of the start account's own traced transfers.
    start: bool,
}

/// Why traced money reaching `v` stops there before its ledger is read, if it does.
fn stop_reason(snap: &Snapshot, v: Ix) -> Option<SinkReason> {
    if snap.kind(v) == EntityKind::Wallet {
        return Some(SinkReason::Wallet);
    }
    if hub_reason(snap, v, &HubPolicy::standard(), HUB_LINKS).is_some() {
        return Some(SinkReason::Hub);
    }
    let mut pass = Roles::default();
    for r in PASS_THROUGH_ROLES {
        pass.insert_name(r);
    }
    let flagged = owners(snap, v)
        .into_iter()
        .any(|p| snap.roles(p).0 & !pass.0 != 0);
    flagged.then_some(SinkReason::FlaggedOwner)
}

type Parts = FxHashMap<Ix, (Fen, Vec<(Fen, SinkReason)>, u32)>;

fn add_part(parts: &mut Parts, v: Ix, amount: Fen, reason: SinkReason, depth: u32) {
    if amount <= 0 {
        return;
    }
    let e = parts.entry(v).or_insert((0, Vec::new(), depth));
    e.0 += amount;
    e.1.push((amount, reason));
    e.2 = e.2.min(depth);
}

/// The state of one trace.
struct Tracer<'a> {
    snap: &'a Snapshot,
    source: &'a dyn TransferSource,
    cfg: &'a TraceConfig,
    fwd: bool,
    /// Exits beyond this time (backward: before it) are not followed.
    horizon: (Timestamp, Timestamp),
    ledgers: FxHashMap<Ix, Ledger>,
    stops: FxHashMap<Ix, Option<SinkReason>>,
    pending: FxHashMap<(u32, u32), Pending>,
    heap: BinaryHeap<Reverse<(i64, u32, u32)>>,
    edges: FxHashMap<(Ix, Ix), FlowEdge>,
    ends: Parts,
    held: Parts,
    /// Accounts that passed traced money on.
    passed: FxHashSet<Ix>,
    /// Transfers counted in their flow edge.
    counted: FxHashSet<(u32, u32)>,
    start_amount: Fen,
    truncated: bool,
}

impl Tracer<'_> {
    fn ledger(&mut self, v: Ix) -> &Ledger {
        let source = self.source;
        self.ledgers
            .entry(v)
            .or_insert_with(|| Ledger::read(source, v))
    }

    /// The heap key: time order forward, reverse time order backward.
    fn key(&self, time: Timestamp, link: u32, ord: u32) -> Reverse<(i64, u32, u32)> {
        Reverse((if self.fwd { time } else { -time }, link, ord))
    }

    fn within_horizon(&self, t: Timestamp) -> bool {
        t >= self.horizon.0 && t <= self.horizon.1
    }

    /// `amount` of traced money leaves `v` by its ledger's record `rec` (an exit), `depth`
    /// transfers from the start.
    fn send(&mut self, v: Ix, rec: Rec, amount: Fen, depth: u32) {
        if amount <= 0 {
            return;
        }
        let (from, to) = if self.fwd {
            (v, rec.other)
        } else {
            (rec.other, v)
        };
        if !self.edges.contains_key(&(from, to)) && self.edges.len() >= self.cfg.max_edges {
            self.truncated = true;
            add_part(&mut self.ends, v, amount, SinkReason::Cut, depth - 1);
            return;
        }
        self.passed.insert(v);
        let e = self.edges.entry((from, to)).or_insert(FlowEdge {
            from,
            to,
            link: rec.link,
            first: rec.time,
            last: rec.time,
            amount: 0,
            transferred: 0,
            records: 0,
            depth,
        });
        e.first = e.first.min(rec.time);
        e.last = e.last.max(rec.time);
        e.amount += amount;
        e.depth = e.depth.min(depth);
        let key = (rec.link, rec.ord);
        if self.counted.insert(key) {
            e.transferred += rec.amount;
            e.records += 1;
        }
        match self.pending.get_mut(&key) {
            // money coming back to one of the start account's traced transfers was counted there
            Some(p) if p.start => self.start_amount -= amount,
            Some(p) => {
                p.amount += amount;
                p.depth = p.depth.min(depth);
            }
            None => {
                self.pending.insert(
                    key,
                    Pending {
                        account: rec.other,
                        amount,
                        depth,
                        start: false,
                    },
                );
                let k = self.key(rec.time, rec.link, rec.ord);
                self.heap.push(k);
            }
        }
    }

    /// Moves the traced money on the entry `key` through its account's ledger.
    fn pass(&mut self, key: (u32, u32)) {
        let Some(p) = self.pending.remove(&key) else {
            return;
        };
        let (v, x, d) = (p.account, p.amount, p.depth);
        if x <= 0 {
            return;
        }
        if !p.start {
            if x < self.cfg.min_amount.max(1) {
                return add_part(&mut self.ends, v, x, SinkReason::Cut, d);
            }
            if d >= self.cfg.hops {
                return add_part(&mut self.ends, v, x, SinkReason::HopLimit, d);
            }
            if v != self.cfg.account {
                let snap = self.snap;
                let stop = *self.stops.entry(v).or_insert_with(|| stop_reason(snap, v));
                if let Some(r) = stop {
                    return add_part(&mut self.ends, v, x, r, d);
                }
            }
        }
        let (hz, fwd, start) = (self.horizon, self.fwd, self.cfg.account);
        let led = self.ledger(v);
        let Some(&i) = led.index.get(&key) else {
            return add_part(&mut self.ends, v, x, SinkReason::NoFurtherFlow, d);
        };
        if !p.start && v != start && led.collects(fwd) {
            return add_part(&mut self.ends, v, x, SinkReason::Collection, d);
        }
        let i = i as usize;
        let mut exits: Vec<Rec> = Vec::new();
        let mut weights: Vec<Fen> = Vec::new();
        let mut stay = led.rest[i];
        for &(k, m) in &led.matched[i] {
            let r = led.recs[k as usize];
            if r.time >= hz.0 && r.time <= hz.1 {
                exits.push(r);
                weights.push(m);
            } else {
                stay += m;
            }
        }
        weights.push(stay);
        let shares = split(x, &weights);
        add_part(
            &mut self.held,
            v,
            shares.last().copied().unwrap_or(0),
            SinkReason::Held,
            d,
        );
        for (r, s) in exits.into_iter().zip(shares) {
            self.send(v, r, s, d + 1);
        }
    }
}

/// Traces money from `cfg.account`. See the module docs.
///
/// # Complexity
/// O(Σ r log r) for the r transfers of each account whose ledger is read (one source read per
/// account), plus O(E log E) for the E transfers that carry traced money.
pub fn trace(
    snap: &Snapshot,
    source: &dyn TransferSource,
    cfg: &TraceConfig,
) -> Result<Trace, TraceError> {
    if cfg.account as usize >= snap.node_count() {
        return Err(TraceError::UnknownEntity(cfg.account));
    }
    let fwd = cfg.direction == FlowDirection::Forward;
    let a = cfg.account;
    let start = Ledger::read(source, a);
    let in_window = |t: Timestamp| cfg.window.is_none_or(|(lo, hi)| t >= lo && t <= hi);
    // forward: entries are inflows, exits outflows; backward the other way round
    // the start account's records that bring traced money: every entry in the window, and the
    // exits in it paid (forward) or left (backward) with money of unknown origin
    let traced: Vec<usize> = (0..start.recs.len())
        .filter(|&i| {
            let r = &start.recs[i];
            in_window(r.time) && (r.out != fwd || start.rest[i] > 0)
        })
        .collect();
    if traced.is_empty() {
        return Err(TraceError::NoTransfers(snap.reference(a)));
    }
    let first = start.recs[traced[0]].time;
    let last = start.recs[traced[traced.len() - 1]].time;
    let horizon = match cfg.horizon {
        None => (Timestamp::MIN, Timestamp::MAX),
        Some(h) if fwd => (Timestamp::MIN, last.saturating_add(h)),
        Some(h) => (first.saturating_sub(h), Timestamp::MAX),
    };
    let mut t = Tracer {
        snap,
        source,
        cfg,
        fwd,
        horizon,
        ledgers: FxHashMap::default(),
        stops: FxHashMap::default(),
        pending: FxHashMap::default(),
        heap: BinaryHeap::new(),
        edges: FxHashMap::default(),
        ends: Parts::default(),
        held: Parts::default(),
        passed: FxHashSet::default(),
        counted: FxHashSet::default(),
        start_amount: 0,
        truncated: false,
    };
    let mut own: Vec<(Rec, Fen)> = Vec::new();
    for &i in &traced {
        let r = start.recs[i];
        if r.out != fwd {
            // an entry: all of it is traced
            t.start_amount += r.amount;
            t.pending.insert(
                (r.link, r.ord),
                Pending {
                    account: a,
                    amount: r.amount,
                    depth: 0,
                    start: true,
                },
            );
            let k = t.key(r.time, r.link, r.ord);
            t.heap.push(k);
        } else {
            // an exit paid from the account's own funds (forward) or an inflow it still holds
            // (backward): traced from here
            t.start_amount += start.rest[i];
            own.push((r, start.rest[i]));
        }
    }
    t.ledgers.insert(a, start);
    for (r, x) in own {
        if t.within_horizon(r.time) {
            t.send(a, r, x, 1);
        } else {
            add_part(&mut t.held, a, x, SinkReason::Held, 0);
        }
    }
    while let Some(Reverse((_, link, ord))) = t.heap.pop() {
        t.pass((link, ord));
    }
    let passed = std::mem::take(&mut t.passed);
    let mut ends = std::mem::take(&mut t.ends);
    let mut held = Parts::default();
    for (v, (amount, parts, depth)) in std::mem::take(&mut t.held) {
        if passed.contains(&v) {
            held.insert(v, (amount, parts, depth));
        } else {
            add_part(&mut ends, v, amount, SinkReason::NoFurtherFlow, depth);
        }
    }
    let finish = |parts: Parts| -> Vec<Sink> {
        let mut v: Vec<Sink> = parts
            .into_iter()
            .map(|(account, (amount, mut parts, depth))| {
                parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                Sink {
                    account,
                    amount,
                    reason: parts.first().map_or(SinkReason::NoFurtherFlow, |p| p.1),
                    depth,
                    owners: owners(snap, account),
                }
            })
            .collect();
        v.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.account.cmp(&b.account)));
        v
    };
    let mut edges: Vec<FlowEdge> = t.edges.into_values().collect();
    edges.sort_by_key(|e| (e.depth, if fwd { e.first } else { -e.last }, e.from, e.to));
    Ok(Trace {
        account: a,
        direction: cfg.direction,
        start_amount: t.start_amount,
        start_time: if fwd { first } else { last },
        edges,
        sinks: finish(ends),
        held: finish(held),
        accounts_read: t.ledgers.len(),
        truncated: t.truncated,
    })
}

/// Persons who own or use an identifier.
pub fn owners(snap: &Snapshot, v: Ix) -> Vec<Ix> {
    let mut o: Vec<Ix> = snap
        .all_links(v)
        .filter(|&(p, l)| {
            snap.kind(p) == EntityKind::Person
                && matches!(snap.link(l).kind, LinkKind::OWNS | LinkKind::USES)
        })
        .map(|(p, _)| p)
        .collect();
    o.sort_unstable();
    o.dedup();
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::rank::tests::{case, ix, person, T0};
    use crate::snapshot::transfers::{AggregateTransfers, StoreTransfers, Transfer};
    use proptest::prelude::*;

    fn cfg(account: Ix, direction: FlowDirection) -> TraceConfig {
        TraceConfig {
            account,
            direction,
            hops: 6,
            window: None,
            horizon: None,
            min_amount: 100,
            max_edges: 10_000,
        }
    }

    fn total(s: &[Sink]) -> Fen {
        s.iter().map(|s| s.amount).sum()
    }

    fn amount_at(s: &[Sink], v: Ix) -> Fen {
        s.iter().filter(|s| s.account == v).map(|s| s.amount).sum()
    }

    #[test]
    fn split_is_exact() {
        assert_eq!(split(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split(10, &[0, 5]), vec![0, 10]);
        assert_eq!(split(7, &[]), Vec::<Fen>::new());
        assert_eq!(split(1000, &[3, 7]).iter().sum::<Fen>(), 1000);
    }

    fn rec(link: u32, time: Timestamp, amount: Fen, out: bool) -> Rec {
        Rec {
            other: 0,
            link,
            ord: 0,
            time,
            amount,
            out,
        }
    }

    #[test]
    fn the_ledger_pays_oldest_money_first_and_only_money_already_there() {
        // in 100 @10, in 50 @20, out 120 @20 (same second as the second inflow), out 80 @30
        let l = Ledger::match_fifo(vec![
            rec(3, 30, 80, true),
            rec(1, 10, 100, false),
            rec(2, 20, 50, false),
            rec(4, 20, 120, true),
        ]);
        let at = |link: u32| l.index[&(link, 0)] as usize;
        // the outflow at 20 leaves before the inflow at 20 arrives: 100 from the first, 20 unknown
        assert_eq!(l.matched[at(4)], vec![(at(1) as u32, 100)]);
        assert_eq!(l.rest[at(4)], 20);
        // the outflow at 30 takes the 50 that arrived at 20, and 30 of unknown origin
        assert_eq!(l.matched[at(3)], vec![(at(2) as u32, 50)]);
        assert_eq!(l.rest[at(3)], 30);
        assert_eq!(l.rest[at(1)], 0);
        assert_eq!(l.rest[at(2)], 0);
        // an inflow nobody spends stays held
        let l = Ledger::match_fifo(vec![rec(1, 10, 100, false), rec(2, 20, 60, true)]);
        assert_eq!(l.rest[l.index[&(1, 0)] as usize], 40);
    }

    #[test]
    fn forward_from_the_mule_ends_at_the_financier_conserved_and_in_time_order() {
        let (snap, store) = case();
        let a1 = ix(&snap, EntityKind::Account, "6222000000000000100");
        let a2 = ix(&snap, EntityKind::Account, "6222000000000000200");
        let a3 = ix(&snap, EntityKind::Account, "6222000000000000300");
        let fa = ix(&snap, EntityKind::Account, "6222000000000000009");
        let f = person(&snap, "F");
        let st = StoreTransfers::new(&snap, &store, 1000);
        let t = trace(&snap, &st, &cfg(a1, FlowDirection::Forward)).unwrap();
        assert!(st.take_error().is_none());
        // victims paid 1+2+3+4 = 10 × ¥10,000
        assert_eq!(t.start_amount, 10_000_000);
        assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
        assert_eq!(t.sinks.len(), 1);
        assert_eq!(t.sinks[0].account, fa);
        assert_eq!(t.sinks[0].owners, vec![f]);
        assert_eq!(t.sinks[0].reason, SinkReason::NoFurtherFlow);
        // A2 held ¥3,000 of others' money before A1's ¥60,000 came: FIFO pays FA those first, so
        // 5.9M − 0.3M of A2's payment is traced; A3 passes 3.8M of 3.9M
        assert_eq!(t.sinks[0].amount, 5_600_000 + 3_800_000);
        assert_eq!(amount_at(&t.held, a1), 100_000);
        assert_eq!(amount_at(&t.held, a2), 400_000);
        assert_eq!(amount_at(&t.held, a3), 100_000);
        // the old transfer into FA is not part of it; every edge is later than what fed it
        for e in &t.edges {
            assert!(e.first >= T0);
            assert!(e.amount <= e.transferred);
            for p in t.edges.iter().filter(|p| p.to == e.from) {
                assert!(e.last > p.first);
            }
        }
        // the aggregates give the same ends on this case (one transfer per link)
        let agg = AggregateTransfers { snap: &snap };
        let t2 = trace(&snap, &agg, &cfg(a1, FlowDirection::Forward)).unwrap();
        assert_eq!(t2.sinks, t.sinks);
    }

    #[test]
    fn a_short_horizon_leaves_the_money_where_it_waits() {
        let (snap, store) = case();
        let a1 = ix(&snap, EntityKind::Account, "6222000000000000100");
        let st = StoreTransfers::new(&snap, &store, 1000);
        let mut c = cfg(a1, FlowDirection::Forward);
        // A1's last inflow is at T0+1004; A2 and A3 pay FA at T0+3000 and T0+3100
        c.horizon = Some(2100 - 1004);
        let t = trace(&snap, &st, &c).unwrap();
        let a2 = ix(&snap, EntityKind::Account, "6222000000000000200");
        let a3 = ix(&snap, EntityKind::Account, "6222000000000000300");
        let ends: Vec<Ix> = t.sinks.iter().map(|s| s.account).collect();
        assert!(ends.contains(&a2) && ends.contains(&a3), "{ends:?}");
        assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
    }

    #[test]
    fn backward_from_the_financier_finds_the_victims() {
        let (snap, _) = case();
        let fa = ix(&snap, EntityKind::Account, "6222000000000000009");
        let agg = AggregateTransfers { snap: &snap };
        let mut c = cfg(fa, FlowDirection::Backward);
        c.window = Some((T0, T0 + 86_400));
        let t = trace(&snap, &agg, &c).unwrap();
        // what FA received in the window and still holds
        assert_eq!(t.start_amount, 9_700_000);
        assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
        let victims: Vec<Ix> = (1..=4)
            .map(|x| {
                ix(
                    &snap,
                    EntityKind::Account,
                    &format!("62220000000000010{x:02}"),
                )
            })
            .collect();
        let from_victims: Fen = victims.iter().map(|&v| amount_at(&t.sinks, v)).sum();
        assert_eq!(from_victims, 9_400_000);
        // A2's first ¥3,000 came from the three small payers
        for k in 5..=7 {
            let v = ix(
                &snap,
                EntityKind::Account,
                &format!("622200000000000000{k}"),
            );
            assert_eq!(amount_at(&t.sinks, v), 100_000);
        }
        for e in &t.edges {
            for p in t.edges.iter().filter(|p| p.from == e.to) {
                assert!(e.first < p.last);
            }
        }
        // hop limit ends the trace early and still conserves
        c.hops = 1;
        let t = trace(&snap, &agg, &c).unwrap();
        assert!(t.sinks.iter().all(|s| s.reason == SinkReason::HopLimit));
        assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
    }

    #[test]
    fn an_account_with_nothing_arriving_traces_its_own_money() {
        // A victim only pays out: the money traced is what left it, from its own funds.
        let (snap, _) = case();
        let v1 = ix(&snap, EntityKind::Account, "6222000000000001001");
        let agg = AggregateTransfers { snap: &snap };
        let mut c = cfg(v1, FlowDirection::Forward);
        c.horizon = Some(86_400);
        let t = trace(&snap, &agg, &c).unwrap();
        assert_eq!(t.start_amount, 1_000_000);
        assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
    }

    #[test]
    fn money_stops_at_accounts_of_the_network() {
        // the boss B pays the recruiter C's account: C is not flagged, so the money ends there
        // with no further flow; with C flagged as a recruiter it would end as flagged_owner
        let (snap, _) = case();
        let b = ix(&snap, EntityKind::Account, "6222000000000000002");
        let agg = AggregateTransfers { snap: &snap };
        let t = trace(&snap, &agg, &cfg(b, FlowDirection::Forward)).unwrap();
        assert!(t
            .sinks
            .iter()
            .all(|s| s.reason == SinkReason::NoFurtherFlow));
        let c_acct = ix(&snap, EntityKind::Account, "6222000000000000001");
        assert_eq!(stop_reason(&snap, c_acct), None);
        let x1 = ix(&snap, EntityKind::Account, "6222000000000001001");
        // a victim's own account is not a stop
        assert_eq!(stop_reason(&snap, x1), None);
    }

    #[test]
    fn errors() {
        let (snap, _) = case();
        let agg = AggregateTransfers { snap: &snap };
        let p = person(&snap, "S");
        assert!(matches!(
            trace(&snap, &agg, &cfg(p, FlowDirection::Forward)),
            Err(TraceError::NoTransfers(_))
        ));
        assert_eq!(
            trace(&snap, &agg, &cfg(999_999, FlowDirection::Forward)).unwrap_err(),
            TraceError::UnknownEntity(999_999)
        );
    }

    /// Transfers listed by hand over a bare snapshot.
    struct Listed {
        /// Per link: (time, amount) of each transfer.
        records: FxHashMap<u32, Vec<(Timestamp, Fen)>>,
        snap: Snapshot,
    }

    impl TransferSource for Listed {
        fn transfers(&self, account: Ix, dir: FlowDirection) -> Vec<Transfer> {
            let links: Vec<(Ix, u32)> = match dir {
                FlowDirection::Forward => self.snap.out_links(account).collect(),
                FlowDirection::Backward => self.snap.in_links(account).collect(),
            };
            links
                .into_iter()
                .flat_map(|(other, l)| {
                    self.records
                        .get(&l)
                        .into_iter()
                        .flatten()
                        .map(move |&(t, a)| Transfer {
                            other,
                            link: l,
                            first: t,
                            last: t,
                            amount: a,
                        })
                })
                .collect()
        }
    }

    fn listed(n: usize, txs: &[(u32, u32, i64, i64)]) -> Listed {
        let mut pairs: Vec<(u32, u32)> = txs
            .iter()
            .map(|&(s, d, _, _)| (s % n as u32, d % n as u32))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let snap = Snapshot::from_edges(n, EntityKind::Account, LinkKind::TRANSFER, &pairs);
        let mut records: FxHashMap<u32, Vec<(Timestamp, Fen)>> = FxHashMap::default();
        for &(s, d, t, a) in txs {
            let (s, d) = (s % n as u32, d % n as u32);
            let l = snap
                .out_links(s)
                .find(|&(o, _)| o == d)
                .map(|(_, l)| l)
                .unwrap();
            records.entry(l).or_default().push((t, a));
        }
        Listed { records, snap }
    }

    proptest! {
        #![proptest_config(crate::proptest_config(64))]
        /// Whatever the transfers: ends plus held equal the amount traced, a flow edge never carries
        /// more than its transfers moved, and money never leaves before it arrived.
        #[test]
        fn conserved_and_time_respecting(
            txs in proptest::collection::vec((0u32..12, 0u32..12, 0i64..50, 1i64..10_000), 1..80),
            start in 0u32..12,
            hops in 1u32..8,
            back in any::<bool>(),
            horizon in proptest::option::of(0i64..40),
            max_edges in 1usize..40,
        ) {
            let src = listed(12, &txs);
            let c = TraceConfig {
                account: start,
                direction: if back { FlowDirection::Backward } else { FlowDirection::Forward },
                hops,
                window: None,
                horizon,
                min_amount: 1,
                max_edges,
            };
            match trace(&src.snap, &src, &c) {
                Err(TraceError::NoTransfers(_)) => {}
                Err(e) => prop_assert!(false, "{e}"),
                Ok(t) => {
                    prop_assert!(t.start_amount >= 0);
                    prop_assert_eq!(total(&t.sinks) + total(&t.held), t.start_amount);
                    prop_assert!(t.edges.len() <= max_edges);
                    for e in &t.edges {
                        prop_assert!(e.amount > 0 && e.amount <= e.transferred);
                        prop_assert!(e.depth >= 1 && e.depth <= hops);
                    }
                    for s in t.sinks.iter().chain(&t.held) {
                        prop_assert!(s.amount > 0);
                    }
                }
            }
        }
    }
}
