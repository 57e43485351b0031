"""Benchmark: the vecstore virtual table against sqlite-vec's vec0, in the same sqlite3 build, same data,
same run. Not part of the test suite.

    python bench_sqlite.py /tmp/annbench/data/wnminilm.json --ext target/release/sqlite/vecstore \
        --lib target/release/libvecstore.so [--n 30000] [--nq 200]

Run it with a Python whose sqlite3 module can load extensions (Debian's /usr/bin/python3 or a venv
made from it) and where `pip install sqlite-vec numpy` was done. Everything is single-threaded
(build_threads=1). Reports, for each: bulk INSERT of the whole dataset in one transaction (seconds,
commit included), KNN QPS and recall@10 (single connection, k=10, a Python loop of single queries:
the same binding overhead for both), filtered KNN (a metadata column / filter `bucket = 3`, 1 in 10
rows) with its recall against an exact filtered scan, and database (+ index directory) size on disk.
It also times the same records through vs_store_upsert_many (ctypes over libvecstore.so), to show
what the virtual table adds to the HNSW build.
"""
import argparse
import ctypes
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time

import numpy as np
import sqlite_vec


def dir_size(p):
    if os.path.isfile(p):
        return os.path.getsize(p)
    total = 0
    for root, _, files in os.walk(p):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def connect(path, ext):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
    db.enable_load_extension(False)
    return db


def recall(found, gt):
    return len(set(found) & set(gt[:10])) / 10.0


def time_queries(db, sql, qs, extra, reps=2):
    """Best of `reps` passes of one query per vector (after a warm-up pass over 20)."""
    for q in qs[:20]:
        db.execute(sql, [q.tobytes(), *extra]).fetchall()
    best, results = None, None
    for _ in range(reps):
        t0 = time.perf_counter()
        res = [[r[0] for r in db.execute(sql, [q.tobytes(), *extra]).fetchall()] for q in qs]
        dt = time.perf_counter() - t0
        if best is None or dt < best:
            best, results = dt, res
    return len(qs) / best, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--ext", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--n", type=int, default=30000)
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--efs", default="16,32,48,64,96,128")
    ap.add_argument("--json")
    a = ap.parse_args()
    meta = json.load(open(a.dataset))
    d = meta["dim"]
    base_dir = os.path.dirname(a.dataset)
    name = meta["name"]
    base = np.fromfile(os.path.join(base_dir, name + ".base.f32"), dtype="<f4").reshape(-1, d)[: a.n]
    qs = np.fromfile(os.path.join(base_dir, name + ".query.f32"), dtype="<f4").reshape(-1, d)[: a.nq]
    n = len(base)
    # exact ground truth over the first n rows (the dataset's gt covers all of its rows)
    sims = qs @ base.T
    gt = np.argsort(-sims, axis=1, kind="stable")[:, :10] + 1  # rowids are 1-based
    bucket = np.arange(n) % 10
    fsims = np.where(bucket[None, :] == 3, sims, -np.inf)
    fgt = np.argsort(-fsims, axis=1, kind="stable")[:, :10] + 1
    out = {"n": n, "dim": d, "nq": len(qs), "sqlite": sqlite3.sqlite_version}
    work = tempfile.mkdtemp(prefix="vecstore-sqlite-bench-")
    rows = [(i + 1, base[i].tobytes(), int(bucket[i])) for i in range(n)]
    try:
        # ---------------- sqlite-vec
        p = os.path.join(work, "vec.db")
        db = connect(p, sqlite_vec.loadable_path())
        db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{d}] distance_metric=cosine, bucket integer)")
        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO v(rowid, embedding, bucket) VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
        ins = time.perf_counter() - t0
        qps, res = time_queries(db, "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10", qs, [], reps=1)
        rec = statistics.mean(recall(r, g) for r, g in zip(res, gt.tolist()))
        fqps, fres = time_queries(db, "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10 AND bucket = 3", qs, [], reps=1)
        frec = statistics.mean(recall(r, g) for r, g in zip(fres, fgt.tolist()))
        db.close()
        out["sqlite_vec"] = {"version": sqlite_vec.__version__, "insert_s": ins, "qps": qps, "recall": rec,
                             "filtered_qps": fqps, "filtered_recall": frec, "size_mb": dir_size(p) / 1e6}
        print("sqlite-vec", json.dumps(out["sqlite_vec"]), flush=True)

        # ---------------- vs_store_upsert_many directly (the library alone, same records)
        lib = ctypes.CDLL(a.lib)

        class Opts(ctypes.Structure):
            _fields_ = [("struct_size", ctypes.c_uint32), ("dimension", ctypes.c_uint32), ("metric", ctypes.c_uint32),
                        ("hnsw_m", ctypes.c_uint32), ("ef_construction", ctypes.c_uint32), ("ef_search", ctypes.c_uint32),
                        ("durability", ctypes.c_uint32), ("build_threads", ctypes.c_uint32), ("checkpoint_bytes", ctypes.c_uint64)]

        lib.vs_store_options_default.restype = Opts
        lib.vs_store_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(Opts), ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        lib.vs_store_upsert_many.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
                                             ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p]
        lib.vs_store_close.argtypes = [ctypes.c_void_p]
        o = lib.vs_store_options_default()
        o.dimension, o.build_threads = d, 1
        o.struct_size = ctypes.sizeof(Opts)  # the fields declared here; later ones keep their defaults
        h = ctypes.c_void_p()
        assert lib.vs_store_open(os.path.join(work, "direct").encode(), ctypes.byref(o), ctypes.byref(h), None) == 0
        ids = (ctypes.c_char_p * n)(*[str(i + 1).encode() for i in range(n)])
        metas = (ctypes.c_char_p * n)(*[('{"bucket":%d}' % b).encode() for b in bucket])
        flat = np.ascontiguousarray(base)
        t0 = time.perf_counter()
        # the same chunking as the virtual table's commit (8192 rows per call)
        for s in range(0, n, 8192):
            e = min(n, s + 8192)
            rc = lib.vs_store_upsert_many(h, e - s, ctypes.cast(ctypes.byref(ids, s * ctypes.sizeof(ctypes.c_char_p)), ctypes.POINTER(ctypes.c_char_p)),
                                          flat[s:e].ctypes.data, d,
                                          ctypes.cast(ctypes.byref(metas, s * ctypes.sizeof(ctypes.c_char_p)), ctypes.POINTER(ctypes.c_char_p)), None)
            assert rc == 0
        direct = time.perf_counter() - t0
        lib.vs_store_close(h)
        out["upsert_many_s"] = direct
        print("vs_store_upsert_many", direct, flush=True)

        # ---------------- vecstore virtual table
        p = os.path.join(work, "vs.db")
        db = connect(p, os.path.abspath(a.ext))
        db.execute(f"CREATE VIRTUAL TABLE docs USING vecstore(dimension={d}, metric=cosine, m=16, ef_construction=200, build_threads=1)")
        vrows = [(i + 1, str(i + 1), base[i].tobytes(), '{"bucket":%d}' % bucket[i]) for i in range(n)]
        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO docs(rowid, id, embedding, metadata) VALUES (?, ?, ?, ?)", vrows)
        t1 = time.perf_counter()
        db.execute("COMMIT")
        ins = time.perf_counter() - t0
        sweep = []
        for ef in [int(x) for x in a.efs.split(",")]:
            qps, res = time_queries(db, "SELECT rowid FROM docs WHERE embedding MATCH ? AND k = 10 AND ef_search = ?", qs, [ef])
            rec = statistics.mean(recall(r, g) for r, g in zip(res, gt.tolist()))
            fqps, fres = time_queries(db, "SELECT rowid FROM docs WHERE embedding MATCH ? AND k = 10 AND ef_search = ? AND filter = 'bucket = 3'", qs, [ef])
            frec = statistics.mean(recall(r, g) for r, g in zip(fres, fgt.tolist()))
            sweep.append({"ef": ef, "qps": qps, "recall": rec, "filtered_qps": fqps, "filtered_recall": frec})
            print("vecstore ef", ef, json.dumps(sweep[-1]), flush=True)
        db.close()
        size = dir_size(p) + dir_size(p + "-vecstore-docs")
        out["vecstore"] = {"insert_s": ins, "insert_rows_s": t1 - t0, "commit_s": ins - (t1 - t0), "sweep": sweep,
                           "size_mb": size / 1e6, "db_mb": dir_size(p) / 1e6}
        print("vecstore", json.dumps(out["vecstore"]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
