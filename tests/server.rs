//! `vecstore-server` through a real HTTP client (reqwest), the built binary on an ephemeral port:
//! every route, every error row that can be caused from outside, the 401/403 matrix, quotas, rate
//! limits, body limits, suspension, backup/restore, maintenance and graceful shutdown.

mod server_common;

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};
use server_common::{expect_error, json, ok, vector, Server};

fn create_ns(s: &Server, id: &str, quotas: Value) {
    let (st, body) =
        json(s.post("/admin/namespaces", &json!({"id": id, "name": format!("ns {id}"), "quotas": quotas})));
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["id"], id);
}

fn ids(results: &Value) -> Vec<String> {
    results["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_data_and_admin_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::namespaces(dir.path());
    // The guide's create request, verbatim.
    let (st, created) = json(s.post(
        "/admin/namespaces",
        &json!({"id": "customer-123", "name": "Acme Corp", "quotas": {"max_vectors": 1000000,
            "max_storage_bytes": 10737418240u64, "max_requests_per_second": 100.0}}),
    ));
    assert_eq!(st, 201);
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["status"], "active");
    assert_eq!(created["quotas"]["max_vectors"], 1000000);
    let ns = "/v1/namespaces/customer-123";

    // upsert, get
    ok(s.post(
        &format!("{ns}/upsert"),
        &json!({"id": "a", "vector": [1.0, 0.0, 0.0], "metadata": {"category": "tech"}}),
    ));
    let rec = ok(s.get(&format!("{ns}/vectors/a")));
    assert_eq!(rec["id"], "a");
    assert_eq!(rec["metadata"]["category"], "tech");
    assert_eq!(rec["vector"].as_array().unwrap().len(), 3);
    // upsert-many and batch-upsert
    let many = json!({"records": [
        {"id": "b", "vector": [0.9, 0.1, 0.0], "metadata": {"category": "tech"}},
        {"id": "c", "vector": [0.0, 1.0, 0.0], "metadata": {"category": "food"}}]});
    assert_eq!(ok(s.post(&format!("{ns}/upsert-many"), &many))["upserted"], 2);
    let more = json!({"records": [{"id": "d", "vector": [0.0, 0.0, 1.0]}]});
    assert_eq!(ok(s.post(&format!("{ns}/batch-upsert"), &more))["upserted"], 1);
    // query, with and without a filter
    let r = ok(s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0, 0.0], "limit": 2})));
    assert_eq!(ids(&r), ["a", "b"]);
    assert!((r["results"][0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-5);
    assert_eq!(r["results"][0]["metadata"]["category"], "tech");
    let r = ok(s.post(
        &format!("{ns}/query"),
        &json!({"vector": [0.0, 1.0, 0.0], "limit": 5, "filter": "category = 'tech'", "ef_search": 32}),
    ));
    assert_eq!(ids(&r), ["b", "a"]);
    // explain and estimate
    let e = ok(s.post(
        &format!("{ns}/query-explain"),
        &json!({"vector": [1.0, 0.0, 0.0], "limit": 1, "filter": "category = 'tech'"}),
    ));
    let x = &e["results"][0]["explanation"];
    assert_eq!(e["results"][0]["id"], "a");
    assert_eq!(x["rank"], 1);
    assert_eq!(x["distance_metric"], "Cosine");
    assert_eq!(x["filter_passed"], true);
    assert_eq!(x["filter_details"]["passed"], true);
    assert!(x["graph_stats"]["distance_calculations"].as_u64().unwrap() > 0);
    assert!(x["explanation_text"].as_str().unwrap().starts_with("Ranked #1"));
    let est = ok(s.post(
        &format!("{ns}/query-estimate"),
        &json!({"vector": [0.1, 0.2, 0.3], "limit": 10, "filter": "category = 'tech'"}),
    ));
    assert_eq!(est["valid"], true);
    for f in [
        "errors",
        "cost_estimate",
        "estimated_distance_calculations",
        "estimated_nodes_visited",
        "will_overfetch",
        "recommendations",
        "estimated_duration_ms",
    ] {
        assert!(est.get(f).is_some(), "{f} missing: {est}");
    }
    let bad = ok(s.post(&format!("{ns}/query-estimate"), &json!({"vector": [0.1, 0.2], "limit": 0})));
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2, "{bad}");
    // soft delete, restore, metadata, ttl, delete
    ok(s.post_empty(&format!("{ns}/soft-delete/a")));
    expect_error(s.get(&format!("{ns}/vectors/a")), 404, "not_found");
    ok(s.post_empty(&format!("{ns}/restore/a")));
    ok(s.get(&format!("{ns}/vectors/a")));
    ok(s.put(&format!("{ns}/metadata/a"), &json!({"metadata": {"category": "science"}})));
    assert_eq!(ok(s.get(&format!("{ns}/vectors/a")))["metadata"]["category"], "science");
    ok(s.put(&format!("{ns}/ttl/d"), &json!({"ttl_seconds": 1})));
    std::thread::sleep(Duration::from_millis(2100));
    expect_error(s.get(&format!("{ns}/vectors/d")), 404, "not_found");
    assert_eq!(ok(s.post_empty(&format!("{ns}/expire-ttl")))["expired"], 1);
    ok(s.delete(&format!("{ns}/vectors/c")));
    expect_error(s.delete(&format!("{ns}/vectors/c")), 404, "not_found");
    // batch-execute, the guide's request
    let b = ok(s.post(
        &format!("{ns}/batch-execute"),
        &json!({"operations": [
        {"op": "upsert", "id": "doc1", "vector": [0.1, 0.2, 0.3], "metadata": {}},
        {"op": "delete", "id": "doc2"},
        {"op": "soft_delete", "id": "doc3"}]}),
    ));
    assert_eq!(b["succeeded"], 1);
    assert_eq!(b["failed"], 2);
    assert_eq!(b["errors"][1]["index"], 2);
    assert_eq!(b["errors"][1]["operation"], "soft_delete(doc3)");
    assert_eq!(b["errors"][1]["code"], "not_found");
    assert!(b["duration_ms"].as_f64().is_some());
    // compaction
    ok(s.post_empty(&format!("{ns}/soft-delete/doc1")));
    let cfg = ok(s.put(
        &format!("{ns}/compaction-config"),
        &json!({"enabled": true, "min_deleted_records": 1, "min_deleted_ratio": 0.5}),
    ));
    assert_eq!(cfg["enabled"], true);
    assert_eq!(ok(s.get(&format!("{ns}/compaction-config")))["min_deleted_records"], 1);
    let m = ok(s.post_empty(&format!("{ns}/maybe-compact")));
    assert_eq!(m["triggered"], true, "{m}");
    assert_eq!(m["removed_count"], 1);
    assert!(m["reason"].as_str().is_some());
    assert_eq!(ok(s.post_empty(&format!("{ns}/compact")))["removed_count"], 0);
    let st = ok(s.get(&format!("{ns}/stats")));
    assert_eq!(st["count"], 2, "{st}");
    assert_eq!(st["dimension"], 3);
    assert_eq!(st["metric"], "cosine");
    assert_eq!(st["tombstones"], 0);

    // The same routes directly under /v1 with X-Namespace (no token: loopback, no auth).
    let r = s
        .client
        .post(s.url("/v1/query"))
        .header("X-Namespace", "customer-123")
        .json(&json!({"vector": [1.0, 0.0, 0.0], "limit": 1}))
        .send()
        .unwrap();
    assert_eq!(ids(&ok(r)), ["a"]);
    expect_error(s.post("/v1/query", &json!({"vector": [1.0, 0.0, 0.0]})), 400, "invalid_argument");

    // admin: list, get, quotas, status, stats
    let l = ok(s.get("/admin/namespaces"));
    assert_eq!(l["namespaces"].as_array().unwrap().len(), 1);
    assert_eq!(ok(s.get("/admin/namespaces/customer-123"))["name"], "Acme Corp");
    let q = ok(s.put("/admin/namespaces/customer-123/quotas", &json!({"max_vectors": 5})));
    assert_eq!(q["quotas"]["max_vectors"], 5);
    assert_eq!(q["quotas"]["max_requests_per_second"], 0.0);
    let stats = ok(s.get("/admin/namespaces/customer-123/stats"));
    assert_eq!(stats["vector_count"], 2);
    assert!(stats["requests"]["query"]["served"].as_u64().unwrap() >= 4, "{stats}");
    assert!(stats["storage_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        ok(s.put("/admin/namespaces/customer-123/status", &json!({"status": "suspended"})))["status"],
        "suspended"
    );
    expect_error(
        s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0, 0.0]})),
        403,
        "namespace_suspended",
    );
    expect_error(
        s.post(&format!("{ns}/upsert"), &json!({"id": "z", "vector": [1.0, 0.0, 0.0]})),
        403,
        "namespace_suspended",
    );
    assert_eq!(
        ok(s.put("/admin/namespaces/customer-123/status", &json!({"status": "active"})))["status"],
        "active"
    );
    expect_error(
        s.put("/admin/namespaces/customer-123/status", &json!({"status": "paused"})),
        400,
        "invalid_argument",
    );

    // backups: a restored namespace answers as at backup time
    let before = ok(s.post(&format!("{ns}/query"), &json!({"vector": [0.5, 0.5, 0.0], "limit": 10})));
    let bk = json(s.post("/admin/namespaces/customer-123/backups", &json!({"name": "daily-1"})));
    assert_eq!(bk.0, 201, "{}", bk.1);
    assert_eq!(bk.1["vector_count"], 2);
    expect_error(
        s.post("/admin/namespaces/customer-123/backups", &json!({"name": "daily-1"})),
        409,
        "already_exists",
    );
    ok(s.post(&format!("{ns}/upsert"), &json!({"id": "after", "vector": [0.5, 0.5, 0.0]})));
    ok(s.delete(&format!("{ns}/vectors/a")));
    assert_ne!(ok(s.post(&format!("{ns}/query"), &json!({"vector": [0.5, 0.5, 0.0], "limit": 10}))), before);
    let list = ok(s.get("/admin/namespaces/customer-123/backups"));
    assert_eq!(list["backups"][0]["name"], "daily-1");
    ok(s.post_empty("/admin/namespaces/customer-123/backups/daily-1/restore"));
    assert_eq!(ok(s.post(&format!("{ns}/query"), &json!({"vector": [0.5, 0.5, 0.0], "limit": 10}))), before);
    expect_error(s.post_empty("/admin/namespaces/customer-123/backups/nope/restore"), 404, "not_found");
    ok(s.delete("/admin/namespaces/customer-123/backups/daily-1"));
    assert_eq!(ok(s.get("/admin/namespaces/customer-123/backups"))["backups"].as_array().unwrap().len(), 0);

    // keys: created once with the key, listed without it, deleted
    let (st, k) = json(s.post("/admin/namespaces/customer-123/keys", &json!({"role": "read_only"})));
    assert_eq!(st, 201);
    let key = k["key"].as_str().unwrap().to_string();
    let key_id = k["key_id"].as_str().unwrap().to_string();
    assert_eq!(k["role"], "read_only");
    let keys = ok(s.get("/admin/namespaces/customer-123/keys"));
    assert_eq!(keys["keys"][0]["key_id"], key_id.as_str());
    assert!(keys["keys"][0].get("key").is_none());
    assert!(!serde_json::to_string(&keys).unwrap().contains(&key));
    let on_disk = std::fs::read_to_string(dir.path().join("server-keys.json")).unwrap();
    assert!(on_disk.contains(&key_id) && !on_disk.contains(&key), "keys are stored hashed");
    ok(s.delete(&format!("/admin/namespaces/customer-123/keys/{key_id}")));
    expect_error(s.delete(&format!("/admin/namespaces/customer-123/keys/{key_id}")), 404, "not_found");
    expect_error(
        s.post("/admin/namespaces/customer-123/keys", &json!({"role": "owner"})),
        400,
        "invalid_argument",
    );

    // namespace with its own dimension and metric
    let (st, _) = json(
        s.post("/admin/namespaces", &json!({"id": "e2", "name": "x", "dimension": 2, "metric": "euclidean"})),
    );
    assert_eq!(st, 201);
    expect_error(
        s.post("/v1/namespaces/e2/upsert", &json!({"id": "p", "vector": [1.0, 2.0, 3.0]})),
        400,
        "dimension_mismatch",
    );
    ok(s.post("/v1/namespaces/e2/upsert", &json!({"id": "p", "vector": [1.0, 2.0]})));
    assert_eq!(ok(s.get("/v1/namespaces/e2/stats"))["metric"], "euclidean");

    // delete
    assert_eq!(ok(s.delete("/admin/namespaces/customer-123"))["deleted"], "customer-123");
    expect_error(s.get("/admin/namespaces/customer-123"), 404, "not_found");
    expect_error(s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0, 0.0]})), 404, "not_found");
    assert_eq!(s.stop(), 0);
}

#[test]
fn error_table_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&[
        "--namespaces",
        "--namespace-root",
        dir.path().to_str().unwrap(),
        "--max-body-bytes",
        "4096",
    ]);
    create_ns(&s, "t", json!({"max_vectors": 3}));
    let ns = "/v1/namespaces/t";
    ok(s.post(&format!("{ns}/upsert"), &json!({"id": "a", "vector": [1.0, 0.0]})));
    // 400 invalid_argument: bad JSON, wrong shape, k = 0, unknown field
    let r = s
        .client
        .post(s.url(&format!("{ns}/query")))
        .header("content-type", "application/json")
        .body("{\"vector\": [1,")
        .send()
        .unwrap();
    expect_error(r, 400, "invalid_argument");
    expect_error(s.post(&format!("{ns}/query"), &json!({"vector": "x"})), 400, "invalid_argument");
    expect_error(
        s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0], "limit": 0})),
        400,
        "invalid_argument",
    );
    expect_error(
        s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0], "bogus": 1})),
        400,
        "invalid_argument",
    );
    // 400 dimension_mismatch, filter_syntax
    expect_error(
        s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0, 0.0]})),
        400,
        "dimension_mismatch",
    );
    let e = expect_error(
        s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0], "filter": "category = "})),
        400,
        "filter_syntax",
    );
    assert!(e["error"].as_str().unwrap().contains("position"), "{e}");
    // 404 not_found: record, namespace, route
    expect_error(s.get(&format!("{ns}/vectors/zz")), 404, "not_found");
    expect_error(s.get("/v1/namespaces/nope/stats"), 404, "not_found");
    expect_error(s.get("/no/such/route"), 404, "not_found");
    // 405 method_not_allowed
    expect_error(s.get(&format!("{ns}/query")), 405, "method_not_allowed");
    // 409 already_exists
    expect_error(s.post("/admin/namespaces", &json!({"id": "t", "name": "again"})), 409, "already_exists");
    // 413 payload_too_large, with the limit in the message
    let big = json!({"id": "b", "vector": vec![0.5f32; 2000]});
    let e = expect_error(s.post(&format!("{ns}/upsert"), &big), 413, "payload_too_large");
    assert!(e["error"].as_str().unwrap().contains("4096"), "{e}");
    // 415 unsupported_media_type
    let r = s
        .client
        .post(s.url(&format!("{ns}/query")))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    expect_error(r, 415, "unsupported_media_type");
    // 422 quota_exceeded: neither a batch nor a bulk upsert slips past max_vectors, and nothing is written
    let ops: Vec<Value> =
        (0..3).map(|i| json!({"op": "upsert", "id": format!("q{i}"), "vector": [1.0, i as f32]})).collect();
    expect_error(s.post(&format!("{ns}/batch-execute"), &json!({"operations": ops})), 422, "quota_exceeded");
    let recs: Vec<Value> =
        (0..3).map(|i| json!({"id": format!("q{i}"), "vector": [1.0, i as f32]})).collect();
    expect_error(s.post(&format!("{ns}/upsert-many"), &json!({"records": recs})), 422, "quota_exceeded");
    assert_eq!(ok(s.get(&format!("{ns}/stats")))["count"], 1);
    let two: Vec<Value> =
        (0..2).map(|i| json!({"op": "upsert", "id": format!("q{i}"), "vector": [1.0, i as f32]})).collect();
    assert_eq!(ok(s.post(&format!("{ns}/batch-execute"), &json!({"operations": two})))["succeeded"], 2);
    expect_error(
        s.post(&format!("{ns}/upsert"), &json!({"id": "over", "vector": [1.0, 0.0]})),
        422,
        "quota_exceeded",
    );
    // 429 rate_limited with Retry-After in whole seconds
    ok(s.put("/admin/namespaces/t/quotas", &json!({"max_requests_per_second": 0.5})));
    let mut limited = None;
    for _ in 0..5 {
        let r = s.get(&format!("{ns}/stats"));
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 within 5 calls at 0.5 requests per second");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, 2);
    expect_error(r, 429, "rate_limited");
    let metrics = s.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("vecstore_refusals_total{namespace=\"t\",reason=\"rate_limited\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vecstore_refusals_total{namespace=\"t\",reason=\"quota_exceeded\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("vecstore_http_requests_total{method=\"POST\",route=\"/v1/namespaces/{id}/query\",status=\"400\"}"), "{metrics}");
    assert!(metrics.contains("vecstore_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("vecstore_namespace_vectors{namespace=\"t\"} 3"), "{metrics}");
    assert!(metrics.contains("vecstore_namespace_storage_bytes{namespace=\"t\"}"));
    // 409 locked: a second server on the same root refuses to start, naming the reason
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vecstore-server"))
        .args(["--namespaces", "--namespace-root", dir.path().to_str().unwrap(), "--http-port", "0"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already open"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.stop(), 0);
}

#[test]
fn auth_matrix_two_namespaces_two_roles() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&[
        "--namespaces",
        "--namespace-root",
        dir.path().to_str().unwrap(),
        "--admin-token",
        "s3cret-admin",
    ]);
    create_ns(&s, "a", json!({}));
    create_ns(&s, "b", json!({}));
    let key = |ns: &str, role: &str| {
        let (st, k) = json(s.post(&format!("/admin/namespaces/{ns}/keys"), &json!({"role": role})));
        assert_eq!(st, 201);
        k["key"].as_str().unwrap().to_string()
    };
    let (rw_a, ro_a, rw_b, ro_b) =
        (key("a", "read_write"), key("a", "read_only"), key("b", "read_write"), key("b", "read_only"));
    let up = json!({"id": "x", "vector": [1.0, 0.0]});
    let q = json!({"vector": [1.0, 0.0], "limit": 1});
    // No credentials or wrong ones: 401 everywhere but /health, /ready, /openapi.json.
    for k in [None, Some("wrong"), Some("vsk_000000000000_00")] {
        expect_error(s.with_key("GET", "/admin/namespaces", k, None), 401, "unauthorized");
        expect_error(s.with_key("POST", "/v1/namespaces/a/query", k, Some(&q)), 401, "unauthorized");
        expect_error(s.with_key("POST", "/v1/query", k, Some(&q)), 401, "unauthorized");
        expect_error(s.with_key("GET", "/metrics", k, None), 401, "unauthorized");
    }
    for p in ["/health", "/ready", "/openapi.json"] {
        assert_eq!(s.with_key("GET", p, None, None).status(), 200, "{p}");
    }
    // The matrix: (key, its namespace) against each namespace, reading and writing.
    for (k, home, writes) in
        [(&rw_a, "a", true), (&ro_a, "a", false), (&rw_b, "b", true), (&ro_b, "b", false)]
    {
        for ns in ["a", "b"] {
            let w = s.with_key("POST", &format!("/v1/namespaces/{ns}/upsert"), Some(k), Some(&up));
            let r = s.with_key("POST", &format!("/v1/namespaces/{ns}/query"), Some(k), Some(&q));
            let g = s.with_key("GET", &format!("/v1/namespaces/{ns}/stats"), Some(k), None);
            if ns == home {
                if writes {
                    ok(w);
                } else {
                    expect_error(w, 403, "forbidden");
                }
                ok(r);
                ok(g);
            } else {
                expect_error(w, 403, "forbidden");
                expect_error(r, 403, "forbidden");
                expect_error(g, 403, "forbidden");
            }
        }
        // A namespace key never reaches /admin or /metrics.
        expect_error(s.with_key("GET", "/admin/namespaces", Some(k), None), 403, "forbidden");
        expect_error(s.with_key("GET", "/metrics", Some(k), None), 403, "forbidden");
        expect_error(
            s.with_key(
                "POST",
                &format!("/admin/namespaces/{home}/keys"),
                Some(k),
                Some(&json!({"role": "read_write"})),
            ),
            403,
            "forbidden",
        );
        // /v1/... serves the key's own namespace.
        let r = ok(s.with_key("POST", "/v1/query", Some(k), Some(&q)));
        assert_eq!(ids(&r), ["x"]);
    }
    // The api-key header works like Authorization.
    let r = s.client.post(s.url("/v1/query")).header("api-key", &ro_a).json(&q).send().unwrap();
    ok(r);
    // The admin token reaches everything.
    ok(s.post("/v1/namespaces/b/upsert", &json!({"id": "y", "vector": [0.0, 1.0]})));
    assert!(s.get("/metrics").status().is_success());
    // A deleted key stops working at once.
    let keys = ok(s.get("/admin/namespaces/a/keys"));
    for k in keys["keys"].as_array().unwrap() {
        ok(s.delete(&format!("/admin/namespaces/a/keys/{}", k["key_id"].as_str().unwrap())));
    }
    expect_error(s.with_key("POST", "/v1/query", Some(&rw_a), Some(&q)), 401, "unauthorized");
    // Keys survive a restart (stored hashed in the root).
    assert_eq!(s.stop(), 0);
    let s = Server::start(&[
        "--namespaces",
        "--namespace-root",
        dir.path().to_str().unwrap(),
        "--admin-token",
        "s3cret-admin",
    ]);
    ok(s.with_key("POST", "/v1/query", Some(&rw_b), Some(&q)));
    expect_error(s.with_key("POST", "/v1/query", Some(&ro_a), Some(&q)), 401, "unauthorized");
    assert_eq!(s.stop(), 0);
}

#[test]
fn hostile_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::namespaces(dir.path());
    create_ns(&s, "h", json!({}));
    let ns = "/v1/namespaces/h";
    ok(s.post(&format!("{ns}/upsert"), &json!({"id": "a", "vector": [1.0, 0.0]})));
    // Namespace ids and backup names with '/', '..', NUL, over-long.
    for id in ["../x", "a/b", "..", "a\0b", &"z".repeat(65), ".hidden", ""] {
        expect_error(s.post("/admin/namespaces", &json!({"id": id, "name": "x"})), 400, "invalid_argument");
        expect_error(s.post("/admin/namespaces/h/backups", &json!({"name": id})), 400, "invalid_argument");
    }
    for path in ["/admin/namespaces/..%2Fx", "/admin/namespaces/a%00b", "/v1/namespaces/..%2F..%2Fetc/stats"]
    {
        let r = s.get(path);
        assert!(r.status() == 400 || r.status() == 404, "{path}: {}", r.status());
        json(r);
    }
    assert_eq!(ok(s.get("/admin/namespaces"))["namespaces"].as_array().unwrap().len(), 1);
    // Record ids: NUL and over-long.
    expect_error(
        s.post(&format!("{ns}/upsert"), &json!({"id": "a\0b", "vector": [1.0, 0.0]})),
        400,
        "invalid_argument",
    );
    expect_error(
        s.post(&format!("{ns}/upsert"), &json!({"id": "x".repeat(5000), "vector": [1.0, 0.0]})),
        400,
        "invalid_argument",
    );
    // NaN (not JSON), huge numbers.
    let raw = |path: &str, body: &str| {
        s.client
            .post(s.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    };
    expect_error(raw(&format!("{ns}/upsert"), r#"{"id":"n","vector":[NaN,1]}"#), 400, "invalid_argument");
    expect_error(raw(&format!("{ns}/upsert"), r#"{"id":"n","vector":[1e300,1]}"#), 400, "invalid_argument");
    expect_error(raw(&format!("{ns}/query"), r#"{"vector":[1,0],"limit":1e30}"#), 400, "invalid_argument");
    expect_error(
        raw(&format!("{ns}/query"), r#"{"vector":[1,0],"limit":99999999999999999999999}"#),
        400,
        "invalid_argument",
    );
    let r = s
        .client
        .put(s.url("/admin/namespaces/h/quotas"))
        .header("content-type", "application/json")
        .body(r#"{"max_requests_per_second":-1}"#)
        .send()
        .unwrap();
    expect_error(r, 400, "invalid_argument");
    // A 10k-element filter and deeply nested JSON.
    let list: Vec<String> = (0..10_000).map(|i| format!("'v{i}'")).collect();
    let f = format!("category IN ({})", list.join(", "));
    let r = s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0], "filter": f}));
    assert!(r.status().is_success() || r.status().is_client_error(), "{}", r.status());
    json(r);
    let ors: Vec<String> = (0..10_000).map(|i| format!("x = {i}")).collect();
    let r = s.post(&format!("{ns}/query"), &json!({"vector": [1.0, 0.0], "filter": ors.join(" OR ")}));
    assert!(r.status().is_success() || r.status().is_client_error(), "{}", r.status());
    json(r);
    let deep = format!("{{\"operations\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    expect_error(raw(&format!("{ns}/batch-execute"), &deep), 400, "invalid_argument");
    let deep_meta = format!(
        "{{\"id\":\"d\",\"vector\":[1,0],\"metadata\":{}1{}}}",
        "{\"a\":".repeat(5000),
        "}".repeat(5000)
    );
    expect_error(raw(&format!("{ns}/upsert"), &deep_meta), 400, "invalid_argument");
    // A body that is cut off: Content-Length promises more than is sent, then the client closes.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    let body = r#"{"id":"cut","vector":[1,0]}"#;
    write!(tcp, "POST {ns}/upsert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{}", &body[..10]).unwrap();
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
    // Nothing changed.
    let st = ok(s.get(&format!("{ns}/stats")));
    assert_eq!(st["count"], 1, "{st}");
    expect_error(s.get(&format!("{ns}/vectors/cut")), 404, "not_found");
    assert_eq!(s.stop(), 0);
}

#[test]
fn single_store_mode_metrics_openapi_and_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let s = Server::start(&[
        "--db-path",
        db.to_str().unwrap(),
        "--dimension",
        "2",
        "--metric",
        "dot",
        "--maintenance-interval",
        "0.2",
    ]);
    assert_eq!(ok(s.get("/health"))["mode"], "single");
    ok(s.post("/v1/upsert", &json!({"id": "a", "vector": [1.0, 2.0], "metadata": {"k": [1, "x"]}})));
    ok(s.post("/v1/upsert", &json!({"id": "t", "vector": [1.0, 1.0], "ttl_seconds": 1})));
    let r = ok(s.post("/v1/query", &json!({"vector": [1.0, 0.0], "k": 5})));
    assert_eq!(ids(&r), ["a", "t"]);
    assert_eq!(r["results"][0]["score"], 1.0);
    // The maintenance thread expires the TTL record by itself.
    let start = std::time::Instant::now();
    loop {
        let st = ok(s.get("/v1/stats"));
        if st["tombstones"] == 1 && st["expired"] == 0 {
            assert_eq!(st["count"], 1);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "maintenance never expired the record: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    expect_error(s.get("/admin/namespaces"), 404, "not_found");
    expect_error(s.post("/v1/namespaces/x/query", &json!({"vector": [1.0, 0.0]})), 404, "not_found");
    let m = s.get("/metrics");
    assert_eq!(m.status(), 200);
    assert!(m.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = m.text().unwrap();
    assert!(
        text.contains("vecstore_http_requests_total{method=\"POST\",route=\"/v1/upsert\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.contains("vecstore_namespace_vectors{namespace=\"\"} 1"), "{text}");
    let doc = ok(s.get("/openapi.json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/admin/namespaces",
        "/v1/batch-execute",
        "/v1/query-estimate",
        "/v1/query-explain",
        "/v1/vectors/{vid}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
    assert!(ok(s.get("/health"))["version"].is_string());
    assert_eq!(s.stop(), 0);
    // Reopened: the data is there.
    let s = Server::start(&["--db-path", db.to_str().unwrap()]);
    assert_eq!(ok(s.get("/v1/vectors/a"))["metadata"]["k"][1], "x");
    assert_eq!(s.stop(), 0);
}

#[test]
fn refuses_open_bind_without_token() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vecstore-server"))
        .args(["--bind", "0.0.0.0", "--http-port", "0", "--db-path", "/nonexistent/never-opened"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--admin-token") && err.contains("--insecure-no-auth"), "{err}");
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_string();
    let s = Server::start(&["--namespaces", "--namespace-root", &root, "--shutdown-delay", "1"]);
    create_ns(&s, "g", json!({}));
    // A large batch in flight when SIGTERM arrives.
    let n = 20_000;
    let ops: Vec<Value> =
        (0..n).map(|i| json!({"op": "upsert", "id": format!("r{i}"), "vector": vector(i, 32)})).collect();
    let body = json!({"operations": ops});
    let client = s.client.clone();
    let url = s.url("/v1/namespaces/g/batch-execute");
    let writer = std::thread::spawn(move || client.post(url).json(&body).send().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    s.signal(libc::SIGTERM);
    // During the shutdown delay /ready says 503 while /health still answers.
    std::thread::sleep(Duration::from_millis(200));
    expect_error(s.get("/ready"), 503, "not_ready");
    assert_eq!(ok(s.get("/health"))["status"], "ok");
    let r = ok(writer.join().unwrap());
    assert_eq!(r["succeeded"], n);
    let mut s = s;
    assert_eq!(server_common::wait_exit(&mut s.child, Duration::from_secs(60)), 0);
    drop(s);
    let s = Server::start(&["--namespaces", "--namespace-root", &root]);
    assert_eq!(ok(s.get("/v1/namespaces/g/stats"))["count"], n);
    assert_eq!(s.stop(), 0);
}
