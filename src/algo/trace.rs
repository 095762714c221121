//! Money-flow tracing (资金穿透): from one account, forward to where the money went or backward to
//! where it came from, following transfers in time order and splitting amounts in proportion so that
//! every fen is accounted for.
//!
//! Going forward, the money at an account is what arrived there (at the start: every inflow in the
//! window); it may leave only by transfers no earlier than it arrived (and, with `max_delay`, not
//! much later). It is split over those transfers in proportion to their amounts; what the transfers
//! cannot carry stays at the account. An account with no such transfer, one at the hop limit, or one
//! already on the path (a cycle) is a **sink**. The sinks' amounts add up to the starting amount
//! exactly (integer fen, remainders assigned deterministically). Backward is the mirror image.
//!
//! Transfers come from a [`TransferSource`]: the snapshot's per-link aggregates (a link spans
//! `[first, last]`; it may carry money that arrived before `last`, at `max(first, arrival)`), or the
//! store's per-record evidence for exact times and amounts.

use crate::model::{EntityKind, Fen, LinkKind, Timestamp};
use crate::snapshot::transfers::{FlowDirection, Transfer, TransferSource};
use crate::snapshot::{Ix, Snapshot};
use rustc_hash::FxHashMap;

/// What to trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceConfig {
    pub account: Ix,
    pub direction: FlowDirection,
    /// Transfers followed from the start, at most.
    pub hops: u32,
    /// Only transfers overlapping this inclusive window.
    pub window: Option<(Timestamp, Timestamp)>,
    /// Money must move on within this many seconds of arriving (forward; backward: must have
    /// arrived within this many seconds before leaving). `None`: no limit.
    pub max_delay: Option<i64>,
    /// Flows smaller than this (fen) are not followed further (they end as sinks).
    pub min_amount: Fen,
    /// At most this many flow edges.
    pub max_edges: usize,
}

/// One edge of the flow tree.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowEdge {
    /// Money moves from `from` to `to` (backward traces too: edges keep the money's direction).
    pub from: Ix,
    pub to: Ix,
    pub link: u32,
    /// When this part moved.
    pub time: Timestamp,
    /// The traced amount on this edge (fen).
    pub amount: Fen,
    /// The transfers' own amount (all parts to this counterparty).
    pub transferred: Fen,
    /// 1 for the first hop.
    pub depth: u32,
    /// The edge this one continues (index into `edges`).
    pub parent: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SinkReason {
    /// No later (earlier, backward) transfer carries it on.
    NoFurtherFlow,
    /// Outflows carried less than arrived: the rest stayed.
    Retained,
    HopLimit,
    /// The account is already on this path.
    Cycle,
    /// Below `min_amount`, or `max_edges` reached.
    Cut,
}

impl SinkReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkReason::NoFurtherFlow => "no_further_flow",
            SinkReason::Retained => "retained",
            SinkReason::HopLimit => "hop_limit",
            SinkReason::Cycle => "cycle",
            SinkReason::Cut => "cut",
        }
    }
}

/// Where money ends (forward) or starts (backward).
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
    pub start_amount: Fen,
    pub start_time: Timestamp,
    pub edges: Vec<FlowEdge>,
    /// Largest first.
    pub sinks: Vec<Sink>,
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

fn in_window(t: &Transfer, w: Option<(Timestamp, Timestamp)>) -> bool {
    w.is_none_or(|(a, b)| t.last >= a && t.first <= b)
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

struct State {
    account: Ix,
    amount: Fen,
    time: Timestamp,
    depth: u32,
    parent: Option<usize>,
    path: Vec<Ix>,
}

/// Traces money from `cfg.account`. See the module docs.
///
/// # Complexity
/// O(E · d) for E flow edges (at most `max_edges`) and d transfers per account visited, plus the
/// source's cost per account (one adjacency scan for aggregates; one evidence read per link for the
/// store).
pub fn trace(
    snap: &Snapshot,
    source: &dyn TransferSource,
    cfg: &TraceConfig,
) -> Result<Trace, TraceError> {
    if cfg.account as usize >= snap.node_count() {
        return Err(TraceError::UnknownEntity(cfg.account));
    }
    let fwd = cfg.direction == FlowDirection::Forward;
    let back = if fwd {
        FlowDirection::Backward
    } else {
        FlowDirection::Forward
    };
    // The money to follow: what came in (forward) or went out (backward) in the window.
    let arriving: Vec<Transfer> = source
        .transfers(cfg.account, back)
        .into_iter()
        .filter(|t| in_window(t, cfg.window))
        .collect();
    let (start_amount, start_time) = if arriving.is_empty() {
        let leaving: Vec<Transfer> = source
            .transfers(cfg.account, cfg.direction)
            .into_iter()
            .filter(|t| in_window(t, cfg.window))
            .collect();
        if leaving.is_empty() {
            return Err(TraceError::NoTransfers(snap.reference(cfg.account)));
        }
        let t = match cfg.window {
            Some((a, b)) => {
                if fwd {
                    a
                } else {
                    b
                }
            }
            None => {
                if fwd {
                    Timestamp::MIN
                } else {
                    Timestamp::MAX
                }
            }
        };
        (leaving.iter().map(|t| t.amount).sum(), t)
    } else {
        let t = if fwd {
            arriving.iter().map(|t| t.first).min()
        } else {
            arriving.iter().map(|t| t.last).max()
        };
        (arriving.iter().map(|t| t.amount).sum(), t.unwrap_or(0))
    };

    let mut edges: Vec<FlowEdge> = Vec::new();
    type Parts = (Fen, Vec<(Fen, SinkReason)>, u32);
    let mut sinks: FxHashMap<Ix, Parts> = FxHashMap::default();
    let mut sink = |acc: Ix, amount: Fen, reason: SinkReason, depth: u32| {
        if amount <= 0 {
            return;
        }
        let e = sinks.entry(acc).or_insert((0, Vec::new(), depth));
        e.0 += amount;
        e.1.push((amount, reason));
        e.2 = e.2.min(depth);
    };
    let mut truncated = false;
    let mut stack = vec![State {
        account: cfg.account,
        amount: start_amount,
        time: start_time,
        depth: 0,
        parent: None,
        path: vec![cfg.account],
    }];
    // Depth-first, children pushed in reverse so the tree reads in time order.
    while let Some(st) = stack.pop() {
        if st.depth >= cfg.hops {
            sink(st.account, st.amount, SinkReason::HopLimit, st.depth);
            continue;
        }
        if st.amount < cfg.min_amount.max(1) || edges.len() >= cfg.max_edges {
            if edges.len() >= cfg.max_edges {
                truncated = true;
            }
            sink(st.account, st.amount, SinkReason::Cut, st.depth);
            continue;
        }
        let mut next: Vec<(Transfer, Timestamp)> = source
            .transfers(st.account, cfg.direction)
            .into_iter()
            .filter(|t| in_window(t, cfg.window) && t.amount > 0)
            .filter_map(|t| {
                let when = if fwd {
                    (t.last >= st.time).then(|| t.first.max(st.time))?
                } else {
                    (t.first <= st.time).then(|| t.last.min(st.time))?
                };
                let delay = when.saturating_sub(st.time).saturating_abs();
                // the start account's money arrived over its whole active period: no delay bound there
                if st.depth > 0 && cfg.max_delay.is_some_and(|d| delay > d) {
                    return None;
                }
                Some((t, when))
            })
            .collect();
        next.sort_by_key(|(t, when)| (*when, t.other, t.link));
        if next.is_empty() {
            sink(st.account, st.amount, SinkReason::NoFurtherFlow, st.depth);
            continue;
        }
        let capacity: Fen = next.iter().map(|(t, _)| t.amount).sum();
        let moved = st.amount.min(capacity);
        sink(
            st.account,
            st.amount - moved,
            SinkReason::Retained,
            st.depth,
        );
        let weights: Vec<Fen> = next.iter().map(|(t, _)| t.amount).collect();
        let shares = split(moved, &weights);
        // One flow edge per counterparty: its parts add up, leaving at the earliest of them (so the
        // tree stays the size of the account graph, not of the transaction list).
        let mut grouped: Vec<(Ix, u32, Timestamp, Fen, Fen)> = Vec::new();
        for ((t, when), share) in next.into_iter().zip(shares) {
            match grouped.iter_mut().find(|g| g.0 == t.other) {
                Some(g) => {
                    g.3 += share;
                    g.4 += t.amount;
                }
                None => grouped.push((t.other, t.link, when, share, t.amount)),
            }
        }
        let mut children = Vec::new();
        for (other, link, when, share, transferred) in grouped {
            if share <= 0 {
                continue;
            }
            if st.path.contains(&other) {
                sink(st.account, share, SinkReason::Cycle, st.depth);
                continue;
            }
            let (from, to) = if fwd {
                (st.account, other)
            } else {
                (other, st.account)
            };
            edges.push(FlowEdge {
                from,
                to,
                link,
                time: when,
                amount: share,
                transferred,
                depth: st.depth + 1,
                parent: st.parent,
            });
            let mut path = st.path.clone();
            path.push(other);
            children.push(State {
                account: other,
                amount: share,
                time: when,
                depth: st.depth + 1,
                parent: Some(edges.len() - 1),
                path,
            });
        }
        stack.extend(children.into_iter().rev());
    }
    let mut sinks: Vec<Sink> = sinks
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
    sinks.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.account.cmp(&b.account)));
    Ok(Trace {
        account: cfg.account,
        direction: cfg.direction,
        start_amount,
        start_time,
        edges,
        sinks,
        truncated,
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
    use crate::snapshot::transfers::{AggregateTransfers, StoreTransfers};

    fn cfg(account: Ix, direction: FlowDirection) -> TraceConfig {
        TraceConfig {
            account,
            direction,
            hops: 6,
            window: None,
            max_delay: None,
            min_amount: 100,
            max_edges: 10_000,
        }
    }

    #[test]
    fn split_is_exact() {
        assert_eq!(split(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split(10, &[0, 5]), vec![0, 10]);
        assert_eq!(split(7, &[]), Vec::<Fen>::new());
        assert_eq!(split(1000, &[3, 7]).iter().sum::<Fen>(), 1000);
    }

    #[test]
    fn forward_from_the_mule_ends_at_the_financier_conserved_and_in_time_order() {
        let (snap, store) = case();
        let a1 = ix(&snap, EntityKind::Account, "6222000000000000100");
        let fa = ix(&snap, EntityKind::Account, "6222000000000000009");
        let f = person(&snap, "F");
        let agg = AggregateTransfers { snap: &snap };
        let st = StoreTransfers::new(&snap, &store, 1000);
        for src in [&agg as &dyn TransferSource, &st] {
            let t = trace(&snap, src, &cfg(a1, FlowDirection::Forward)).unwrap();
            // victims paid 1+2+3+4 = 10 × ¥10,000
            assert_eq!(t.start_amount, 10_000_000);
            let total: Fen = t.sinks.iter().map(|s| s.amount).sum();
            assert_eq!(total, t.start_amount, "flow is conserved");
            let top = &t.sinks[0];
            assert_eq!(top.account, fa);
            assert_eq!(top.owners, vec![f]);
            // 9.9M left A1; A2 forwarded 5.9M of its 6M+0.3M (in proportion)
            assert!(
                top.amount > 9_000_000 && top.amount < 9_900_000,
                "{}",
                top.amount
            );
            // the old transfer into FA is not part of it, and times never go back
            for e in &t.edges {
                if let Some(p) = e.parent {
                    assert!(e.time >= t.edges[p].time);
                    assert_eq!(t.edges[p].to, e.from);
                }
                assert!(e.time >= T0);
            }
        }
        assert!(st.take_error().is_none());
    }

    #[test]
    fn backward_from_the_financier_finds_the_victims() {
        let (snap, _) = case();
        let fa = ix(&snap, EntityKind::Account, "6222000000000000009");
        let agg = AggregateTransfers { snap: &snap };
        let mut c = cfg(fa, FlowDirection::Backward);
        c.window = Some((T0, T0 + 86_400));
        let t = trace(&snap, &agg, &c).unwrap();
        assert_eq!(t.start_amount, 9_700_000);
        let total: Fen = t.sinks.iter().map(|s| s.amount).sum();
        assert_eq!(total, t.start_amount);
        let victims: Vec<Ix> = (1..=4)
            .map(|x| {
                ix(
                    &snap,
                    EntityKind::Account,
                    &format!("62220000000000010{x:02}"),
                )
            })
            .collect();
        let from_victims: Fen = t
            .sinks
            .iter()
            .filter(|s| victims.contains(&s.account))
            .map(|s| s.amount)
            .sum();
        assert!(from_victims > 9_000_000, "{from_victims}");
        for e in &t.edges {
            if let Some(p) = e.parent {
                assert!(e.time <= t.edges[p].time);
                assert_eq!(t.edges[p].from, e.to);
            }
        }
        // hop limit ends the trace early and still conserves
        c.hops = 1;
        let t = trace(&snap, &agg, &c).unwrap();
        assert!(t.sinks.iter().all(|s| s.reason == SinkReason::HopLimit));
        assert_eq!(
            t.sinks.iter().map(|s| s.amount).sum::<Fen>(),
            t.start_amount
        );
    }

    #[test]
    fn an_account_with_nothing_arriving_and_no_window_does_not_overflow() {
        // A victim only pays out: the trace starts at Timestamp::MIN, and the delay to the first
        // transfer must not overflow.
        let (snap, _) = case();
        let v1 = ix(&snap, EntityKind::Account, "6222000000000001001");
        let agg = AggregateTransfers { snap: &snap };
        let mut c = cfg(v1, FlowDirection::Forward);
        c.max_delay = Some(86_400);
        let t = trace(&snap, &agg, &c).unwrap();
        assert!(t.start_amount > 0);
        assert_eq!(
            t.sinks.iter().map(|s| s.amount).sum::<Fen>(),
            t.start_amount
        );
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
}
