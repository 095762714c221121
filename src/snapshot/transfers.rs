//! Where money-flow tracing gets its transfers: the snapshot's per-link aggregates, or the store's
//! per-record evidence for exact times and amounts.
//!
//! [`TransferSource`] is what `algo::trace` walks. [`AggregateTransfers`] answers from the snapshot
//! alone (one entry per link, spanning its first and last time); [`StoreTransfers`] reads each
//! transaction from the store (falling back to the aggregate for a link whose evidence cannot be
//! read, and keeping the first error for the caller).

use super::{Ix, Snapshot};
use crate::model::{Fen, LinkKind, Timestamp};
use crate::store::{LinkKey, Store, StoreError};
use std::sync::Mutex;

/// Which way money is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowDirection {
    /// Where the money went: transfers out of an account, later and later.
    Forward,
    /// Where the money came from: transfers into an account, earlier and earlier.
    Backward,
}

/// One transfer (or an aggregate of several on one link) seen from an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The counterparty: the receiver going forward, the payer going backward.
    pub other: Ix,
    /// The snapshot link it belongs to.
    pub link: u32,
    /// Time span; equal for a single transaction.
    pub first: Timestamp,
    pub last: Timestamp,
    pub amount: Fen,
}

/// Transfers out of (forward) or into (backward) an account.
pub trait TransferSource: Sync {
    fn transfers(&self, account: Ix, dir: FlowDirection) -> Vec<Transfer>;
}

fn links(snap: &Snapshot, account: Ix, dir: FlowDirection) -> Vec<(Ix, u32)> {
    let mut v: Vec<(Ix, u32)> = match dir {
        FlowDirection::Forward => snap.out_links(account).collect(),
        FlowDirection::Backward => snap.in_links(account).collect(),
    };
    v.retain(|&(_, l)| snap.link_kind(l) == LinkKind::TRANSFER);
    v
}

/// Transfers from the snapshot's aggregates: one per link.
pub struct AggregateTransfers<'a> {
    pub snap: &'a Snapshot,
}

impl TransferSource for AggregateTransfers<'_> {
    fn transfers(&self, account: Ix, dir: FlowDirection) -> Vec<Transfer> {
        links(self.snap, account, dir)
            .into_iter()
            .map(|(other, l)| {
                let link = self.snap.link(l);
                Transfer {
                    other,
                    link: l,
                    first: link.first,
                    last: link.last,
                    amount: link.total,
                }
            })
            .collect()
    }
}

/// Transfers read record by record from the store.
pub struct StoreTransfers<'a> {
    pub snap: &'a Snapshot,
    pub store: &'a Store,
    /// Records read per link at most (the rest of a link is left out).
    pub per_link: usize,
    error: Mutex<Option<StoreError>>,
}

impl<'a> StoreTransfers<'a> {
    pub fn new(snap: &'a Snapshot, store: &'a Store, per_link: usize) -> StoreTransfers<'a> {
        StoreTransfers {
            snap,
            store,
            per_link,
            error: Mutex::new(None),
        }
    }

    /// The first store error met (those links were answered from the aggregates).
    pub fn take_error(&self) -> Option<StoreError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl TransferSource for StoreTransfers<'_> {
    fn transfers(&self, account: Ix, dir: FlowDirection) -> Vec<Transfer> {
        let mut out = Vec::new();
        for (other, l) in links(self.snap, account, dir) {
            let link = self.snap.link(l);
            let key = LinkKey {
                src: self.snap.node(link.src).id,
                kind: link.kind,
                dst: self.snap.node(link.dst).id,
            };
            match self.store.evidence(&key, self.per_link) {
                Ok(records) => out.extend(records.into_iter().filter_map(|r| {
                    let t = r.key.time?;
                    Some(Transfer {
                        other,
                        link: l,
                        first: t,
                        last: t,
                        amount: r.value,
                    })
                })),
                Err(e) => {
                    if let Ok(mut slot) = self.error.lock() {
                        slot.get_or_insert(e);
                    }
                    out.push(Transfer {
                        other,
                        link: l,
                        first: link.first,
                        last: link.last,
                        amount: link.total,
                    });
                }
            }
        }
        out
    }
}
