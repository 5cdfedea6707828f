"""Resident memory as the HNSW peers measure it: the anonymous memory (heap) a freshly started process gains while it
reads a saved index (/proc/self/smaps_rollup), so memory the allocator kept from building cannot hide the load."""
import subprocess, sys


def anonymous_bytes():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    return -1


def measure_in_fresh_process(script, *args):
    """Runs `python3 script --resident args…`, which prints the bytes its load added; returns them."""
    out = subprocess.run([sys.executable, script, "--resident", *map(str, args)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())
