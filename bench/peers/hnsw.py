"""hnswlib peer for `bench hnsw`: build (M, efConstruction, threads) on base.npy, then single-threaded searches of
queries.npy at each ef, recall@k against truth.npy (int32 [q, k] labels from exact search). Prints one JSON object. Resident bytes: a fresh process reading the saved index (resident.py).
Run with Debian's /usr/bin/python3 (python3-hnswlib, python3-numpy)."""
import json, os, sys, tempfile, time

import hnswlib
import numpy as np
from resident import anonymous_bytes, measure_in_fresh_process


def resident(path, space, d, n):
    before = anonymous_bytes()
    index = hnswlib.Index(space=space, dim=int(d))
    index.load_index(path, max_elements=int(n))
    print(anonymous_bytes() - before)


def main():
    if sys.argv[1] == "--resident":
        return resident(*sys.argv[2:6])
    base, queries, truth, space, m, efc, threads, efs, repeats = sys.argv[1:10]
    x = np.load(base).astype(np.float32, copy=False)
    q = np.load(queries).astype(np.float32, copy=False)
    t = np.load(truth)
    k = t.shape[1]
    n, d = x.shape
    index = hnswlib.Index(space=space, dim=d)
    index.init_index(max_elements=n, ef_construction=int(efc), M=int(m), random_seed=100)
    start, cpu = time.perf_counter(), time.process_time()
    index.add_items(x, np.arange(n), num_threads=int(threads))
    build, build_cpu = time.perf_counter() - start, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.bin")
        index.save_index(path)
        file_bytes = os.path.getsize(path)
        resident_bytes = measure_in_fresh_process(__file__, path, space, d, n)
    index.set_num_threads(1)
    sweep = []
    for ef in [int(e) for e in efs.split(",")]:
        index.set_ef(ef)
        labels, _ = index.knn_query(q[:50], k=k, num_threads=1)  # warm caches at this ef
        best = float("inf")
        for _ in range(int(repeats)):
            # Process CPU time: on a shared machine other processes' load inflates wall time, not CPU time.
            start = time.process_time()
            labels, _ = index.knn_query(q, k=k, num_threads=1)
            best = min(best, time.process_time() - start)
        hits = sum(len(set(labels[i].tolist()) & set(t[i].tolist())) for i in range(len(q)))
        sweep.append({"ef": ef, "recall": hits / (len(q) * k), "qps": len(q) / best})
    print(json.dumps({"version": getattr(hnswlib, "__version__", "?"), "build_seconds": build, "build_cpu_seconds": build_cpu,
                      "file_bytes_per_vector": file_bytes / n, "resident_bytes_per_vector": resident_bytes / n,
                      "sweep": sweep}))


if __name__ == "__main__":
    main()
