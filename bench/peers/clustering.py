"""Peers for the clustering benchmark (bench/PinnerSage.Benchmarks `clustering`): fastcluster and scipy doing the same
per-user work as PinnerSage (pairwise distances + Ward + cut at alpha + medoids), timed inside Python with
time.perf_counter so interpreter start-up and imports are excluded. Prints one JSON object on stdout.

usage: clustering.py DATA.f32 N D ALPHA REPEATS
DATA.f32 is N x D float32, row-major, raw little-endian.
"""
import json
import statistics
import sys
import time

import numpy as np
import fastcluster
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist


def medoids(labels, dsq):
    """Medoid of each flat cluster: the member minimising the sum of squared distances to the others."""
    result = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        result.append(int(idx[np.argmin(dsq[np.ix_(idx, idx)].sum(axis=1))]))
    return result


def cut_and_medoids(z, d_euclidean, h_alpha, n):
    labels = fcluster(z, t=h_alpha, criterion='distance')
    dsq = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    dsq[iu] = d_euclidean * d_euclidean
    dsq += dsq.T
    return medoids(labels, dsq)


def fastcluster_vector(x, h_alpha):
    z = fastcluster.linkage_vector(x, method='ward')
    return cut_and_medoids(z, pdist(x), h_alpha, x.shape[0])


def fastcluster_data(x, h_alpha):
    z = fastcluster.linkage(x, method='ward', metric='euclidean')
    return cut_and_medoids(z, pdist(x), h_alpha, x.shape[0])


def fastcluster_reuse(x, h_alpha):
    d = pdist(x)
    z = fastcluster.linkage(d, method='ward', preserve_input=True)
    return cut_and_medoids(z, d, h_alpha, x.shape[0])


def scipy_reuse(x, h_alpha):
    d = pdist(x)
    z = linkage(d, method='ward')
    return cut_and_medoids(z, d, h_alpha, x.shape[0])


def main():
    path, n, d, alpha, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    x = np.fromfile(path, dtype='<f4').reshape(n, d).astype(np.float64)
    h_alpha = alpha ** 0.5
    out = {}
    for name, run in [('fastcluster_linkage_vector', fastcluster_vector), ('fastcluster_linkage', fastcluster_data),
                      ('fastcluster_linkage_pdist_reused', fastcluster_reuse), ('scipy_linkage_pdist_reused', scipy_reuse)]:
        run(x, h_alpha)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run(x, h_alpha)
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = {'median_ms': statistics.median(times), 'min_ms': min(times), 'repeats': repeats,
                     'clusters': len(run(x, h_alpha))}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
