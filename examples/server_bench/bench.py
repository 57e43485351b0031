#!/usr/bin/env python3
"""Load numbers for vecstore-server and Chroma's server on a ../shared/bench dataset (not a test).

Starts each server itself (vecstore-server in single-store mode; `chroma run --path DIR`), each on a
fresh temporary directory, then drives both with the same harness: keep-alive HTTP/1.1 connections
from Python's http.client (one per thread), the same JSON vectors, the same query order. Chroma is
spoken to over its own REST API (v2) for the timed loops, so neither side pays a client library's
overhead; its collection is created with the same HNSW settings (cosine, M=16, efC=200, ef_search).

Measured, for each server:
  - ingestion of the first --single records as one request per record, and of all --n records as
    batches of 1,000 (vecstore /v1/batch-execute, Chroma /upsert); the ratio compares records/s over
    the same first --single records, so both sides insert into graphs of the same size;
  - recall@10 over the queries against the exact top-10 of the loaded rows;
  - query QPS, p50/p99/p99.9 latency at 1, 8 and 64 connections (k=10), errors, server RSS;
  - with --long S: 64 connections for S seconds, RSS sampled each second (growth over the second half).

usage: bench.py DATA.json [--bin target/release/vecstore-server] [--chroma PATH/TO/chroma]
                [--n 30000] [--single 5000] [--seconds 8] [--long 60] [--json OUT]
"""
import argparse, http.client, json, os, shutil, socket, subprocess, sys, tempfile, threading, time
import numpy as np

def load(meta_path, n):
    meta = json.load(open(meta_path))
    d = os.path.dirname(meta_path); name = meta["name"]; dim = meta["dim"]
    base = np.fromfile(f"{d}/{name}.base.f32", dtype="<f4").reshape(-1, dim)[:n]
    q = np.fromfile(f"{d}/{name}.query.f32", dtype="<f4").reshape(-1, dim)
    gt = np.fromfile(f"{d}/{name}.gt.i32", dtype="<i4").reshape(len(q), -1)
    if len(base) < meta["n"]:  # the dataset's ground truth is for the full base: recompute exactly
        gt = np.argsort(-(q @ base.T), axis=1)[:, :10]
    return base, q, gt

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def post(conn, path, body):
    conn.request("POST", path, body=body if isinstance(body, (str, bytes)) else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {data[:200]}")
    return data

def rss_kb(pid):
    try:
        return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])
    except (OSError, IndexError):
        return 0

def tree_rss_kb(pid):
    """RSS of a process and its children (chroma run forks its Rust server in-process, but be safe)."""
    total = rss_kb(pid)
    try:
        for c in open(f"/proc/{pid}/task/{pid}/children").read().split():
            total += tree_rss_kb(int(c))
    except OSError:
        pass
    return total

class Vecstore:
    name = "vecstore-server"
    def __init__(self, binary, ef):
        self.binary, self.ef = binary, ef
    def start(self, db):
        self.p = subprocess.Popen([self.binary, "--db-path", db, "--http-port", "0", "--metric", "cosine"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline(); host, port = line.strip().rsplit("//", 1)[1].split(":")
        self.host, self.port = host, int(port)
    def stop(self):
        self.p.terminate(); self.p.wait()
    def single(self, conn, i, v):
        post(conn, "/v1/upsert", {"id": str(i), "vector": v.tolist()})
    def batch(self, conn, ids, vs):
        post(conn, "/v1/batch-execute", {"operations": [{"op": "upsert", "id": str(i), "vector": v.tolist()}
                                                         for i, v in zip(ids, vs)]})
    query_path = "/v1/query"
    def query_body(self, q):
        return json.dumps({"vector": q.tolist(), "limit": 10, "ef_search": self.ef})
    def ids(self, data):
        return [int(x["id"]) for x in json.loads(data)["results"]]

class Chroma:
    name = "chroma"
    def __init__(self, binary, ef):
        self.binary, self.ef = binary, ef
    def start(self, db):
        self.port, self.host = free_port(), "127.0.0.1"
        self.p = subprocess.Popen([self.binary, "run", "--path", db, "--port", str(self.port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                c = http.client.HTTPConnection(self.host, self.port, timeout=1)
                c.request("GET", "/api/v2/heartbeat"); c.getresponse().read(); break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection(self.host, self.port)
        root = "/api/v2/tenants/default_tenant/databases/default_database/collections"
        col = json.loads(post(conn, root, {"name": "bench", "configuration": {"hnsw": {
            "space": "cosine", "ef_construction": 200, "max_neighbors": 16, "ef_search": self.ef}}}))
        self.col = f"{root}/{col['id']}"
        self.query_path = self.col + "/query"
    def stop(self):
        self.p.terminate(); self.p.wait()
    def single(self, conn, i, v):
        post(conn, self.col + "/upsert", {"ids": [str(i)], "embeddings": [v.tolist()]})
    def batch(self, conn, ids, vs):
        post(conn, self.col + "/upsert", {"ids": [str(i) for i in ids], "embeddings": vs.tolist()})
    def query_body(self, q):
        return json.dumps({"query_embeddings": [q.tolist()], "n_results": 10, "include": ["distances"]})
    def ids(self, data):
        return [int(x) for x in json.loads(data)["ids"][0]]

def run_load(srv, bodies, conns, seconds, sample_rss=False):
    lat = [[] for _ in range(conns)]; errors = [0]; stop = time.perf_counter() + seconds
    def worker(w):
        cn = http.client.HTTPConnection(srv.host, srv.port); i = w
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                cn.request("POST", srv.query_path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
                r = cn.getresponse(); r.read()
                if r.status != 200: errors[0] += 1
            except Exception:
                errors[0] += 1; cn = http.client.HTTPConnection(srv.host, srv.port)
            lat[w].append(time.perf_counter() - t0); i += conns
    rss = [tree_rss_kb(srv.p.pid)]
    ths = [threading.Thread(target=worker, args=(w,)) for w in range(conns)]
    t = time.perf_counter(); [x.start() for x in ths]
    while any(x.is_alive() for x in ths):
        time.sleep(1.0 if sample_rss else 0.05)
        if sample_rss: rss.append(tree_rss_kb(srv.p.pid))
    [x.join() for x in ths]; el = time.perf_counter() - t
    rss.append(tree_rss_kb(srv.p.pid))
    ms = np.array([x for l in lat for x in l]) * 1e3
    row = {"connections": conns, "seconds": round(el, 1), "qps": round(len(ms) / el),
           "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
           "p999_ms": round(float(np.percentile(ms, 99.9)), 2), "errors": errors[0],
           "rss_mb_start": round(rss[0] / 1024, 1), "rss_mb_end": round(rss[-1] / 1024, 1)}
    if sample_rss and len(rss) > 4:
        half = rss[len(rss) // 2]
        row["rss_growth_second_half_pct"] = round(100.0 * (rss[-1] - half) / max(half, 1), 2)
    return row

def bench(srv, base, queries, gt, a, work):
    out = {}
    # Single requests, into a store of their own.
    srv.start(f"{work}/{srv.name}-single")
    conn = http.client.HTTPConnection(srv.host, srv.port)
    m = min(a.single, len(base)); t = time.perf_counter()
    for i in range(m):
        srv.single(conn, i, base[i])
    single = m / (time.perf_counter() - t)
    srv.stop()
    # Batches of 1,000 over all rows; the rate over the first m rows is the like-for-like one.
    srv.start(f"{work}/{srv.name}-batch")
    conn = http.client.HTTPConnection(srv.host, srv.port); t = time.perf_counter(); first_m = None
    for s in range(0, len(base), 1000):
        e = min(s + 1000, len(base)); srv.batch(conn, range(s, e), base[s:e])
        if first_m is None and e >= m:
            first_m = e / (time.perf_counter() - t)
    total = len(base) / (time.perf_counter() - t)
    out["ingest"] = {"n": len(base), "single_first_n": m, "single_per_s": round(single),
                     "batch_first_n_per_s": round(first_m), "batch_all_per_s": round(total),
                     "batch_over_single": round(first_m / single, 2)}
    print(srv.name, json.dumps(out["ingest"]), flush=True)
    bodies = [srv.query_body(q) for q in queries]
    hits = 0
    for qi, b in enumerate(bodies):
        hits += len(set(srv.ids(post(conn, srv.query_path, b))) & set(gt[qi][:10].tolist()))
    out["recall_at_10"] = round(hits / (10 * len(queries)), 4)
    print(srv.name, "recall@10", out["recall_at_10"], flush=True)
    for c in (1, 8, 64):
        out[f"c{c}"] = run_load(srv, bodies, c, a.seconds); print(srv.name, json.dumps(out[f"c{c}"]), flush=True)
    if a.long:
        out["long64"] = run_load(srv, bodies, 64, a.long, sample_rss=True)
        print(srv.name, "long", json.dumps(out["long64"]), flush=True)
    srv.stop()
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data"); ap.add_argument("--bin", default="target/release/vecstore-server")
    ap.add_argument("--chroma", default=shutil.which("chroma") or "", help="chroma executable ('' skips Chroma)")
    ap.add_argument("--n", type=int, default=30000); ap.add_argument("--single", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=8); ap.add_argument("--long", type=float, default=0)
    ap.add_argument("--ef", type=int, default=64); ap.add_argument("--json", default="")
    ap.add_argument("--only", default="", help="vecstore or chroma")
    a = ap.parse_args()
    base, queries, gt = load(a.data, a.n)
    work = tempfile.mkdtemp(prefix="server_bench-")
    results = {}
    servers = [Vecstore(a.bin, a.ef)] + ([Chroma(a.chroma, a.ef)] if a.chroma else [])
    for srv in servers:
        if a.only and a.only not in srv.name: continue
        results[srv.name] = bench(srv, base, queries, gt, a, work)
    if "vecstore-server" in results and "chroma" in results:
        v, c = results["vecstore-server"], results["chroma"]
        results["ratios"] = {k: round(v[k]["qps"] / max(c[k]["qps"], 1), 2) for k in ("c1", "c8", "c64")}
        results["ratios"]["batch_ingest"] = round(v["ingest"]["batch_all_per_s"] / c["ingest"]["batch_all_per_s"], 2)
        print("ratios vecstore/chroma", json.dumps(results["ratios"]), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)
    print(json.dumps(results))

if __name__ == "__main__":
    main()
