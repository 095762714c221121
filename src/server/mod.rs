//! The HTTP server: a JSON API over the graph and the case maps, plus the static viewer (`web/`).
//!
//! - [`router`] builds the whole axum app from an [`AppState`]; tests drive it in-process with
//!   `tower::ServiceExt::oneshot`.
//! - Every `/api/*` endpoint except `POST /api/login` needs a session cookie (401 otherwise).
//! - Errors are `{"error":{"code","message"}}` ([`error::ApiError`]); bad input is a 4xx, and
//!   5xx bodies never carry internals.
//! - Graph queries run on blocking threads (bounded by a semaphore and a time limit), never on
//!   the async workers; the graph is an immutable snapshot behind an `Arc` that an import swaps
//!   atomically, and every graph answer names the `generation` it was computed on.
//! - No CORS headers are sent (cross-origin reads are refused by browsers), and the session
//!   cookie is `SameSite=Strict`, so other sites cannot drive the API with a user's session.
//!
//! **API Boundary:** this module and `cli` are the only ones that know HTTP and JSON.

pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod casemap;
pub mod docs;
pub mod error;
pub mod export;
pub mod graph;
pub mod openapi;
pub mod runs;
pub mod util;

#[cfg(test)]
mod tests;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use docs::DocStore;
use error::{ApiError, ApiResult};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Bounds of the API, documented in the OpenAPI description.
pub mod limits {
    /// Largest accepted request body.
    pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
    /// Expansion depth.
    pub const MAX_HOPS: u32 = 6;
    /// Leads returned by one expansion.
    pub const MAX_LEADS: u32 = 2_000;
    /// Seeds of one expansion.
    pub const MAX_SEEDS: usize = 50;
    /// Search results.
    pub const MAX_SEARCH: u32 = 200;
    /// Path length and number of alternative paths.
    pub const MAX_PATH_LEN: u32 = 10;
    pub const MAX_PATHS: u32 = 10;
    /// Money-flow trace depth and flow rows.
    pub const MAX_TRACE_HOPS: u32 = 12;
    pub const MAX_TRACE_ROWS: u32 = 5_000;
    /// Evidence records of one link, links of one entity.
    pub const MAX_EVIDENCE: u32 = 1_000;
    pub const MAX_LINKS: u32 = 2_000;
    /// Audit entries per page.
    pub const MAX_AUDIT: u32 = 1_000;
}

/// How a server behaves. No `Default`: callers say what they want ([`ServerConfig::standard`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub login_max_failures: usize,
    pub login_window: Duration,
    /// Time bound of one graph query.
    pub query_timeout: Duration,
    /// Graph queries running at once; more wait their turn.
    pub max_jobs: usize,
    /// Expansion answers kept (keyed by snapshot generation and normalised request); 0: none.
    pub expand_cache: usize,
    /// Serve the viewer from this directory instead of the copy built into the binary.
    pub web_dir: Option<PathBuf>,
}

impl ServerConfig {
    /// The settings `fraudnet serve` uses.
    pub fn standard() -> ServerConfig {
        ServerConfig {
            session_idle: Duration::from_secs(2 * 3600),
            session_absolute: Duration::from_secs(12 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            query_timeout: Duration::from_secs(30),
            max_jobs: std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            expand_cache: 256,
            web_dir: None,
        }
    }
}

/// A failure to start the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything handlers share.
pub struct Inner {
    pub docs: Arc<dyn DocStore>,
    /// The graph store, when the server runs on one (reloading the snapshot needs it).
    pub store: Option<Arc<crate::store::Store>>,
    pub sessions: auth::Sessions,
    pub audit: audit::AuditLog,
    pub maps: casemap::CaseMaps,
    pub graph: graph::GraphHolder,
    pub config: ServerConfig,
    /// Held while a bulk write runs in this process (an import through the control socket, see
    /// `cli::control`); snapshot reloads wait for it, so a snapshot is never built from a
    /// half-written import.
    pub writing: tokio::sync::Mutex<()>,
    jobs: Semaphore,
    /// Recent expansion answers, serialised (see [`graph::ExpandCache`]).
    pub expand_cache: graph::ExpandCache,
    /// A real argon2 hash to verify against for unknown users (constant-time-ish logins).
    dummy_hash: String,
}

/// The shared state of the app (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// A server on a graph store: documents (accounts, case maps, audit) live in the same store.
    pub fn with_store(
        store: Arc<crate::store::Store>,
        config: ServerConfig,
    ) -> Result<AppState, ServerError> {
        AppState::build(store.clone(), Some(store), config)
    }

    /// A server with documents only (no graph until one is published).
    pub fn new(docs: Arc<dyn DocStore>, config: ServerConfig) -> Result<AppState, ServerError> {
        AppState::build(docs, None, config)
    }

    fn build(
        docs: Arc<dyn DocStore>,
        store: Option<Arc<crate::store::Store>>,
        config: ServerConfig,
    ) -> Result<AppState, ServerError> {
        let sessions = auth::Sessions::new(
            auth::SessionLimits {
                idle: config.session_idle,
                absolute: config.session_absolute,
            },
            auth::LoginLimits {
                max_failures: config.login_max_failures,
                window: config.login_window,
            },
        );
        let audit = audit::AuditLog::open(docs.clone())?;
        let dummy_hash = auth::hash_password(&util::random_token(12))?;
        Ok(AppState(Arc::new(Inner {
            maps: casemap::CaseMaps::new(docs.clone()),
            sessions,
            audit,
            graph: graph::GraphHolder::empty(),
            jobs: Semaphore::new(config.max_jobs.max(1)),
            expand_cache: graph::ExpandCache::new(config.expand_cache),
            writing: tokio::sync::Mutex::new(()),
            docs,
            store,
            config,
            dummy_hash,
        })))
    }

    /// Runs `f` on a blocking thread, at most `max_jobs` at once, within the query time bound.
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> ApiResult<T> + Send + 'static,
    {
        let timeout = self.config.query_timeout;
        let run = async {
            let _permit = self
                .jobs
                .acquire()
                .await
                .map_err(|_| ApiError::Unavailable("server shutting down".to_string()))?;
            match tokio::task::spawn_blocking(f).await {
                Ok(r) => r,
                Err(e) => Err(ApiError::internal(format!("query task failed: {e}"))),
            }
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Timeout(timeout.as_secs())),
        }
    }

    /// Records an action in the audit log; a request whose look cannot be recorded fails.
    pub fn record(
        &self,
        user: &str,
        action: &str,
        refs: Vec<String>,
        detail: impl Into<String>,
    ) -> ApiResult<()> {
        self.audit
            .append(user, action, refs, detail)
            .map(|_| ())
            .map_err(ApiError::internal)
    }
}

/// The whole app: `/api/*` and the static viewer.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me", get(api::me))
        .route("/users", get(api::list_users).post(api::create_user))
        .route("/openapi.json", get(openapi::serve))
        .route("/status", get(graph::status))
        .route("/snapshot/reload", post(graph::reload))
        .route("/search", get(graph::search))
        .route("/entity/{ref}", get(graph::entity))
        .route("/evidence", get(graph::evidence))
        .route("/expand", post(graph::expand))
        .route("/path", post(graph::path))
        .route("/trace", post(graph::trace))
        .route("/communities/runs", get(runs::runs))
        .route("/communities/runs/{id}", get(runs::run))
        .route("/communities/membership", post(runs::membership))
        .route("/casemaps", get(api::list_maps).post(api::create_map))
        .route("/casemaps/{id}", get(api::get_map).put(api::save_map))
        .route("/casemaps/{id}/versions", get(api::map_versions))
        .route("/casemaps/{id}/versions/{v}", get(api::get_map_version))
        .route("/casemaps/{id}/submit", post(api::submit_map))
        .route("/casemaps/{id}/comments", post(api::comment_map))
        .route("/casemaps/{id}/approve", post(api::approve_map))
        .route("/casemaps/{id}/return", post(api::return_map))
        .route("/casemaps/{id}/export", get(api::export_map))
        .route("/audit", get(api::audit_list))
        .route("/audit/verify", get(api::audit_verify))
        .fallback(api::api_not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    Router::new()
        .nest("/api", api)
        .fallback_service(assets::service(state.config.web_dir.clone()))
        .layer(DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(assets::harden))
        .with_state(state)
}

/// Serves `router(state)` on `addr` until Ctrl-C.
pub async fn serve(state: AppState, addr: std::net::SocketAddr) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    serve_on(state, listener).await
}

/// Serves `router(state)` on a bound listener until Ctrl-C or SIGTERM.
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
) -> Result<(), ServerError> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
