//! The OpenAPI 3 description of the API, served at `GET /api/openapi.json`.

use super::api::Caller;
use super::error::ApiJson;
use super::limits;
use serde_json::{json, Value};

pub async fn serve(_caller: Caller) -> ApiJson<Value> {
    ApiJson(document())
}

fn err_responses(extra: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    let e = json!({"$ref": "#/components/schemas/Error"});
    for (code, desc) in [
        ("400", "Bad input; the message says what and which bound"),
        ("401", "No live session"),
    ]
    .iter()
    .chain(extra.iter())
    {
        m.insert(
            (*code).to_string(),
            json!({"description": desc, "content": {"application/json": {"schema": e}}}),
        );
    }
    Value::Object(m)
}

fn op(summary: &str, ok: Value, errors: &[(&str, &str)]) -> Value {
    let mut responses = err_responses(errors);
    if let Some(m) = responses.as_object_mut() {
        m.insert(
            "200".into(),
            json!({"description": "OK", "content": {"application/json": {"schema": ok}}}),
        );
    }
    json!({"summary": summary, "responses": responses})
}

fn with_body(mut o: Value, schema: Value) -> Value {
    o["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema}}});
    o
}

fn with_params(mut o: Value, params: &[(&str, &str, &str, bool)]) -> Value {
    o["parameters"] = Value::Array(
        params
            .iter()
            .map(|(name, inn, ty, req)| json!({"name": name, "in": inn, "required": req, "schema": {"type": ty}}))
            .collect(),
    );
    o
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The whole document.
pub fn document() -> Value {
    let gen_note = "Graph answers carry `generation`, the snapshot they were computed on.";
    let mut login = with_body(
        op(
            "Log in; sets the session cookie",
            r("Me"),
            &[("429", "Too many failed attempts for this user and address")],
        ),
        r("Login"),
    );
    login["security"] = json!([]);
    let mut paths = paths_a(login);
    if let (Some(a), Value::Object(b)) = (paths.as_object_mut(), paths_b()) {
        a.extend(b);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "fraudnet API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Case data of telecom-fraud investigations. Every endpoint except POST /api/login \
                 needs the session cookie `fraudnet_session` (HttpOnly, SameSite=Strict) and \
                 answers 401 without it. Every call that reads or changes case data is written to \
                 the hash-chained audit log. Errors are {{\"error\":{{\"code\",\"message\"}}}}. \
                 Bounds: body {} bytes, hops {}, leads {}, seeds {}, search {}, path length {}, \
                 paths {}, trace hops {}, trace rows {}, evidence {}, links {}. {}",
                limits::MAX_BODY_BYTES, limits::MAX_HOPS, limits::MAX_LEADS, limits::MAX_SEEDS,
                limits::MAX_SEARCH, limits::MAX_PATH_LEN, limits::MAX_PATHS, limits::MAX_TRACE_HOPS,
                limits::MAX_TRACE_ROWS, limits::MAX_EVIDENCE, limits::MAX_LINKS, gen_note),
        },
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "fraudnet_session"}},
            "schemas": schemas(),
        },
        "security": [{"session": []}],
        "paths": paths,
    })
}

fn schemas() -> Value {
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
            "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "Me": {"type": "object", "properties": {"user": {"type": "string"}, "role": {"type": "string",
            "enum": ["investigator", "analyst", "supervisor", "admin"]}}},
        "Login": {"type": "object", "required": ["user", "password"], "properties": {
            "user": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
        "Entity": {"type": "object", "properties": {
            "ref": {"type": "string", "example": "phone:+8613800138000"}, "kind": {"type": "string"},
            "label": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
            "flags": {"type": "array", "items": {"type": "string"}}, "degree": {"type": "integer"}}},
        "Link": {"type": "object", "properties": {
            "from": {"type": "string"}, "to": {"type": "string"}, "kind": {"type": "string"},
            "count": {"type": "integer"}, "amount_fen": {"type": "integer"}, "duration_s": {"type": "integer"},
            "first": {"type": "integer", "description": "Unix seconds"}, "last": {"type": "integer"}}},
        "Step": {"type": "object", "description": "One hop of an explanation path, naming its evidence.",
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "kind": {"type": "string"},
            "count": {"type": "integer"}, "amount_fen": {"type": "integer"}, "first": {"type": "integer"},
            "last": {"type": "integer"}, "source": {"type": "string"}}},
        "Lead": {"type": "object", "properties": {
            "ref": {"type": "string"}, "kind": {"type": "string"}, "label": {"type": "string"},
            "score": {"type": "number"}, "hops": {"type": "integer"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "paths": {"type": "array", "items": {"type": "array", "items": r("Step")}}}},
        "RunInfo": {"type": "object", "properties": {"run": {"type": "integer"}, "algo": {"type": "string", "enum": ["leiden", "louvain", "lpa", "wcc"]},
            "graph": {"type": "string", "enum": ["person", "entity"]}, "resolution": {"type": "number"}, "seed": {"type": "integer"},
            "max_holders": {"type": "integer"}, "weighting": {"type": "string", "enum": ["operational", "evidence"]}, "group_params": {"type": ["object", "null"], "properties": {"part_density": {"type": "number"}, "link_density": {"type": "number"}}}, "time": {"type": "integer"}, "seconds": {"type": "number"}, "modularity": {"type": "number"},
            "generation": {"type": "integer"}, "entities": {"type": "integer"}, "links": {"type": "integer"}, "nodes": {"type": "integer"},
            "edges": {"type": "integer"}, "community_count": {"type": "integer"}}},
        "Run": {"allOf": [r("RunInfo"), {"type": "object", "properties": {"truncated": {"type": "boolean"}, "communities": {"type": "array", "items": r("Community")}}}]},
        "Community": {"type": "object", "properties": {"id": {"type": "integer"}, "size": {"type": "integer"},
            "members": {"type": "array", "items": {"type": "string"}}, "roles": {"type": "object", "additionalProperties": {"type": "integer"}},
            "key_people": {"type": "array", "items": {"type": "object", "properties": {"ref": {"type": "string"}, "label": {"type": "string"},
                "why": {"type": "string", "enum": ["centre", "money", "broker"]}, "roles": {"type": "array", "items": {"type": "string"}},
                "degree": {"type": "integer"}, "pagerank": {"type": "number"}, "betweenness": {"type": "number"},
                "money_in_fen": {"type": "integer"}, "money_out_fen": {"type": "integer"}}}},
            "money_in_fen": {"type": "integer"}, "money_out_fen": {"type": "integer"}, "money_inside_fen": {"type": "integer"},
            "links": {"type": "array", "items": {"type": "object", "properties": {"community": {"type": "integer"}, "weight": {"type": "number"}, "money_fen": {"type": "integer"}}}}}},
        "ExpandRequest": {"type": "object", "required": ["seeds"], "additionalProperties": false, "properties": {
            "seeds": {"type": "array", "items": {"type": "string"}, "maxItems": limits::MAX_SEEDS},
            "hops": {"type": "integer", "minimum": 1, "maximum": limits::MAX_HOPS, "default": 3},
            "limit": {"type": "integer", "minimum": 1, "maximum": limits::MAX_LEADS, "default": 200},
            "kinds": {"type": "array", "items": {"type": "string"}},
            "link_kinds": {"type": "array", "items": {"type": "string"}},
            "from": {"type": "integer"}, "to": {"type": "integer"},
            "min_count": {"type": "integer"}, "min_amount_fen": {"type": "integer"}}},
        "ExpandResponse": {"type": "object", "properties": {
            "generation": {"type": "integer"}, "seeds": {"type": "array", "items": r("Entity")},
            "leads": {"type": "array", "items": r("Lead")}, "hubs": {"type": "array", "items": r("Entity")},
            "links": {"type": "array", "items": r("Link")},
            "stats": {"type": "object"}, "truncated": {"type": "boolean"}}},
        "PathRequest": {"type": "object", "required": ["from", "to"], "additionalProperties": false, "properties": {
            "from": {"type": "string"}, "to": {"type": "string"},
            "max_len": {"type": "integer", "maximum": limits::MAX_PATH_LEN},
            "k": {"type": "integer", "maximum": limits::MAX_PATHS}, "include_hubs": {"type": "boolean"}}},
        "TraceRequest": {"type": "object", "required": ["account"], "additionalProperties": false, "properties": {
            "account": {"type": "string"}, "direction": {"type": "string", "enum": ["forward", "backward"]},
            "hops": {"type": "integer", "maximum": limits::MAX_TRACE_HOPS}, "window_s": {"type": "integer"},
            "from": {"type": "integer"}, "limit": {"type": "integer", "maximum": limits::MAX_TRACE_ROWS}}},
        "TraceResponse": {"type": "object", "properties": {
            "generation": {"type": "integer"}, "root": r("Entity"),
            "flows": {"type": "array", "items": {"type": "object", "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}, "amount_fen": {"type": "integer"},
                "time": {"type": "integer"}, "depth": {"type": "integer"}}}},
            "sinks": {"type": "array", "items": {"type": "object", "properties": {
                "ref": {"type": "string"}, "amount_fen": {"type": "integer"}}}},
            "entities": {"type": "array", "items": r("Entity")}}},
        "Evidence": {"type": "object", "properties": {
            "time": {"type": "integer"}, "value": {"type": "integer", "description": "fen or seconds"},
            "source": {"type": "string"}, "record": {"type": "string"}}},
        "CaseMapContent": {"type": "object", "properties": {
            "entities": {"type": "array", "items": {"type": "object", "required": ["ref"], "properties": {
                "ref": {"type": "string"}, "label": {"type": "string"}, "x": {"type": "number"}, "y": {"type": "number"},
                "roles": {"type": "array", "items": {"type": "string"}}, "community": {"type": "integer"},
                "note": {"type": "string"}}}},
            "links": {"type": "array", "items": r("Link")},
            "notes": {"type": "string"}, "queries": {"type": "array", "items": {"type": "object"}}}},
        "CaseMapMeta": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "owner": {"type": "string"},
            "status": {"type": "string", "enum": ["draft", "submitted", "approved", "returned"]},
            "version": {"type": "integer"}, "created": {"type": "integer"}, "updated": {"type": "integer"},
            "comments": {"type": "array", "items": {"type": "object"}}, "history": {"type": "array", "items": {"type": "object"}}}},
        "AuditEntry": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "time": {"type": "integer"}, "user": {"type": "string"},
            "action": {"type": "string"}, "refs": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"}, "prev_hash": {"type": "string"}, "hash": {"type": "string"}}}
    })
}

fn paths_a(login: Value) -> Value {
    json!({
        "/api/login": {"post": login},
        "/api/logout": {"post": op("End the session", json!({}), &[])},
        "/api/me": {"get": op("The logged-in user", r("Me"), &[])},
        "/api/users": {
            "get": op("List accounts (admin)", json!({"type": "array", "items": r("Me")}), &[("403", "Not an admin")]),
            "post": with_body(op("Create an account (admin); a generated password is returned once", r("Me"),
                &[("403", "Not an admin"), ("409", "Name taken")]),
                json!({"type": "object", "required": ["name", "role"], "properties": {"name": {"type": "string"},
                    "role": {"type": "string"}, "password": {"type": "string"}}}))},
        "/api/openapi.json": {"get": op("This document", json!({"type": "object"}), &[])},
        "/api/status": {"get": op("Snapshot generation", json!({"type": "object"}), &[])},
        "/api/snapshot/reload": {"post": op("Rebuild the graph snapshot from the store and swap it in (admin)",
            json!({"type": "object", "properties": {"generation": {"type": "integer"}, "entities": {"type": "integer"},
            "links": {"type": "integer"}, "seconds": {"type": "number"}}}), &[("403", "Not an admin")])},
        "/api/search": {"get": with_params(op("Search names and identifiers; results grouped by kind", json!({"type": "object",
            "properties": {"generation": {"type": "integer"}, "groups": {"type": "array", "items": {"type": "object",
            "properties": {"kind": {"type": "string"}, "items": {"type": "array", "items": r("Entity")}}}}}}), &[("503", "No graph loaded")]),
            &[("q", "query", "string", true), ("limit", "query", "integer", false), ("kind", "query", "string", false)])},
        "/api/entity/{ref}": {"get": with_params(op("An entity with its links", json!({"type": "object", "properties": {
            "generation": {"type": "integer"}, "entity": r("Entity"), "links": {"type": "array", "items": r("Link")},
            "neighbours": {"type": "array", "items": r("Entity")}, "truncated": {"type": "boolean"}}}), &[("404", "Unknown entity")]),
            &[("ref", "path", "string", true), ("links", "query", "integer", false)])},
        "/api/evidence": {"get": with_params(op("The evidence records of one link", json!({"type": "object", "properties": {
            "generation": {"type": "integer"}, "records": {"type": "array", "items": r("Evidence")}, "truncated": {"type": "boolean"}}}),
            &[("404", "Unknown entity")]),
            &[("from", "query", "string", true), ("to", "query", "string", true), ("kind", "query", "string", false), ("limit", "query", "integer", false)])},
        "/api/expand": {"post": with_body(op("Ranked, explained leads from seeds", r("ExpandResponse"),
            &[("404", "Unknown seed (message lists near matches)"), ("503", "No graph loaded, or the query hit its time bound")]), r("ExpandRequest"))},
        "/api/path": {"post": with_body(op("Shortest and k shortest paths between two entities", json!({"type": "object", "properties": {
            "generation": {"type": "integer"}, "paths": {"type": "array", "items": {"type": "array", "items": r("Step")}}}}),
            &[("404", "Unknown entity")]), r("PathRequest"))},
        "/api/trace": {"post": with_body(op("Money-flow trace in time order, amounts conserved", r("TraceResponse"),
            &[("404", "Unknown account")]), r("TraceRequest"))},
        "/api/communities/runs": {"get": op("Community detection runs, newest first",
            json!({"type": "object", "properties": {"runs": {"type": "array", "items": r("RunInfo")}}}),
            &[("503", "No graph loaded")])},
        "/api/communities/runs/{id}": {"get": with_params(op("One run (a number or `latest`): its largest communities with size, members by role, key people, money in/out/inside and linked communities",
            r("Run"), &[("404", "Unknown run, or no run yet"), ("503", "No graph loaded")]),
            &[("id", "path", "string", true), ("limit", "query", "integer", false), ("min_size", "query", "integer", false), ("members", "query", "boolean", false)])},
        "/api/communities/membership": {"post": with_body(op("Community of each ref in a run (latest run by default; null: the entity has none)",
            json!({"type": "object", "properties": {"run": {"type": "integer"}, "generation": {"type": "integer"},
            "communities": {"type": "object", "additionalProperties": {"type": "integer", "nullable": true}}}}),
            &[("404", "Unknown run or ref"), ("503", "No graph loaded")]), json!({"type": "object", "required": ["refs"], "properties": {"run": {"type": "string"},
            "refs": {"type": "array", "maxItems": super::runs::MAX_MEMBERSHIP_REFS, "items": {"type": "string"}}}}))}
    })
}

fn paths_b() -> Value {
    json!({
        "/api/casemaps": {
            "get": with_params(op("Case maps the caller may see (drafts: owner and supervisors only)",
                json!({"type": "array", "items": r("CaseMapMeta")}), &[]), &[("status", "query", "string", false)]),
            "post": with_body(op("Create a case map (version 1, draft)", r("CaseMapMeta"), &[]),
                json!({"allOf": [r("CaseMapContent"), {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]}))},
        "/api/casemaps/{id}": {
            "get": op("Latest version with its header", json!({"type": "object", "properties": {"meta": r("CaseMapMeta"),
                "version": {"type": "integer"}, "content": r("CaseMapContent")}}), &[("404", "Unknown or not visible")]),
            "put": with_body(op("Save a new version (owner; not while submitted or once approved)", r("CaseMapMeta"),
                &[("403", "Not the owner"), ("409", "Under review, approved, or saved since base_version")]),
                json!({"allOf": [r("CaseMapContent"), {"type": "object", "properties": {"name": {"type": "string"},
                    "base_version": {"type": "integer"}}}]}))},
        "/api/casemaps/{id}/versions": {"get": op("Every version", json!({"type": "array"}), &[("404", "Unknown")])},
        "/api/casemaps/{id}/versions/{v}": {"get": op("One version", json!({"type": "object"}), &[("404", "Unknown")])},
        "/api/casemaps/{id}/submit": {"post": op("Submit for review (owner)", r("CaseMapMeta"), &[("403", "Not the owner"), ("409", "Wrong status")])},
        "/api/casemaps/{id}/comments": {"post": with_body(op("Comment (owner, supervisors)", r("CaseMapMeta"), &[("403", "Not allowed")]),
            json!({"type": "object", "properties": {"text": {"type": "string"}}}))},
        "/api/casemaps/{id}/approve": {"post": op("Approve a submitted map (supervisor); optional body {\"text\"}", r("CaseMapMeta"),
            &[("403", "Not a supervisor"), ("409", "Not submitted")])},
        "/api/casemaps/{id}/return": {"post": op("Return a submitted map (supervisor); optional body {\"text\"}", r("CaseMapMeta"),
            &[("403", "Not a supervisor"), ("409", "Not submitted")])},
        "/api/casemaps/{id}/export": {"get": with_params(op("Export as GraphML, GEXF, i2 CSV or FtM JSON lines", json!({"type": "string"}), &[("404", "Unknown")]),
            &[("format", "query", "string", true), ("version", "query", "integer", false)])},
        "/api/audit": {"get": with_params(op("Audit entries, newest first (admin, supervisor)", json!({"type": "array", "items": r("AuditEntry")}),
            &[("403", "Not allowed")]), &[("user", "query", "string", false), ("action", "query", "string", false),
            ("ref", "query", "string", false), ("before", "query", "integer", false), ("limit", "query", "integer", false)])},
        "/api/audit/verify": {"get": op("Recompute the audit hash chain", json!({"type": "object", "properties": {
            "entries": {"type": "integer"}, "ok": {"type": "boolean"}, "first_bad": {"type": "string"}, "reason": {"type": "string"},
            "head": {"type": "string"}}}), &[("403", "Not allowed")])}
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_routed_path_is_documented() {
        let doc = super::document();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/login",
            "/api/expand",
            "/api/path",
            "/api/trace",
            "/api/search",
            "/api/entity/{ref}",
            "/api/evidence",
            "/api/casemaps",
            "/api/casemaps/{id}/approve",
            "/api/casemaps/{id}/export",
            "/api/audit",
            "/api/audit/verify",
            "/api/communities/runs",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert_eq!(doc["openapi"], "3.0.3");
    }
}
