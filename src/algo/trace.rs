//! Money-flow tracing (资金穿透): from one account, forward to where the money went or backward to
//! where it came from, the way an investigator reads bank statements and chain records: account by
//! account, in time order, with every ledger's balance respected, across the bank → crypto
//! boundary where a holder converts yuan into USDT.
//!
//! **Each account and each wallet is a ledger.** All its transfers (in and out) are put in time
//! order and matched first in, first out (FIFO): an outflow is paid from the oldest money still
//! there, and only from money that arrived strictly before it (at the same second, outflows come
//! first). An outflow larger than what the records show is paid, for the rest, from money of
//! unknown origin (a balance from before the records); an inflow not yet paid out when the records
//! end is still held. The matching depends on the ledger's records alone, not on what is traced,
//! so forward and backward traces read the same flows.
//!
//! **Units.** Bank legs (accounts) are in yuan (fen); wallet legs in USDT (cents: the store keeps
//! two decimals), see [`Unit`]. Amounts of different units are never added: every flow edge, end
//! and held amount carries its unit, and the money is conserved per unit.
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
//! funded it). Amounts are integer, split exactly (remainders by [`split`]).
//!
//! **Conversions (bank → crypto).** An OTC dealer (U商) keeps the yuan a buyer pays into their
//! bank account and pays USDT out of their own wallet: in each ledger alone the yuan stays and the
//! USDT comes from nowhere. For every person who holds both accounts and wallets, a third ledger
//! (the holder's *desk*, [`Conversion`]) matches the two FIFO in time order: its entries are the
//! yuan left unspent on the holder's accounts (inflows' held parts), its exits the USDT the
//! holder's wallets paid from money of unknown origin (outflows' unexplained parts), valued at the
//! rate the holder's own records imply: all such yuan over all such USDT. Traced yuan that stays
//! at such an account moves through the desk to the USDT exits it funds (at most `settle` seconds
//! later), and from there on as USDT through the wallets' ledgers; the trace reports each
//! conversion with both amounts and the rate. Backward, USDT of unknown origin at a holder's
//! wallet goes back through the desk to the yuan that paid for it. So, per unit, what was traced
//! or created by a conversion equals what ends, is held, or was converted away ([`Trace::totals`]).
//!
//! **Where it stops.** Traced money stops at a ledger when nothing carries it further within the
//! horizon (`horizon` seconds after the start account's last traced transfer, or after the
//! conversion that created it; backward: before) — it stays there; when the owner has a role of
//! the network that keeps money (boss, financier, manager…: anything but the roles that move the
//! network's money — mule, card farmer, launderer — and victims); at a **collection account**
//! (资金沉淀: over all its records it kept most of what it received, i.e. paid out less than half
//! — where laundering layers consolidate and balances grow; pass-through accounts, 快进快出, pay
//! out nearly everything, see [`Ledger::collects`]) after its held part went through its holder's
//! desk; at a hub (a platform's clearing account or a service account, whose own records are
//! needed to go on); at the hop limit; below `min_amount`; or when `max_edges` flow edges exist.
//! Ledgers where traced money stops and that passed none of it on are the **end accounts**
//! ([`Trace::sinks`]); money that stopped at a ledger that passed the rest on (a mule's fee, a
//! balance left behind) is **held** ([`Trace::held`]).
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

/// How long after the yuan arrived a holder's USDT payment can be its counter-value, by default:
/// 45 days. Desks settle within minutes for walk-in buyers, but regular customers' trades are
/// often netted weekly or monthly; a month and a half covers a monthly settlement with its delay.
pub const DEFAULT_SETTLE_S: i64 = 45 * 86_400;

/// A ledger with this many links or more is a hub whatever else it is (its ledger is not read).
pub const HUB_LINKS: usize = 5_000;

/// Owner roles that do not stop the money: the network moves its money through these people's
/// cards and wallets (mules, card farmers, the laundering and cash-out crews, OTC dealers), and a
/// victim's account is where the trace usually starts.
const PASS_THROUGH_ROLES: [&str; 4] = ["mule", "card_farmer", "launderer", "victim"];

/// The unit of a ledger's amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// Yuan, in fen: bank accounts.
    Cny,
    /// USDT, in cents: wallets (TRON addresses; the asset moved is USDT-TRC20).
    Usdt,
}

impl Unit {
    pub fn of(snap: &Snapshot, v: Ix) -> Unit {
        if snap.kind(v) == EntityKind::Wallet {
            Unit::Usdt
        } else {
            Unit::Cny
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Cny => "CNY",
            Unit::Usdt => "USDT",
        }
    }
}

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
    /// or after the conversion that created it (backward: before). `None`: no limit.
    pub horizon: Option<i64>,
    /// A holder's USDT payment counts as the counter-value of yuan at most this many seconds
    /// after the yuan arrived (see the module docs). `None`: no limit.
    pub settle: Option<i64>,
    /// Traced parts smaller than this (in the ledger's unit) are not followed further.
    pub min_amount: Fen,
    /// At most this many flow edges.
    pub max_edges: usize,
}

/// Traced money between two ledgers (all the transfers between them that carried some).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowEdge {
    /// Money moves from `from` to `to` (backward traces too: edges keep the money's direction).
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
    /// First and last transfer that carried traced money.
    pub first: Timestamp,
    pub last: Timestamp,
    /// The traced amount, in `unit`.
    pub amount: Fen,
    /// What those transfers moved in all.
    pub transferred: Fen,
    /// How many transfers carried traced money.
    pub records: u32,
    /// Transfers from the start account, fewest (1 for the start account's own).
    pub depth: u32,
    pub unit: Unit,
}

/// Traced money that crossed from yuan to USDT at one holder's desk: it stayed at `account` and
/// left by USDT payments of `wallet` (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The person holding both.
    pub holder: Ix,
    pub account: Ix,
    pub wallet: Ix,
    /// The traced amount on each side: yuan (fen) and USDT (cents).
    pub cny: Fen,
    pub usdt: Fen,
    /// The rate of the holder's records: all the yuan left on their accounts (fen) over all the
    /// USDT their wallets paid from money of unknown origin (cents).
    pub rate_cny: Fen,
    pub rate_usdt: Fen,
    /// The yuan's first arrival and the last USDT payment it funded.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Depth of the USDT payments.
    pub depth: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SinkReason {
    /// Nothing carries it further within the horizon: it stays here (backward: its origin is
    /// before the records, e.g. the holder's own funds).
    NoFurtherFlow,
    /// The owner has a role of the network that keeps money.
    FlaggedOwner,
    /// A platform's clearing account or a service account.
    Hub,
    /// A collection account: it keeps most of what it receives (backward: it pays out far more
    /// than it receives), see the module docs.
    Collection,
    HopLimit,
    /// Below `min_amount`, or `max_edges` reached.
    Cut,
    /// Stayed at a ledger that passed the rest on (a fee, a balance left behind).
    Held,
}

impl SinkReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkReason::NoFurtherFlow => "no_further_flow",
            SinkReason::FlaggedOwner => "flagged_owner",
            SinkReason::Hub => "hub",
            SinkReason::Collection => "collection",
            SinkReason::HopLimit => "hop_limit",
            SinkReason::Cut => "cut",
            SinkReason::Held => "held",
        }
    }
}

/// An account or wallet where traced money stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Sink {
    pub account: Ix,
    /// In `unit`.
    pub amount: Fen,
    pub unit: Unit,
    /// The reason of the largest part.
    pub reason: SinkReason,
    /// Depth of the shallowest part.
    pub depth: u32,
    /// Persons who own or use the account.
    pub owners: Vec<Ix>,
}

/// One unit's balance of a trace: `traced + created == ends + held + converted`, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitTotals {
    pub unit: Unit,
    /// Traced at the start (0 for the other unit).
    pub traced: Fen,
    /// Created by conversions (USDT forward, yuan backward).
    pub created: Fen,
    pub ends: Fen,
    pub held: Fen,
    /// Converted into the other unit.
    pub converted: Fen,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub account: Ix,
    pub direction: FlowDirection,
    /// The amount traced, in `unit` (the start's).
    pub start_amount: Fen,
    pub unit: Unit,
    /// The start account's first traced transfer (backward: last).
    pub start_time: Timestamp,
    /// In order of depth, then time.
    pub edges: Vec<FlowEdge>,
    /// Yuan ↔ USDT crossings, largest yuan first.
    pub conversions: Vec<Conversion>,
    /// End accounts and wallets, largest first (within a unit).
    pub sinks: Vec<Sink>,
    /// Traced money that stayed at ledgers which passed the rest on, largest first.
    pub held: Vec<Sink>,
    /// Ledgers read.
    pub accounts_read: usize,
    pub truncated: bool,
}

impl Trace {
    /// Per unit (yuan, then USDT): what was traced or created, and where it went.
    pub fn totals(&self) -> Vec<UnitTotals> {
        let fwd = self.direction == FlowDirection::Forward;
        [Unit::Cny, Unit::Usdt]
            .into_iter()
            .map(|unit| {
                let sum = |s: &[Sink]| -> Fen {
                    s.iter().filter(|s| s.unit == unit).map(|s| s.amount).sum()
                };
                let side = |c: &Conversion| if unit == Unit::Cny { c.cny } else { c.usdt };
                let conv: Fen = self.conversions.iter().map(side).sum();
                // forward, yuan is converted into USDT; backward, USDT back into yuan
                let away = (unit == Unit::Cny) == fwd;
                UnitTotals {
                    unit,
                    traced: if unit == self.unit {
                        self.start_amount
                    } else {
                        0
                    },
                    created: if away { 0 } else { conv },
                    ends: sum(&self.sinks),
                    held: sum(&self.held),
                    converted: if away { conv } else { 0 },
                }
            })
            .collect()
    }
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

/// `x · num / den`, rounded down (0 when `den` is 0).
fn scale(x: Fen, num: Fen, den: Fen) -> Fen {
    if den <= 0 {
        return 0;
    }
    Fen::try_from(i128::from(x) * i128::from(num) / i128::from(den)).unwrap_or(0)
}

/// One transfer in a ledger. `(link, ord)` names it on both sides: the `ord`-th transfer of that
/// link in the source's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    other: Ix,
    link: u32,
    ord: u32,
    time: Timestamp,
    amount: Fen,
    out: bool,
}

/// A ledger's transfers in time order, matched FIFO (see the module docs).
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
    /// A collection account (资金沉淀): over all its records it paid out something, but less than
    /// half of what it received — it keeps most of what it receives (backward, the mirror: it
    /// received less than half of what it paid out). The two kinds of account the threshold
    /// separates sit far from it: a pass-through account (快进快出) pays out all but its fees
    /// (1–3% a hop), so its in/out imbalance |in−out|/(in+out) stays under 5%; an account where
    /// money settles pays out a small part (wages, fees) of a growing balance. Keeping more than
    /// half is the same as an imbalance above one third, far from both, and "most" is the plain
    /// reading of where money settles; the exact cut matters little (see ARCHITECTURE.md).
    fn collects(&self, fwd: bool) -> bool {
        let (kept, passed) = if fwd {
            (self.total_in, self.total_out)
        } else {
            (self.total_out, self.total_in)
        };
        passed > 0 && i128::from(passed) * 2 < i128::from(kept)
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

/// A holder's desk: one FIFO ledger of value over all the transfers of the holder's accounts
/// (except those between them) and the USDT their wallets paid from money of unknown origin,
/// valued in yuan at the desk's rate (see the module docs).
struct Desk {
    holder: Ix,
    led: Ledger,
    /// Per desk record: the account or wallet, its own ledger record, and the amount in its unit
    /// (an account's transfer; a wallet outflow's unexplained part).
    own: Vec<(Ix, Rec, Fen)>,
    /// The rate: the yuan the accounts kept (all in − all out, fen) over the wallets'
    /// unexplained USDT (cents).
    cny: Fen,
    usdt: Fen,
}

impl Desk {
    /// The desk of `holder`, if they hold both accounts whose money stays and wallets paying
    /// USDT of unknown origin. `ledger` reads one ledger.
    fn build(
        snap: &Snapshot,
        holder: Ix,
        ledger: &mut dyn FnMut(Ix) -> std::rc::Rc<Ledger>,
    ) -> Option<Desk> {
        let mut held: Vec<Ix> = snap
            .all_links(holder)
            .filter(|&(x, l)| {
                matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
                    && matches!(snap.kind(x), EntityKind::Account | EntityKind::Wallet)
            })
            .map(|(x, _)| x)
            .collect();
        held.sort_unstable();
        held.dedup();
        if !held.iter().any(|&x| snap.kind(x) == EntityKind::Wallet)
            || !held.iter().any(|&x| snap.kind(x) == EntityKind::Account)
        {
            return None;
        }
        let mut own: Vec<(Ix, Rec, Fen)> = Vec::new();
        let (mut cny, mut usdt) = (0, 0);
        for &x in &held {
            let l = ledger(x);
            for (i, r) in l.recs.iter().enumerate() {
                if snap.kind(x) == EntityKind::Wallet {
                    // the wallets' outflows, for what their own inflows do not explain
                    if r.out && l.rest[i] > 0 {
                        own.push((x, *r, l.rest[i]));
                        usdt += l.rest[i];
                    }
                } else if held.binary_search(&r.other).is_err() {
                    // every transfer of the accounts but those between them
                    own.push((x, *r, r.amount));
                    cny += if r.out { -r.amount } else { r.amount };
                }
            }
        }
        if cny <= 0 || usdt <= 0 {
            return None;
        }
        let recs: Vec<Rec> = own
            .iter()
            .map(|&(x, r, amount)| Rec {
                other: x,
                amount: if snap.kind(x) == EntityKind::Wallet {
                    scale(amount, cny, usdt).max(1)
                } else {
                    amount
                },
                ..r
            })
            .collect();
        let led = Ledger::match_fifo(recs);
        // match_fifo sorts: put `own` in the same order
        let by_key: FxHashMap<(u32, u32), (Ix, Rec, Fen)> =
            own.into_iter().map(|o| ((o.1.link, o.1.ord), o)).collect();
        let own = led.recs.iter().map(|r| by_key[&(r.link, r.ord)]).collect();
        Some(Desk {
            holder,
            led,
            own,
            cny,
            usdt,
        })
    }
}

/// Traced money waiting on one transfer, at the ledger it enters (forward: the receiver).
struct Pending {
    account: Ix,
    amount: Fen,
    depth: u32,
    /// One of the start account's own traced transfers.
    start: bool,
    /// The horizon: exits after this (backward: before it) are not followed.
    bound: Timestamp,
}

/// Why traced money reaching `v` stops there before its ledger is read, if it does.
fn stop_reason(snap: &Snapshot, v: Ix) -> Option<SinkReason> {
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
    ledgers: FxHashMap<Ix, std::rc::Rc<Ledger>>,
    stops: FxHashMap<Ix, Option<SinkReason>>,
    /// Per account or wallet, the desk of its first holder that has one.
    desk_of: FxHashMap<Ix, Option<Ix>>,
    desks: FxHashMap<Ix, Option<std::rc::Rc<Desk>>>,
    pending: FxHashMap<(u32, u32), Pending>,
    heap: BinaryHeap<Reverse<(i64, u32, u32)>>,
    edges: FxHashMap<(Ix, Ix), FlowEdge>,
    conversions: FxHashMap<(Ix, Ix), Conversion>,
    ends: Parts,
    held: Parts,
    /// Ledgers that passed traced money on.
    passed: FxHashSet<Ix>,
    /// Transfers counted in their flow edge.
    counted: FxHashSet<(u32, u32)>,
    start_amount: Fen,
    truncated: bool,
}

impl Tracer<'_> {
    fn ledger(&mut self, v: Ix) -> std::rc::Rc<Ledger> {
        let source = self.source;
        self.ledgers
            .entry(v)
            .or_insert_with(|| std::rc::Rc::new(Ledger::read(source, v)))
            .clone()
    }

    /// The desk `v`'s money can cross at: that of its first owner who has one.
    fn desk(&mut self, v: Ix) -> Option<std::rc::Rc<Desk>> {
        if let Some(&h) = self.desk_of.get(&v) {
            return h.and_then(|h| self.desks.get(&h).cloned().flatten());
        }
        let snap = self.snap;
        let mut found = None;
        for h in owners(snap, v) {
            if !self.desks.contains_key(&h) {
                let desk = Desk::build(snap, h, &mut |x| self.ledger(x)).map(std::rc::Rc::new);
                self.desks.insert(h, desk);
            }
            if self.desks[&h].is_some() {
                found = Some(h);
                break;
            }
        }
        self.desk_of.insert(v, found);
        found.and_then(|h| self.desks[&h].clone())
    }

    /// The heap key: time order forward, reverse time order backward.
    fn key(&self, time: Timestamp, link: u32, ord: u32) -> Reverse<(i64, u32, u32)> {
        Reverse((if self.fwd { time } else { -time }, link, ord))
    }

    fn within(&self, bound: Timestamp, t: Timestamp) -> bool {
        if self.fwd {
            t <= bound
        } else {
            t >= bound
        }
    }

    /// The horizon of money that leaves by a transfer at `t` created there (the start, a
    /// conversion).
    fn bound_from(&self, t: Timestamp) -> Timestamp {
        match self.cfg.horizon {
            None if self.fwd => Timestamp::MAX,
            None => Timestamp::MIN,
            Some(h) if self.fwd => t.saturating_add(h),
            Some(h) => t.saturating_sub(h),
        }
    }

    /// `amount` of traced money leaves `v` by its ledger's record `rec` (an exit), `depth`
    /// transfers from the start.
    fn send(&mut self, v: Ix, rec: Rec, amount: Fen, depth: u32, bound: Timestamp) {
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
        let unit = Unit::of(self.snap, v);
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
            unit,
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
        let fwd = self.fwd;
        match self.pending.get_mut(&key) {
            // money coming back to one of the start account's traced transfers was counted there
            Some(p) if p.start => self.start_amount -= amount,
            Some(p) => {
                p.amount += amount;
                p.depth = p.depth.min(depth);
                p.bound = if fwd {
                    p.bound.max(bound)
                } else {
                    p.bound.min(bound)
                };
            }
            None => {
                self.pending.insert(
                    key,
                    Pending {
                        account: rec.other,
                        amount,
                        depth,
                        start: false,
                        bound,
                    },
                );
                let k = self.key(rec.time, rec.link, rec.ord);
                self.heap.push(k);
            }
        }
    }

    /// `x` of traced money on the desk's record `i` (of `v`) goes on FIFO through the desk:
    /// to the holder's bank outflows within the horizon, or across to the other unit (at most
    /// `settle` after); returns what stays at `v`.
    fn through_desk(
        &mut self,
        desk: &Desk,
        v: Ix,
        i: usize,
        x: Fen,
        d: u32,
        bound: Timestamp,
    ) -> Fen {
        let (ri, own_i) = (desk.led.recs[i], desk.own[i].2);
        let unit = Unit::of(self.snap, v);
        let mut exits = Vec::new();
        let mut weights = Vec::new();
        let mut stay = desk.led.rest[i];
        for &(k, m) in &desk.led.matched[i] {
            let (e, rec_e, _) = desk.own[k as usize];
            let ok = if Unit::of(self.snap, e) == unit {
                self.within(bound, rec_e.time)
            } else {
                self.cfg
                    .settle
                    .is_none_or(|s| (rec_e.time - ri.time).abs() <= s)
            };
            if ok {
                exits.push(k as usize);
                weights.push(m);
            } else {
                stay += m;
            }
        }
        if exits.is_empty() {
            return x;
        }
        weights.push(stay);
        let shares = split(x, &weights);
        let fwd = self.fwd;
        for (k, s) in exits.into_iter().zip(shares.iter().copied()) {
            let (e, rec_e, own_k) = desk.own[k];
            if s <= 0 {
                continue;
            }
            self.passed.insert(v);
            if Unit::of(self.snap, e) == unit {
                self.send(e, rec_e, s, d + 1, bound);
                continue;
            }
            // s is in v's unit; through the desk's yuan value into e's unit
            let s_e = scale(scale(s, ri.amount, own_i), own_k, desk.led.recs[k].amount);
            let (account, wallet, cny, usdt) = if fwd { (v, e, s, s_e) } else { (e, v, s_e, s) };
            let (t0, t1) = (ri.time.min(rec_e.time), ri.time.max(rec_e.time));
            let c = self
                .conversions
                .entry((account, wallet))
                .or_insert(Conversion {
                    holder: desk.holder,
                    account,
                    wallet,
                    cny: 0,
                    usdt: 0,
                    rate_cny: desk.cny,
                    rate_usdt: desk.usdt,
                    first: t0,
                    last: t1,
                    depth: d + 1,
                });
            c.cny += cny;
            c.usdt += usdt;
            c.first = c.first.min(t0);
            c.last = c.last.max(t1);
            c.depth = c.depth.min(d + 1);
            let bound = self.bound_from(rec_e.time);
            self.send(e, rec_e, s_e, d + 1, bound);
        }
        shares.last().copied().unwrap_or(0)
    }

    /// `x` of traced money stays at the wallet `v` on its record `key`, unexplained by the
    /// wallet's own ledger (backward): it goes back through the holder's desk; returns what stays.
    fn convert(&mut self, v: Ix, key: (u32, u32), x: Fen, d: u32, bound: Timestamp) -> Fen {
        if x <= 0 || self.snap.kind(v) != EntityKind::Wallet {
            return x;
        }
        let Some(desk) = self.desk(v) else {
            return x;
        };
        match desk.led.index.get(&key) {
            Some(&i) if desk.own[i as usize].0 == v => {
                self.through_desk(&desk, v, i as usize, x, d, bound)
            }
            _ => x,
        }
    }

    /// Moves the traced money on the entry `key` through its ledger.
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
        // a desk holder's accounts are read through the desk
        if self.snap.kind(v) == EntityKind::Account {
            if let Some(desk) = self.desk(v) {
                return match desk.led.index.get(&key) {
                    Some(&i) if desk.own[i as usize].0 == v => {
                        let stay = self.through_desk(&desk, v, i as usize, x, d, p.bound);
                        add_part(&mut self.held, v, stay, SinkReason::Held, d)
                    }
                    _ => add_part(&mut self.ends, v, x, SinkReason::NoFurtherFlow, d),
                };
            }
        }
        let (fwd, start) = (self.fwd, self.cfg.account);
        let led = self.ledger(v);
        let Some(&i) = led.index.get(&key) else {
            return add_part(&mut self.ends, v, x, SinkReason::NoFurtherFlow, d);
        };
        let i = i as usize;
        if !p.start && v != start && led.collects(fwd) {
            // a wallet's unexplained part may still go back through its holder's desk
            let parts = split(x, &[led.rest[i], led.recs[i].amount - led.rest[i]]);
            let stay = self.convert(v, key, parts[0], d, p.bound);
            return add_part(
                &mut self.ends,
                v,
                stay + parts[1],
                SinkReason::Collection,
                d,
            );
        }
        let mut exits: Vec<Rec> = Vec::new();
        let mut weights: Vec<Fen> = Vec::new();
        let mut late = 0;
        for &(k, m) in &led.matched[i] {
            let r = led.recs[k as usize];
            if self.within(p.bound, r.time) {
                exits.push(r);
                weights.push(m);
            } else {
                late += m;
            }
        }
        weights.push(late);
        weights.push(led.rest[i]);
        let shares = split(x, &weights);
        let n = exits.len();
        let stay = self.convert(v, key, shares[n + 1], d, p.bound);
        add_part(&mut self.held, v, shares[n] + stay, SinkReason::Held, d);
        for (r, s) in exits.into_iter().zip(shares) {
            self.send(v, r, s, d + 1, p.bound);
        }
    }
}

/// Traces money from `cfg.account`. See the module docs.
///
/// # Complexity
/// O(Σ r log r) for the r transfers of each ledger read (one source read per account or wallet,
/// including a desk holder's others), plus O(E log E) for the E transfers that carry traced money.
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
    let start = std::rc::Rc::new(Ledger::read(source, a));
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
    let mut t = Tracer {
        snap,
        source,
        cfg,
        fwd,
        ledgers: FxHashMap::default(),
        stops: FxHashMap::default(),
        desk_of: FxHashMap::default(),
        desks: FxHashMap::default(),
        pending: FxHashMap::default(),
        heap: BinaryHeap::new(),
        edges: FxHashMap::default(),
        conversions: FxHashMap::default(),
        ends: Parts::default(),
        held: Parts::default(),
        passed: FxHashSet::default(),
        counted: FxHashSet::default(),
        start_amount: 0,
        truncated: false,
    };
    let bound = t.bound_from(if fwd { last } else { first });
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
                    bound,
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
        if t.within(bound, r.time) {
            t.send(a, r, x, 1, bound);
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
                    unit: Unit::of(snap, account),
                    reason: parts.first().map_or(SinkReason::NoFurtherFlow, |p| p.1),
                    depth,
                    owners: owners(snap, account),
                }
            })
            .collect();
        v.sort_by(|a, b| (a.unit, b.amount, a.account).cmp(&(b.unit, a.amount, b.account)));
        v
    };
    let mut edges: Vec<FlowEdge> = t.edges.into_values().collect();
    edges.sort_by_key(|e| (e.depth, if fwd { e.first } else { -e.last }, e.from, e.to));
    let mut conversions: Vec<Conversion> = t.conversions.into_values().collect();
    conversions.sort_by(|a, b| (b.cny, a.account, a.wallet).cmp(&(a.cny, b.account, b.wallet)));
    Ok(Trace {
        account: a,
        direction: cfg.direction,
        start_amount: t.start_amount,
        unit: Unit::of(snap, a),
        start_time: if fwd { first } else { last },
        edges,
        conversions,
        sinks: finish(ends),
        held: finish(held),
        accounts_read: t.ledgers.len(),
        truncated: t.truncated,
    })
}

/// Persons who own or use an identifier, sorted, each once.
pub fn owners(snap: &Snapshot, v: Ix) -> Vec<Ix> {
    let mut o: Vec<Ix> = holders(snap, v).collect();
    o.sort_unstable();
    o.dedup();
    o
}

/// Persons who own or use an identifier, as its links list them (a person twice when it both owns
/// and uses it).
pub fn holders(snap: &Snapshot, v: Ix) -> impl Iterator<Item = Ix> + '_ {
    snap.all_links(v)
        .filter(|&(p, l)| {
            snap.kind(p) == EntityKind::Person
                && matches!(snap.link_kind(l), LinkKind::OWNS | LinkKind::USES)
        })
        .map(|(p, _)| p)
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
            settle: None,
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

    /// A mule account paying an OTC dealer, whose wallet pays a financier's wallet:
    /// - victims' accounts `…5001`, `…5002` pay the mule account `A1` (`…5100`) ¥10,000 and
    ///   ¥20,000; `A1` pays the dealer `D`'s account `DA` (`…5200`) ¥28,800 (¥1,200 fee stays);
    ///   another customer (`…5300`) paid `DA` ¥7,200 earlier;
    /// - `D`'s wallet `DW` pays 1,000 USDT to another wallet `OW` an hour after, and 4,000 USDT to
    ///   the financier `F`'s wallet `FW` two hours after; `DA` pays nothing out: the desk's rate
    ///   is ¥36,000 / 5,000 USDT = 7.2.
    fn desk_case() -> (Snapshot, crate::store::Store) {
        use crate::ingest::record::{Link as LinkRec, Origin, Person, Record, Transfer as TxRec};
        use crate::ingest::writer::Writer;
        use crate::model::ident::{bank_account, wallet};
        use crate::model::Flags;
        use std::sync::Arc;
        const DW: &str = "TA4Wt1DUCqz6YegbnsmqsWC5uUfbdBqPxm";
        const OW: &str = "TA9pkx4DFxrEw8JZzUtyDrh2uAat1LDuJL";
        const FW: &str = "TAF8dttxK5iPKbvYC626aDBytrWANpLRXp";
        let store = crate::store::Store::in_memory();
        let acct = |n: u32| bank_account(&format!("622200000000000{n}")).unwrap();
        let person = |k: &str, role: &str, owns| {
            let mut roles = Roles::default();
            roles.insert_name(role);
            Record::Person(Person {
                key: crate::model::ident::Normalized {
                    kind: EntityKind::Person,
                    key: k.into(),
                    flags: Flags::default(),
                },
                aliases: vec![],
                name: None,
                roles,
                statuses: vec![],
                owns,
                notes: None,
            })
        };
        let tx = |a: u32, b: u32, yuan: i64, t: i64| {
            Record::Transfer(TxRec {
                tx_id: Some(format!("{a}-{b}-{t}")),
                ..TxRec::between(acct(a), acct(b), yuan * 100, T0 + t)
            })
        };
        let usdt = |a: &str, b: &str, amount: i64, t: i64| {
            Record::Link(LinkRec {
                from: wallet(a).unwrap(),
                to: wallet(b).unwrap(),
                kind: "transfer".into(),
                time: Some(T0 + t),
                amount: Some(amount * 100),
                note: None,
            })
        };
        let recs = vec![
            person("M", "mule", vec![acct(5100)]),
            person("D", "launderer", vec![acct(5200), wallet(DW).unwrap()]),
            person("F", "financier", vec![wallet(FW).unwrap()]),
            tx(5001, 5100, 10_000, 0),
            tx(5002, 5100, 20_000, 10),
            tx(5300, 5200, 7_200, 50),
            tx(5100, 5200, 28_800, 100),
            usdt(DW, OW, 1_000, 3_600),
            usdt(DW, FW, 4_000, 7_200),
        ];
        let rows: Vec<(Origin, Record)> = recs
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    Origin {
                        file: Arc::from("desk.csv"),
                        line: i as u64 + 1,
                        label: None,
                    },
                    r,
                )
            })
            .collect();
        Writer::write_all(&store, &rows).unwrap();
        let (snap, _) = Snapshot::build(&store, 1).unwrap();
        (snap, store)
    }

    fn balanced(t: &Trace) {
        for u in t.totals() {
            assert_eq!(u.traced + u.created, u.ends + u.held + u.converted, "{u:?}");
        }
    }

    #[test]
    fn yuan_left_at_a_dealer_crosses_to_the_usdt_the_dealer_paid() {
        let (snap, store) = desk_case();
        let a1 = ix(&snap, EntityKind::Account, "6222000000000005100");
        let da = ix(&snap, EntityKind::Account, "6222000000000005200");
        let dw = ix(
            &snap,
            EntityKind::Wallet,
            "TA4Wt1DUCqz6YegbnsmqsWC5uUfbdBqPxm",
        );
        let fw = ix(
            &snap,
            EntityKind::Wallet,
            "TAF8dttxK5iPKbvYC626aDBytrWANpLRXp",
        );
        let st = StoreTransfers::new(&snap, &store, 1000);
        let t = trace(&snap, &st, &cfg(a1, FlowDirection::Forward)).unwrap();
        assert_eq!((t.start_amount, t.unit), (3_000_000, Unit::Cny));
        balanced(&t);
        // FIFO at the desk: the other customer's ¥7,200 bought the first 1,000 USDT, A1's ¥28,800
        // the 4,000 USDT paid to the financier
        assert_eq!(t.conversions.len(), 1);
        let c = &t.conversions[0];
        assert_eq!(
            (c.account, c.wallet, c.holder),
            (da, dw, person(&snap, "D"))
        );
        assert_eq!((c.cny, c.usdt), (2_880_000, 400_000));
        assert_eq!((c.rate_cny, c.rate_usdt), (3_600_000, 500_000));
        assert_eq!(t.sinks.len(), 1);
        let s = &t.sinks[0];
        assert_eq!((s.account, s.amount, s.unit), (fw, 400_000, Unit::Usdt));
        assert_eq!(s.reason, SinkReason::FlaggedOwner);
        assert_eq!(s.owners, vec![person(&snap, "F")]);
        assert_eq!(amount_at(&t.held, a1), 120_000);
        let e = t.edges.iter().find(|e| e.from == dw).unwrap();
        assert_eq!((e.to, e.unit, e.amount), (fw, Unit::Usdt, 400_000));

        // a settlement window shorter than the dealer's delay keeps the yuan at the dealer
        let mut c2 = cfg(a1, FlowDirection::Forward);
        c2.settle = Some(3_000);
        let t2 = trace(&snap, &st, &c2).unwrap();
        balanced(&t2);
        assert!(t2.conversions.is_empty());
        assert_eq!(amount_at(&t2.sinks, da), 2_880_000);
        assert_eq!(t2.sinks[0].reason, SinkReason::NoFurtherFlow);
    }

    #[test]
    fn usdt_at_the_financier_goes_back_to_the_victims_yuan() {
        let (snap, store) = desk_case();
        let fw = ix(
            &snap,
            EntityKind::Wallet,
            "TAF8dttxK5iPKbvYC626aDBytrWANpLRXp",
        );
        let st = StoreTransfers::new(&snap, &store, 1000);
        let t = trace(&snap, &st, &cfg(fw, FlowDirection::Backward)).unwrap();
        assert_eq!((t.start_amount, t.unit), (400_000, Unit::Usdt));
        balanced(&t);
        assert_eq!(t.conversions.len(), 1);
        assert_eq!(
            (t.conversions[0].cny, t.conversions[0].usdt),
            (2_880_000, 400_000)
        );
        // A1's ¥28,800 was paid FIFO from the first victim's ¥10,000 and ¥18,800 of the second's
        let v1 = ix(&snap, EntityKind::Account, "6222000000000005001");
        let v2 = ix(&snap, EntityKind::Account, "6222000000000005002");
        assert_eq!(amount_at(&t.sinks, v1), 1_000_000);
        assert_eq!(amount_at(&t.sinks, v2), 1_880_000);
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
                settle: None,
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
