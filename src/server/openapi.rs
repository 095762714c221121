//! The OpenAPI 3 description of the API, served at `GET /api/openapi.json`.

use super::api::Caller;
use super::error::ApiJson;
use super::limits;
use serde_json::{json, Value};

pub async fn serve(_caller: Caller) -> ApiJson<Value> {
    ApiJson(document().clone())
}

/// The answers of one operation: `ok` under its success status, the errors it names, and any other
/// error as the `default` (every error has the same JSON shape).
fn answers(status: &str, ok: Option<Value>, errors: &[(&str, &str)]) -> Value {
    let e = json!({"content": {"application/json": {"schema": r("Error")}}});
    let mut m = serde_json::Map::new();
    let mut success = json!({"description": "OK"});
    if let Some(schema) = ok {
        success["content"] = json!({"application/json": {"schema": schema}});
    }
    m.insert(status.to_string(), success);
    for (code, desc) in [
        ("400", "Bad input; the message says what and which bound"),
        ("401", "No live session"),
    ]
    .iter()
    .chain(errors)
    {
        let mut x = e.clone();
        x["description"] = json!(desc);
        m.insert((*code).to_string(), x);
    }
    let mut x = e;
    x["description"] =
        json!("Any other error (403, 404, 409, 413, 415, 429, 503 …), with its message");
    m.insert("default".into(), x);
    Value::Object(m)
}

fn op(summary: &str, ok: Value, errors: &[(&str, &str)]) -> Value {
    json!({"summary": summary, "responses": answers("200", Some(ok), errors)})
}

fn with_body(mut o: Value, schema: Value) -> Value {
    o["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema}}});
    o
}

fn with_optional_body(mut o: Value, schema: Value) -> Value {
    o = with_body(o, schema);
    o["requestBody"]["required"] = json!(false);
    o
}

/// Query parameters: (name, type, required).
fn with_params(mut o: Value, params: &[(&str, &str, bool)]) -> Value {
    o["parameters"] = Value::Array(
        params
            .iter()
            .map(|(name, ty, req)| json!({"name": name, "in": "query", "required": req, "schema": {"type": ty}}))
            .collect(),
    );
    o
}

/// Declares the `{name}` parameters of each path template on each of its operations, and names
/// each operation after its method and path (`getCasemapsByIdVersionsByV`), as client generators
/// name their methods.
fn finish_operations(paths: &mut Value) {
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    for (template, item) in paths.iter_mut() {
        let names: Vec<&str> = path_params(template).collect();
        for (method, op) in item.as_object_mut().into_iter().flat_map(|o| o.iter_mut()) {
            op["operationId"] = json!(operation_id(method, template));
            let mut params: Vec<Value> = names
                .iter()
                .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
                .collect();
            if let Some(Value::Array(query)) = op.get("parameters") {
                params.extend(query.iter().cloned());
            }
            if !params.is_empty() {
                op["parameters"] = Value::Array(params);
            }
        }
    }
}

/// The `{name}` parameters of a path template.
fn path_params(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
}

fn operation_id(method: &str, template: &str) -> String {
    let mut id = method.to_string();
    for seg in template.trim_start_matches("/api/").split(['/', '.', '_']) {
        let (by, word) = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => ("By", name),
            None => ("", seg),
        };
        id.push_str(by);
        let mut chars = word.chars();
        if let Some(c) = chars.next() {
            id.extend(c.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An object schema: its properties and the required ones (an answer's schema; clients ignore what
/// they do not know, so later members do not break them).
fn obj(required: &[&str], props: Value) -> Value {
    let mut o = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        o["required"] = json!(required); // 3.0: a `required` list is never empty
    }
    o
}

/// A request body's schema: the server refuses any member not listed.
fn closed(required: &[&str], props: Value) -> Value {
    let mut o = obj(required, props);
    o["additionalProperties"] = json!(false);
    o
}

fn list(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn nullable(ty: &str) -> Value {
    json!({"type": ty, "nullable": true})
}

/// The whole document, built once.
pub fn document() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
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
    finish_operations(&mut paths);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "fraudnet API",
            "version": env!("CARGO_PKG_VERSION"),
            "license": {"name": env!("CARGO_PKG_LICENSE")},
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
        "servers": [{"url": "/", "description": "The server that serves this document"}],
        "security": [{"session": []}],
        "paths": paths,
    })
}

fn schemas() -> Value {
    let (int, num, string, boolean) = (
        json!({"type": "integer"}),
        json!({"type": "number"}),
        json!({"type": "string"}),
        json!({"type": "boolean"}),
    );
    let strings = list(string.clone());
    let role =
        json!({"type": "string", "enum": ["investigator", "analyst", "supervisor", "admin"]});
    let map_status =
        json!({"type": "string", "enum": ["draft", "submitted", "approved", "returned"]});
    let first = json!({
        "Error": obj(&["error"], json!({"error": obj(&["code", "message"], json!({"code": string, "message": string}))})),
        "Me": obj(&["user", "role"], json!({"user": string, "role": role})),
        "User": obj(&["name", "role", "created"], json!({"name": string, "role": role, "created": int})),
        "CreatedUser": obj(&["name", "role"], json!({"name": string, "role": role,
            "generated_password": {"type": "string", "description": "Only when the server generated it: shown once"}})),
        "Login": closed(&["user", "password"], json!({"user": string, "password": {"type": "string", "format": "password"}})),
        "Status": obj(&["generation", "loaded", "entities", "links"], json!({"generation": nullable("integer"),
            "loaded": boolean, "entities": int, "links": int})),
        "Entity": obj(&["ref", "kind", "label", "roles", "flags", "degree"], json!({
            "ref": {"type": "string", "example": "phone:+8613800138000"}, "kind": string,
            "label": string, "roles": strings, "flags": strings, "degree": int})),
        "Hub": {"allOf": [r("Entity"), obj(&["hop", "reason"], json!({"hop": int, "reason": string}))]},
        "Link": obj(&["from", "to", "kind", "count", "directed"], json!({
            "from": string, "to": string, "kind": string, "count": int, "amount_fen": int, "duration_s": int,
            "first": {"type": "integer", "description": "Unix seconds"}, "last": int, "directed": boolean})),
        "Step": obj(&["from", "to", "kind", "count", "direction"], json!({"from": string, "to": string,
            "kind": string, "count": int, "direction": {"type": "string", "enum": ["forward", "backward"],
                "description": "`forward` when the path follows the link's own direction"},
            "amount_fen": int, "duration_s": int, "first": int, "last": int})),
        "Lead": obj(&["ref", "kind", "label", "score", "hops", "roles", "components", "reasons", "paths"], json!({
            "ref": string, "kind": string, "label": string, "score": num, "hops": int, "roles": strings,
            "components": {"type": "object", "description": "The score's parts by name, each in [0, 1]",
                "additionalProperties": {"type": "number"}},
            "reasons": strings, "paths": list(list(r("Step")))})),
        "RunInfo": obj(&["run", "algo", "graph", "time", "modularity", "community_count"], json!({"run": int,
            "algo": {"type": "string", "enum": ["leiden", "louvain", "lpa", "wcc"]},
            "graph": {"type": "string", "enum": ["person", "entity"]}, "resolution": num, "seed": int,
            "max_holders": int, "weighting": {"type": "string", "enum": ["operational", "evidence"]},
            "group_params": {"type": "object", "nullable": true, "properties": {"part_density": num, "link_density": num}},
            "time": int, "seconds": num, "modularity": num, "generation": int, "entities": int, "links": int,
            "nodes": int, "edges": int, "community_count": int,
            "cluster": {"type": "object", "nullable": true, "description": "Set when the run was spread over processes",
                "properties": {"processes": int, "workers": int}}})),
        "Run": {"allOf": [r("RunInfo"), obj(&["truncated", "communities", "groups"], json!({"truncated": boolean,
            "communities": list(r("Community")), "groups": list(r("LinkedGroup"))}))]},
        "Community": obj(&["id", "size"], json!({"id": int, "size": int, "members": strings,
            "roles": {"type": "object", "additionalProperties": {"type": "integer"}},
            "key_people": list(obj(&["ref", "why"], json!({"ref": string, "label": string,
                "why": {"type": "string", "enum": ["centre", "money", "broker"]}, "roles": strings,
                "degree": int, "pagerank": num, "betweenness": num,
                "money_in_fen": int, "money_out_fen": int}))),
            "money_in_fen": int, "money_out_fen": int, "money_inside_fen": int,
            "links": list(obj(&["community"], json!({"community": int, "weight": num, "money_fen": int})))})),
        "LinkedGroup": obj(&["id", "community", "size"], json!({"id": int, "community": int, "size": int,
            "parts": list(int.clone()), "members": strings,
            "merges": list(obj(&[], json!({"sizes": list(int.clone()), "weight": num, "ratio": num})))})),
        "Membership": obj(&["run", "generation", "communities"], json!({"run": int, "generation": int,
            "communities": {"type": "object", "additionalProperties": {"type": "integer", "nullable": true}}}))
    });
    let graph = json!({
        "ExpandRequest": closed(&["seeds"], json!({
            "seeds": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": limits::MAX_SEEDS},
            "hops": {"type": "integer", "minimum": 1, "maximum": limits::MAX_HOPS, "default": 3},
            "limit": {"type": "integer", "minimum": 1, "maximum": limits::MAX_LEADS, "default": 200},
            "kinds": strings, "link_kinds": strings,
            "from": {"type": "integer", "description": "Unix seconds: evidence at or after"},
            "to": {"type": "integer", "description": "Unix seconds: evidence at or before"},
            "min_count": {"type": "integer", "minimum": 0}, "min_amount_fen": {"type": "integer", "minimum": 0}})),
        "ExpandResponse": obj(&["generation", "seeds", "leads", "hubs", "links", "stats", "truncated"], json!({
            "generation": int, "seeds": list(r("Entity")),
            "leads": list(r("Lead")), "hubs": list(r("Hub")), "links": list(r("Link")),
            "stats": obj(&["visited", "leads", "hubs", "per_hop", "hub_threshold", "candidates", "hop_limit_reached", "millis"],
                json!({"visited": int, "leads": int, "hubs": int, "per_hop": list(int.clone()), "hub_threshold": int,
                "candidates": int, "hop_limit_reached": boolean, "millis": int})),
            "truncated": boolean, "bound": {"type": "string", "description": "Which bound cut the answer"}})),
        "PathRequest": closed(&["from", "to"], json!({
            "from": string, "to": string,
            "max_len": {"type": "integer", "maximum": limits::MAX_PATH_LEN},
            "k": {"type": "integer", "maximum": limits::MAX_PATHS}, "include_hubs": boolean})),
        "TraceRequest": closed(&["account"], json!({
            "account": string, "direction": {"type": "string", "enum": ["forward", "backward"]},
            "hops": {"type": "integer", "maximum": limits::MAX_TRACE_HOPS}, "window_s": int,
            "from": int, "limit": {"type": "integer", "maximum": limits::MAX_TRACE_ROWS}})),
        "Sink": obj(&["ref", "label", "amount_fen", "unit", "reason", "depth", "owners"], json!({
            "ref": string, "label": string, "amount_fen": int, "unit": string, "reason": string, "depth": int,
            "owners": list(r("Entity"))})),
        "TraceResponse": obj(&["generation", "root", "forward", "flows", "sinks", "entities", "truncated"], json!({
            "generation": int, "root": r("Entity"), "forward": boolean, "start_amount_fen": int,
            "flows": list(obj(&["from", "to", "amount_fen", "time", "depth"], json!({
                "from": string, "to": string, "amount_fen": int, "transferred_fen": int,
                "time": int, "last_time": int, "records": int, "depth": int, "unit": string}))),
            "conversions": list(obj(&["holder", "account", "wallet"], json!({"holder": r("Entity"), "account": string,
                "wallet": string, "cny_fen": int, "usdt_cents": int, "desk_cny_fen": int, "desk_usdt_cents": int}))),
            "sinks": list(r("Sink")), "held": list(r("Sink")), "sinks_fen": int, "held_fen": int,
            "entities": list(r("Entity")), "truncated": boolean, "bound": string, "warning": string}))
    });
    let maps = json!({
        "Evidence": obj(&["from", "to", "kind", "time", "value", "source", "line"], json!({
            "from": string, "to": string, "kind": string, "time": nullable("integer"),
            "value": {"type": "integer", "description": "fen or seconds"},
            "source": {"type": "string", "description": "The file the record was imported from"},
            "line": int, "record": nullable("string"), "detail": nullable("string")})),
        "CaseMapEntity": obj(&["ref"], json!({"ref": string, "label": string, "x": num, "y": num,
            "roles": strings, "community": nullable("integer"), "note": string})),
        "CaseMapLink": obj(&["from", "to", "kind"], json!({"from": string, "to": string, "kind": string,
            "count": int, "amount_fen": nullable("integer"), "duration_s": nullable("integer"),
            "first": nullable("integer"), "last": nullable("integer"), "note": string})),
        "CaseMapContent": obj(&[], json!({
            "entities": list(r("CaseMapEntity")), "links": list(r("CaseMapLink")),
            "notes": string, "queries": list(json!({"type": "object"}))})),
        "CaseMapMeta": obj(&["id", "name", "owner", "status", "version", "created", "updated", "entity_count", "comments", "history"], json!({
            "id": string, "name": string, "owner": string, "status": map_status,
            "version": int, "created": int, "updated": int, "entity_count": int,
            "comments": list(obj(&["user", "role", "time", "text", "version"], json!({"user": string, "role": role,
                "time": int, "text": string, "version": int}))),
            "history": list(obj(&["from", "to", "user", "time", "version"], json!({"from": map_status, "to": map_status,
                "user": string, "time": int, "version": int})))})),
        "CaseMap": obj(&["meta", "version", "content"], json!({"meta": r("CaseMapMeta"), "version": int,
            "content": r("CaseMapContent")})),
        "Comment": closed(&[], json!({"text": string})),
        "AuditEntry": obj(&["seq", "time", "user", "action", "refs", "detail", "prev_hash", "hash"], json!({
            "seq": int, "time": int, "user": string,
            "action": string, "refs": strings,
            "detail": string, "prev_hash": string, "hash": string}))
    });
    let mut all = first;
    for part in [graph, maps] {
        if let (Some(a), Value::Object(b)) = (all.as_object_mut(), part) {
            a.extend(b);
        }
    }
    all
}

fn paths_a(login: Value) -> Value {
    let object = json!({"type": "object"});
    json!({
        "/api/login": {"post": login},
        "/api/logout": {"post": {"summary": "End the session", "responses": answers("204", None, &[])}},
        "/api/me": {"get": op("The logged-in user", r("Me"), &[])},
        "/api/users": {
            "get": op("List accounts (admin)", list(r("User")), &[("403", "Not an admin")]),
            "post": with_body({
                let mut o = json!({"summary": "Create an account (admin); a generated password is returned once",
                    "responses": answers("201", Some(r("CreatedUser")), &[("403", "Not an admin"), ("409", "Name taken")])});
                o["responses"]["201"]["description"] = json!("Created");
                o
            }, closed(&["name", "role"], json!({"name": {"type": "string"}, "role": {"type": "string"},
                "password": {"type": "string", "format": "password"}})))},
        "/api/openapi.json": {"get": op("This document", object.clone(), &[])},
        "/api/status": {"get": op("Snapshot generation", r("Status"), &[])},
        "/api/snapshot/reload": {"post": op("Rebuild the graph snapshot from the store and swap it in (admin)",
            obj(&["generation", "entities", "links", "seconds"], json!({"generation": nullable("integer"),
            "entities": {"type": "integer"}, "links": {"type": "integer"}, "seconds": {"type": "number"}})),
            &[("403", "Not an admin")])},
        "/api/search": {"get": with_params(op("Search names and identifiers; results grouped by kind",
            obj(&["generation", "query", "groups"], json!({"generation": {"type": "integer"}, "query": {"type": "string"},
            "groups": list(obj(&["kind", "items"], json!({"kind": {"type": "string"}, "items": list(r("Entity"))})))})),
            &[("503", "No graph loaded")]),
            &[("q", "string", true), ("limit", "integer", false), ("kind", "string", false)])},
        "/api/entity/{ref}": {"get": with_params(op("An entity with its links", obj(&["generation", "entity", "links", "neighbours", "truncated"], json!({
            "generation": {"type": "integer"}, "entity": r("Entity"), "links": list(r("Link")),
            "neighbours": list(r("Entity")), "truncated": {"type": "boolean"}, "bound": {"type": "string"}})), &[("404", "Unknown entity")]),
            &[("links", "integer", false)])},
        "/api/evidence": {"get": with_params(op("The evidence records of one link", obj(&["generation", "records", "truncated"], json!({
            "generation": {"type": "integer"}, "records": list(r("Evidence")), "truncated": {"type": "boolean"},
            "bound": {"type": "string"}})),
            &[("404", "Unknown entity")]),
            &[("from", "string", true), ("to", "string", true), ("kind", "string", false), ("limit", "integer", false)])},
        "/api/expand": {"post": with_body(op("Ranked, explained leads from seeds", r("ExpandResponse"),
            &[("404", "Unknown seed (message lists near matches)"), ("503", "No graph loaded, or the query hit its time bound")]), r("ExpandRequest"))},
        "/api/path": {"post": with_body(op("Shortest and k shortest paths between two entities",
            obj(&["generation", "paths", "costs"], json!({"generation": {"type": "integer"}, "paths": list(list(r("Step"))),
            "costs": {"type": "array", "items": {"type": "number"}, "description": "Each path's evidence-weighted cost (lower: stronger)"}})),
            &[("404", "Unknown entity")]), r("PathRequest"))},
        "/api/trace": {"post": with_body(op("Money-flow trace in time order, amounts conserved", r("TraceResponse"),
            &[("404", "Unknown account")]), r("TraceRequest"))},
        "/api/communities/runs": {"get": op("Community detection runs, newest first",
            obj(&["runs"], json!({"runs": list(r("RunInfo"))})),
            &[("503", "No graph loaded")])},
        "/api/communities/runs/{id}": {"get": with_params(op("One run (a number or `latest`): its largest communities with size, members by role, key people, money in/out/inside and linked communities",
            r("Run"), &[("404", "Unknown run, or no run yet"), ("503", "No graph loaded")]),
            &[("limit", "integer", false), ("min_size", "integer", false), ("members", "boolean", false)])},
        "/api/communities/membership": {"post": with_body(op("Community of each ref in a run (latest run by default; null: the entity has none)",
            r("Membership"), &[("404", "Unknown run or ref"), ("503", "No graph loaded")]),
            closed(&["refs"], json!({"run": {"type": "string"},
            "refs": {"type": "array", "maxItems": super::runs::MAX_MEMBERSHIP_REFS, "items": {"type": "string"}}})))}
    })
}

fn paths_b() -> Value {
    let export = {
        let mut o = with_params(
            op("Export as GraphML, GEXF, i2 CSV or FtM JSON lines (the PNG is drawn by the viewer)", json!({}), &[("404", "Unknown")]),
            &[("format", "string", true), ("version", "integer", false)],
        );
        o["parameters"][0]["schema"]["enum"] = json!([
            "graphml",
            "gexf",
            "i2",
            "i2csv",
            "csv",
            "ftm",
            "ftm.jsonl",
            "jsonl"
        ]);
        o["responses"]["200"]["content"] = json!({
            "application/graphml+xml": {"schema": {"type": "string"}},
            "application/gexf+xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        });
        o
    };
    let review = |summary: &str, errors: &[(&str, &str)]| {
        with_optional_body(op(summary, r("CaseMapMeta"), errors), r("Comment"))
    };
    json!({
        "/api/casemaps": {
            "get": with_params(op("Case maps the caller may see (drafts: owner and supervisors only)",
                list(r("CaseMapMeta")), &[]), &[("status", "string", false)]),
            "post": with_body({
                let mut o = json!({"summary": "Create a case map (version 1, draft)",
                    "responses": answers("201", Some(r("CaseMapMeta")), &[])});
                o["responses"]["201"]["description"] = json!("Created");
                o
            }, map_body(&["name"], json!({"name": {"type": "string"}})))},
        "/api/casemaps/{id}": {
            "get": op("Latest version with its header", r("CaseMap"), &[("404", "Unknown or not visible")]),
            "put": with_body(op("Save a new version (owner; not while submitted or once approved)", r("CaseMapMeta"),
                &[("403", "Not the owner"), ("409", "Under review, approved, or saved since base_version")]),
                map_body(&[], json!({"name": {"type": "string"}, "base_version": {"type": "integer",
                    "description": "The version the client started from; a save on top of a newer one is refused (409)"}})))},
        "/api/casemaps/{id}/versions": {"get": op("Every version", list(obj(&["version", "entities", "links"],
            json!({"version": {"type": "integer"}, "entities": {"type": "integer"}, "links": {"type": "integer"}}))), &[("404", "Unknown")])},
        "/api/casemaps/{id}/versions/{v}": {"get": op("One version", r("CaseMap"), &[("404", "Unknown")])},
        "/api/casemaps/{id}/submit": {"post": op("Submit for review (owner)", r("CaseMapMeta"), &[("403", "Not the owner"), ("409", "Wrong status")])},
        "/api/casemaps/{id}/comments": {"post": with_body(op("Comment (owner, supervisors)", r("CaseMapMeta"), &[("403", "Not allowed")]),
            r("Comment"))},
        "/api/casemaps/{id}/approve": {"post": review("Approve a submitted map (supervisor), with an optional comment",
            &[("403", "Not a supervisor"), ("409", "Not submitted")])},
        "/api/casemaps/{id}/return": {"post": review("Return a submitted map (supervisor), with an optional comment",
            &[("403", "Not a supervisor"), ("409", "Not submitted")])},
        "/api/casemaps/{id}/export": {"get": export},
        "/api/audit": {"get": with_params(op("Audit entries, newest first (admin, supervisor)", list(r("AuditEntry")),
            &[("403", "Not allowed")]), &[("user", "string", false), ("action", "string", false),
            ("ref", "string", false), ("before", "integer", false), ("limit", "integer", false)])},
        "/api/audit/verify": {"get": op("Recompute the audit hash chain", obj(&["entries", "ok", "first_bad", "reason", "head"], json!({
            "entries": {"type": "integer"}, "ok": {"type": "boolean"},
            "first_bad": {"type": "string", "nullable": true, "description": "The first entry where the chain breaks"},
            "reason": {"type": "string", "nullable": true},
            "head": {"type": "string", "nullable": true, "description": "The last entry's hash: note it elsewhere to anchor the log"}})),
            &[("403", "Not allowed")])}
    })
}

/// A case map's content with `extra` members, as a request body (nothing else is accepted).
fn map_body(required: &[&str], extra: Value) -> Value {
    let mut props = schemas()["CaseMapContent"]["properties"].clone();
    if let (Some(p), Value::Object(x)) = (props.as_object_mut(), extra) {
        p.extend(x);
    }
    closed(required, props)
}

/// Checks answers against the document, for the API tests: every answer the tests receive must be
/// one the document describes (its path, method and status, and the shape of its body), so a client
/// generated from the document can read it.
#[cfg(test)]
pub(crate) mod conformance {
    use serde_json::Value;

    /// The operation `method` on `path` (no query), with the path's template.
    fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> Result<&'d Value, String> {
        let segs: Vec<&str> = path.split('/').collect();
        let paths = doc["paths"].as_object().ok_or("no paths")?;
        let (_, item) = paths
            .iter()
            .find(|(template, _)| {
                let t: Vec<&str> = template.split('/').collect();
                t.len() == segs.len()
                    && t.iter()
                        .zip(&segs)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .ok_or_else(|| format!("{method} {path}: no such path in the document"))?;
        item.get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("{method} {path}: the document has no {method} here"))
    }

    fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> Result<&'d Value, String> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .ok_or_else(|| format!("unsupported $ref {r}"))?;
                doc["components"]["schemas"]
                    .get(name)
                    .ok_or_else(|| format!("dangling $ref {r}"))
            }
            None => Ok(schema),
        }
    }

    /// Checks `v` against `schema` strictly: an object's members must all be declared (unless the
    /// schema allows others, or declares no properties at all), every declared type must match.
    pub fn check(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
        let schema = resolve(doc, schema)?;
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            // the parts together declare the members
            let (mut merged, mut required) = (serde_json::Map::new(), Vec::new());
            for part in parts {
                let part = resolve(doc, part)?;
                if let Some(props) = part.get("properties").and_then(Value::as_object) {
                    merged.extend(props.clone());
                }
                if let Some(r) = part.get("required").and_then(Value::as_array) {
                    required.extend(r.iter().cloned());
                }
            }
            let whole =
                serde_json::json!({"type": "object", "properties": merged, "required": required});
            return check(doc, &whole, v, at);
        }
        if v.is_null() {
            return if schema.get("nullable") == Some(&Value::Bool(true))
                || schema.as_object().is_some_and(|o| o.is_empty())
            {
                Ok(())
            } else {
                Err(format!("{at}: null, and the schema is not nullable"))
            };
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(v) {
                return Err(format!("{at}: {v} is not one of {options:?}"));
            }
        }
        let ty = match schema.get("type") {
            None => return Ok(()),
            Some(Value::String(t)) => t.as_str(),
            Some(t) => return Err(format!("{at}: type {t} is not an OpenAPI 3.0 type")),
        };
        let fits = match ty {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            other => return Err(format!("{at}: unknown type {other}")),
        };
        if !fits {
            return Err(format!("{at}: {} where the document says {ty}", short(v)));
        }
        if let (Some(items), Some(xs)) = (schema.get("items"), v.as_array()) {
            for (k, x) in xs.iter().enumerate() {
                check(doc, items, x, &format!("{at}/{k}"))?;
            }
        }
        if let Some(o) = v.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = r.as_str().unwrap_or_default();
                if !o.contains_key(r) {
                    return Err(format!("{at}: required `{r}` missing"));
                }
            }
            for (k, x) in o {
                let at = format!("{at}/{k}");
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(s), _) => check(doc, s, x, &at)?,
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(s)) if s.is_object() => check(doc, s, x, &at)?,
                    (None, None) if props.is_none() => {}
                    (None, _) => return Err(format!("{at}: not in the document")),
                }
            }
        }
        Ok(())
    }

    fn short(v: &Value) -> String {
        let s = v.to_string();
        if s.len() > 80 {
            format!("{}…", &s[..s.floor_char_boundary(80)])
        } else {
            s
        }
    }

    /// Checks an answer: its status is documented for the operation (or by its `default`), and a
    /// JSON body matches the documented schema of that status.
    pub fn answer(
        doc: &Value,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Result<(), String> {
        let op = operation(doc, method, path)?;
        let responses = &op["responses"];
        let resp = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("{method} {path}: status {status} is not documented"))?;
        let content = resp["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>());
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match &content {
            None if body.as_str().is_some_and(str::is_empty) => return Ok(()),
            None => {
                return Err(format!(
                    "{method} {path} {status}: a body the document does not describe"
                ))
            }
            Some(types) if !types.iter().any(|t| t == media) => {
                return Err(format!(
                    "{method} {path} {status}: {media} where the document says {types:?}"
                ))
            }
            Some(_) => {}
        }
        if media != "application/json" {
            return Ok(());
        }
        let schema = &resp["content"][media]["schema"];
        check(doc, schema, body, &format!("{method} {path} {status} body"))
    }

    /// Checks a request body the server accepted against the documented request schema.
    pub fn request(doc: &Value, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let op = operation(doc, method, path)?;
        match op.get("requestBody") {
            Some(rb) => check(
                doc,
                &rb["content"]["application/json"]["schema"],
                body,
                &format!("{method} {path} request"),
            ),
            None => Err(format!(
                "{method} {path}: accepted a body the document does not describe"
            )),
        }
    }

    /// Structural rules a generator relies on: every `{param}` of a path is declared as a path
    /// parameter of each of its operations, every `$ref` resolves, types are 3.0 types.
    pub fn well_formed(doc: &Value) -> Result<(), String> {
        // `names`: `v` maps names to schemas (properties, components), it is no schema itself
        fn walk(doc: &Value, v: &Value, at: &str, names: bool) -> Result<(), String> {
            match v {
                Value::Object(o) => {
                    if !names {
                        if o.contains_key("$ref") {
                            resolve(doc, v).map_err(|e| format!("{at}: {e}"))?;
                        }
                        if let Some(t) = o.get("type").filter(|t| !t.is_string()) {
                            return Err(format!("{at}: type {t} is not an OpenAPI 3.0 type"));
                        }
                        if o.get("required")
                            .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty))
                        {
                            return Err(format!("{at}: an empty `required` list"));
                        }
                    }
                    for (k, x) in o {
                        let maps = !names
                            && matches!(
                                k.as_str(),
                                "properties" | "schemas" | "paths" | "responses" | "content"
                            );
                        walk(doc, x, &format!("{at}/{k}"), maps)?;
                    }
                }
                Value::Array(xs) => {
                    for (k, x) in xs.iter().enumerate() {
                        walk(doc, x, &format!("{at}/{k}"), false)?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        walk(doc, doc, "#", false)?;
        let mut ids = std::collections::HashSet::new();
        for (template, item) in doc["paths"].as_object().ok_or("no paths")? {
            for (method, op) in item.as_object().ok_or("a path item is no object")? {
                let id = op["operationId"]
                    .as_str()
                    .ok_or(format!("{method} {template}: no operationId"))?;
                if !ids.insert(id) {
                    return Err(format!("{method} {template}: operationId {id} is taken"));
                }
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for w in super::path_params(template) {
                    if !declared.contains(&w) {
                        return Err(format!(
                            "{method} {template}: path parameter `{w}` is not declared"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_routed_path_is_documented() {
        let doc = super::document().clone();
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
        assert_eq!(
            doc["paths"]["/api/casemaps/{id}/versions/{v}"]["get"]["operationId"],
            "getCasemapsByIdVersionsByV"
        );
        assert_eq!(
            doc["paths"]["/api/openapi.json"]["get"]["operationId"],
            "getOpenapiJson"
        );
        if let Err(e) = super::conformance::well_formed(&doc) {
            panic!("the API document is not well formed: {e}");
        }
    }

    #[test]
    fn answers_that_drift_from_the_document_are_caught() {
        use super::conformance::{answer, check};
        use serde_json::json;
        let doc = super::document().clone();
        let entity = json!({"ref": "phone:+8613800138000", "kind": "phone", "label": "", "roles": [],
            "flags": [], "degree": 3});
        let schema = json!({"$ref": "#/components/schemas/Entity"});
        assert_eq!(check(&doc, &schema, &entity, "e"), Ok(()));
        let mut extra = entity.clone();
        extra["colour"] = json!("red");
        assert!(check(&doc, &schema, &extra, "e")
            .unwrap_err()
            .contains("e/colour: not in the document"));
        let mut missing = entity.clone();
        missing.as_object_mut().unwrap().remove("degree");
        assert!(check(&doc, &schema, &missing, "e")
            .unwrap_err()
            .contains("required `degree`"));
        let mut wrong = entity.clone();
        wrong["degree"] = json!("3");
        assert!(check(&doc, &schema, &wrong, "e")
            .unwrap_err()
            .contains("where the document says integer"));
        // members of every part of an allOf are declared; a nullable member may be null
        let hub = {
            let mut h = entity.clone();
            h["hop"] = json!(2);
            h["reason"] = json!("degree");
            h
        };
        assert_eq!(
            check(
                &doc,
                &json!({"$ref": "#/components/schemas/Hub"}),
                &hub,
                "h"
            ),
            Ok(())
        );
        let status = json!({"generation": null, "loaded": false, "entities": 0, "links": 0});
        assert_eq!(
            answer(&doc, "GET", "/api/status", 200, "application/json", &status),
            Ok(())
        );
        // statuses and media types
        let err = json!({"error": {"code": "conflict", "message": "not submitted"}});
        assert_eq!(
            answer(
                &doc,
                "POST",
                "/api/casemaps/cm-1/approve",
                409,
                "application/json",
                &err
            ),
            Ok(())
        );
        assert!(answer(&doc, "GET", "/api/status", 200, "text/html", &status).is_err());
        assert!(answer(
            &doc,
            "GET",
            "/api/nowhere",
            200,
            "application/json",
            &status
        )
        .unwrap_err()
        .contains("no such path"));
    }
}
