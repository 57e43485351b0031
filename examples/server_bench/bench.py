#!/usr/bin/env python3
"""Load numbers for vecstore-server on a ../shared/bench dataset (not a test).

Starts the server itself (single-store mode, a temporary directory), then measures over HTTP with
keep-alive connections (one http.client connection per thread):
  - ingestion of N records as single /v1/upsert requests vs /v1/batch-execute of 1,000;
  - query QPS, p50 and p99 latency at 1, 8 and 64 concurrent connections (k=10) and recall@10
    against the dataset's ground truth.

usage: bench.py DATA.json [--bin target/release/vecstore-server] [--n 20000] [--seconds 10]
"""
import argparse, http.client, json, os, subprocess, sys, tempfile, threading, time
import numpy as np

def load(meta_path, n):
    meta = json.load(open(meta_path))
    d = os.path.dirname(meta_path); name = meta["name"]; dim = meta["dim"]
    base = np.fromfile(f"{d}/{name}.base.f32", dtype="<f4").reshape(-1, dim)[:n]
    q = np.fromfile(f"{d}/{name}.query.f32", dtype="<f4").reshape(-1, dim)
    gt = np.fromfile(f"{d}/{name}.gt.i32", dtype="<i4").reshape(len(q), -1)
    return base, q, gt, meta

def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {data[:200]}")
    return data

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data"); ap.add_argument("--bin", default="target/release/vecstore-server")
    ap.add_argument("--n", type=int, default=20000); ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--single", type=int, default=20000, help="records ingested one request each")
    a = ap.parse_args()
    base, queries, gt, meta = load(a.data, a.n)
    # Ground truth of the full set only applies when n is the full base; recompute exactly otherwise.
    if len(base) < meta["n"]:
        sims = queries @ base.T
        gt = np.argsort(-sims, axis=1)[:, :10]
    work = tempfile.mkdtemp()
    results = {}
    def start(db):
        p = subprocess.Popen([a.bin, "--db-path", db, "--http-port", "0", "--metric", "cosine"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline(); host, port = line.strip().rsplit("//", 1)[1].split(":")
        return p, host, int(port)
    # Single upserts.
    p, host, port = start(f"{work}/single")
    conn = http.client.HTTPConnection(host, port)
    m = min(a.single, len(base)); t = time.perf_counter()
    for i in range(m):
        post(conn, "/v1/upsert", {"id": str(i), "vector": base[i].tolist()})
    single_rate = m / (time.perf_counter() - t)
    p.terminate(); p.wait()
    # Batches of 1,000.
    p, host, port = start(f"{work}/batch")
    conn = http.client.HTTPConnection(host, port); t = time.perf_counter()
    for s in range(0, len(base), 1000):
        ops = [{"op": "upsert", "id": str(i), "vector": base[i].tolist()} for i in range(s, min(s + 1000, len(base)))]
        post(conn, "/v1/batch-execute", {"operations": ops})
    batch_rate = len(base) / (time.perf_counter() - t)
    results["ingest"] = {"single_per_s": round(single_rate), "batch1000_per_s": round(batch_rate),
                         "ratio": round(batch_rate / single_rate, 1), "n": len(base)}
    print(json.dumps(results["ingest"]), flush=True)
    # Recall@10 (one pass over the queries).
    hits = 0
    for qi, q in enumerate(queries):
        r = json.loads(post(conn, "/v1/query", {"vector": q.tolist(), "limit": 10}))
        ids = {int(x["id"]) for x in r["results"]}
        hits += len(ids & set(gt[qi][:10].tolist()))
    results["recall_at_10"] = round(hits / (10 * len(queries)), 4)
    print(json.dumps({"recall_at_10": results["recall_at_10"]}), flush=True)
    bodies = [json.dumps({"vector": q.tolist(), "limit": 10}) for q in queries]
    for c in (1, 8, 64):
        lat = [[] for _ in range(c)]; errors = [0]; stop = time.perf_counter() + a.seconds
        def worker(w):
            cn = http.client.HTTPConnection(host, port); i = w
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    cn.request("POST", "/v1/query", body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
                    r = cn.getresponse(); r.read()
                    if r.status != 200: errors[0] += 1
                except Exception:
                    errors[0] += 1; cn = http.client.HTTPConnection(host, port)
                lat[w].append(time.perf_counter() - t0); i += c
        rss0 = int(open(f"/proc/{p.pid}/status").read().split("VmRSS:")[1].split()[0])
        ths = [threading.Thread(target=worker, args=(w,)) for w in range(c)]
        t = time.perf_counter(); [x.start() for x in ths]; [x.join() for x in ths]
        el = time.perf_counter() - t
        rss1 = int(open(f"/proc/{p.pid}/status").read().split("VmRSS:")[1].split()[0])
        all_l = np.array([x for l in lat for x in l]) * 1e3
        row = {"connections": c, "qps": round(len(all_l) / el), "p50_ms": round(float(np.percentile(all_l, 50)), 3),
               "p99_ms": round(float(np.percentile(all_l, 99)), 3), "errors": errors[0],
               "rss_kb_before": rss0, "rss_kb_after": rss1}
        results[f"c{c}"] = row; print(json.dumps(row), flush=True)
    p.terminate(); p.wait()
    print(json.dumps(results))

if __name__ == "__main__":
    main()
