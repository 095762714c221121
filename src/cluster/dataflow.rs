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
    /// Leiden passes on the gathered community graph.
    pub passes: usize,
    /// Leiden: the distributed local moving stops, and the community graph is gathered on worker 0
    /// for the single-machine `algo::leiden`, once there are at most this many communities.
    pub gather_communities: usize,
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
            gather_communities: 1 << 18,
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

struct Net {
    /// `(slot, value)` records: mirror pushes, all-reduces, gathers.
    vals: Chan<(u32, u64)>,
    /// `(u, v, weight)` records: setup and community aggregation.
    edges: Chan<(u32, u32, f32)>,
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
            me: worker.index() as u32,
            peers: worker.peers() as u32,
            steps: Vec::new(),
            mark: [0; 4],
            clock: Instant::now(),
        }
    }

    fn totals(&self) -> [u64; 4] {
        let (v, e) = (&self.vals.sent, &self.edges.sent);
        [
            v[SELF] + e[SELF],
            v[PROCESS] + e[PROCESS],
            v[REMOTE] + e[REMOTE],
            v[REMOTE] * VAL_BYTES + e[REMOTE] * EDGE_BYTES,
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
    Ok(build_shard(worker, net, layout, fwd, "setup"))
}

/// Builds a worker's shard from its share `fwd` of the undirected edges (each edge once, its first
/// end owned by this worker, no self-loops): exchanges the reverse direction, sums parallel edges,
/// and subscribes to the owners of the neighbours held elsewhere. Collective.
fn build_shard(
    worker: &mut Worker,
    net: &mut Net,
    layout: Layout,
    fwd: Vec<(u32, u32, f32)>,
    phase: &'static str,
) -> Shard {
    let me = net.me;
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
    net.step(phase, 0);
    Shard {
        layout,
        owned,
        gid,
        off,
        tgt,
        w,
        mirror_gid,
        sub_off,
        subs,
    }
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
        Algo::Leiden => Some(moving_levels(worker, &mut net, &sh, params)?),
    };
    if let Some(mut labels) = labels {
        let t_algo = t.elapsed().as_secs_f64();
        let t = Instant::now();
        sh.push(&mut net, worker, &mut labels, |_| true);
        let mut best = gathered(worker, &mut net, &sh, &labels, algo, params);
        result.phases = vec![
            ("load", t_load),
            ("algorithm", t_algo),
            ("gather", t.elapsed().as_secs_f64()),
        ];
        if algo == Algo::Leiden {
            // The merge on worker 0 only joins whole communities of the distributed levels; one more
            // round of distributed local moving from the merged partition lets single nodes leave
            // a community they were put in early. Kept only if it raises the modularity.
            let t = Instant::now();
            let named = best
                .as_ref()
                .map(|(membership, _)| named_by_first(membership));
            let moved = polish(worker, &mut net, &sh, params, named);
            let again = gathered(worker, &mut net, &sh, &moved, algo, params);
            if let (Some(b), Some(a)) = (&best, &again) {
                if a.1 > b.1 {
                    best = again;
                }
            }
            result.phases.push(("polish", t.elapsed().as_secs_f64()));
        }
        if let Some((membership, q)) = best {
            result.modularity = Some(q);
            result.community_count = membership.iter().max().map_or(0, |&c| c as usize + 1);
            result.membership = Some(membership);
        }
    }
    let steps = sum_steps(worker, &mut net);
    Ok((net.me == 0).then(|| {
        result.steps = steps;
        result
    }))
}

/// Gathers the partition `labels` (node ids; mirrors current) on worker 0: the community graph,
/// for Leiden merged further by the single-machine Leiden, and returns there the dense community of
/// every node and the partition's modularity (γ of the run for Leiden, 1 otherwise).
fn gathered(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    labels: &[u64],
    algo: Algo,
    params: &Params,
) -> Option<(Vec<u32>, f64)> {
    let agg = aggregate(worker, net, sh, labels);
    let all = net.gather(worker, sh, labels);
    net.step("gather", 0);
    let (all, (dense_of, g)) = (all?, agg?);
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
    let q = modularity_unchecked(&g, &merged, gamma);
    for c in &mut membership {
        *c = merged[*c as usize];
    }
    relabel_dense(&mut membership);
    Some((membership, q))
}

/// Every owned node's weighted degree, and the total edge weight of the graph.
fn strengths(worker: &mut Worker, net: &mut Net, sh: &Shard) -> (Vec<f64>, f64) {
    let strength: Vec<f64> = (0..sh.owned)
        .map(|i| sh.w[sh.range(i)].iter().map(|&w| f64::from(w)).sum())
        .collect();
    let m = net.sum_f64(worker, &[strength.iter().sum::<f64>() / 2.0])[0];
    (strength, m)
}

/// Names each community of a dense membership by its first member: a node id, as the distributed
/// local moving names communities.
fn named_by_first(membership: &[u32]) -> Vec<u64> {
    let mut first = vec![u64::MAX; membership.len()];
    for (v, &c) in membership.iter().enumerate() {
        let f = &mut first[c as usize];
        if *f == u64::MAX {
            *f = v as u64;
        }
    }
    membership.iter().map(|&c| first[c as usize]).collect()
}

/// Distributed local moving on the input graph from the partition `named` (every node's community
/// as a node id, known on worker 0 only): worker 0 sends each owner its nodes' communities, then one
/// level of [`local_moving`] runs from them. Returns the labels, mirrors current.
fn polish(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    params: &Params,
    named: Option<Vec<u64>>,
) -> Vec<u64> {
    let lay = &sh.layout;
    if let Some(named) = named {
        for (v, &c) in named.iter().enumerate() {
            let v = v as u32;
            net.vals.send(lay.owner(v), (lay.local(v), c));
        }
    }
    let mut start = vec![0u64; sh.space()];
    for (slot, c) in net.vals.round(worker) {
        start[slot as usize] = c;
    }
    sh.push(net, worker, &mut start, |_| true);
    net.step("scatter", 0);
    let (strength, m) = strengths(worker, net, sh);
    let present = vec![true; sh.owned];
    let level = MAX_LEVELS + 1;
    local_moving(
        worker,
        net,
        sh,
        &strength,
        &present,
        m,
        params,
        level,
        Some(start),
    )
    .0
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

/// High bit of a record slot: the record carries a community size, not a strength.
const SIZE: u32 = 1 << 31;
/// Cap on the supersteps of one level of distributed local moving.
const MOVE_ROUNDS: u64 = 64;
/// A level of local moving stops after two supersteps in a row that move at most 1 / STALL of the
/// level's nodes: the last supersteps move a few nodes at the price of a full scan each, and the
/// Leiden run on the gathered graph picks up what they would find.
const STALL: u64 = 1_000;
/// Cap on the levels of distributed local moving before the gather.
const MAX_LEVELS: u64 = 16;

/// The distributed phase of Leiden: local moving on modularity gains, level by level, until the
/// communities are few enough ([`Params::gather_communities`]) to gather their graph on worker 0,
/// or a level no longer shrinks the graph by a fifth. Returns the community of every owned node of
/// `sh` (named by a node id) in the value space. See ARCHITECTURE.md "Scale out".
fn moving_levels(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    params: &Params,
) -> Result<Vec<u64>, ClusterError> {
    if sh.layout.n >= SIZE {
        return Err(ClusterError::Invalid(format!(
            "Leiden on the cluster takes fewer than 2^31 nodes ({} here)",
            sh.layout.n
        )));
    }
    let (strength, m) = strengths(worker, net, sh);
    let present = vec![true; sh.owned];
    let (mut labels, mut count) =
        local_moving(worker, net, sh, &strength, &present, m, params, 0, None);
    let mut top = labels[..sh.owned].to_vec();
    let mut nodes = u64::from(sh.layout.n);
    let mut level: Option<(Shard, Vec<f64>, Vec<bool>)> = None;
    let mut depth = 1;
    while count > params.gather_communities as u64 && count * 5 < nodes * 4 && depth < MAX_LEVELS {
        let (s, st, pr) = level
            .as_ref()
            .map_or((sh, &strength, &present), |l| (&l.0, &l.1, &l.2));
        let next = coarsen(worker, net, s, st, pr, &labels);
        let (lab, c) = local_moving(
            worker, net, &next.0, &next.1, &next.2, m, params, depth, None,
        );
        // the community of each node's community
        for (i, &c) in top.iter().enumerate() {
            let c = c as u32;
            net.vals.send(
                sh.layout.owner(c),
                (sh.layout.local(c), (u64::from(net.me) << 32) | i as u64),
            );
        }
        for (slot, from) in net.vals.round(worker) {
            net.vals
                .send((from >> 32) as u32, (from as u32, lab[slot as usize]));
        }
        for (i, c) in net.vals.round(worker) {
            top[i as usize] = c;
        }
        net.step("relabel", 0);
        (labels, nodes, count, level) = (lab, count, c, Some(next));
        depth += 1;
    }
    let mut out = vec![0u64; sh.space()];
    out[..sh.owned].copy_from_slice(&top);
    Ok(out)
}

/// One level of distributed local moving. `strength` is every owned node's weighted degree
/// (self-loops twice), `present` whether the slot is a node of this level, `m` the total edge
/// weight. A community is named by a node id (initially each node its own) and kept by the owner of
/// that node: its total strength and size. Each superstep: nodes push their changed labels to
/// their mirrors; every worker asks the owners for the totals of the communities its nodes see and
/// gets them back; a seeded half of the nodes moves each to the neighbouring community of largest
/// modularity gain `k_i,b − k_i,a − γ k_i (tot_b − tot_a + k_i) / 2m` against those totals (the
/// other half waits, which with the rule that a singleton joins another singleton only if that
/// one's name is smaller stops nodes swapping back and forth); the strength and size changes go to
/// the communities' owners. Returns the labels (mirrors current) and the number of communities.
#[allow(clippy::too_many_arguments)]
fn local_moving(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    strength: &[f64],
    present: &[bool],
    m: f64,
    params: &Params,
    level: u64,
    start: Option<Vec<u64>>,
) -> (Vec<u64>, u64) {
    let lay = &sh.layout;
    let gamma = params.resolution;
    let salt = mix(params.seed ^ 0x6c6f_6361_6c5f_6d76 ^ (level << 40));
    let (mut vals, mut tot, mut size) = match start {
        None => (
            sh.gid
                .iter()
                .chain(&sh.mirror_gid)
                .map(|&g| u64::from(g))
                .collect::<Vec<u64>>(),
            strength.to_vec(),
            present.iter().map(|&p| i64::from(p)).collect::<Vec<i64>>(),
        ),
        Some(vals) => {
            // Every node's strength and count go to the owner of its community.
            for i in (0..sh.owned).filter(|&i| present[i]) {
                let c = vals[i] as u32;
                let (w, slot) = (lay.owner(c), lay.local(c));
                net.vals.send(w, (slot, strength[i].to_bits()));
                net.vals.send(w, (slot | SIZE, 1));
            }
            let mut got = net.vals.round(worker);
            got.sort_unstable();
            let (mut tot, mut size) = (vec![0f64; sh.owned], vec![0i64; sh.owned]);
            for (slot, x) in got {
                if slot & SIZE != 0 {
                    size[(slot & !SIZE) as usize] += x as i64;
                } else {
                    tot[slot as usize] += f64::from_bits(x);
                }
            }
            (vals, tot, size)
        }
    };
    let nodes = net.sum_u64(worker, size.iter().sum::<i64>() as u64);
    let mut changed = vec![false; sh.owned];
    let mut need: rustc_hash::FxHashMap<u64, u32> = Default::default();
    let mut names: Vec<u64> = Vec::new();
    let mut slot_ix = vec![0u32; sh.space()];
    let (mut ctot, mut csize): (Vec<f64>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut acc: Vec<(u32, f64)> = Vec::new();
    let mut moves: Vec<(usize, u64, u64)> = Vec::new();
    let two_m = 2.0 * m;
    let mut quiet = 0;
    for round in 0..MOVE_ROUNDS {
        if round > 0 {
            sh.push(net, worker, &mut vals, |i| changed[i]);
        }
        changed.iter_mut().for_each(|c| *c = false);
        // the communities seen: of the nodes of this level and of the mirrors
        need.clear();
        names.clear();
        for t in (0..sh.owned)
            .filter(|&i| present[i])
            .chain(sh.owned..sh.space())
        {
            let l = vals[t];
            slot_ix[t] = *need.entry(l).or_insert_with(|| {
                names.push(l);
                names.len() as u32 - 1
            });
        }
        ctot.clear();
        ctot.resize(names.len(), 0.0);
        csize.clear();
        csize.resize(names.len(), 0);
        for (k, &l) in names.iter().enumerate() {
            let c = l as u32;
            let (w, slot) = (lay.owner(c), lay.local(c));
            if w == net.me {
                (ctot[k], csize[k]) = (tot[slot as usize], size[slot as usize]);
            } else {
                net.vals
                    .send(w, (slot, (u64::from(net.me) << 32) | k as u64));
            }
        }
        for (slot, from) in net.vals.round(worker) {
            let (w, k) = ((from >> 32) as u32, from as u32);
            net.vals.send(w, (k, tot[slot as usize].to_bits()));
            net.vals.send(w, (k | SIZE, size[slot as usize] as u64));
        }
        for (k, x) in net.vals.round(worker) {
            if k & SIZE != 0 {
                csize[(k & !SIZE) as usize] = x as i64;
            } else {
                ctot[k as usize] = f64::from_bits(x);
            }
        }
        let phase = mix(salt ^ (round << 32));
        for i in 0..sh.owned {
            if !present[i] || strength[i] <= 0.0 || mix(phase ^ u64::from(sh.gid[i])) & 1 != 0 {
                continue;
            }
            acc.clear();
            for k in sh.range(i) {
                acc.push((slot_ix[sh.tgt[k] as usize], f64::from(sh.w[k])));
            }
            acc.sort_unstable_by_key(|a| a.0);
            let a = slot_ix[i];
            let k_i = strength[i];
            let k_ia: f64 = acc.iter().filter(|x| x.0 == a).map(|x| x.1).sum();
            let tot_a = ctot[a as usize];
            let alone = csize[a as usize] == 1;
            let (mut best, mut best_gain, mut best_h) = (a, 0.0f64, 0u64);
            let mut j = 0;
            while j < acc.len() {
                let b = acc[j].0;
                let mut k_ib = 0.0;
                while j < acc.len() && acc[j].0 == b {
                    k_ib += acc[j].1;
                    j += 1;
                }
                if b == a
                    || (alone && csize[b as usize] == 1 && names[b as usize] > names[a as usize])
                {
                    continue;
                }
                let gain = k_ib - k_ia - gamma * k_i * (ctot[b as usize] - tot_a + k_i) / two_m;
                if gain > best_gain {
                    (best, best_gain, best_h) = (b, gain, mix(salt ^ names[b as usize]));
                } else if gain == best_gain && best != a {
                    let h = mix(salt ^ names[b as usize]);
                    if h > best_h {
                        (best, best_h) = (b, h);
                    }
                }
            }
            if best != a {
                moves.push((i, names[a as usize], names[best as usize]));
            }
        }
        for &(i, from, to) in &moves {
            vals[i] = to;
            changed[i] = true;
            for (c, sign) in [(from as u32, -1.0), (to as u32, 1.0)] {
                let (w, slot) = (lay.owner(c), lay.local(c));
                net.vals.send(w, (slot, (sign * strength[i]).to_bits()));
                net.vals.send(w, (slot | SIZE, sign as i64 as u64));
            }
        }
        let mut deltas = net.vals.round(worker);
        // a fixed order of the additions, whatever the order of arrival
        deltas.sort_unstable();
        for (slot, x) in deltas {
            if slot & SIZE != 0 {
                size[(slot & !SIZE) as usize] += x as i64;
            } else {
                tot[slot as usize] += f64::from_bits(x);
            }
        }
        let total = net.sum_u64(worker, moves.len() as u64);
        moves.clear();
        net.step("local moving", total);
        quiet = if total <= nodes / STALL { quiet + 1 } else { 0 };
        if quiet >= 2 {
            break;
        }
    }
    sh.push(net, worker, &mut vals, |i| changed[i]);
    let count = net.sum_u64(worker, size.iter().filter(|&&s| s > 0).count() as u64);
    (vals, count)
}

/// The graph of the communities of `labels` (mirrors current), distributed as the nodes are:
/// community `c` (a node id) becomes node `c`, owned by the owner of node `c`, its strength the sum
/// of its members'. Returns the shard, the strengths and which slots are communities.
fn coarsen(
    worker: &mut Worker,
    net: &mut Net,
    sh: &Shard,
    strength: &[f64],
    present: &[bool],
    labels: &[u64],
) -> (Shard, Vec<f64>, Vec<bool>) {
    let lay = &sh.layout;
    let mut own: Vec<(u32, f64)> = (0..sh.owned)
        .filter(|&i| present[i])
        .map(|i| (labels[i] as u32, strength[i]))
        .collect();
    own.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let mut j = 0;
    while j < own.len() {
        let c = own[j].0;
        let mut s = 0.0;
        while j < own.len() && own[j].0 == c {
            s += own[j].1;
            j += 1;
        }
        net.vals.send(lay.owner(c), (lay.local(c), s.to_bits()));
    }
    drop(own);
    let mut got = net.vals.round(worker);
    got.sort_unstable();
    let mut st = vec![0f64; sh.owned];
    let mut pr = vec![false; sh.owned];
    for (slot, x) in got {
        st[slot as usize] += f64::from_bits(x);
        pr[slot as usize] = true;
    }
    let mut pairs: Vec<(u32, u32, f32)> = Vec::new();
    for i in (0..sh.owned).filter(|&i| present[i]) {
        let (g, a) = (sh.gid[i], labels[i] as u32);
        for k in sh.range(i) {
            let t = sh.tgt[k];
            let b = labels[t as usize] as u32;
            if g < sh.gid_of(t) && a != b {
                pairs.push((a.min(b), a.max(b), sh.w[k]));
            }
        }
    }
    pairs.par_sort_unstable_by_key(|p| (p.0, p.1));
    let mut j = 0;
    while j < pairs.len() {
        let (a, b) = (pairs[j].0, pairs[j].1);
        let mut s = 0f64;
        while j < pairs.len() && (pairs[j].0, pairs[j].1) == (a, b) {
            s += f64::from(pairs[j].2);
            j += 1;
        }
        net.edges.send(lay.owner(a), (a, b, s as f32));
    }
    drop(pairs);
    let fwd = net.edges.round(worker);
    let next = build_shard(worker, net, lay.clone(), fwd, "coarsen");
    (next, st, pr)
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
