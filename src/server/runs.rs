//! Community runs: their JSON shape (shared with `fraudnet communities --json`) and the endpoints
//! that list runs, show one run's communities with their key people, and give the community of
//! entities. Runs are read from the store the current graph was built from; every answer is
//! audited.

use super::api::Caller;
use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::graph::resolve;
use super::AppState;
use crate::model::run::{CommunitySummary, LinkedGroup, Membership, RunInfo};
use crate::model::{EntityId, Roles};
use crate::store::{Store, StoreError};
use axum::extract::{Path, State};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::{json, Value};

/// The JSON of a run's parameters and figures (no communities).
pub fn info_json(r: &RunInfo) -> Value {
    json!({
        "run": r.id,
        "algo": r.params.algo.as_str(),
        "graph": r.params.graph.as_str(),
        "resolution": r.params.resolution,
        "seed": r.params.seed,
        "max_holders": r.params.max_holders,
        "weighting": r.params.weighting.as_str(),
        "group_params": r.params.groups.map(|g| json!({
            "part_density": g.part_density,
            "link_density": g.link_density,
        })),
        "time": r.time,
        "seconds": r.seconds,
        "modularity": r.modularity,
        "generation": r.generation,
        "entities": r.entities,
        "links": r.links,
        "nodes": r.nodes,
        "edges": r.edges,
        "community_count": r.communities,
        "cluster": r.cluster.map(|c| json!({"processes": c.processes, "workers": c.workers})),
    })
}

/// An entity's reference, label and roles.
pub type Described = (String, String, Roles);

/// Reference, label and roles of entities, from the store (`None`: unknown id).
pub fn describe(store: &Store, ids: &[EntityId]) -> Result<Vec<Option<Described>>, StoreError> {
    Ok(store
        .entities_many(ids)?
        .into_iter()
        .map(|e| {
            e.map(|e| {
                (
                    format!("{}:{}", e.kind, e.key),
                    e.label.unwrap_or_default(),
                    e.roles,
                )
            })
        })
        .collect())
}

fn role_counts(c: &CommunitySummary) -> Value {
    let mut m = serde_json::Map::new();
    for &(bit, n) in &c.roles {
        if let Some(name) = Roles::NAMES.get(bit as usize) {
            m.insert((*name).to_string(), json!(n));
        }
    }
    Value::Object(m)
}

/// `{"run", "algo", "modularity", …, "communities": [{"id", "size", "members", "key_people", "roles",
/// "money_in_fen", "money_out_fen", "money_inside_fen", "links"}]}`. `communities` are given in report
/// order; `members` are listed only when a membership is given.
pub fn run_json(
    store: &Store,
    info: &RunInfo,
    communities: &[CommunitySummary],
    membership: Option<&Membership>,
) -> Result<Value, StoreError> {
    let key_ids: Vec<EntityId> = communities
        .iter()
        .flat_map(|c| c.key_people.iter().map(|k| k.entity))
        .collect();
    let keys = describe(store, &key_ids)?;
    let mut members: FxHashMap<u32, Vec<EntityId>> = FxHashMap::default();
    if let Some(m) = membership {
        let wanted: rustc_hash::FxHashSet<u32> = communities.iter().map(|c| c.id).collect();
        for e in m
            .entries
            .iter()
            .filter(|e| e.member && wanted.contains(&e.community))
        {
            members.entry(e.community).or_default().push(e.entity);
        }
    }
    let mut k = 0;
    let mut list = Vec::with_capacity(communities.len());
    for c in communities {
        let key_people: Vec<Value> = c
            .key_people
            .iter()
            .map(|p| {
                let d = keys[k].clone();
                k += 1;
                let (r, label, roles) = d
                    .unwrap_or_else(|| (format!("entity:{}", p.entity.0), String::new(), Roles(0)));
                json!({
                    "ref": r,
                    "label": label,
                    "why": p.role.as_str(),
                    "roles": roles.names().collect::<Vec<_>>(),
                    "degree": p.degree,
                    "pagerank": p.pagerank,
                    "betweenness": p.betweenness,
                    "money_in_fen": p.money_in,
                    "money_out_fen": p.money_out,
                })
            })
            .collect();
        let mut v = json!({
            "id": c.id,
            "size": c.size,
            "roles": role_counts(c),
            "key_people": key_people,
            "money_in_fen": c.money_in,
            "money_out_fen": c.money_out,
            "money_inside_fen": c.money_inside,
            "links": c.links.iter().map(|l| json!({
                "community": l.community,
                "weight": l.weight,
                "money_fen": l.money,
            })).collect::<Vec<_>>(),
        });
        if membership.is_some() {
            let ids = members.remove(&c.id).unwrap_or_default();
            let refs: Vec<String> = describe(store, &ids)?
                .into_iter()
                .zip(&ids)
                .map(|(d, id)| d.map_or_else(|| format!("entity:{}", id.0), |d| d.0))
                .collect();
            v["members"] = json!(refs);
        }
        list.push(v);
    }
    let mut out = info_json(info);
    out["communities"] = Value::Array(list);
    Ok(out)
}

/// `[{"id", "community", "size", "parts": [sizes], "merges": [{"sizes", "weight", "ratio"}],
/// "members"}]`: a run's linked groups; `members` (refs) only when asked for.
pub fn groups_json(
    store: &Store,
    groups: &[LinkedGroup],
    members: bool,
) -> Result<Value, StoreError> {
    let mut list = Vec::with_capacity(groups.len());
    for g in groups {
        let mut v = json!({
            "id": g.id,
            "community": g.community,
            "size": g.members.len(),
            "parts": g.parts,
            "merges": g.merges.iter().map(|m| json!({
                "sizes": [m.sizes.0, m.sizes.1],
                "weight": m.weight,
                "ratio": m.ratio,
            })).collect::<Vec<_>>(),
        });
        if members {
            let refs: Vec<String> = describe(store, &g.members)?
                .into_iter()
                .zip(&g.members)
                .map(|(d, id)| d.map_or_else(|| format!("entity:{}", id.0), |d| d.0))
                .collect();
            v["members"] = json!(refs);
        }
        list.push(v);
    }
    Ok(Value::Array(list))
}

fn store_err(e: StoreError) -> ApiError {
    ApiError::internal(e)
}

/// Which run a request names: a number or `latest` (also when absent).
fn run_id(store: &Store, text: Option<&str>) -> ApiResult<RunInfo> {
    let info = match text.map(str::trim) {
        None | Some("latest") | Some("") => store.latest_run().map_err(store_err)?,
        Some(t) => {
            let id: u32 = t
                .parse()
                .map_err(|_| ApiError::bad(format!("a run is a number or `latest` (got `{t}`)")))?;
            store.run_info(id).map_err(store_err)?
        }
    };
    info.ok_or_else(|| {
        ApiError::NotFound(match text {
            Some(t) if t != "latest" => format!("no community run {t}"),
            _ => "no community run yet: run `fraudnet communities`".to_string(),
        })
    })
}

/// `GET /api/communities/runs`: every run, newest first.
pub async fn runs(State(st): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    let g = st.graph.current()?;
    let list = st
        .blocking(move || {
            let mut runs = g.store.runs().map_err(store_err)?;
            runs.reverse();
            Ok(runs.iter().map(info_json).collect::<Vec<_>>())
        })
        .await?;
    st.record(
        &caller.user,
        "community_runs",
        vec![],
        format!("{} runs", list.len()),
    )?;
    Ok(ApiJson(json!({ "runs": list })))
}

/// Bounds of `GET /api/communities/runs/{id}`.
pub const MAX_COMMUNITIES: u32 = 5_000;
pub const MAX_MEMBERS: u32 = 5_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// Communities listed (largest first), default 100.
    pub limit: Option<u32>,
    /// Only communities of at least this many members, default 2.
    pub min_size: Option<u32>,
    /// List the members of communities of at most [`MAX_MEMBERS`] members.
    pub members: Option<bool>,
}

/// `GET /api/communities/runs/{id}` (`id` a number or `latest`): the run's largest communities
/// with their key people, money and links.
pub async fn run(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<ApiJson<Value>> {
    if id.chars().count() > 20 {
        return Err(ApiError::bad("a run is a number or `latest`"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_COMMUNITIES).contains(&limit) {
        return Err(ApiError::bad(format!(
            "limit must be between 1 and {MAX_COMMUNITIES} (got {limit})"
        )));
    }
    let min_size = q.min_size.unwrap_or(2);
    let with_members = q.members.unwrap_or(false);
    let g = st.graph.current()?;
    let v = st
        .blocking(move || {
            let info = run_id(&g.store, Some(&id))?;
            let mut cs = g.store.run_communities(info.id).map_err(store_err)?;
            let total = cs.len();
            cs.retain(|c| c.size >= min_size);
            cs.truncate(limit as usize);
            let membership = if with_members {
                cs.retain(|c| c.size <= MAX_MEMBERS);
                Some(g.store.run_membership(info.id).map_err(store_err)?)
            } else {
                None
            };
            let mut v = run_json(&g.store, &info, &cs, membership.as_ref()).map_err(store_err)?;
            v["truncated"] = json!(cs.len() < total);
            // the linked groups inside the listed communities
            let shown: rustc_hash::FxHashSet<u32> = cs.iter().map(|c| c.id).collect();
            let mut gs = g.store.run_groups(info.id).map_err(store_err)?;
            gs.retain(|x| shown.contains(&x.community));
            gs.retain(|x| !with_members || x.members.len() <= MAX_MEMBERS as usize);
            v["groups"] = groups_json(&g.store, &gs, with_members).map_err(store_err)?;
            Ok(v)
        })
        .await?;
    let refs: Vec<String> = v["communities"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["key_people"].as_array().into_iter().flatten())
        .filter_map(|k| k["ref"].as_str().map(String::from))
        .take(50)
        .collect();
    st.record(
        &caller.user,
        "community_run",
        refs,
        format!("run {}", v["run"]),
    )?;
    Ok(ApiJson(v))
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipReq {
    /// A run number or `latest` (default).
    pub run: Option<String>,
    pub refs: Vec<String>,
}

/// Refs one membership request may ask about.
pub const MAX_MEMBERSHIP_REFS: usize = 10_000;

/// `POST /api/communities/membership`: the community of each ref in a run (`null` when the entity
/// has none); an unknown ref is a 404 naming it.
pub async fn membership(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MembershipReq>,
) -> ApiResult<ApiJson<Value>> {
    if req.refs.len() > MAX_MEMBERSHIP_REFS {
        return Err(ApiError::bad(format!(
            "at most {MAX_MEMBERSHIP_REFS} refs (got {})",
            req.refs.len()
        )));
    }
    if let Some(r) = req
        .refs
        .iter()
        .find(|r| r.trim().is_empty() || r.len() > 200)
    {
        return Err(ApiError::bad(format!(
            "a reference must have 1 to 200 characters (got `{}`)",
            r.chars().take(40).collect::<String>()
        )));
    }
    let g = st.graph.current()?;
    let r2 = req.clone();
    let v = st
        .blocking(move || {
            let info = run_id(&g.store, r2.run.as_deref())?;
            let m = g.store.run_membership(info.id).map_err(store_err)?;
            let mut out = serde_json::Map::new();
            for r in &r2.refs {
                let ix = resolve(&g.snap, r)?;
                let id = g.snap.node(ix).id;
                out.insert(
                    g.snap.reference(ix),
                    m.get(id).map_or(Value::Null, |e| json!(e.community)),
                );
            }
            Ok(json!({ "run": info.id, "generation": g.generation(), "communities": out }))
        })
        .await?;
    let refs: Vec<String> = v["communities"]
        .as_object()
        .map(|o| o.keys().take(50).cloned().collect())
        .unwrap_or_default();
    st.record(
        &caller.user,
        "community_membership",
        refs,
        format!("run {}, {} refs", v["run"], req.refs.len()),
    )?;
    Ok(ApiJson(v))
}
