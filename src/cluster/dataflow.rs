//! Graph algorithms on timely dataflow across processes.
//!
//! Every worker (a thread of one of the processes) owns the nodes of the partitions `p` with
//! `p mod workers == worker`, reads those partitions, and keeps its nodes' adjacency (both directions,
//! duplicates summed) with a *mirror* slot for each neighbour owned by another worker. The
//! algorithms are bulk-synchronous: each superstep is one epoch of a timely dataflow
//! (`input → exchange → inspect → probe`); the workers push their nodes' new values to the workers
//! holding mirrors of them, step the dataflow until the epoch is complete everywhere, then compute
//! locally. Global sums (changes, dangling mass) are all-reduces over the same kind of dataflow,
//! summed in worker order so that every worker takes the same decision.
//!
//! See ARCHITECTURE.md "Scale out" for the design, the trade-offs of the Leiden variant and the
//! communication figures.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use rayon::prelude::*;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;
use timely::ExchangeData;

use super::partition::{read_manifest, read_partition, Manifest, PartitionError};
use crate::algo::graph::Graph;
use crate::algo::leiden::{leiden, LeidenConfig, Quality};
use crate::algo::quality::modularity_unchecked;
use crate::algo::scratch::{mix, relabel_dense};

/// What can go wrong running on the cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error("starting the cluster: {0}")]
    Network(String),
    #[error("{0}")]
    Invalid(String),
    #[error("a worker stopped: {0}")]
    Worker(String),
    #[error("another worker could not read its partitions (see that process's error)")]
    Peer,
}

/// Algorithms `cluster` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    Wcc,
    Lpa,
    PageRank,
    Leiden,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Wcc => "wcc",
            Algo::Lpa => "lpa",
            Algo::PageRank => "pagerank",
            Algo::Leiden => "leiden",
        }
    }
}

/// Parameters of the algorithms (those that do not apply are ignored).
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub seed: u64,
    /// PageRank iterations (fixed count).
    pub iterations: usize,
    pub damping: f64,
    /// Leiden resolution γ.
    pub resolution: f64,
    /// Label-propagation superstep cap.
    pub max_rounds: usize,
    /// Leiden passes, per part and on the merged graph.
    pub passes: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            seed: 42,
            iterations: 20,
            damping: 0.85,
            resolution: 1.0,
            max_rounds: 200,
            passes: 2,
        }
    }
}

/// Where this process sits in the cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub manifest: PathBuf,
    /// `host:port` of every process, in process order (one entry: a single process).
    pub addresses: Vec<String>,
    pub process: usize,
    /// Worker threads per process.
    pub workers: usize,
}

/// Records sent in one superstep (or phase), summed over all workers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    pub phase: &'static str,
    /// To the sending worker itself (never serialised).
    pub to_self: u64,
    /// To another worker of the same process (in memory).
    pub to_process: u64,
    /// To a worker of another process (serialised, over TCP).
    pub to_remote: u64,
    /// Payload bytes of `to_remote` (fixed-width records, before timely's framing).
    pub remote_bytes: u64,
    /// Nodes whose value changed (WCC, LPA); 0 elsewhere.
    pub changed: u64,
    /// Wall time of the step on worker 0.
    pub seconds: f64,
}

/// The gathered result, on process 0.
#[derive(Clone, Debug)]
pub struct ClusterResult {
    pub algo: Algo,
    pub params: Params,
    /// Community of every node (dense ids `0..count` in order of first appearance), for WCC, LPA
    /// and Leiden.
    pub membership: Option<Vec<u32>>,
    pub community_count: usize,
    /// Modularity (γ = `params.resolution` for Leiden, 1 otherwise) of the membership.
    pub modularity: Option<f64>,
    /// PageRank scores.
    pub scores: Option<Vec<f64>>,
    pub steps: Vec<Step>,
    /// `(phase, seconds)` on worker 0: read, setup, algorithm, gather.
    pub phases: Vec<(&'static str, f64)>,
    pub workers: usize,
    pub processes: usize,
}

/// Runs `algo` on the export of `cfg.manifest` as process `cfg.process`; blocks until every process
/// has finished. Returns the result on process 0, `None` elsewhere.
///
/// # Errors
/// A bad configuration, an unreadable or damaged partition (here or in another process), a network
/// failure at start-up.
pub fn run(
    cfg: &ClusterConfig,
    algo: Algo,
    params: &Params,
) -> Result<Option<ClusterResult>, ClusterError> {
    let manifest = read_manifest(&cfg.manifest)?;
    let dir = cfg
        .manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let processes = cfg.addresses.len().max(1);
    if cfg.process >= processes {
        return Err(ClusterError::Invalid(format!(
            "--process {} but the hostfile lists {processes} processes",
            cfg.process
        )));
    }
    if cfg.workers == 0 {
        return Err(ClusterError::Invalid("--workers must be at least 1".into()));
    }
    let communication = if processes == 1 {
        timely::CommunicationConfig::Process(cfg.workers)
    } else {
        timely::CommunicationConfig::Cluster {
            threads: cfg.workers,
            process: cfg.process,
            addresses: cfg.addresses.clone(),
            report: false,
            zerocopy: false,
        }
    };
    let config = timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    };
    let params = params.clone();
    let workers = cfg.workers;
    let guards = timely::execute(config, move |worker| {
        worker_main(worker, &dir, &manifest, algo, &params, workers)
    })
    .map_err(ClusterError::Network)?;
    let mut out = None;
    let mut first_err = None;
    for r in guards.join() {
        match r {
            Ok(Ok(Some(res))) => out = Some(res),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                if first_err.is_none() || matches!(first_err, Some(ClusterError::Peer)) {
                    first_err = Some(e);
                }
            }
            Err(panic) => first_err = Some(ClusterError::Worker(panic)),
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

// ---------------------------------------------------------------------------------------------
// Communication: one dataflow per record type; each `round` is one epoch.

const SELF: usize = 0;
const PROCESS: usize = 1;
const REMOTE: usize = 2;
/// High bit of a record's destination: the parity of the epoch it was sent in.
const PARITY: u32 = 1 << 31;

struct Chan<T: ExchangeData + Clone> {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<(u32, T)>>>,
    probe: ProbeHandle<u64>,
    /// Records received, by the parity of the epoch they were sent in: a fast worker's records of
    /// the next epoch may arrive before this worker has finished the current one (never two ahead:
    /// that needs this worker's input to advance).
    inbox: Rc<RefCell<[Vec<T>; 2]>>,
    epoch: u64,
    me: u32,
    per_process: u32,
    sent: [u64; 3],
}

impl<T: ExchangeData + Clone> Chan<T> {
    fn new(worker: &mut Worker, per_process: usize) -> Chan<T> {
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let inbox: Rc<RefCell<[Vec<T>; 2]>> = Rc::new(RefCell::new([Vec::new(), Vec::new()]));
        let sink = Rc::clone(&inbox);
        worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .exchange(|x: &(u32, T)| u64::from(x.0 & !PARITY))
                .inspect(move |x: &(u32, T)| {
                    sink.borrow_mut()[usize::from(x.0 & PARITY != 0)].push(x.1.clone());
                })
                .probe_with(&probe);
        });
        Chan {
            input,
            probe,
            inbox,
            epoch: 0,
            me: worker.index() as u32,
            per_process: per_process as u32,
            sent: [0; 3],
        }
    }

    #[inline]
    fn send(&mut self, to: u32, x: T) {
        let k = if to == self.me {
            SELF
        } else if to / self.per_process == self.me / self.per_process {
            PROCESS
        } else {
            REMOTE
        };
        self.sent[k] += 1;
        let tag = if self.epoch % 2 == 1 { PARITY } else { 0 };
        self.input.send((to | tag, x));
    }

    /// Closes the epoch and steps until every worker's records of it have arrived; returns them.
    fn round(&mut self, worker: &mut Worker) -> Vec<T> {
        let sent_in = (self.epoch % 2) as usize;
        self.epoch += 1;
        self.input.advance_to(self.epoch);
        let (probe, epoch) = (&self.probe, self.epoch);
        worker.step_while(|| probe.less_than(&epoch));
        std::mem::take(&mut self.inbox.borrow_mut()[sent_in])
    }
}

/// Record sizes on the wire (fixed-width encoding of the tuples).
const VAL_BYTES: u64 = 16;
const EDGE_BYTES: u64 = 16;
const PART_BYTES: u64 = 20;

struct Net {
    /// `(slot, value)` records: mirror pushes, all-reduces, gathers.
    vals: Chan<(u32, u64)>,
    /// `(u, v, weight)` records: setup and community aggregation.
    edges: Chan<(u32, u32, f32)>,
    /// `(part, u, v, weight)` records: Leiden part gathering.
    parts: Chan<(u32, u32, u32, f32)>,
    me: u32,
    peers: u32,
    steps: Vec<Step>,
    mark: [u64; 4],
    clock: Instant,
}

impl Net {
    fn new(worker: &mut Worker, per_process: usize) -> Net {
        Net {
            vals: Chan::new(worker, per_process),
            edges: Chan::new(worker, per_process),
            parts: Chan::new(worker, per_process),
            me: worker.index() as u32,
            peers: worker.peers() as u32,
            steps: Vec::new(),
            mark: [0; 4],
            clock: Instant::now(),
        }
    }

    fn totals(&self) -> [u64; 4] {
        let (v, e, p) = (&self.vals.sent, &self.edges.sent, &self.parts.sent);
        [
            v[SELF] + e[SELF] + p[SELF],
            v[PROCESS] + e[PROCESS] + p[PROCESS],
            v[REMOTE] + e[REMOTE] + p[REMOTE],
            v[REMOTE] * VAL_BYTES + e[REMOTE] * EDGE_BYTES + p[REMOTE] * PART_BYTES,
        ]
    }

    /// Closes a step: what this worker sent since the previous one.
    fn step(&mut self, phase: &'static str, changed: u64) {
        let t = self.totals();
        self.steps.push(Step {
            phase,
            to_self: t[0] - self.mark[0],
            to_process: t[1] - self.mark[1],
            to_remote: t[2] - self.mark[2],
            remote_bytes: t[3] - self.mark[3],
            changed,
            seconds: self.clock.elapsed().as_secs_f64(),
        });
        self.mark = t;
        self.clock = Instant::now();
    }

    /// Sums `xs` over all workers (the same result, bit for bit, on every worker).
    fn sum_f64(&mut self, worker: &mut Worker, xs: &[f64]) -> Vec<f64> {
        let k = xs.len() as u32;
        for w in 0..self.peers {
            for (i, x) in xs.iter().enumerate() {
                self.vals.send(w, (self.me * k + i as u32, x.to_bits()));
            }
        }
        let mut got = self.vals.round(worker);
        got.sort_unstable_by_key(|x| x.0);
        let mut out = vec![0.0; xs.len()];
        for (slot, bits) in got {
            out[(slot % k.max(1)) as usize] += f64::from_bits(bits);
        }
        out
    }

    fn sum_u64(&mut self, worker: &mut Worker, x: u64) -> u64 {
        for w in 0..self.peers {
            self.vals.send(w, (self.me, x));
        }
        self.vals.round(worker).iter().map(|r| r.1).sum()
    }

    /// Sends `(gid, value)` of every owned node to worker 0; there, returns the `n` values.
    fn gather(&mut self, worker: &mut Worker, sh: &Shard, vals: &[u64]) -> Option<Vec<u64>> {
        for (&g, &x) in sh.gid.iter().zip(vals) {
            self.vals.send(0, (g, x));
        }
        let got = self.vals.round(worker);
        (self.me == 0).then(|| {
            let mut out = vec![0u64; sh.layout.n as usize];
            for (g, x) in got {
                out[g as usize] = x;
            }
            out
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The shard of the graph a worker owns.

/// Which worker owns which node, and its index there.
#[derive(Clone, Debug)]
struct Layout {
    n: u32,
    parts: u32,
    peers: u32,
    /// Per partition: index (at its owner) of the partition's first node.
    base: Vec<u32>,
    /// Per worker: nodes owned.
    owned: Vec<u32>,
}

impl Layout {
    fn new(n: u32, parts: u32, peers: u32) -> Layout {
        let mut base = vec![0u32; parts as usize];
        let mut owned = vec![0u32; peers as usize];
        for p in 0..parts {
            let q = (p % peers) as usize;
            base[p as usize] = owned[q];
            owned[q] += Self::count(n, parts, p);
        }
        Layout {
            n,
            parts,
            peers,
            base,
            owned,
        }
    }

    fn count(n: u32, parts: u32, p: u32) -> u32 {
        if p < n {
            (n - 1 - p) / parts + 1
        } else {
            0
        }
    }

    #[inline]
    fn owner(&self, v: u32) -> u32 {
        (v % self.parts) % self.peers
    }

    #[inline]
    fn local(&self, v: u32) -> u32 {
        self.base[(v % self.parts) as usize] + v / self.parts
    }

    fn gids(&self, q: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.owned[q as usize] as usize);
        for p in (q..self.parts).step_by(self.peers as usize) {
            for k in 0..Self::count(self.n, self.parts, p) {
                out.push(p + k * self.parts);
            }
        }
        out
    }
}

struct Shard {
    layout: Layout,
    owned: usize,
    gid: Vec<u32>,
    /// CSR over owned nodes; targets index the value space `owned nodes ++ mirrors`.
    off: Vec<usize>,
    tgt: Vec<u32>,
    w: Vec<f32>,
    mirror_gid: Vec<u32>,
    /// Per owned node: the `(worker, mirror slot)` of every remote copy.
    sub_off: Vec<usize>,
    subs: Vec<(u32, u32)>,
}

impl Shard {
    #[inline]
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.off[i]..self.off[i + 1]
    }

    fn gid_of(&self, t: u32) -> u32 {
        let t = t as usize;
        if t < self.owned {
            self.gid[t]
        } else {
            self.mirror_gid[t - self.owned]
        }
    }

    fn space(&self) -> usize {
        self.owned + self.mirror_gid.len()
    }

    /// Sends the owned values selected by `which` to their mirrors and installs the ones received.
    fn push(
        &self,
        net: &mut Net,
        worker: &mut Worker,
        vals: &mut [u64],
        which: impl Fn(usize) -> bool,
    ) {
        for (i, &x) in vals[..self.owned].iter().enumerate() {
            if which(i) {
                for &(w, j) in &self.subs[self.sub_off[i]..self.sub_off[i + 1]] {
                    net.vals.send(w, (j, x));
                }
            }
        }
        for (j, x) in net.vals.round(worker) {
            vals[self.owned + j as usize] = x;
        }
    }
}

/// Reads this worker's partitions, exchanges the reverse direction of every edge, builds the shard.
fn load(
    worker: &mut Worker,
    net: &mut Net,
    dir: &Path,
    m: &Manifest,
) -> Result<Shard, ClusterError> {
    let parts = m.partition_count();
    let layout = Layout::new(m.nodes as u32, parts, net.peers);
    let me = net.me;
    let mut fwd: Vec<(u32, u32, f32)> = Vec::new();
    let mut err = None;
    for p in (me..parts).step_by(net.peers as usize) {
        if let Err(e) = read_partition(dir, m, p, |u, v, w| fwd.push((u, v, w))) {
            err = Some(e);
            fwd.clear();
            break;
        }
    }
    if net.sum_u64(worker, u64::from(err.is_some())) > 0 {
        return Err(err.map_or(ClusterError::Peer, ClusterError::from));
    }
    net.step("read", 0);
    for &(u, v, w) in &fwd {
        net.edges.send(layout.owner(v), (v, u, w));
    }
    let back = net.edges.round(worker);
    let mut adj: Vec<(u32, u32, f32)> = fwd
        .into_iter()
        .chain(back)
        .map(|(u, v, w)| (layout.local(u), v, w))
        .collect();
    adj.par_sort_unstable_by_key(|e| (e.0, e.1));
    let owned = layout.owned[me as usize] as usize;
    let gid = layout.gids(me);
    let mut off = vec![0usize; owned + 1];
    let mut nbr: Vec<u32> = Vec::with_capacity(adj.len());
    let mut w: Vec<f32> = Vec::with_capacity(adj.len());
    let mut i = 0;
    while i < adj.len() {
        let (s, t) = (adj[i].0, adj[i].1);
        let mut sum = 0f64;
        while i < adj.len() && (adj[i].0, adj[i].1) == (s, t) {
            sum += f64::from(adj[i].2);
            i += 1;
        }
        off[s as usize + 1] += 1;
        nbr.push(t);
        w.push(sum as f32);
    }
    drop(adj);
    for k in 0..owned {
        off[k + 1] += off[k];
    }
    let mut mirror_gid: Vec<u32> = nbr
        .iter()
        .copied()
        .filter(|&t| layout.owner(t) != me)
        .collect();
    mirror_gid.par_sort_unstable();
    mirror_gid.dedup();
    let tgt: Vec<u32> = nbr
        .par_iter()
        .map(|&t| {
            if layout.owner(t) == me {
                layout.local(t)
            } else {
                owned as u32 + mirror_gid.binary_search(&t).unwrap_or(0) as u32
            }
        })
        .collect();
    drop(nbr);
    for (j, &g) in mirror_gid.iter().enumerate() {
        net.vals.send(
            layout.owner(g),
            (layout.local(g), (u64::from(me) << 32) | j as u64),
        );
    }
    let mut req = net.vals.round(worker);
    req.sort_unstable_by_key(|r| r.0);
    let mut sub_off = vec![0usize; owned + 1];
    for r in &req {
        sub_off[r.0 as usize + 1] += 1;
    }
    for k in 0..owned {
        sub_off[k + 1] += sub_off[k];
    }
    let subs = req
        .iter()
        .map(|r| ((r.1 >> 32) as u32, r.1 as u32))
        .collect();
    net.step("setup", 0);
    Ok(Shard {
        layout,
        owned,
        gid,
        off,
        tgt,
        w,
        mirror_gid,
        sub_off,
        subs,
    })
}

// ---------------------------------------------------------------------------------------------
// The algorithms.

fn worker_main(
    worker: &mut Worker,
    dir: &Path,
    m: &Manifest,
    algo: Algo,
    params: &Params,
    per_process: usize,
) -> Result<Option<ClusterResult>, ClusterError> {
    let mut net = Net::new(worker, per_process);
    let t0 = Instant::now();
    let sh = load(worker, &mut net, dir, m)?;
    let t_load = t0.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut result = ClusterResult {
        algo,
        params: params.clone(),
        membership: None,
        community_count: 0,
        modularity: None,
        scores: None,
        steps: Vec::new(),
        phases: Vec::new(),
        workers: worker.peers(),
        processes: worker.peers() / per_process,
    };
    let labels: Option<Vec<u64>> = match algo {
        Algo::PageRank => {
            let s = pagerank(worker, &mut net, &sh, params);
            let t_algo = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let all = net.gather(worker, &sh, &s);
            net.step("gather", 0);
            result.scores = all.map(|v| v.into_iter().map(f64::from_bits).collect());
            result.phases = vec![
                ("load", t_load),
                ("algorithm", t_algo),
                ("gather", t.elapsed().as_secs_f64()),
            ];
            None
        }
        Algo::Wcc => Some(wcc(worker, &mut net, &sh)),
        Algo::Lpa => Some(lpa(worker, &mut net, &sh, params)),
        Algo::Leiden => {
            let coarse = lpa(worker, &mut net, &sh, params);
            Some(refine_parts(worker, &mut net, &sh, &coarse, params))
        }
    };
    if let Some(mut labels) = labels {
        let t_algo = t.elapsed().as_secs_f64();
        let t = Instant::now();
        sh.push(&mut net, worker, &mut labels, |_| true);
        let agg = aggregate(worker, &mut net, &sh, &labels);
        let all = net.gather(worker, &sh, &labels);
        net.step("gather", 0);
        if let (Some(all), Some((dense_of, g))) = (all, agg) {
            let mut membership: Vec<u32> = all.iter().map(|&l| dense_of[l as usize]).collect();
            let gamma = if algo == Algo::Leiden {
                params.resolution
            } else {
                1.0
            };
            let merged: Vec<u32> = if algo == Algo::Leiden {
                // Cross-part merge: Leiden on the graph of refined communities.
                leiden(
                    &g,
                    &LeidenConfig {
                        quality: Quality::Modularity,
                        resolution: gamma,
                        seed: params.seed,
                        iterations: params.passes,
                        max_levels: 64,
                    },
                )
                .membership
            } else {
                (0..g.node_count() as u32).collect()
            };
            result.modularity = Some(modularity_unchecked(&g, &merged, gamma));
            for c in &mut membership {
                *c = merged[*c as usize];
            }
            result.community_count = relabel_dense(&mut membership);
            result.membership = Some(membership);
        }
        result.phases = vec![
            ("load", t_load),
            ("algorithm", t_algo),
            ("gather", t.elapsed().as_secs_f64()),
        ];
    }
    let steps = sum_steps(worker, &mut net);
    Ok((net.me == 0).then(|| {
        result.steps = steps;
        result
    }))
}

/// Sums every worker's step counters on worker 0 (the step lists are alike: control flow is
/// collective).
fn sum_steps(worker: &mut Worker, net: &mut Net) -> Vec<Step> {
    let mine = std::mem::take(&mut net.steps);
    for (k, s) in mine.iter().enumerate() {
        let base = k as u32 * 4;
        for (f, x) in [s.to_self, s.to_process, s.to_remote, s.remote_bytes]
            .into_iter()
            .enumerate()
        {
            net.vals.send(0, (base + f as u32, x));
        }
    }
    let got = net.vals.round(worker);
    let mut out = mine;
    for s in &mut out {
        (s.to_self, s.to_process, s.to_remote, s.remote_bytes) = (0, 0, 0, 0);
    }
    for (slot, x) in got {
        let s = &mut out[(slot / 4) as usize];
        match slot % 4 {
            0 => s.to_self += x,
            1 => s.to_process += x,
            2 => s.to_remote += x,
            _ => s.remote_bytes += x,
        }
    }
    out
}

/// Minimum-label propagation to the fixpoint; returns each owned node's component label (the
/// smallest node id of its component) in the value space.
fn wcc(worker: &mut Worker, net: &mut Net, sh: &Shard) -> Vec<u64> {
    let mut vals = vec![0u64; sh.space()];
    for (v, &g) in vals.iter_mut().zip(&sh.gid) {
        *v = u64::from(g);
    }
    let mut changed = vec![true; sh.owned];
    loop {
        sh.push(net, worker, &mut vals, |i| changed[i]);
        let mut c = 0u64;
        for i in 0..sh.owned {
            let best = sh.tgt[sh.range(i)]
                .iter()
                .map(|&t| vals[t as usize])
                .fold(vals[i], u64::min);
            changed[i] = best < vals[i];
            if changed[i] {
                vals[i] = best;
                c += 1;
            }
        }
        let total = net.sum_u64(worker, c);
        net.step("wcc", total);
        if total == 0 {
            return vals;
        }
    }
}

/// PageRank with the single-machine conventions of `algo::pagerank` on the undirected graph's
/// directed view: unweighted, `(1 - d)/n` teleport, the mass of nodes without edges spread evenly,
/// a fixed number of iterations. Returns the owned scores as `f64` bits.
fn pagerank(worker: &mut Worker, net: &mut Net, sh: &Shard, params: &Params) -> Vec<u64> {
    let nf = f64::from(sh.layout.n.max(1));
    let d = params.damping;
    let deg: Vec<usize> = (0..sh.owned).map(|i| sh.range(i).len()).collect();
    let mut score = vec![1.0 / nf; sh.owned];
    let mut vals = vec![0u64; sh.space()];
    let contrib = |s: f64, k: usize| if k == 0 { 0.0 } else { s / k as f64 };
    for i in 0..sh.owned {
        vals[i] = contrib(score[i], deg[i]).to_bits();
    }
    let local_dangling: f64 = (0..sh.owned)
        .filter(|&i| deg[i] == 0)
        .map(|i| score[i])
        .sum();
    let mut dangling = net.sum_f64(worker, &[local_dangling])[0];
    let mut next = vec![0f64; sh.owned];
    for _ in 0..params.iterations {
        sh.push(net, worker, &mut vals, |_| true);
        let base = (1.0 - d) / nf + d * dangling / nf;
        let (mut dl, mut dg) = (0.0, 0.0);
        for i in 0..sh.owned {
            let s: f64 = sh.tgt[sh.range(i)]
                .iter()
                .map(|&t| f64::from_bits(vals[t as usize]))
                .sum();
            let new = base + d * s;
            dl += (new - score[i]).abs();
            if deg[i] == 0 {
                dg += new;
            }
            next[i] = new;
        }
        std::mem::swap(&mut score, &mut next);
        for i in 0..sh.owned {
            vals[i] = contrib(score[i], deg[i]).to_bits();
        }
        let sums = net.sum_f64(worker, &[dl, dg]);
        dangling = sums[1];
        net.step("pagerank", 0);
    }
    score.iter().map(|s| s.to_bits()).collect()
}

/// Semi-synchronous label propagation: in each superstep a seeded half of the nodes takes the label
/// of largest total edge weight among its neighbours (the current label wins ties, then the highest
/// seeded hash, as `algo::lpa`), so that neighbours rarely swap labels back and forth. Stops when two
/// supersteps in a row change at most 1e-5 of the nodes, or at `max_rounds`.
fn lpa(worker: &mut Worker, net: &mut Net, sh: &Shard, params: &Params) -> Vec<u64> {
    let salt = mix(params.seed ^ 0x6c70_615f_7365_6564);
    let mut vals = vec![0u64; sh.space()];
    for (v, &g) in vals.iter_mut().zip(&sh.gid) {
        *v = u64::from(g);
    }
    let mut changed = vec![true; sh.owned];
    let threshold = (1e-5 * f64::from(sh.layout.n)) as u64;
    let mut quiet = 0;
    let mut acc: Vec<(u64, f64)> = Vec::new();
    let mut moves: Vec<(usize, u64)> = Vec::new();
    let mut groups: Vec<(u64, f64)> = Vec::new();
    for round in 0..params.max_rounds as u64 {
        sh.push(net, worker, &mut vals, |i| changed[i]);
        changed.iter_mut().for_each(|c| *c = false);
        let phase = mix(salt ^ (round << 32));
        for i in 0..sh.owned {
            if mix(phase ^ u64::from(sh.gid[i])) & 1 != 0 {
                continue;
            }
            acc.clear();
            for k in sh.range(i) {
                acc.push((vals[sh.tgt[k] as usize], f64::from(sh.w[k])));
            }
            acc.sort_unstable_by_key(|a| a.0);
            let cur = vals[i];
            let mut best = cur;
            let mut best_h = 0u64;
            let mut j = 0;
            let mut cur_w = 0.0;
            groups.clear();
            while j < acc.len() {
                let l = acc[j].0;
                let mut s = 0.0;
                while j < acc.len() && acc[j].0 == l {
                    s += acc[j].1;
                    j += 1;
                }
                if l == cur {
                    cur_w = s;
                }
                groups.push((l, s));
            }
            let mut best_w = cur_w;
            for &(l, w) in &groups {
                if l == cur {
                    continue;
                }
                if w > best_w {
                    best = l;
                    best_w = w;
                    best_h = mix(salt ^ l);
                } else if w == best_w && best != cur {
                    let h = mix(salt ^ l);
                    if h > best_h {
                        best = l;
                        best_h = h;
                    }
                }
            }
            if best != cur {
                moves.push((i, best));
            }
        }
        for &(i, l) in &moves {
            vals[i] = l;
            changed[i] = true;
        }
        let total = net.sum_u64(worker, moves.len() as u64);
        moves.clear();
        net.step("lpa", total);
        quiet = if total <= threshold { quiet + 1 } else { 0 };
        if quiet >= 2 {
            break;
        }
    }
    vals
}

/// Leiden refinement of the label-propagation parts: each part's induced subgraph goes to the
/// worker owning the part's label and is refined there with `algo::leiden` at resolution
/// `γ · m_part / m` (the global modularity restricted to the part, exact for a part without outside
/// edges). Returns each owned node's refined community (the smallest node id in it).
fn refine_parts(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    coarse: &[u64],
    params: &Params,
) -> Vec<u64> {
    let mut labels = coarse.to_vec();
    sh.push(net, worker, &mut labels, |_| true);
    let local_m: f64 = sh.w.iter().map(|&w| f64::from(w)).sum::<f64>() / 2.0;
    let m = net.sum_f64(worker, &[local_m])[0];
    for i in 0..sh.owned {
        let (g, c) = (sh.gid[i], labels[i] as u32);
        net.parts.send(sh.layout.owner(c), (c, g, g, 0.0));
        for k in sh.range(i) {
            let t = sh.tgt[k];
            let h = sh.gid_of(t);
            if g < h && labels[t as usize] == labels[i] {
                net.parts.send(sh.layout.owner(c), (c, g, h, sh.w[k]));
            }
        }
    }
    let mut got = net.parts.round(worker);
    net.step("gather parts", 0);
    got.par_sort_unstable_by_key(|r| (r.0, r.1, r.2));
    let mut replies: Vec<(u32, u32)> = Vec::new();
    let mut start = 0;
    while start < got.len() {
        let part = got[start].0;
        let mut end = start;
        while end < got.len() && got[end].0 == part {
            end += 1;
        }
        let recs = &got[start..end];
        let nodes: Vec<u32> = recs.iter().filter(|r| r.1 == r.2).map(|r| r.1).collect();
        let ix = |v: u32| nodes.binary_search(&v).unwrap_or(0) as u32;
        let edges: Vec<(u32, u32, f32)> = recs
            .iter()
            .filter(|r| r.1 != r.2)
            .map(|r| (ix(r.1), ix(r.2), r.3))
            .collect();
        let sub: Vec<u32> = match Graph::from_edges(nodes.len(), &edges) {
            Ok(g) if nodes.len() > 2 && g.total_weight() > 0.0 && m > 0.0 => {
                leiden(
                    &g,
                    &LeidenConfig {
                        quality: Quality::Modularity,
                        resolution: params.resolution * g.total_weight() / m,
                        seed: params.seed ^ u64::from(part),
                        iterations: params.passes,
                        max_levels: 64,
                    },
                )
                .membership
            }
            _ => vec![0; nodes.len()],
        };
        let mut first = vec![u32::MAX; sub.len()];
        for (k, &c) in sub.iter().enumerate() {
            first[c as usize] = first[c as usize].min(nodes[k]);
        }
        for (k, &c) in sub.iter().enumerate() {
            replies.push((nodes[k], first[c as usize]));
        }
        start = end;
    }
    drop(got);
    for (v, c) in replies {
        net.vals
            .send(sh.layout.owner(v), (sh.layout.local(v), u64::from(c)));
    }
    let mut refined = vec![0u64; sh.space()];
    for (i, c) in net.vals.round(worker) {
        refined[i as usize] = c;
    }
    net.step("refine parts", 0);
    refined
}

/// The graph of communities (labels are node ids; mirrors must hold current labels): every worker
/// sums its edges per community pair and sends them to worker 0, which returns the dense id of
/// each label and the community graph (inner weight as self-loops), whose modularity with the
/// identity partition is the modularity of the labels.
fn aggregate(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    labels: &[u64],
) -> Option<(Vec<u32>, Graph)> {
    let mut pairs: Vec<(u32, u32, f32)> = Vec::new();
    for i in 0..sh.owned {
        let (g, a) = (sh.gid[i], labels[i] as u32);
        // The community of each owned node, so that communities without edges appear.
        pairs.push((a, a, 0.0));
        for k in sh.range(i) {
            let t = sh.tgt[k];
            if g < sh.gid_of(t) {
                let b = labels[t as usize] as u32;
                pairs.push((a.min(b), a.max(b), sh.w[k]));
            }
        }
    }
    pairs.par_sort_unstable_by_key(|p| (p.0, p.1));
    let mut i = 0;
    while i < pairs.len() {
        let (a, b) = (pairs[i].0, pairs[i].1);
        let mut s = 0f64;
        while i < pairs.len() && (pairs[i].0, pairs[i].1) == (a, b) {
            s += f64::from(pairs[i].2);
            i += 1;
        }
        net.edges.send(0, (a, b, s as f32));
    }
    drop(pairs);
    let got = net.edges.round(worker);
    if net.me != 0 {
        return None;
    }
    let n = sh.layout.n as usize;
    let mut dense_of = vec![u32::MAX; n];
    let mut k = 0u32;
    let mut ids: Vec<u32> = got.iter().flat_map(|e| [e.0, e.1]).collect();
    ids.par_sort_unstable();
    ids.dedup();
    for l in ids {
        dense_of[l as usize] = k;
        k += 1;
    }
    let edges: Vec<(u32, u32, f32)> = got
        .iter()
        .filter(|e| e.2 > 0.0)
        .map(|e| (dense_of[e.0 as usize], dense_of[e.1 as usize], e.2))
        .collect();
    let g = Graph::from_edges(k as usize, &edges).ok()?;
    Some((dense_of, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_a_bijection() {
        for (n, parts, peers) in [(10, 3, 2), (7, 8, 3), (100, 4, 4), (5, 1, 3), (0, 2, 2)] {
            let l = Layout::new(n, parts, peers);
            let mut seen = vec![false; n as usize];
            for q in 0..peers {
                let gids = l.gids(q);
                assert_eq!(gids.len() as u32, l.owned[q as usize]);
                for (i, &g) in gids.iter().enumerate() {
                    assert_eq!(l.owner(g), q);
                    assert_eq!(l.local(g) as usize, i);
                    assert!(!seen[g as usize]);
                    seen[g as usize] = true;
                }
            }
            assert!(seen.iter().all(|&s| s));
        }
    }
}
