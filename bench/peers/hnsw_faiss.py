"""FAISS peer for `bench hnsw` (Debian's python3-faiss): IndexHNSWFlat and IndexHNSWSQ (QT_8bit, per-dimension 8-bit
codes, no re-ranking) with inner product on L2-normalised rows (cosine), M, efConstruction, build on `threads` OpenMP
threads, written (resident bytes: a fresh process reading it back, resident.py), then
single-threaded searches of queries.npy (one batch call, one OpenMP thread) at each efSearch, recall@k against truth.npy. Prints one JSON object
{"flat": {...}, "sq8": {...}} in hnsw.py's shape (an optional last argument "flat", "sq8" or "flat,sq8" picks the indexes). Run with /usr/bin/python3."""
import json, os, sys, tempfile, time

import faiss
import numpy as np
from resident import anonymous_bytes, measure_in_fresh_process


def run(kind, x, q, t, m, efc, threads, efs, repeats):
    n, d = x.shape
    k = t.shape[1]
    if kind == "flat":
        index = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    faiss.omp_set_num_threads(threads)
    start, cpu = time.perf_counter(), time.process_time()
    if not index.is_trained:
        index.train(x)
    index.add(x)
    build, build_cpu = time.perf_counter() - start, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.faiss")
        faiss.write_index(index, path)
        file_bytes = os.path.getsize(path)
        resident_bytes = measure_in_fresh_process(__file__, path)
    faiss.omp_set_num_threads(1)
    sweep = []
    for ef in efs:
        index.hnsw.efSearch = ef
        index.search(q[:50], k)
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            # One batch call on one OpenMP thread: FAISS's C++ loop over the queries (as hnsw.py's knn_query).
            _, labels = index.search(q, k)
            best = min(best, time.process_time() - start)
        hits = sum(len(set(labels[i].tolist()) & set(t[i].tolist())) for i in range(len(q)))
        sweep.append({"ef": ef, "recall": hits / (len(q) * k), "qps": len(q) / best})
    return {"build_seconds": build, "build_cpu_seconds": build_cpu, "file_bytes_per_vector": file_bytes / n,
            "resident_bytes_per_vector": resident_bytes / n, "sweep": sweep}


def resident(path):
    before = anonymous_bytes()
    index = faiss.read_index(path)
    print(anonymous_bytes() - before)
    return index


def main():
    if sys.argv[1] == "--resident":
        resident(sys.argv[2])
        return
    base, queries, truth, m, efc, threads, efs, repeats = sys.argv[1:9]
    kinds = sys.argv[9].split(",") if len(sys.argv) > 9 else ["flat", "sq8"]
    x = np.ascontiguousarray(np.load(base).astype(np.float32, copy=False))
    q = np.ascontiguousarray(np.load(queries).astype(np.float32, copy=False))
    faiss.normalize_L2(x)
    faiss.normalize_L2(q)
    t = np.load(truth)
    efs = [int(e) for e in efs.split(",")]
    out = {"version": faiss.__version__}
    for kind in kinds:
        out[kind] = run(kind, x, q, t, int(m), int(efc), int(threads), efs, int(repeats))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
