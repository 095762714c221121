//! Graph endpoints: search, entity, evidence, expand, path, trace, community runs.
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
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// What the server queries: one immutable snapshot of the store and what goes with it.
pub struct Loaded {
    pub generation: u64,
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
                    "no graph is loaded yet: import case data, then start the server again"
                        .to_string(),
                )
            })
    }

    pub fn generation(&self) -> Option<u64> {
        self.current.read().ok()?.as_ref().map(|g| g.generation)
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
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityQuery {
    #[serde(default)]
    pub links: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpandReq {
    /// Canonical refs or identifiers as typed (phone in any format, ID number, card number).
    pub seeds: Vec<String>,
    #[serde(default)]
    pub hops: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    #[serde(default)]
    pub link_kinds: Option<Vec<String>>,
    /// Unix seconds: evidence at or after.
    #[serde(default)]
    pub from: Option<i64>,
    /// Unix seconds: evidence at or before.
    #[serde(default)]
    pub to: Option<i64>,
    #[serde(default)]
    pub min_count: Option<u64>,
    #[serde(default)]
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
    #[serde(default)]
    pub max_len: Option<u32>,
    #[serde(default)]
    pub k: Option<u32>,
    #[serde(default)]
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
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub hops: Option<u32>,
    /// Seconds each hop may lag behind the one before.
    #[serde(default)]
    pub window_s: Option<i64>,
    /// Unix seconds: start from transfers at or after.
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
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

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipReq {
    #[serde(default)]
    pub run: Option<String>,
    pub refs: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct StatusResp {
    pub generation: Option<u64>,
    pub loaded: bool,
}

pub async fn status(State(st): State<AppState>, _caller: Caller) -> ApiJson<StatusResp> {
    let generation = st.graph.generation();
    ApiJson(StatusResp {
        generation,
        loaded: generation.is_some(),
    })
}

pub async fn search(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    check_ref_text(&q.q)?;
    check_range("limit", q.limit.unwrap_or(50), 1, limits::MAX_SEARCH)?;
    if let Some(k) = &q.kind {
        check_kinds(std::slice::from_ref(k))?;
    }
    let _g = st.graph.current()?;
    st.record(&caller.user, "search", vec![], q.q)?;
    Err(ApiError::Unavailable("search is not wired yet".to_string()))
}

pub async fn entity(
    State(st): State<AppState>,
    caller: Caller,
    Path(r): Path<String>,
    ApiQuery(q): ApiQuery<EntityQuery>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    check_ref_text(&r)?;
    check_range("links", q.links.unwrap_or(200), 1, limits::MAX_LINKS)?;
    let _g = st.graph.current()?;
    st.record(&caller.user, "entity", vec![r], "")?;
    Err(ApiError::Unavailable("entity is not wired yet".to_string()))
}

pub async fn evidence(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    check_ref_text(&q.from)?;
    check_ref_text(&q.to)?;
    check_range("limit", q.limit.unwrap_or(100), 1, limits::MAX_EVIDENCE)?;
    let _g = st.graph.current()?;
    st.record(
        &caller.user,
        "evidence",
        vec![q.from, q.to],
        q.kind.unwrap_or_default(),
    )?;
    Err(ApiError::Unavailable(
        "evidence is not wired yet".to_string(),
    ))
}

pub async fn expand(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ExpandReq>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    req.check()?;
    let _g = st.graph.current()?;
    st.record(&caller.user, "expand", req.seeds.clone(), "")?;
    Err(ApiError::Unavailable("expand is not wired yet".to_string()))
}

pub async fn path(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PathReq>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    req.check()?;
    let _g = st.graph.current()?;
    st.record(&caller.user, "path", vec![req.from, req.to], "")?;
    Err(ApiError::Unavailable("path is not wired yet".to_string()))
}

pub async fn trace(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TraceReq>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    req.check()?;
    let _g = st.graph.current()?;
    st.record(&caller.user, "trace", vec![req.account], "")?;
    Err(ApiError::Unavailable("trace is not wired yet".to_string()))
}

pub async fn runs(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<ApiJson<serde_json::Value>> {
    let _g = st.graph.current()?;
    st.record(&caller.user, "community_runs", vec![], "")?;
    Err(ApiError::Unavailable(
        "community runs are not wired yet".to_string(),
    ))
}

pub async fn run(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    check_ref_text(&id)?;
    let _g = st.graph.current()?;
    st.record(&caller.user, "community_run", vec![format!("run:{id}")], "")?;
    Err(ApiError::Unavailable(
        "community runs are not wired yet".to_string(),
    ))
}

pub async fn membership(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MembershipReq>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    if req.refs.len() > limits::MAX_LEADS as usize * 5 {
        return Err(ApiError::bad(format!(
            "at most {} refs",
            limits::MAX_LEADS * 5
        )));
    }
    let _g = st.graph.current()?;
    st.record(
        &caller.user,
        "community_membership",
        vec![],
        req.run.unwrap_or_default(),
    )?;
    Err(ApiError::Unavailable(
        "community runs are not wired yet".to_string(),
    ))
}
