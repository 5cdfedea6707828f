"""Peers for the clustering-variants benchmark (bench/PinnerSage.Benchmarks `clustering-variants`): scipy complete
linkage and scikit-learn k-means doing the same per-user work as PinnerSage's variants, timed inside Python with
time.perf_counter (start-up and imports excluded). Prints one JSON object on stdout.

usage: clustering_variants.py DATA.f32 N D THRESHOLD K REPEATS
"""
import json
import statistics
import sys
import time

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    path, n, d, threshold, k, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    x = np.fromfile(path, dtype=np.float32).reshape(n, d)
    result = {}
    result["scipy_complete"] = {"median_ms": timed(lambda: fcluster(linkage(pdist(x), "complete"), t=threshold, criterion="distance"), repeats)}
    try:
        from sklearn.cluster import KMeans
        result["sklearn_kmeans"] = {"median_ms": timed(lambda: KMeans(k, n_init=1, random_state=0).fit(x), repeats)}
    except ImportError:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()
