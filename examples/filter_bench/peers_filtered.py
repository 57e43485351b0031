#!/usr/bin/env python3
"""Filtered-search peers for examples/filter_bench.rs, on the same data, filters and ground truth.

  python peers_filtered.py DATA/NAME.json --work DIR [--passes 3] [--json out.json]

DIR is filter_bench's work directory: it holds the attributes (tenant.u32, price.u32, one per
record) and the exact filtered top-10 of every query for each filter (gt_1.i32, gt_10.i32, gt_50.i32;
u32 max pads a short answer). The filters are the ones filter_bench runs:
  1%   tenant = 't42'
  10%  tenant IN ('t0', 't10', ..., 't90')
  50%  price < 500
Peers (searches on one thread, one batch call per ef, median QPS of --passes passes after a warm-up):
  hnswlib        knn_query(filter=callable)         (hnswlib's Python filter callback)
  faiss-hnsw     IndexHNSWFlat + SearchParametersHNSW(sel=IDSelectorBitmap, efSearch=ef)
  faiss-hnsw-batch  the same with IDSelectorBatch
  faiss-flat     IndexFlatIP + SearchParameters(sel=IDSelectorBitmap)   (exact)
  faiss-flat-batch  the same with IDSelectorBatch                     (exact)
Graphs are built once (M=16, efConstruction=200; 2 threads, not timed) and cached in DIR. ef is
swept upwards and stops at the first ef reaching recall@10 >= 0.95.
"""
import os
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
import argparse, json, time
import numpy as np

K = 10
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]


def recall(ids, gt):
    total, hit = 0, 0
    for a, b in zip(ids, gt):
        want = set(int(x) for x in b if x != 0xFFFFFFFF)
        total += len(want)
        hit += len(want & set(int(x) for x in a[:K] if x >= 0))
    return hit / max(total, 1)


def timed(fn, passes):
    fn()  # warm-up
    out, times = None, []
    for _ in range(passes):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return out, times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("meta")
    ap.add_argument("--work", required=True)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--peers", default="hnswlib,faiss-hnsw,faiss-hnsw-batch,faiss-flat,faiss-flat-batch")
    a = ap.parse_args()
    m = json.load(open(a.meta))
    d = os.path.dirname(os.path.abspath(a.meta))
    n, dim = m["n"], m["dim"]
    base = np.fromfile(os.path.join(d, m["files"]["base"]), "<f4").reshape(n, dim)
    q = np.fromfile(os.path.join(d, m["files"]["query"]), "<f4").reshape(-1, dim)
    nq = len(q)
    tenant = np.fromfile(os.path.join(a.work, "tenant.u32"), "<u4")
    price = np.fromfile(os.path.join(a.work, "price.u32"), "<u4")
    masks = {"1%": tenant == 42, "10%": tenant % 10 == 0, "50%": price < 500}
    gts = {f: np.fromfile(os.path.join(a.work, f"gt_{f[:-1]}.i32"), "<u4").reshape(nq, K) for f in masks}
    peers = a.peers.split(",")
    import faiss
    results = []

    def run(label, filt, search, efs):
        res = next((r for r in results if r["label"] == label), None)
        if res is None:
            res = dict(label=label, rows=[])
            results.append(res)
        for ef in efs:
            ids, dt = timed(lambda: search(ef), a.passes)
            r = recall(ids, gts[filt])
            qps = nq / dt
            print(f"[{label}] {m['name']} {filt:>4} ef {ef}: recall@10 {r:.4f} {qps:8.0f} QPS", flush=True)
            res["rows"].append(dict(filter=filt, ef=ef, recall=r, qps=qps, plan=""))
            if r >= 0.95:
                break

    if "hnswlib" in peers:
        import hnswlib
        path = os.path.join(a.work, "hnswlib.bin")
        idx = hnswlib.Index(space="ip", dim=dim)
        if os.path.exists(path):
            idx.load_index(path, max_elements=n)
        else:
            idx.init_index(max_elements=n, M=16, ef_construction=200, random_seed=100)
            idx.add_items(base, np.arange(n), num_threads=2)
            idx.save_index(path)
        for filt, mask in masks.items():
            allowed = mask.tolist()  # a list lookup is the cheapest Python callable
            fn = allowed.__getitem__

            def search(ef, fn=fn):
                idx.set_ef(ef)
                return idx.knn_query(q, k=K, num_threads=1, filter=fn)[0].astype(np.int64)
            run("hnswlib", filt, search, EFS)

    if any(p.startswith("faiss-hnsw") for p in peers):
        path = os.path.join(a.work, "faiss_hnsw.index")
        if os.path.exists(path):
            hidx = faiss.read_index(path)
        else:
            faiss.omp_set_num_threads(2)
            hidx = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
            hidx.hnsw.efConstruction = 200
            hidx.add(base)
            faiss.write_index(hidx, path)
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(dim)
    flat.add(base)
    keep = []  # the selectors' arrays must outlive the searches
    for filt, mask in masks.items():
        bits = np.packbits(mask.astype(np.uint8), bitorder="little")
        ids = np.nonzero(mask)[0].astype(np.int64)
        keep += [bits, ids]
        sels = {"bitmap": faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits)),
                "batch": faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids))}
        keep += list(sels.values())
        for kind, sel in sels.items():
            suffix = "" if kind == "bitmap" else "-batch"
            if f"faiss-hnsw{suffix}" in peers:
                def search(ef, sel=sel):
                    p = faiss.SearchParametersHNSW()
                    p.sel = sel
                    p.efSearch = ef
                    return hidx.search(q, K, params=p)[1]
                run(f"faiss-hnsw{suffix}", filt, search, EFS)
            if f"faiss-flat{suffix}" in peers:
                def search(ef, sel=sel):
                    p = faiss.SearchParameters()
                    p.sel = sel
                    return flat.search(q, K, params=p)[1]
                run(f"faiss-flat{suffix}", filt, search, [0])
    for r in results:
        r["version"] = faiss.__version__ if r["label"].startswith("faiss") else "hnswlib"
    if a.json:
        json.dump(results, open(a.json, "w"))


if __name__ == "__main__":
    main()
