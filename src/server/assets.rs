//! The static viewer: by default the copy of `web/` built into the binary (so one binary is the
//! whole application, offline); with `--web DIR`, files from that directory through tower-http's
//! `ServeDir`. Both refuse path traversal: the built-in copy answers only its exact file names,
//! and `ServeDir` refuses `..` components.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, get_service, MethodRouter};
use std::path::PathBuf;
use tower_http::services::ServeDir;

/// `(path, content type, bytes)` of every file the viewer needs.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/app.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/i18n.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/style.css"),
    ),
    (
        "vendor/cytoscape.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/vendor/cytoscape.min.js"),
    ),
    (
        "vendor/cytoscape.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../web/vendor/cytoscape.LICENSE"),
    ),
];

/// Headers that every response carries.
pub async fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn embedded(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, ct, bytes)) => ([(header::CONTENT_TYPE, *ct)], *bytes).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The service for every path outside `/api`.
pub fn service(web_dir: Option<PathBuf>) -> MethodRouter {
    match web_dir {
        Some(dir) => get_service(ServeDir::new(dir).append_index_html_on_directories(true)),
        None => get(embedded),
    }
}
