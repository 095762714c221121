//! API tests, in-process through `oneshot`.

use super::docs::{DocStore, MemDocs};
use super::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub(crate) struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub docs: Arc<MemDocs>,
}

pub(crate) fn test_config() -> ServerConfig {
    ServerConfig {
        login_max_failures: 3,
        ..ServerConfig::standard()
    }
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_config(test_config())
    }

    pub fn with_config(config: ServerConfig) -> TestApp {
        let docs = Arc::new(MemDocs::new());
        for (name, role) in [
            ("inv", auth::Role::Investigator),
            ("inv2", auth::Role::Investigator),
            ("ana", auth::Role::Analyst),
            ("sup", auth::Role::Supervisor),
            ("adm", auth::Role::Admin),
        ] {
            auth::add_user(docs.as_ref(), name, role, "password-123").unwrap();
        }
        let state = AppState::new(docs.clone() as Arc<dyn DocStore>, config).unwrap();
        TestApp {
            app: router(state.clone()),
            state,
            docs,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, HeaderMap) {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        let req = match &body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let answer = self.raw(req).await;
        if let (true, Some(v)) = (answer.0.is_success(), &body) {
            let doc = openapi::document();
            if let Err(e) = openapi::conformance::request(doc, method.as_str(), &path, v) {
                panic!("the server accepted a request the API document does not describe: {e}");
            }
        }
        answer
    }

    /// A GET with a session.
    pub async fn get(&self, uri: &str, cookie: &str) -> (StatusCode, Value, HeaderMap) {
        self.call(Method::GET, uri, Some(cookie), None).await
    }

    /// A POST of a JSON body with a session.
    pub async fn post(
        &self,
        uri: &str,
        cookie: &str,
        body: Value,
    ) -> (StatusCode, Value, HeaderMap) {
        self.call(Method::POST, uri, Some(cookie), Some(body)).await
    }

    /// Sends a request; an answer from the API must be one the API document describes.
    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value, HeaderMap) {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if path.starts_with("/api/") {
            let doc = openapi::document();
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default();
            let described = openapi::conformance::answer(
                doc,
                method.as_str(),
                &path,
                status.as_u16(),
                content_type,
                &v,
            );
            // a path or method the API does not have: a JSON error (401 before any routing)
            let unknown = || {
                matches!(status.as_u16(), 401 | 404 | 405)
                    && openapi::conformance::check(
                        doc,
                        &json!({"$ref": "#/components/schemas/Error"}),
                        &v,
                        "body",
                    )
                    .is_ok()
            };
            if let Err(e) = described {
                assert!(
                    (e.contains("no such path") || e.contains("has no")) && unknown(),
                    "an answer the API document does not describe: {e}"
                );
            }
        }
        (status, v, headers)
    }

    pub async fn login(&self, user: &str) -> String {
        let (s, v, h) = self
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({"user": user, "password": "password-123"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let set = h
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        set.split(';').next().unwrap().to_string()
    }
}

fn assert_error(v: &Value) {
    assert!(v["error"]["code"].is_string(), "not an API error: {v}");
    assert!(!v["error"]["message"].as_str().unwrap().is_empty());
}

/// Every protected route, with a method and a body that would be acceptable with a session.
fn protected_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    let map = json!({"name": "x", "entities": []});
    vec![
        (Method::POST, "/api/logout", None),
        (Method::GET, "/api/me", None),
        (Method::GET, "/api/users", None),
        (
            Method::POST,
            "/api/users",
            Some(json!({"name": "n", "role": "admin"})),
        ),
        (Method::GET, "/api/openapi.json", None),
        (Method::GET, "/api/status", None),
        (Method::POST, "/api/snapshot/reload", None),
        (Method::GET, "/api/search?q=13800138000", None),
        (Method::GET, "/api/entity/phone:+8613800138000", None),
        (Method::GET, "/api/evidence?from=a:b&to=c:d", None),
        (
            Method::POST,
            "/api/expand",
            Some(json!({"seeds": ["phone:+8613800138000"]})),
        ),
        (
            Method::POST,
            "/api/path",
            Some(json!({"from": "a:b", "to": "c:d"})),
        ),
        (
            Method::POST,
            "/api/trace",
            Some(json!({"account": "account:1"})),
        ),
        (Method::GET, "/api/communities/runs", None),
        (Method::GET, "/api/communities/runs/1", None),
        (
            Method::POST,
            "/api/communities/membership",
            Some(json!({"refs": []})),
        ),
        (Method::GET, "/api/casemaps", None),
        (Method::POST, "/api/casemaps", Some(map.clone())),
        (Method::GET, "/api/casemaps/cm-1", None),
        (Method::PUT, "/api/casemaps/cm-1", Some(map)),
        (Method::GET, "/api/casemaps/cm-1/versions", None),
        (Method::GET, "/api/casemaps/cm-1/versions/1", None),
        (Method::POST, "/api/casemaps/cm-1/submit", None),
        (
            Method::POST,
            "/api/casemaps/cm-1/comments",
            Some(json!({"text": "x"})),
        ),
        (Method::POST, "/api/casemaps/cm-1/approve", None),
        (Method::POST, "/api/casemaps/cm-1/return", None),
        (
            Method::GET,
            "/api/casemaps/cm-1/export?format=graphml",
            None,
        ),
        (Method::GET, "/api/audit", None),
        (Method::GET, "/api/audit/verify", None),
        (Method::GET, "/api/nonexistent", None),
        (Method::DELETE, "/api/casemaps", None),
    ]
}

#[tokio::test]
async fn every_endpoint_refuses_without_a_session() {
    let t = TestApp::new();
    for (m, uri, body) in protected_routes() {
        let (s, v, _) = t.call(m.clone(), uri, None, body.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{m} {uri}: {v}");
        assert_error(&v);
        // A forged or expired token is no better.
        let (s, _, _) = t
            .call(m.clone(), uri, Some("fraudnet_session=deadbeef"), body)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{m} {uri} with a bad token");
    }
    // The viewer itself is public.
    let (s, _, h) = t.call(Method::GET, "/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(h.get(header::CONTENT_SECURITY_POLICY).is_some());
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

/// Every route the router declares (read from its source, so a new route cannot be forgotten)
/// is in `protected_routes` with each of its methods, except `POST /api/login`.
#[test]
fn the_session_test_covers_every_route_of_the_router() {
    let src = include_str!("mod.rs");
    let declared: Vec<(String, String)> = src
        .split(".route(\"")
        .skip(1)
        .flat_map(|rest| {
            let (path, tail) = rest.split_once('"').unwrap();
            let call = &tail[..tail.find(")\n").unwrap_or(tail.len())];
            ["get", "post", "put", "delete"]
                .into_iter()
                .filter(|m| call.contains(&format!("{m}(")))
                .map(|m| (m.to_uppercase(), format!("/api{path}")))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(declared.len() > 20, "{declared:?}");
    // `/casemaps/{id}` matches `/casemaps/cm-1`; a query string is not part of the route.
    let matches = |route: &str, uri: &str| {
        let uri = uri.split('?').next().unwrap();
        let (r, u): (Vec<_>, Vec<_>) = (route.split('/').collect(), uri.split('/').collect());
        r.len() == u.len()
            && r.iter()
                .zip(&u)
                .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
    };
    let covered = protected_routes();
    for (method, route) in &declared {
        if method == "POST" && route == "/api/login" {
            continue;
        }
        assert!(
            covered
                .iter()
                .any(|(m, uri, _)| m.as_str() == method && matches(route, uri)),
            "{method} {route} is not in protected_routes()"
        );
    }
}

#[tokio::test]
async fn login_logout_and_bad_credentials() {
    let t = TestApp::new();
    let (s, v, _) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"user": "inv", "password": "nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "bad_credentials");
    let (s, _, _) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"user": "ghost", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let c = t.login("inv").await;
    let (s, v, _) = t.get("/api/me", &c).await;
    assert_eq!(
        (s, v["user"].as_str(), v["role"].as_str()),
        (StatusCode::OK, Some("inv"), Some("investigator"))
    );
    let (s, _, _) = t.call(Method::POST, "/api/logout", Some(&c), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = t.get("/api/me", &c).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_is_rate_limited_per_user() {
    let t = TestApp::new();
    for _ in 0..3 {
        let (s, _, _) = t
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({"user": "sup", "password": "bad-password"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Locked out even with the right password; other users are not affected.
    let (s, v, h) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"user": "sup", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(h.get(header::RETRY_AFTER).is_some());
    t.login("inv").await;
}

#[tokio::test]
async fn malformed_oversized_and_absurd_requests_are_4xx() {
    let t = TestApp::new();
    let c = t.login("inv").await;
    let raw = |body: &'static str, ct: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/expand")
            .header(header::COOKIE, c.clone())
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap()
    };
    for (req, want) in [
        (
            raw("{\"seeds\": [", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (raw("not json", "application/json"), StatusCode::BAD_REQUEST),
        (
            raw("{\"seeds\": 5}", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw("{\"seeds\": [\"a:b\"], \"hop\": 3}", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw("{\"seeds\": [\"a:b\"]}", "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let (s, v, _) = t.raw(req).await;
        assert_eq!(s, want, "{v}");
        assert_error(&v);
    }
    let big = "x".repeat(limits::MAX_BODY_BYTES + 10);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/casemaps")
        .header(header::COOKIE, c.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!("{{\"name\":\"{big}\"}}")))
        .unwrap();
    let (s, v, _) = t.raw(req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_error(&v);

    for (uri, body, needle) in [
        (
            "/api/expand",
            json!({"seeds": ["phone:+8613800138000"], "hops": 1000}),
            "hops",
        ),
        (
            "/api/expand",
            json!({"seeds": ["phone:+8613800138000"], "limit": 1_000_000_000u64}),
            "limit",
        ),
        (
            "/api/expand",
            json!({"seeds": ["phone:+8613800138000"], "limit": 1_000_000_000_000u64}),
            "limit",
        ),
        ("/api/expand", json!({"seeds": []}), "seeds"),
        (
            "/api/expand",
            json!({"seeds": ["x"], "kinds": ["martian"]}),
            "kind",
        ),
        (
            "/api/expand",
            json!({"seeds": ["x"], "link_kinds": ["telepathy"]}),
            "link kind",
        ),
        (
            "/api/expand",
            json!({"seeds": ["x"], "from": 10, "to": 5}),
            "from",
        ),
        (
            "/api/path",
            json!({"from": "a:b", "to": "c:d", "max_len": 1000}),
            "max_len",
        ),
        (
            "/api/trace",
            json!({"account": "account:1", "direction": "sideways"}),
            "direction",
        ),
        (
            "/api/trace",
            json!({"account": "account:1", "hops": 1000}),
            "hops",
        ),
    ] {
        let (s, v, _) = t.post(uri, &c, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    for uri in [
        "/api/search?q=1&limit=1000000000",
        "/api/search?q=1&limit=-1",
        "/api/search",
        "/api/evidence?from=a:b&to=c:d&limit=99999999",
        "/api/audit?limit=1",
        "/api/casemaps?status=lost",
        "/api/casemaps/cm-x/versions/abc",
    ] {
        let (s, v, _) = t.get(uri, &c).await;
        assert!(s.is_client_error(), "{uri}: {s} {v}");
        assert_error(&v);
    }
}

#[tokio::test]
async fn static_files_refuse_traversal() {
    let t = TestApp::new();
    for uri in [
        "/../Cargo.toml",
        "/vendor/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/etc/passwd",
    ] {
        let (s, _, _) = t.call(Method::GET, uri, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }
    let (s, _, _) = t
        .call(Method::GET, "/vendor/cytoscape.min.js", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);

    // The same through ServeDir on a directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("web")).unwrap();
    std::fs::write(dir.path().join("web/index.html"), "<p>hi</p>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    let state = AppState::new(
        Arc::new(MemDocs::new()),
        ServerConfig {
            web_dir: Some(dir.path().join("web")),
            ..test_config()
        },
    )
    .unwrap();
    let app = router(state);
    for (uri, want) in [
        ("/", StatusCode::OK),
        ("/index.html", StatusCode::OK),
        ("/../secret.txt", StatusCode::NOT_FOUND),
        ("/%2e%2e/secret.txt", StatusCode::NOT_FOUND),
        ("/..%2fsecret.txt", StatusCode::NOT_FOUND),
    ] {
        let resp = app
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), want, "{uri}");
    }
}

async fn create_map(t: &TestApp, c: &str) -> String {
    let body = json!({
        "name": "宁都回流人员",
        "notes": "seed and first leads",
        "entities": [
            {"ref": "person:36073019900101123X", "label": "张三", "x": 10.0, "y": 20.0, "roles": ["returnee"]},
            {"ref": "phone:+8613800138000", "x": 0.0, "y": 0.0}
        ],
        "links": [{"from": "person:36073019900101123X", "to": "phone:+8613800138000", "kind": "owns", "count": 1}],
        "queries": [{"expand": {"seeds": ["phone:+8613800138000"], "hops": 3}}]
    });
    let (s, v, _) = t.post("/api/casemaps", c, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn case_map_review_roles_and_audit() {
    let t = TestApp::new();
    let inv = t.login("inv").await;
    let inv2 = t.login("inv2").await;
    let sup = t.login("sup").await;
    let adm = t.login("adm").await;
    let id = create_map(&t, &inv).await;
    let u = |p: &str| format!("/api/casemaps/{id}{p}");

    // Drafts: owner and supervisors only; others get 404 (the draft is not revealed).
    assert_eq!(t.get(&u(""), &inv2).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&u(""), &sup).await.0, StatusCode::OK);
    let (_, list, _) = t.get("/api/casemaps", &inv2).await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // Save a second version; submit.
    let (s, v, _) = t
        .call(
            Method::PUT,
            &u(""),
            Some(&inv),
            Some(json!({"base_version": 1, "entities": [{"ref": "phone:+8613800138000"}]})),
        )
        .await;
    assert_eq!((s, v["version"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    let (s, v, _) = t.call(Method::POST, &u("/submit"), Some(&inv), None).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("submitted"))
    );

    // The supervisor sends it back with a comment; the owner reads the first version again and
    // submits once more.
    let (s, v, _) = t
        .post(&u("/return"), &sup, json!({"text": "补充银行流水"}))
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("returned")),
        "{v}"
    );
    assert_eq!(v["comments"][0]["text"], "补充银行流水", "{v}");
    let (s, v, _) = t.get(&u("/versions/1"), &inv).await;
    assert_eq!((s, v["version"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    assert_eq!(v["content"]["entities"][0]["label"], "张三", "{v}");
    let (s, _, _) = t.call(Method::POST, &u("/submit"), Some(&inv), None).await;
    assert_eq!(s, StatusCode::OK);

    // An investigator cannot approve or return, even their own map.
    for who in [&inv, &inv2] {
        let (s, v, _) = t.call(Method::POST, &u("/approve"), Some(who), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_error(&v);
        assert_eq!(
            t.call(Method::POST, &u("/return"), Some(who), None).await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        t.call(Method::POST, &u("/approve"), Some(&adm), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // The supervisor comments and approves.
    let (s, _, _) = t
        .post(&u("/comments"), &sup, json!({"text": "证据充分"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = t.post(&u("/approve"), &sup, json!({"text": "同意"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{v}"
    );
    assert_eq!(
        t.call(Method::POST, &u("/approve"), Some(&sup), None)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(t.get(&u(""), &inv2).await.0, StatusCode::OK);
    let (s, v, _) = t.get(&u("/versions"), &inv).await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::OK, 2));

    // Exports.
    for (f, needle) in [
        ("graphml", "<graphml"),
        ("gexf", "<gexf"),
        ("i2csv", "Entity1 Type"),
        ("ftm", "\"schema\""),
    ] {
        let (s, v, h) = t
            .get(&u(&format!("/export?format={f}&version=1")), &inv)
            .await;
        assert_eq!(s, StatusCode::OK, "{f}");
        assert!(
            v.as_str().unwrap_or_default().contains(needle) || v.to_string().contains(needle),
            "{f}: {v}"
        );
        assert!(h.get(header::CONTENT_DISPOSITION).is_some());
    }
    assert_eq!(
        t.get(&u("/export?format=pdf"), &inv).await.0,
        StatusCode::BAD_REQUEST
    );

    // The audit log holds the story, readable by supervisors and admins, not investigators.
    assert_eq!(t.get("/api/audit", &inv).await.0, StatusCode::FORBIDDEN);
    let (s, v, _) = t
        .get(&format!("/api/audit?ref=casemap:{id}&limit=100"), &adm)
        .await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "casemap_create",
        "casemap_save",
        "casemap_submit",
        "casemap_comment",
        "casemap_approve",
        "casemap_export",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
    let (_, v, _) = t.get("/api/audit/verify", &sup).await;
    assert_eq!(v["ok"], true, "{v}");

    // Tampering with a stored entry is detected.
    let all = t.docs.scan_docs(audit::AUDIT_COLLECTION).unwrap();
    let (k, raw) = &all[3];
    let mut e: Value = serde_json::from_slice(raw).unwrap();
    e["user"] = json!("someone-else");
    t.docs
        .put_doc(audit::AUDIT_COLLECTION, k, e.to_string().as_bytes())
        .unwrap();
    let (_, v, _) = t.get("/api/audit/verify", &adm).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad"].as_str(), Some(k.as_str()));
}

#[tokio::test]
async fn accounts_are_admin_only_and_passwords_never_returned() {
    let t = TestApp::new();
    let inv = t.login("inv").await;
    let adm = t.login("adm").await;
    let (s, _, _) = t
        .post("/api/users", &inv, json!({"name": "x", "role": "admin"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = t
        .post(
            "/api/users",
            &adm,
            json!({"name": "新人", "role": "analyst"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pw = v["generated_password"].as_str().unwrap().to_string();
    let (s, _, _) = t
        .post(
            "/api/users",
            &adm,
            json!({"name": "新人", "role": "analyst"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = t
        .post("/api/users", &adm, json!({"name": "y", "role": "king"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v, _) = t.get("/api/users", &adm).await;
    assert!(!v.to_string().contains("argon2") && !v.to_string().contains(&pw));
    let (s, _, _) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"user": "新人", "password": pw})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v, _) = t.get("/api/audit?limit=1000", &adm).await;
    assert!(!v.to_string().contains(&pw));
}

#[tokio::test]
async fn graph_endpoints_without_a_graph_say_so() {
    let t = TestApp::new();
    assert!(t.state.graph.generation().is_none());
    let c = t.login("ana").await;
    let (s, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["phone:+8613800138000"]}),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&v);
    let (s, v, _) = t.get("/api/status", &c).await;
    assert_eq!((s, v["loaded"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, v, _) = t.get("/api/openapi.json", &c).await;
    assert_eq!((s, v["openapi"].as_str()), (StatusCode::OK, Some("3.0.3")));
}

/// A small case: a person owning a phone that calls another, and a transfer between two accounts.
pub(crate) fn small_case() -> crate::store::Store {
    use crate::ingest::record::{Call, Origin, Person, Record, Transfer};
    use crate::ingest::writer::Writer;
    use crate::model::ident::{bank_account, phone, resident_id};
    let store = crate::store::Store::in_memory();
    let o = |line| Origin {
        file: Arc::from("case.csv"),
        line,
        label: Some("测试银行".to_string()),
    };
    let call = |a: &str, b: &str, t: i64| {
        Record::Call(Call::between(phone(a).unwrap(), phone(b).unwrap(), t, 30))
    };
    let mut roles = crate::model::Roles::default();
    roles.insert_name("returnee");
    let rows = vec![
        (
            o(1),
            Record::Person(Person {
                key: resident_id("11010519491231002X").unwrap(),
                aliases: vec![],
                name: Some("王五".into()),
                roles,
                statuses: vec![],
                owns: vec![
                    phone("13800138000").unwrap(),
                    bank_account("6222021234567890128").unwrap(),
                ],
                notes: None,
            }),
        ),
        (o(2), call("13800138000", "13900139000", 1_700_000_000)),
        (o(3), call("13800138000", "13900139000", 1_700_000_100)),
        (
            o(4),
            Record::Transfer(Transfer {
                tx_id: Some("TX1".into()),
                ..Transfer::between(
                    bank_account("6222021234567890128").unwrap(),
                    bank_account("6222020000000000001").unwrap(),
                    5_000_000,
                    1_700_000_200,
                )
            }),
        ),
    ];
    Writer::write_all(&store, &rows).unwrap();
    store
}

#[tokio::test]
async fn an_admin_reloads_the_snapshot_from_the_store() {
    let store = Arc::new(small_case());
    for (name, role) in [
        ("adm", auth::Role::Admin),
        ("inv", auth::Role::Investigator),
    ] {
        auth::add_user(store.as_ref(), name, role, "password-123").unwrap();
    }
    let state = AppState::with_store(store.clone(), test_config()).unwrap();
    state.graph.rebuild(store).unwrap();
    let t = TestApp {
        app: router(state.clone()),
        state,
        docs: Arc::new(MemDocs::new()),
    };
    let (adm, inv) = (t.login("adm").await, t.login("inv").await);
    let before = t.state.graph.generation().unwrap();
    let (s, v, _) = t
        .call(Method::POST, "/api/snapshot/reload", Some(&inv), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v, _) = t
        .call(Method::POST, "/api/snapshot/reload", Some(&adm), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["generation"].as_u64(), Some(before + 1), "{v}");
    let (_, status, _) = t.get("/api/status", &inv).await;
    assert_eq!(
        (status["generation"].clone(), status["entities"].clone()),
        (v["generation"].clone(), v["entities"].clone())
    );
}

impl TestApp {
    pub fn with_case() -> TestApp {
        let t = TestApp::new();
        t.state.graph.rebuild(Arc::new(small_case())).unwrap();
        t
    }
}

#[tokio::test]
async fn search_entity_and_evidence_on_a_case() {
    let t = TestApp::with_case();
    let c = t.login("inv").await;
    // A phone number as people write it finds the phone.
    let (s, v, _) = t.get("/api/search?q=138-0013-8000", &c).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["generation"].as_u64().is_some());
    assert_eq!(v["groups"][0]["kind"], "phone");
    assert_eq!(v["groups"][0]["items"][0]["ref"], "phone:+8613800138000");
    // A name finds the person.
    let (_, v, _) = t.get("/api/search?q=%E7%8E%8B%E4%BA%94", &c).await;
    assert_eq!(v["groups"][0]["items"][0]["label"], "王五", "{v}");

    let (s, v, _) = t.get("/api/entity/phone:+8613800138000", &c).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let kinds: Vec<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"call") && kinds.contains(&"owns"),
        "{kinds:?}"
    );
    let call = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "call")
        .unwrap();
    assert_eq!(
        (call["count"].as_u64(), call["duration_s"].as_i64()),
        (Some(2), Some(60))
    );

    // Unknown refs: 404 with a clear message.
    let (s, v, _) = t.get("/api/entity/phone:+8613700000000", &c).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no entity"));

    let (s, v, _) = t
        .get("/api/evidence?from=account:6222021234567890128&to=account:6222020000000000001&kind=transfer", &c)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"][0]["value"], 5_000_000);
    assert_eq!(v["records"][0]["record"], "TX1");
    assert!(v["records"][0]["source"]
        .as_str()
        .unwrap()
        .contains("case.csv"));
    // Evidence can be asked from either end.
    let (s, v, _) = t
        .get("/api/evidence?from=13900139000&to=13800138000", &c)
        .await;
    assert_eq!(
        (s, v["records"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2)),
        "{v}"
    );

    // Every look is in the audit log.
    let (_, v, _) = t.get("/api/audit?user=inv", &t.login("adm").await).await;
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["search", "entity", "evidence"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}

#[tokio::test]
async fn expand_path_and_trace_on_a_case() {
    let t = TestApp::with_case();
    let c = t.login("inv").await;
    let (s, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["13900139000"], "hops": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["seeds"][0]["ref"], "phone:+8613900139000");
    let leads = v["leads"].as_array().unwrap();
    let refs: Vec<&str> = leads.iter().map(|l| l["ref"].as_str().unwrap()).collect();
    assert!(refs.contains(&"person:11010519491231002X"), "{refs:?}");
    let person = leads
        .iter()
        .find(|l| l["ref"] == "person:11010519491231002X")
        .unwrap();
    // One hop: a call to the phone 王五 holds (a person and what they hold count as one).
    assert_eq!(person["hops"], 1);
    assert!(person["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("returnee")));
    // The explanation walks from the seed to the lead, naming its evidence.
    let p = &person["paths"][0];
    assert_eq!(p[0]["from"], "phone:+8613900139000");
    assert_eq!(p[0]["kind"], "call");
    assert_eq!(p[0]["count"], 2);
    assert_eq!(
        p.as_array().unwrap().last().unwrap()["to"],
        "person:11010519491231002X"
    );
    // Scores are sorted, best first.
    let scores: Vec<f64> = leads.iter().map(|l| l["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    // Filters: only persons; a time window before every call finds nothing through calls.
    let (_, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["13900139000"], "kinds": ["person"]}),
        )
        .await;
    assert!(
        v["leads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["kind"] == "person"),
        "{v}"
    );
    let (_, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["13900139000"], "to": 1_600_000_000}),
        )
        .await;
    assert_eq!(v["leads"].as_array().unwrap().len(), 0, "{v}");
    // Unknown seed: 404 with a clear message.
    let (s, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["phone:+8613100000000"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let (s, v, _) = t
        .post(
            "/api/path",
            &c,
            json!({"from": "13900139000", "to": "account:6222020000000000001"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["paths"][0].as_array().unwrap().len(), 4, "{v}");

    let (s, v, _) = t
        .post(
            "/api/trace",
            &c,
            json!({"account": "account:6222021234567890128"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["flows"][0]["amount_fen"], 5_000_000);
    assert_eq!(v["sinks"][0]["ref"], "account:6222020000000000001");
    assert_eq!(v["sinks"][0]["amount_fen"], 5_000_000);
}

#[tokio::test]
async fn expansions_are_cached_per_entity_computed_once_and_timed() {
    let t = TestApp::with_case();
    let c = t.login("inv").await;
    let body = |seed: &str, hops: u32| json!({"seeds": [seed], "hops": hops, "limit": 10});
    let cache = |h: &HeaderMap| h["x-fraudnet-cache"].to_str().unwrap().to_string();
    let (s, first, h) = t.post("/api/expand", &c, body("13900139000", 3)).await;
    assert_eq!(
        (s, cache(&h)),
        (StatusCode::OK, "miss".to_string()),
        "{first}"
    );
    let timing = h["server-timing"].to_str().unwrap();
    for phase in [
        "queue;dur=",
        "expand;dur=",
        "rank;dur=",
        "render;dur=",
        "json;dur=",
    ] {
        assert!(timing.contains(phase), "{timing}");
    }
    // Another writing of the same phone names the same entity: the same answer, from the cache.
    let (s, again, h) = t
        .post("/api/expand", &c, body("+86 139 0013 9000", 3))
        .await;
    assert_eq!((s, cache(&h)), (StatusCode::OK, "hit".to_string()));
    assert_eq!(again, first);
    assert_eq!(h["server-timing"], "cache;desc=hit");
    // Other parameters are another question.
    let (_, _, h) = t.post("/api/expand", &c, body("13900139000", 2)).await;
    assert_eq!(cache(&h), "miss");
    // Two identical requests at once: computed once, the other waits for it.
    let (a, b) = tokio::join!(
        t.post("/api/expand", &c, body("13800138000", 3)),
        t.post("/api/expand", &c, body("phone:+8613800138000", 3)),
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.1, b.1);
    // One computes; the other waited for it ("shared") or, had it come later, found it ("hit").
    let outcomes = [cache(&a.2), cache(&b.2)];
    assert_eq!(
        outcomes.iter().filter(|o| *o == "miss").count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| ["miss", "shared", "hit"].contains(&o.as_str())),
        "{outcomes:?}"
    );
    // Every look is audited, the cached ones said to be.
    let (_, v, _) = t
        .get("/api/audit?action=expand", &t.login("adm").await)
        .await;
    let cached = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"].as_str().unwrap().ends_with("(cached)"));
    assert_eq!((v.as_array().unwrap().len(), cached.count()), (5, 2), "{v}");

    // Without the cache every request computes.
    let t = TestApp::with_config(ServerConfig {
        expand_cache: 0,
        ..test_config()
    });
    t.state.graph.rebuild(Arc::new(small_case())).unwrap();
    let c = t.login("inv").await;
    for _ in 0..2 {
        let (s, _, h) = t.post("/api/expand", &c, body("13900139000", 3)).await;
        assert_eq!((s, cache(&h)), (StatusCode::OK, "miss".to_string()));
    }
}

#[tokio::test]
async fn answers_cut_by_a_bound_say_which() {
    let t = TestApp::with_case();
    let c = t.login("inv").await;
    // A phone with several links, shown one at a time.
    let (s, v, _) = t.get("/api/entity/phone:+8613800138000?links=1", &c).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["links"].as_array().unwrap().len(), 1);
    assert_eq!(v["truncated"], true, "{v}");
    assert!(v["bound"].as_str().unwrap().starts_with("links:"), "{v}");
    // One lead of several.
    let (s, v, _) = t
        .post(
            "/api/expand",
            &c,
            json!({"seeds": ["13900139000"], "hops": 3, "limit": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["leads"].as_array().unwrap().len(), 1);
    assert_eq!(v["truncated"], true, "{v}");
    assert!(v["bound"].as_str().unwrap().starts_with("limit:"), "{v}");
    // Within every bound: no `bound` at all.
    let (_, v, _) = t.get("/api/entity/phone:+8613800138000", &c).await;
    assert_eq!(v["truncated"], false, "{v}");
    assert!(v.get("bound").is_none(), "{v}");
}

#[tokio::test]
async fn community_runs_membership_and_their_audit() {
    use crate::algo::community::{run, DEFAULT_MAX_HOLDERS};
    use crate::model::run::{Algo, GraphKind, RunParams};
    let (snap, store) = crate::algo::rank::tests::case();
    let store = Arc::new(store);
    let t = TestApp::new();
    t.state.graph.rebuild(store.clone()).unwrap();
    let c = t.login("ana").await;
    let (s, v, _) = t.get("/api/communities/runs", &c).await;
    assert_eq!(
        (s, v["runs"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{v}"
    );
    let (s, v, _) = t.get("/api/communities/runs/latest", &c).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_error(&v);

    let params = RunParams {
        algo: Algo::Leiden,
        resolution: 1.0,
        seed: 5,
        graph: GraphKind::Person,
        max_holders: DEFAULT_MAX_HOLDERS,
        weighting: crate::model::run::Weighting::Operational,
        groups: Some(crate::model::run::GroupParams::STANDARD),
    };
    let (r, _) = run(&snap, &params, 1, 1_700_000_000, None).unwrap();
    store.put_run(&r).unwrap();

    let (s, v, _) = t.get("/api/communities/runs", &c).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["runs"][0]["run"], 1);
    assert_eq!(v["runs"][0]["algo"], "leiden");
    let (s, v, _) = t
        .get("/api/communities/runs/latest?members=true&min_size=3", &c)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let cs = v["communities"].as_array().unwrap();
    assert!(!cs.is_empty());
    assert!(cs.iter().all(|x| x["size"].as_u64().unwrap() >= 3));
    let seed_ref = "person:S";
    let seeds: Vec<&Value> = cs
        .iter()
        .filter(|x| {
            x["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == seed_ref)
        })
        .collect();
    assert_eq!(seeds.len(), 1, "the seed is in one community: {v}");
    let seed_comm = seeds[0]["id"].as_u64().unwrap();
    let key = &seeds[0]["key_people"][0];
    assert!(key["ref"].as_str().unwrap().starts_with("person:"), "{key}");
    assert!(["centre", "money", "broker"].contains(&key["why"].as_str().unwrap()));

    // the community of a person and of the phone they hold, in any writing
    let (s, v, _) = t
        .post(
            "/api/communities/membership",
            &c,
            json!({"run": "1", "refs": [seed_ref, "+95 9 4000 0001", "person:M1"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["run"], 1);
    assert_eq!(v["communities"][seed_ref], seed_comm);
    assert_eq!(v["communities"]["person:M1"], seed_comm);
    assert_eq!(v["communities"]["phone:+95940000001"], seed_comm, "{v}");

    // bad input is a 4xx that says why
    for (m, uri, body) in [
        (Method::GET, "/api/communities/runs/abc", None),
        (Method::GET, "/api/communities/runs/7", None),
        (Method::GET, "/api/communities/runs/1?limit=0", None),
        (
            Method::GET,
            "/api/communities/runs/1?limit=1000000000",
            None,
        ),
        (Method::GET, "/api/communities/runs/1?colour=red", None),
        (
            Method::POST,
            "/api/communities/membership",
            Some(json!({"refs": ["person:nobody-at-all"]})),
        ),
        (
            Method::POST,
            "/api/communities/membership",
            Some(json!({"refs": vec!["person:S"; 10_001]})),
        ),
        (
            Method::POST,
            "/api/communities/membership",
            Some(json!({"run": "x", "refs": ["person:S"]})),
        ),
    ] {
        let (s, v, _) = t.call(m, uri, Some(&c), body).await;
        assert!(s.is_client_error(), "{uri}: {s} {v}");
        assert_error(&v);
    }

    // every look is audited, and the chain still verifies
    let adm = t.login("adm").await;
    let (s, v, _) = t.get("/api/audit?limit=200", &adm).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in ["community_runs", "community_run", "community_membership"] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
    let (_, v, _) = t.get("/api/audit/verify", &adm).await;
    assert_eq!(v["ok"], true, "{v}");
}
