"""Resident memory as the HNSW peers measure it: the process's anonymous memory (heap), from /proc/self/smaps_rollup."""


def anonymous_bytes():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    return -1
