//! Graph endpoints: search, entity, evidence, expand, path, trace (community runs: `runs.rs`).
//!
//! Every request is validated first (absurd parameters are a 400 that names the bound), then
//! runs on a blocking thread against the current snapshot, and the answer names the snapshot
//! `generation` it was computed on. The snapshot is held in a [`GraphHolder`]: readers clone the
//! `Arc` under a short read lock, an import publishes a new one with [`GraphHolder::publish`],
//! so a query sees either the old or the new graph, never a half-built one.

use super::api::Caller;
use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::limits;
use super::AppState;
use crate::algo::expand::{expand as algo_expand, ExpandConfig, LinkFilter};
use crate::algo::paths::{k_shortest_paths, PathConfig};
use crate::algo::rank::{rank, PathStep, RankConfig};
use crate::algo::trace::{
    trace as algo_trace, Sink, TraceConfig, DEFAULT_HORIZON_S, DEFAULT_SETTLE_S,
};
use crate::model::{ident, EntityKind, LinkKind, Timestamp};
use crate::snapshot::transfers::{FlowDirection, StoreTransfers};
use crate::snapshot::{BuildReport, Ix, Link as SnapLink, Snapshot};
use crate::store::{LinkKey, Store};
use axum::extract::{Path, State};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// What the server queries: one immutable snapshot and the store it was built from (for the
/// per-record evidence).
pub struct Loaded {
    pub snap: Arc<Snapshot>,
    pub store: Arc<Store>,
}

impl Loaded {
    pub fn generation(&self) -> u64 {
        self.snap.generation()
    }
}

/// The current graph, swapped atomically.
pub struct GraphHolder {
    current: RwLock<Option<Arc<Loaded>>>,
    next_generation: AtomicU64,
}

impl GraphHolder {
    pub fn empty() -> GraphHolder {
        GraphHolder {
            current: RwLock::new(None),
            next_generation: AtomicU64::new(1),
        }
    }

    /// The graph to answer one request with.
    pub fn current(&self) -> ApiResult<Arc<Loaded>> {
        self.current
            .read()
            .map_err(|_| ApiError::internal("graph lock poisoned"))?
            .clone()
            .ok_or_else(|| {
                ApiError::Unavailable(
                    "no graph is loaded yet: import case data, then reload or restart the server"
                        .to_string(),
                )
            })
    }

    pub fn generation(&self) -> Option<u64> {
        self.current.read().ok()?.as_ref().map(|g| g.generation())
    }

    /// The generation number the next published graph must carry.
    pub fn next_generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Publishes a new graph; queries already running keep the old one.
    pub fn publish(&self, g: Loaded) {
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(Arc::new(g));
        }
    }

    /// Builds a snapshot of `store` and publishes it. CPU-heavy: call from a blocking thread.
    pub fn rebuild(&self, store: Arc<Store>) -> Result<BuildReport, crate::store::StoreError> {
        let (snap, report) = Snapshot::build(&store, self.next_generation())?;
        // what every ranking reads of the snapshot alone, before the first query needs it
        crate::algo::rank::prepare(&snap);
        self.publish(Loaded {
            snap: Arc::new(snap),
            store,
        });
        Ok(report)
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes of answers
// ---------------------------------------------------------------------------------------------

/// An entity as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct EntityView {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub kind: &'static str,
    pub label: String,
    pub roles: Vec<&'static str>,
    pub flags: Vec<&'static str>,
    pub degree: usize,
}

pub fn entity_view(snap: &Snapshot, ix: Ix) -> EntityView {
    let n = snap.node(ix);
    EntityView {
        entity_ref: snap.reference(ix),
        kind: n.kind.as_str(),
        label: n.label.unwrap_or_default().to_string(),
        roles: n.roles.names().collect(),
        flags: n.flags.names().collect(),
        degree: snap.degree(ix),
    }
}

/// A link with its aggregated evidence.
#[derive(Clone, Debug, Serialize)]
pub struct LinkView {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<i64>,
    pub directed: bool,
}

pub fn link_view(snap: &Snapshot, l: &SnapLink) -> LinkView {
    let (amount_fen, duration_s) = match l.kind {
        LinkKind::TRANSFER => (Some(l.total), None),
        LinkKind::CALL => (None, Some(l.total)),
        _ => (None, None),
    };
    LinkView {
        from: snap.reference(l.src),
        to: snap.reference(l.dst),
        kind: snap.link_kind_name(l.kind).to_string(),
        count: l.count,
        amount_fen,
        duration_s,
        first: l.has_time().then_some(l.first),
        last: l.has_time().then_some(l.last),
        directed: l.kind.is_directed(),
    }
}

/// Finds the entity a user named: a canonical ref or any identifier as typed. Unknown: 404 that
/// lists near matches.
pub fn resolve(snap: &Snapshot, text: &str) -> ApiResult<Ix> {
    if let Some(ix) = resolve_exact(snap, text) {
        return Ok(ix);
    }
    let near: Vec<String> = snap
        .search(text, 5)
        .into_iter()
        .map(|ix| snap.reference(ix))
        .collect();
    Err(ApiError::NotFound(if near.is_empty() {
        format!("no entity matches `{text}`")
    } else {
        format!(
            "no entity matches `{text}`; near matches: {}",
            near.join(", ")
        )
    }))
}

/// The entity `text` names exactly (a canonical ref or an identifier in any writing), without
/// the near-match search: cheap enough for an async worker.
fn resolve_exact(snap: &Snapshot, text: &str) -> Option<Ix> {
    ident::interpretations(text)
        .into_iter()
        .find_map(|n| snap.lookup(n.kind, &n.key))
}

fn check_range(name: &str, v: u32, lo: u32, hi: u32) -> ApiResult<u32> {
    if v < lo || v > hi {
        return Err(ApiError::bad(format!(
            "{name} must be between {lo} and {hi} (got {v})"
        )));
    }
    Ok(v)
}

fn check_kinds(kinds: &[String]) -> ApiResult<()> {
    for k in kinds {
        if crate::model::EntityKind::parse(k).is_none() {
            return Err(ApiError::bad(format!(
                "unknown entity kind `{k}`; kinds are person, phone, account, device, wallet, place, org"
            )));
        }
    }
    Ok(())
}

fn check_link_kinds(kinds: &[String]) -> ApiResult<()> {
    for k in kinds {
        if k.is_empty() || k.chars().count() > 64 {
            return Err(ApiError::bad("a link kind must have 1 to 64 characters"));
        }
    }
    Ok(())
}

fn check_window(from: Option<i64>, to: Option<i64>) -> ApiResult<()> {
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::bad("time window: `from` is after `to`"));
        }
    }
    Ok(())
}

fn check_ref_text(r: &str) -> ApiResult<()> {
    if r.trim().is_empty() || r.chars().count() > 200 {
        return Err(ApiError::bad("a reference must have 1 to 200 characters"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: String,
    pub limit: Option<u32>,
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityQuery {
    pub links: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    pub from: String,
    pub to: String,
    pub kind: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpandReq {
    /// Canonical refs or identifiers as typed (phone in any format, ID number, card number).
    pub seeds: Vec<String>,
    pub hops: Option<u32>,
    pub limit: Option<u32>,
    pub kinds: Option<Vec<String>>,
    pub link_kinds: Option<Vec<String>>,
    /// Unix seconds: evidence at or after.
    pub from: Option<i64>,
    /// Unix seconds: evidence at or before.
    pub to: Option<i64>,
    pub min_count: Option<u64>,
    pub min_amount_fen: Option<i64>,
}

impl ExpandReq {
    pub fn check(&self) -> ApiResult<()> {
        if self.seeds.is_empty() || self.seeds.len() > limits::MAX_SEEDS {
            return Err(ApiError::bad(format!(
                "give 1 to {} seeds",
                limits::MAX_SEEDS
            )));
        }
        for s in &self.seeds {
            check_ref_text(s)?;
        }
        check_range("hops", self.hops.unwrap_or(3), 1, limits::MAX_HOPS)?;
        check_range("limit", self.limit.unwrap_or(200), 1, limits::MAX_LEADS)?;
        check_kinds(self.kinds.as_deref().unwrap_or_default())?;
        check_link_kinds(self.link_kinds.as_deref().unwrap_or_default())?;
        check_window(self.from, self.to)?;
        if self.min_amount_fen.is_some_and(|a| a < 0) {
            return Err(ApiError::bad("min_amount_fen cannot be negative"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PathReq {
    pub from: String,
    pub to: String,
    pub max_len: Option<u32>,
    pub k: Option<u32>,
    pub include_hubs: Option<bool>,
}

impl PathReq {
    pub fn check(&self) -> ApiResult<()> {
        check_ref_text(&self.from)?;
        check_ref_text(&self.to)?;
        check_range(
            "max_len",
            self.max_len.unwrap_or(6),
            1,
            limits::MAX_PATH_LEN,
        )?;
        check_range("k", self.k.unwrap_or(3), 1, limits::MAX_PATHS)?;
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceReq {
    pub account: String,
    /// `forward` (where the money went) or `backward` (where it came from).
    pub direction: Option<String>,
    pub hops: Option<u32>,
    /// Seconds the money is followed past the start account's last traced transfer (backward:
    /// before its first); default a week.
    pub window_s: Option<i64>,
    /// Unix seconds: trace the start account's transfers at or after.
    pub from: Option<i64>,
    pub limit: Option<u32>,
}

impl TraceReq {
    pub fn forward(&self) -> ApiResult<bool> {
        match self.direction.as_deref() {
            None | Some("forward") => Ok(true),
            Some("backward") => Ok(false),
            Some(other) => Err(ApiError::bad(format!(
                "direction must be forward or backward (got `{other}`)"
            ))),
        }
    }

    pub fn check(&self) -> ApiResult<()> {
        check_ref_text(&self.account)?;
        self.forward()?;
        check_range("hops", self.hops.unwrap_or(6), 1, limits::MAX_TRACE_HOPS)?;
        check_range(
            "limit",
            self.limit.unwrap_or(1000),
            1,
            limits::MAX_TRACE_ROWS,
        )?;
        if self
            .window_s
            .is_some_and(|w| !(1..=365 * 86_400).contains(&w))
        {
            return Err(ApiError::bad(
                "window_s must be between 1 and 31536000 (one year)",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct StatusResp {
    pub generation: Option<u64>,
    pub loaded: bool,
    /// Entities and links of the loaded snapshot (both 0 when none is loaded).
    pub entities: usize,
    pub links: usize,
}

pub async fn status(State(st): State<AppState>, _caller: Caller) -> ApiJson<StatusResp> {
    // One `Arc` read: generation and counts always come from the same snapshot.
    let g = st.graph.current().ok();
    ApiJson(StatusResp {
        generation: g.as_ref().map(|g| g.generation()),
        loaded: g.is_some(),
        entities: g.as_ref().map_or(0, |g| g.snap.node_count()),
        links: g.as_ref().map_or(0, |g| g.snap.link_count()),
    })
}

#[derive(Serialize)]
pub struct SearchGroup {
    pub kind: &'static str,
    pub items: Vec<EntityView>,
}

#[derive(Serialize)]
pub struct SearchResp {
    pub generation: u64,
    pub query: String,
    pub groups: Vec<SearchGroup>,
}

#[derive(Serialize)]
pub struct ReloadResp {
    pub generation: Option<u64>,
    pub entities: usize,
    pub links: usize,
    pub seconds: f64,
}

/// Rebuilds the snapshot from the store (after an import) and swaps it in; queries running
/// meanwhile finish on the old one. Admins only.
pub async fn reload(State(st): State<AppState>, caller: Caller) -> ApiResult<ApiJson<ReloadResp>> {
    caller.require(&[super::auth::Role::Admin], "reloading the graph")?;
    let store = st
        .store
        .clone()
        .ok_or_else(|| ApiError::Unavailable("this server has no graph store".to_string()))?;
    // Wait for an import running in this process: its half-written state is never loaded.
    let _writing = st.writing.lock().await;
    let st2 = st.clone();
    let t0 = std::time::Instant::now();
    let report = tokio::task::spawn_blocking(move || st2.graph.rebuild(store))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    st.record(
        &caller.user,
        "snapshot_reload",
        vec![],
        format!("{} entities, {} links", report.nodes, report.links),
    )?;
    Ok(ApiJson(ReloadResp {
        generation: st.graph.generation(),
        entities: report.nodes,
        links: report.links,
        seconds: t0.elapsed().as_secs_f64(),
    }))
}

pub async fn search(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<SearchResp>> {
    check_ref_text(&q.q)?;
    let limit = check_range("limit", q.limit.unwrap_or(50), 1, limits::MAX_SEARCH)?;
    let kind = match &q.kind {
        Some(k) => Some(
            EntityKind::parse(k)
                .ok_or_else(|| ApiError::bad(format!("unknown entity kind `{k}`")))?,
        ),
        None => None,
    };
    let g = st.graph.current()?;
    let text = q.q.clone();
    let resp = st
        .blocking(move || {
            let snap = &g.snap;
            // Ask for more when filtering by kind, so the filter does not empty the answer.
            let want = if kind.is_some() {
                limit as usize * 10
            } else {
                limit as usize
            };
            let mut groups: Vec<SearchGroup> = Vec::new();
            let mut n = 0usize;
            for ix in snap.search(&text, want) {
                let k = snap.kind(ix);
                if kind.is_some_and(|want| want != k) || n >= limit as usize {
                    continue;
                }
                n += 1;
                let v = entity_view(snap, ix);
                match groups.iter_mut().find(|g| g.kind == k.as_str()) {
                    Some(g) => g.items.push(v),
                    None => groups.push(SearchGroup {
                        kind: k.as_str(),
                        items: vec![v],
                    }),
                }
            }
            Ok(SearchResp {
                generation: g.generation(),
                query: text,
                groups,
            })
        })
        .await?;
    let refs = resp
        .groups
        .iter()
        .flat_map(|g| g.items.iter().map(|e| e.entity_ref.clone()))
        .take(50)
        .collect();
    st.record(&caller.user, "search", refs, q.q)?;
    Ok(ApiJson(resp))
}

#[derive(Serialize)]
pub struct EntityResp {
    pub generation: u64,
    pub entity: EntityView,
    pub links: Vec<LinkView>,
    pub neighbours: Vec<EntityView>,
    pub truncated: bool,
    /// Which bound cut the answer, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

pub async fn entity(
    State(st): State<AppState>,
    caller: Caller,
    Path(r): Path<String>,
    ApiQuery(q): ApiQuery<EntityQuery>,
) -> ApiResult<ApiJson<EntityResp>> {
    check_ref_text(&r)?;
    let limit = check_range("links", q.links.unwrap_or(200), 1, limits::MAX_LINKS)? as usize;
    let g = st.graph.current()?;
    let resp = st
        .blocking(move || {
            let snap = &g.snap;
            let ix = resolve(snap, &r)?;
            // Strongest links first: the ones with the most evidence.
            let mut ls: Vec<u32> = snap.all_links(ix).map(|(_, l)| l).collect();
            let truncated = ls.len() > limit;
            let bound = truncated.then(|| {
                format!(
                    "links: the {limit} strongest of {} shown (at most {} per request)",
                    ls.len(),
                    limits::MAX_LINKS
                )
            });
            ls.sort_unstable_by_key(|&l| (std::cmp::Reverse(snap.link(l).count), l));
            ls.truncate(limit);
            let mut seen = std::collections::HashSet::new();
            let mut neighbours = Vec::new();
            let mut links = Vec::with_capacity(ls.len());
            for l in ls {
                let link = snap.link(l);
                let other = link.other(ix);
                if seen.insert(other) {
                    neighbours.push(entity_view(snap, other));
                }
                links.push(link_view(snap, link));
            }
            Ok(EntityResp {
                generation: g.generation(),
                entity: entity_view(snap, ix),
                links,
                neighbours,
                truncated,
                bound,
            })
        })
        .await?;
    st.record(
        &caller.user,
        "entity",
        vec![resp.entity.entity_ref.clone()],
        "",
    )?;
    Ok(ApiJson(resp))
}

#[derive(Serialize)]
pub struct EvidenceRecord {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub time: Option<i64>,
    /// Amount in fen (transfers), duration in seconds (calls), otherwise 0.
    pub value: i64,
    pub source: String,
    pub line: u64,
    pub record: Option<String>,
    pub detail: Option<String>,
}

#[derive(Serialize)]
pub struct EvidenceResp {
    pub generation: u64,
    pub records: Vec<EvidenceRecord>,
    pub truncated: bool,
    /// Which bound cut the answer, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

pub async fn evidence(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<ApiJson<EvidenceResp>> {
    check_ref_text(&q.from)?;
    check_ref_text(&q.to)?;
    let limit = check_range("limit", q.limit.unwrap_or(100), 1, limits::MAX_EVIDENCE)? as usize;
    let g = st.graph.current()?;
    let (from, to, kind) = (q.from.clone(), q.to.clone(), q.kind.clone());
    let resp = st
        .blocking(move || {
            let snap = &g.snap;
            let a = resolve(snap, &from)?;
            let b = resolve(snap, &to)?;
            // The links between the two, in either stored direction, of the asked kind.
            let links: Vec<SnapLink> = snap
                .all_links(a)
                .filter(|&(o, _)| o == b)
                .map(|(_, l)| *snap.link(l))
                .filter(|l| {
                    kind.as_deref()
                        .is_none_or(|k| snap.link_kind_name(l.kind) == k)
                })
                .collect();
            if links.is_empty() {
                return Err(ApiError::NotFound(format!(
                    "no link between {from} and {to}"
                )));
            }
            let mut records = Vec::new();
            let mut truncated = false;
            let mut sources = std::collections::HashMap::new();
            for l in links {
                let key = LinkKey {
                    src: snap.node(l.src).id,
                    kind: l.kind,
                    dst: snap.node(l.dst).id,
                };
                let left = limit.saturating_sub(records.len());
                if left == 0 {
                    truncated = true;
                    break;
                }
                let evs = g
                    .store
                    .evidence(&key, left + 1)
                    .map_err(ApiError::internal)?;
                if evs.len() > left {
                    truncated = true;
                }
                for ev in evs.into_iter().take(left) {
                    let source = match sources.get(&ev.source) {
                        Some(s) => Clone::clone(s),
                        None => {
                            let s = g
                                .store
                                .source(ev.source)
                                .map_err(ApiError::internal)?
                                .map(|s| match s.label {
                                    Some(lab) => format!("{} ({lab})", s.file),
                                    None => s.file,
                                })
                                .unwrap_or_default();
                            sources.insert(ev.source, s.clone());
                            s
                        }
                    };
                    records.push(EvidenceRecord {
                        from: snap.reference(l.src),
                        to: snap.reference(l.dst),
                        kind: snap.link_kind_name(l.kind).to_string(),
                        time: ev.key.time,
                        value: ev.value,
                        source,
                        line: ev.line,
                        record: ev.record_id,
                        detail: ev.detail,
                    });
                }
            }
            Ok(EvidenceResp {
                generation: g.generation(),
                bound: truncated.then(|| format!("limit: {limit} evidence records")),
                records,
                truncated,
            })
        })
        .await?;
    st.record(
        &caller.user,
        "evidence",
        vec![q.from, q.to],
        q.kind.unwrap_or_default(),
    )?;
    Ok(ApiJson(resp))
}

/// The link filter of an expansion or path query from what a user gave: link and entity kind
/// names, a time window, minimum records and transfer total. Shared by the API and the CLI so
/// both read the same names the same way; the error names the first unknown kind.
pub(crate) fn link_filter(
    link_kinds: &[String],
    entity_kinds: &[String],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    min_count: u32,
    min_amount_fen: i64,
) -> Result<LinkFilter, String> {
    let link_kinds = (!link_kinds.is_empty())
        .then(|| {
            link_kinds
                .iter()
                .map(|k| LinkKind::builtin(k).ok_or_else(|| format!("unknown link kind `{k}`")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let entity_kinds = (!entity_kinds.is_empty())
        .then(|| {
            entity_kinds
                .iter()
                .map(|k| EntityKind::parse(k).ok_or_else(|| format!("unknown entity kind `{k}`")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(LinkFilter {
        link_kinds,
        entity_kinds,
        window: (from.is_some() || to.is_some())
            .then(|| (from.unwrap_or(Timestamp::MIN), to.unwrap_or(Timestamp::MAX))),
        min_count,
        min_amount: min_amount_fen,
    })
}

/// One hop of an explanation path with its aggregated evidence.
#[derive(Clone, Debug, Serialize)]
pub struct StepView {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub count: u32,
    /// `forward` when the walk follows the link's own direction, else `backward`.
    pub direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<i64>,
}

fn step_view(snap: &Snapshot, s: &PathStep) -> StepView {
    let l = link_view(snap, snap.link(s.link));
    StepView {
        from: snap.reference(s.from),
        to: snap.reference(s.to),
        kind: l.kind,
        count: l.count,
        direction: if s.forward { "forward" } else { "backward" },
        amount_fen: l.amount_fen,
        duration_s: l.duration_s,
        first: l.first,
        last: l.last,
    }
}

#[derive(Serialize)]
pub struct LeadView {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub kind: &'static str,
    pub label: String,
    pub score: f64,
    pub hops: u32,
    pub roles: Vec<&'static str>,
    /// The score's parts by name (proximity, evidence, returnees, …).
    pub components: serde_json::Map<String, serde_json::Value>,
    pub reasons: Vec<String>,
    pub paths: Vec<Vec<StepView>>,
}

/// A hub the expansion reached but did not cross.
#[derive(Serialize)]
pub struct HubView {
    #[serde(flatten)]
    pub entity: EntityView,
    pub hop: u32,
    pub reason: &'static str,
}

#[derive(Serialize)]
pub struct ExpandStats {
    /// Entities the expansion reached (seeds and hubs included).
    pub visited: usize,
    pub leads: usize,
    pub hubs: usize,
    /// Entities reached per hop (index 0: the seeds).
    pub per_hop: Vec<usize>,
    /// Degree from which an entity counted as a hub.
    pub hub_threshold: usize,
    /// Entities ranked before the `limit` cut.
    pub candidates: usize,
    /// More entities lay beyond the last hop.
    pub hop_limit_reached: bool,
    pub millis: u128,
}

#[derive(Serialize)]
pub struct ExpandResp {
    pub generation: u64,
    pub seeds: Vec<EntityView>,
    pub leads: Vec<LeadView>,
    pub hubs: Vec<HubView>,
    pub links: Vec<LinkView>,
    pub stats: ExpandStats,
    /// True when a bound (limit, visit cap) cut the answer.
    pub truncated: bool,
    /// Which bound cut the answer, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

/// Entities one expansion reaches at most.
pub const MAX_VISIT: usize = 300_000;
/// Links drawn among the seeds and leads at most.
pub const MAX_DRAWN_LINKS: usize = 20_000;
/// Transactions read from the store per link when tracing money.
pub const TRACE_RECORDS_PER_LINK: usize = 100_000;

/// Links among `shown` that pass `filter`, for drawing (each once, by index, at most
/// [`MAX_DRAWN_LINKS`]).
fn links_among(snap: &Snapshot, shown: &[Ix], filter: &LinkFilter) -> Vec<LinkView> {
    let set: FxHashSet<Ix> = shown.iter().copied().collect();
    let mut links: Vec<u32> = Vec::new();
    for &v in &set {
        for (w, l) in snap.out_links(v) {
            if set.contains(&w) && filter.passes(snap.link(l)) {
                links.push(l);
            }
        }
    }
    links.sort_unstable();
    links.dedup();
    links.truncate(MAX_DRAWN_LINKS);
    links
        .iter()
        .map(|&l| link_view(snap, snap.link(l)))
        .collect()
}

pub async fn expand(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ExpandReq>,
) -> ApiResult<axum::response::Response> {
    req.check()?;
    let filter = link_filter(
        req.link_kinds.as_deref().unwrap_or_default(),
        req.kinds.as_deref().unwrap_or_default(),
        req.from,
        req.to,
        u32::try_from(req.min_count.unwrap_or(0)).unwrap_or(u32::MAX),
        req.min_amount_fen.unwrap_or(0),
    )
    .map_err(ApiError::bad)?;
    let g = st.graph.current()?;
    let slot = st.expand_cache.slot(g.generation(), req.cache_key(&g.snap));
    // `hit`: answered from the cache; `shared`: waited for an identical request computing it.
    let mut cache = if slot.initialized() { "hit" } else { "shared" };
    let done = slot
        .get_or_try_init(|| {
            cache = "miss";
            compute_expand(&st, g, req.clone(), filter)
        })
        .await?
        .clone();
    st.record(
        &caller.user,
        "expand",
        done.refs.clone(),
        format!(
            "hops {} limit {}: {} leads{}",
            req.hops.unwrap_or(3),
            req.limit.unwrap_or(200),
            done.leads,
            if cache == "miss" { "" } else { " (cached)" }
        ),
    )?;
    let timing = if cache == "miss" {
        done.timing.clone()
    } else {
        format!("cache;desc={cache}")
    };
    Ok(axum::response::IntoResponse::into_response((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_string(),
            ),
            (
                axum::http::HeaderName::from_static("x-fraudnet-cache"),
                cache.to_string(),
            ),
            (axum::http::HeaderName::from_static("server-timing"), timing),
        ],
        done.json.clone(),
    )))
}

/// Expands and ranks on a blocking thread, and serialises the answer there too. Times each
/// phase, from the wait for a query slot to the serialisation, for the `Server-Timing` header.
async fn compute_expand(
    st: &AppState,
    g: Arc<Loaded>,
    r2: ExpandReq,
    filter: LinkFilter,
) -> ApiResult<Arc<Expanded>> {
    let queued = std::time::Instant::now();
    st.blocking(move || {
        let t0 = std::time::Instant::now();
        let mut phases: Vec<(String, f64)> = vec![("queue".into(), (t0 - queued).as_secs_f64())];
        let mut lap = {
            let mut t = t0;
            move |name: &str, phases: &mut Vec<(String, f64)>| {
                let now = std::time::Instant::now();
                phases.push((name.to_string(), (now - t).as_secs_f64()));
                t = now;
            }
        };
        let snap = &g.snap;
        let seeds: Vec<Ix> = r2
            .seeds
            .iter()
            .map(|s| resolve(snap, s))
            .collect::<ApiResult<_>>()?;
        let mut cfg = ExpandConfig::standard(seeds);
        cfg.hops = r2.hops.unwrap_or(3);
        cfg.filter = filter;
        cfg.max_nodes = MAX_VISIT;
        let x = algo_expand(snap, &cfg).map_err(|e| ApiError::bad(e.to_string()))?;
        lap("expand", &mut phases);
        let ranking = rank(
            snap,
            &x,
            &RankConfig::standard(r2.limit.unwrap_or(200) as usize),
        );
        lap("rank", &mut phases);
        // Inside `rank` (its own timers), shown after it.
        phases.extend(
            ranking
                .phases
                .iter()
                .map(|&(name, secs)| (format!("rank_{name}"), secs)),
        );
        let leads: Vec<LeadView> = ranking
            .leads
            .iter()
            .map(|l| {
                let e = entity_view(snap, l.ix);
                LeadView {
                    entity_ref: e.entity_ref,
                    kind: e.kind,
                    label: e.label,
                    score: l.score,
                    hops: l.hops,
                    roles: e.roles,
                    components: l
                        .components
                        .iter()
                        .map(|&(k, v)| (k.to_string(), serde_json::json!(v)))
                        .collect(),
                    reasons: l.reasons.clone(),
                    paths: l
                        .paths
                        .iter()
                        .map(|p| p.iter().map(|s| step_view(snap, s)).collect())
                        .collect(),
                }
            })
            .collect();
        let shown: Vec<Ix> = x
            .seeds
            .iter()
            .copied()
            .chain(ranking.leads.iter().map(|l| l.ix))
            .collect();
        let expand_resp = ExpandResp {
            generation: g.generation(),
            seeds: x.seeds.iter().map(|&s| entity_view(snap, s)).collect(),
            links: links_among(snap, &shown, &x.filter),
            hubs: x
                .hubs
                .iter()
                .map(|h| HubView {
                    entity: entity_view(snap, h.ix),
                    hop: h.hop,
                    reason: h.reason.as_str(),
                })
                .collect(),
            truncated: x.stats.truncated || ranking.candidates > leads.len(),
            bound: if x.stats.truncated {
                Some(format!(
                    "visit cap: the expansion stopped after {MAX_VISIT} entities"
                ))
            } else if ranking.candidates > leads.len() {
                Some(format!(
                    "limit: {} of {} candidate leads shown",
                    leads.len(),
                    ranking.candidates
                ))
            } else {
                None
            },
            stats: ExpandStats {
                visited: x.len(),
                leads: leads.len(),
                hubs: x.hubs.len(),
                per_hop: x.stats.per_hop.clone(),
                hub_threshold: x.stats.hub_threshold,
                candidates: ranking.candidates,
                hop_limit_reached: x.stats.hop_limit_reached,
                millis: t0.elapsed().as_millis(),
            },
            leads,
        };
        let resp = expand_resp;
        let mut refs: Vec<String> = resp.seeds.iter().map(|s| s.entity_ref.clone()).collect();
        refs.extend(resp.leads.iter().take(50).map(|l| l.entity_ref.clone()));
        lap("render", &mut phases);
        let json = serde_json::to_vec(&resp)
            .map_err(|e| ApiError::internal(format!("serialising an expansion: {e}")))?;
        lap("json", &mut phases);
        Ok(Arc::new(Expanded {
            json: json.into(),
            refs,
            leads: resp.leads.len(),
            timing: server_timing(&phases),
        }))
    })
    .await
}

/// A `Server-Timing` header value: `name;dur=MILLISECONDS` per phase.
fn server_timing(phases: &[(String, f64)]) -> String {
    phases
        .iter()
        .map(|(name, secs)| format!("{name};dur={:.1}", secs * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A bounded cache of expansion answers, keyed by snapshot generation and normalised request, with
/// single flight: concurrent identical requests wait for the one computing it instead of each
/// computing it. Answers are kept serialised (a hit costs no ranking and no serialisation). A new
/// generation empties it; beyond its capacity the oldest entry goes. Every request, hit or not,
/// is still audited by its handler.
pub struct ExpandCache {
    capacity: usize,
    inner: std::sync::Mutex<CacheMap>,
}

#[derive(Default)]
struct CacheMap {
    generation: u64,
    map: FxHashMap<String, Arc<tokio::sync::OnceCell<Arc<Expanded>>>>,
    order: std::collections::VecDeque<String>,
}

/// One computed expansion: its JSON and what the audit entry names.
pub struct Expanded {
    pub json: axum::body::Bytes,
    pub refs: Vec<String>,
    pub leads: usize,
    /// Where the computation's time went, as a `Server-Timing` header value.
    pub timing: String,
}

impl ExpandCache {
    pub fn new(capacity: usize) -> ExpandCache {
        ExpandCache {
            capacity,
            inner: std::sync::Mutex::new(CacheMap::default()),
        }
    }

    /// The slot for `key` on `generation` (a fresh one when caching is off). The lock is held for
    /// the map operation only, never while an answer is computed.
    fn slot(&self, generation: u64, key: String) -> Arc<tokio::sync::OnceCell<Arc<Expanded>>> {
        if self.capacity == 0 {
            return Arc::default();
        }
        let Ok(mut c) = self.inner.lock() else {
            return Arc::default();
        };
        if c.generation != generation {
            c.map.clear();
            c.order.clear();
            c.generation = generation;
        }
        if let Some(s) = c.map.get(&key) {
            return s.clone();
        }
        while c.map.len() >= self.capacity {
            match c.order.pop_front() {
                Some(old) => {
                    c.map.remove(&old);
                }
                None => break,
            }
        }
        let s: Arc<tokio::sync::OnceCell<Arc<Expanded>>> = Arc::default();
        c.map.insert(key.clone(), s.clone());
        c.order.push_back(key);
        s
    }
}

impl ExpandReq {
    /// The request with its lists sorted and defaults filled in, each seed the canonical ref of
    /// the entity it names (so `13800138000` and `phone:+8613800138000` share an answer): equal
    /// keys, equal answers. A seed that names nothing exactly stays as typed (its request fails).
    fn cache_key(&self, snap: &Snapshot) -> String {
        let sorted = |v: &Option<Vec<String>>| {
            let mut v: Vec<String> = v
                .iter()
                .flatten()
                .map(|s| s.trim().to_lowercase())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut seeds: Vec<String> = self
            .seeds
            .iter()
            .map(|s| match resolve_exact(snap, s) {
                Some(ix) => snap.reference(ix),
                None => s.trim().to_string(),
            })
            .collect();
        seeds.sort_unstable();
        seeds.dedup();
        serde_json::json!([
            seeds,
            self.hops.unwrap_or(3),
            self.limit.unwrap_or(200),
            sorted(&self.kinds),
            sorted(&self.link_kinds),
            self.from,
            self.to,
            self.min_count.unwrap_or(0),
            self.min_amount_fen.unwrap_or(0),
        ])
        .to_string()
    }
}

#[derive(Serialize)]
pub struct PathResp {
    pub generation: u64,
    pub paths: Vec<Vec<StepView>>,
    /// Each path's evidence-weighted cost (lower: stronger), in the order of `paths`.
    pub costs: Vec<f64>,
}

pub async fn path(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PathReq>,
) -> ApiResult<ApiJson<PathResp>> {
    req.check()?;
    let g = st.graph.current()?;
    let r2 = req.clone();
    let resp = st
        .blocking(move || {
            let snap = &g.snap;
            let from = resolve(snap, &r2.from)?;
            let to = resolve(snap, &r2.to)?;
            let found = k_shortest_paths(
                snap,
                &PathConfig {
                    from,
                    to,
                    k: r2.k.unwrap_or(3) as usize,
                    max_len: r2.max_len.unwrap_or(6),
                    through_hubs: r2.include_hubs.unwrap_or(false),
                    filter: LinkFilter::all(),
                },
            )
            .map_err(|e| ApiError::bad(e.to_string()))?;
            Ok(PathResp {
                generation: g.generation(),
                paths: found
                    .iter()
                    .map(|p| p.steps.iter().map(|s| step_view(snap, s)).collect())
                    .collect(),
                costs: found.iter().map(|p| p.cost).collect(),
            })
        })
        .await?;
    st.record(
        &caller.user,
        "path",
        vec![req.from, req.to],
        format!("{} paths", resp.paths.len()),
    )?;
    Ok(ApiJson(resp))
}

#[derive(Serialize)]
pub struct FlowView {
    pub from: String,
    pub to: String,
    /// The traced amount on this edge.
    pub amount_fen: i64,
    /// What the transfers on this edge moved in all (the traced amount is a part of it).
    pub transferred_fen: i64,
    /// First and last transfer on this edge that carried traced money (Unix seconds).
    pub time: i64,
    pub last_time: i64,
    /// How many transfers carried traced money.
    pub records: u32,
    /// Transfers from the start account, fewest.
    pub depth: u32,
    /// `CNY` (amounts in fen) or `USDT` (amounts in cents).
    pub unit: &'static str,
}

/// Traced money that crossed from yuan to USDT at a holder's desk (an OTC dealer).
#[derive(Serialize)]
pub struct ConversionView {
    pub holder: EntityView,
    pub account: String,
    pub wallet: String,
    pub cny_fen: i64,
    pub usdt_cents: i64,
    /// The holder's records that imply the rate: yuan left at their accounts, USDT their wallets
    /// paid from money of unknown origin.
    pub desk_cny_fen: i64,
    pub desk_usdt_cents: i64,
}

#[derive(Serialize)]
pub struct SinkView {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub label: String,
    pub amount_fen: i64,
    /// `CNY` (amount in fen) or `USDT` (amount in cents).
    pub unit: &'static str,
    /// Why the money stops here: no_further_flow, collection, flagged_owner, hub, hop_limit,
    /// cut; `held`
    /// for money left at an account that passed the rest on.
    pub reason: &'static str,
    pub depth: u32,
    /// Persons who own or use the account.
    pub owners: Vec<EntityView>,
}

#[derive(Serialize)]
pub struct TraceResp {
    pub generation: u64,
    pub root: EntityView,
    pub forward: bool,
    /// The amount traced (in the root's unit): the sum of every sink and every held amount in
    /// that unit plus what was converted.
    pub start_amount_fen: i64,
    pub flows: Vec<FlowView>,
    pub conversions: Vec<ConversionView>,
    /// End accounts, largest first.
    pub sinks: Vec<SinkView>,
    /// Traced money left at accounts that passed the rest on (fees, balances), largest first.
    pub held: Vec<SinkView>,
    /// Totals of all sinks and all held amounts in the root's unit (also of those beyond the
    /// lists' bound).
    pub sinks_fen: i64,
    pub held_fen: i64,
    pub entities: Vec<EntityView>,
    pub truncated: bool,
    /// Which bound cut the answer, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// Set when some transactions could not be read and those links used their aggregates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Sinks returned at most.
pub const MAX_SINKS: usize = 100;

pub async fn trace(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TraceReq>,
) -> ApiResult<ApiJson<TraceResp>> {
    req.check()?;
    let forward = req.forward()?;
    let g = st.graph.current()?;
    let r2 = req.clone();
    let resp = st
        .blocking(move || {
            let snap = &g.snap;
            let root = resolve(snap, &r2.account)?;
            let cfg = TraceConfig {
                account: root,
                direction: if forward {
                    FlowDirection::Forward
                } else {
                    FlowDirection::Backward
                },
                hops: r2.hops.unwrap_or(6),
                window: r2.from.map(|f| (f, Timestamp::MAX)),
                horizon: Some(r2.window_s.unwrap_or(DEFAULT_HORIZON_S)),
                settle: Some(DEFAULT_SETTLE_S),
                min_amount: 1,
                max_edges: r2.limit.unwrap_or(1000) as usize,
            };
            let source = StoreTransfers::new(snap, &g.store, TRACE_RECORDS_PER_LINK);
            let t = algo_trace(snap, &source, &cfg).map_err(|e| ApiError::bad(e.to_string()))?;
            let warning = source.take_error().map(|e| {
                format!("some transactions could not be read ({e}); those links used totals")
            });
            let sink_view = |s: &Sink| SinkView {
                entity_ref: snap.reference(s.account),
                label: snap.node(s.account).label.unwrap_or_default().to_string(),
                amount_fen: s.amount,
                unit: s.unit.as_str(),
                reason: s.reason.as_str(),
                depth: s.depth,
                owners: s.owners.iter().map(|&p| entity_view(snap, p)).collect(),
            };
            let mut seen = FxHashSet::default();
            let mut entities = Vec::new();
            for e in &t.edges {
                for v in [e.from, e.to] {
                    if seen.insert(v) {
                        entities.push(entity_view(snap, v));
                    }
                }
            }
            // the totals in the unit the trace started in
            let (ends, held) = t
                .totals()
                .into_iter()
                .find(|u| u.unit == t.unit)
                .map_or((0, 0), |u| (u.ends, u.held));
            Ok(TraceResp {
                generation: g.generation(),
                root: entity_view(snap, root),
                forward,
                start_amount_fen: t.start_amount,
                flows: t
                    .edges
                    .iter()
                    .map(|e| FlowView {
                        from: snap.reference(e.from),
                        to: snap.reference(e.to),
                        amount_fen: e.amount,
                        transferred_fen: e.transferred,
                        time: e.first,
                        last_time: e.last,
                        records: e.records,
                        depth: e.depth,
                        unit: e.unit.as_str(),
                    })
                    .collect(),
                conversions: t
                    .conversions
                    .iter()
                    .map(|c| ConversionView {
                        holder: entity_view(snap, c.holder),
                        account: snap.reference(c.account),
                        wallet: snap.reference(c.wallet),
                        cny_fen: c.cny,
                        usdt_cents: c.usdt,
                        desk_cny_fen: c.rate_cny,
                        desk_usdt_cents: c.rate_usdt,
                    })
                    .collect(),
                sinks: t.sinks.iter().take(MAX_SINKS).map(sink_view).collect(),
                held: t.held.iter().take(MAX_SINKS).map(sink_view).collect(),
                sinks_fen: ends,
                held_fen: held,
                entities,
                truncated: t.truncated || t.sinks.len().max(t.held.len()) > MAX_SINKS,
                bound: if t.truncated {
                    Some(format!(
                        "limit: the trace stopped at {} flow rows (at most {} per request)",
                        cfg.max_edges,
                        limits::MAX_TRACE_ROWS
                    ))
                } else if t.sinks.len().max(t.held.len()) > MAX_SINKS {
                    Some(format!(
                        "sinks: the {MAX_SINKS} largest of {} sinks and {} held shown",
                        t.sinks.len(),
                        t.held.len()
                    ))
                } else {
                    None
                },
                warning,
            })
        })
        .await?;
    st.record(
        &caller.user,
        "trace",
        vec![resp.root.entity_ref.clone()],
        format!("{} flows", resp.flows.len()),
    )?;
    Ok(ApiJson(resp))
}
