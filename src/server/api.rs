//! Handlers for sessions, accounts, case maps and the audit log, and the `Caller` extractor
//! that every protected handler takes.

use super::audit::{AuditEntry, AuditFilter, VerifyReport};
use super::auth::{self, Role, SESSION_COOKIE};
use super::casemap::{Actor, CaseMapContent, CaseMapError, CaseMapMeta, MapStatus};
use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::export::Format;
use super::limits;
use super::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The logged-in user making a request. Extracting it is what makes an endpoint protected:
/// without a live session the request is refused with 401 before the handler runs.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub role: Role,
    token: String,
}

impl Caller {
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            user: &self.user,
            role: self.role,
        }
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> ApiResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "{what} needs the role {}",
                names.join(" or ")
            )))
        }
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let s = state
            .sessions
            .lookup(&token)
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller {
            user: s.user,
            role: s.role,
            token,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and accounts
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginReq {
    pub user: String,
    pub password: String,
}

#[derive(Serialize)]
pub struct MeResp {
    pub user: String,
    pub role: Role,
}

fn cookie(token: &str, max_age: u64) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    ))
    .map_err(ApiError::internal)
}

pub async fn login(
    State(st): State<AppState>,
    addr: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(req): ApiJson<LoginReq>,
) -> ApiResult<Response> {
    let ip = addr.map_or_else(
        || "local".to_string(),
        |Extension(ConnectInfo(a))| a.ip().to_string(),
    );
    if req.user.is_empty() || req.user.chars().count() > 64 || req.password.len() > 1024 {
        return Err(ApiError::BadCredentials);
    }
    if let Err(wait) = st.sessions.check_rate(&req.user, &ip) {
        st.record(
            &req.user,
            "login_refused",
            vec![],
            format!("rate limited, from {ip}"),
        )?;
        return Err(ApiError::RateLimited(wait));
    }
    let docs = st.docs.clone();
    let dummy = st.dummy_hash.clone();
    let (name, password) = (req.user.clone(), req.password);
    let user = tokio::task::spawn_blocking(move || {
        auth::authenticate(docs.as_ref(), &dummy, &name, &password)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let Some(user) = user else {
        st.sessions.record_failure(&req.user, &ip);
        st.record(&req.user, "login_failed", vec![], format!("from {ip}"))?;
        return Err(ApiError::BadCredentials);
    };
    st.sessions.clear_failures(&req.user, &ip);
    let token = st.sessions.open(&user.name, user.role);
    st.record(&user.name, "login", vec![], format!("from {ip}"))?;
    let mut resp = ApiJson(MeResp {
        user: user.name,
        role: user.role,
    })
    .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&token, st.sessions.limits().absolute.as_secs())?,
    );
    Ok(resp)
}

pub async fn logout(State(st): State<AppState>, caller: Caller) -> ApiResult<Response> {
    st.sessions.close(&caller.token);
    st.record(&caller.user, "logout", vec![], "")?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0)?);
    Ok(resp)
}

pub async fn me(caller: Caller) -> ApiJson<MeResp> {
    ApiJson(MeResp {
        user: caller.user,
        role: caller.role,
    })
}

#[derive(Serialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub created: i64,
}

pub async fn list_users(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<ApiJson<Vec<UserView>>> {
    caller.require(&[Role::Admin], "listing accounts")?;
    let users = auth::list_users(st.docs.as_ref()).map_err(ApiError::internal)?;
    Ok(ApiJson(
        users
            .into_iter()
            .map(|u| UserView {
                name: u.name,
                role: u.role,
                created: u.created,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserReq {
    pub name: String,
    pub role: String,
    pub password: Option<String>,
}

#[derive(Serialize)]
pub struct CreatedUser {
    pub name: String,
    pub role: Role,
    /// Present only when the server generated the password: shown once, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

pub async fn create_user(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateUserReq>,
) -> ApiResult<(StatusCode, ApiJson<CreatedUser>)> {
    caller.require(&[Role::Admin], "creating accounts")?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| ApiError::bad("role must be investigator, analyst, supervisor or admin"))?;
    let generated = req.password.is_none().then(auth::generate_password);
    let password = req
        .password
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let docs = st.docs.clone();
    let name = req.name.clone();
    let rec =
        tokio::task::spawn_blocking(move || auth::add_user(docs.as_ref(), &name, role, &password))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| match e {
                auth::AuthError::BadName | auth::AuthError::WeakPassword => {
                    ApiError::bad(e.to_string())
                }
                auth::AuthError::Exists(_) => ApiError::Conflict(e.to_string()),
                other => ApiError::internal(other),
            })?;
    st.record(
        &caller.user,
        "user_add",
        vec![format!("user:{}", rec.name)],
        format!("role {role}"),
    )?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedUser {
            name: rec.name,
            role: rec.role,
            generated_password: generated,
        }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Case maps
// ---------------------------------------------------------------------------------------------

impl From<CaseMapError> for ApiError {
    fn from(e: CaseMapError) -> ApiError {
        match e {
            CaseMapError::Invalid(m) => ApiError::BadRequest(m),
            CaseMapError::NotFound(id) => ApiError::NotFound(format!("no case map {id}")),
            CaseMapError::Forbidden(m) => ApiError::Forbidden(m),
            CaseMapError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::internal(other),
        }
    }
}

fn map_ref(id: &str) -> String {
    format!("casemap:{id}")
}

fn check_map_id(id: &str) -> ApiResult<()> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::NotFound(format!("no case map {id}")));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMapsQuery {
    pub status: Option<String>,
}

pub async fn list_maps(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListMapsQuery>,
) -> ApiResult<ApiJson<Vec<CaseMapMeta>>> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(MapStatus::parse(s).ok_or_else(|| {
            ApiError::bad("status must be draft, submitted, approved or returned")
        })?),
    };
    let st2 = st.clone();
    let actor_user = caller.user.clone();
    let role = caller.role;
    let maps = st
        .blocking(move || {
            let actor = Actor {
                user: &actor_user,
                role,
            };
            Ok(st2.maps.list(actor, status)?)
        })
        .await?;
    st.record(
        &caller.user,
        "casemap_list",
        vec![],
        q.status.unwrap_or_default(),
    )?;
    Ok(ApiJson(maps))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMapReq {
    pub name: String,
    #[serde(flatten)]
    pub content: CaseMapContent,
}

fn entity_refs(c: &CaseMapContent, id: &str) -> Vec<String> {
    let mut refs = vec![map_ref(id)];
    refs.extend(c.entities.iter().take(200).map(|e| e.entity_ref.clone()));
    refs
}

pub async fn create_map(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateMapReq>,
) -> ApiResult<(StatusCode, ApiJson<CaseMapMeta>)> {
    let m = st.maps.create(caller.actor(), &req.name, &req.content)?;
    st.record(
        &caller.user,
        "casemap_create",
        entity_refs(&req.content, &m.id),
        format!("version 1: {}", m.name),
    )?;
    Ok((StatusCode::CREATED, ApiJson(m)))
}

#[derive(Serialize)]
pub struct MapView {
    pub meta: CaseMapMeta,
    pub version: u32,
    pub content: CaseMapContent,
}

pub async fn get_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<MapView>> {
    open_map(&st, &caller, &id, None)
}

/// One version of a map (`None`: the latest), recorded as opened.
fn open_map(
    st: &AppState,
    caller: &Caller,
    id: &str,
    version: Option<u32>,
) -> ApiResult<ApiJson<MapView>> {
    check_map_id(id)?;
    let (meta, version, content) = st.maps.content(id, version, caller.actor())?;
    st.record(
        &caller.user,
        "casemap_open",
        vec![map_ref(id)],
        format!("version {version}"),
    )?;
    Ok(ApiJson(MapView {
        meta,
        version,
        content,
    }))
}

pub async fn get_map_version(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, v)): Path<(String, String)>,
) -> ApiResult<ApiJson<MapView>> {
    let v: u32 = v
        .parse()
        .map_err(|_| ApiError::bad("the version must be a positive number"))?;
    open_map(&st, &caller, &id, Some(v))
}

#[derive(Serialize)]
pub struct VersionInfo {
    pub version: u32,
    pub entities: usize,
    pub links: usize,
}

pub async fn map_versions(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Vec<VersionInfo>>> {
    check_map_id(&id)?;
    let meta = st.maps.get(&id, caller.actor())?;
    let mut out = Vec::new();
    for v in (1..=meta.version).rev() {
        let (_, _, c) = st.maps.content(&id, Some(v), caller.actor())?;
        out.push(VersionInfo {
            version: v,
            entities: c.entities.len(),
            links: c.links.len(),
        });
    }
    st.record(&caller.user, "casemap_versions", vec![map_ref(&id)], "")?;
    Ok(ApiJson(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveMapReq {
    pub name: Option<String>,
    /// The version the client started from; a save on top of a newer version is refused (409).
    pub base_version: Option<u32>,
    #[serde(flatten)]
    pub content: CaseMapContent,
}

pub async fn save_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SaveMapReq>,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    check_map_id(&id)?;
    let m = st.maps.save(
        &id,
        caller.actor(),
        req.name.as_deref(),
        &req.content,
        req.base_version,
    )?;
    map_changed(
        &st,
        &caller,
        "casemap_save",
        entity_refs(&req.content, &id),
        m,
    )
}

/// Records a change of a map that made its version `m.version`, and answers with the map.
fn map_changed(
    st: &AppState,
    caller: &Caller,
    action: &str,
    refs: Vec<String>,
    m: CaseMapMeta,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    st.record(&caller.user, action, refs, format!("version {}", m.version))?;
    Ok(ApiJson(m))
}

/// An optional JSON body: empty means `None`.
fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<Option<T>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::bad(format!("malformed JSON: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommentReq {
    pub text: Option<String>,
}

pub async fn submit_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    check_map_id(&id)?;
    let m = st.maps.submit(&id, caller.actor())?;
    map_changed(&st, &caller, "casemap_submit", vec![map_ref(&id)], m)
}

pub async fn comment_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CommentReq>,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    check_map_id(&id)?;
    let text = req.text.unwrap_or_default();
    let m = st.maps.comment(&id, caller.actor(), &text)?;
    map_changed(&st, &caller, "casemap_comment", vec![map_ref(&id)], m)
}

pub async fn approve_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    review_map(&st, &caller, &id, &body, true)
}

pub async fn return_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    review_map(&st, &caller, &id, &body, false)
}

/// A supervisor's decision on a submitted map, with an optional comment, recorded in the audit log.
fn review_map(
    st: &AppState,
    caller: &Caller,
    id: &str,
    body: &[u8],
    approve: bool,
) -> ApiResult<ApiJson<CaseMapMeta>> {
    check_map_id(id)?;
    let text = optional_json::<CommentReq>(body)?.and_then(|b| b.text);
    let (m, action) = if approve {
        (
            st.maps.approve(id, caller.actor(), text.as_deref())?,
            "casemap_approve",
        )
    } else {
        (
            st.maps.send_back(id, caller.actor(), text.as_deref())?,
            "casemap_return",
        )
    };
    map_changed(st, caller, action, vec![map_ref(id)], m)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub format: String,
    pub version: Option<u32>,
}

pub async fn export_map(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    check_map_id(&id)?;
    let format = Format::parse(&q.format).ok_or_else(|| {
        ApiError::bad("format must be graphml, gexf, i2csv or ftm (PNG is made by the viewer)")
    })?;
    let (meta, version, content) = st.maps.content(&id, q.version, caller.actor())?;
    let body = st
        .blocking(move || Ok(super::export::render(format, &meta, &content)))
        .await?;
    st.record(
        &caller.user,
        "casemap_export",
        vec![map_ref(&id)],
        format!("{} version {version}", q.format),
    )?;
    let disposition = format!(
        "attachment; filename=\"{id}-v{version}.{}\"",
        format.extension()
    );
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub action: Option<String>,
    #[serde(default, rename = "ref")]
    pub entity_ref: Option<String>,
    pub before: Option<u64>,
    pub limit: Option<u32>,
}

pub async fn audit_list(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<ApiJson<Vec<AuditEntry>>> {
    caller.require(&[Role::Admin, Role::Supervisor], "reading the audit log")?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > limits::MAX_AUDIT {
        return Err(ApiError::bad(format!(
            "limit must be between 1 and {}",
            limits::MAX_AUDIT
        )));
    }
    let filter = AuditFilter {
        user: q.user.filter(|s| !s.is_empty()),
        action: q.action.filter(|s| !s.is_empty()),
        entity_ref: q.entity_ref.filter(|s| !s.is_empty()),
        before: q.before,
    };
    let st2 = st.clone();
    let entries = st
        .blocking(move || {
            st2.audit
                .query(&filter, limit as usize)
                .map_err(ApiError::internal)
        })
        .await?;
    st.record(&caller.user, "audit_read", vec![], "")?;
    Ok(ApiJson(entries))
}

pub async fn audit_verify(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<ApiJson<VerifyReport>> {
    caller.require(&[Role::Admin, Role::Supervisor], "verifying the audit log")?;
    let docs = st.docs.clone();
    let report = st
        .blocking(move || super::audit::verify(docs.as_ref()).map_err(ApiError::internal))
        .await?;
    st.record(
        &caller.user,
        "audit_verify",
        vec![],
        if report.ok { "ok" } else { "BROKEN" },
    )?;
    Ok(ApiJson(report))
}

// ---------------------------------------------------------------------------------------------
// Fallbacks
// ---------------------------------------------------------------------------------------------

/// Unknown `/api/*` path: 401 without a session (nothing is revealed), 404 with one.
pub async fn api_not_found(_caller: Caller) -> ApiError {
    ApiError::NotFound("no such API endpoint; see /api/openapi.json".to_string())
}

pub async fn method_not_allowed(_caller: Caller) -> ApiError {
    ApiError::MethodNotAllowed
}
