#!/usr/bin/env python3
"""PinnerSage's daily profile batch on Dask.

The same result as `pinnersage profiles build`, computed by `pinnersage profiles map` workers on shards of users:

1. plan:    `pinnersage profiles plan` resolves what needs every user's actions (now, lambda = auto, alpha = auto)
            and exports the store's logged events, so every shard is built with the same model;
2. shuffle: Dask reads the actions (and the events) as text columns and shuffles them by a hash of the user id, so
            each user's lines land in one partition;
3. map:     one `profiles map` process per partition (lines sorted by user id, as LC_ALL=C sort would) writes
            part-NNNNN.jsonl; a failed task is retried by Dask;
4. load:    only when every task succeeded are the parts moved into --out, and with --store,
            `pinnersage profiles load` commits them in one transaction (run metadata, events consumed).

See scaleout/dask/README.md.
"""
import argparse
import csv
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
import zlib

# Model options passed through to `profiles plan` and `profiles map` (name, takes a value).
MODEL_OPTIONS = [("--ids", True), ("--alpha", True), ("--lambda", True), ("--settings", True), ("--window-days", True),
                 ("--max-actions", True), ("--now", True), ("--action-weights", True), ("--actions-include", True),
                 ("--count-repeats", False), ("--keep-singletons", False), ("--drop-singletons", False),
                 ("--no-normalize", False), ("--strict", False)]
COLUMNS = ["user_id", "item_id", "timestamp", "action", "value"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--actions", required=True,
                   help="actions.tsv (header line; local path or any fsspec URL), or a glob of Parquet files each holding whole "
                        "users (e.g. bucketed by user id), which the workers read themselves")
    p.add_argument("--embeddings", required=True, help="item embeddings .npy (a local path on every worker)")
    p.add_argument("--out", required=True, help="output folder: plan.json, part-*.jsonl")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    where.add_argument("--scheduler", help="tcp://HOST:PORT of a running Dask scheduler")
    p.add_argument("--partitions", type=int, default=0, help="shards of users (default: 4 per worker)")
    p.add_argument("--store", help="profile store to commit into (SQLite file or postgres:…); omit to only write parts")
    p.add_argument("--worker", default=os.environ.get("PINNERSAGE_WORKER"),
                   help="the worker command: a published pinnersage binary, or e.g. 'dotnet /path/pinnersage.dll' "
                        "(default: $PINNERSAGE_WORKER, else artifacts/worker/pinnersage of this repository, built by "
                        "scaleout/build-worker.sh when missing, else pinnersage on PATH)")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed task (default 2)")
    p.add_argument("--allow-shrink", action="store_true", help="passed to profiles load")
    for name, takes_value in MODEL_OPTIONS:
        if takes_value:
            p.add_argument(name)
        else:
            p.add_argument(name, action="store_true")
    return p.parse_args(argv)


def model_args(args, skip=()):
    out = []
    for name, takes_value in MODEL_OPTIONS:
        if name in skip:
            continue
        value = getattr(args, name[2:].replace("-", "_"))
        if takes_value and value is not None:
            out += [name, str(value)]
        elif not takes_value and value:
            out.append(name)
    return out


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited with {result.returncode}: {result.stderr.decode(errors='replace').strip()}")
    return result


def shard_of(user, partitions):
    # A stable hash (CRC-32 of the UTF-8 id): the same user goes to the same shard on every worker and every run.
    return zlib.crc32(user.encode("utf-8")) % partitions


def local_copy(name):
    """The path of a file shipped to this Dask worker (Client.upload_file: once per worker, into its local folder)."""
    from distributed import get_worker
    return os.path.join(get_worker().local_directory, name)


def map_partition(frame, worker, embeddings, map_args, staging, partition_info=None):
    """Runs one `profiles map` over a partition's lines (sorted by user id) into staging/part-NNNNN.jsonl."""
    import pandas as pd
    embeddings = local_copy(embeddings)
    index = partition_info["number"] if partition_info else 0
    fail_marker = os.environ.get("PINNERSAGE_DASK_FAIL_ONCE")
    if fail_marker and index == 0 and not os.path.exists(fail_marker):
        # Test hook: the first attempt of partition 0 kills its worker process, as a crashed machine would.
        open(fail_marker, "w").close()
        os._exit(1)
    # Python compares str by code point: the user-id order of the batch job (and LC_ALL=C sort); stable within a user.
    frame = frame.sort_values("user_id", kind="stable")
    columns = [c for c in COLUMNS if c in frame.columns]
    lines = frame[columns].astype(str)
    lines = lines.apply(lambda row: "\t".join(v for v in row if v != ""), axis=1) if len(frame) else []
    data = ("\n".join(lines) + "\n").encode("utf-8") if len(frame) else b""
    target = os.path.join(staging, f"part-{index:05d}.jsonl")
    with open(target + ".tmp", "wb") as out:
        subprocess.run(worker + ["profiles", "map", "--embeddings", embeddings] + map_args,
                       input=data, stdout=out, stderr=subprocess.PIPE, check=True)
    os.replace(target + ".tmp", target)
    return pd.DataFrame({"part": [index], "lines": [len(frame)], "bytes": [os.path.getsize(target)]})


def map_file(path, worker, embeddings, map_args, staging, index):
    """Runs one `profiles map` over a Parquet shard (whole users), which the worker reads itself."""
    target = os.path.join(staging, f"part-{index:05d}.jsonl")
    embeddings = local_copy(embeddings)
    with open(target + ".tmp", "wb") as out:
        subprocess.run(worker + ["profiles", "map", "--actions", path, "--embeddings", embeddings] + map_args,
                       stdout=out, stderr=subprocess.PIPE, check=True)
    os.replace(target + ".tmp", target)
    return os.path.getsize(target)


def find_worker():
    """This repository's published worker, building it once if needed; else pinnersage on PATH."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    built = os.path.join(repo, "artifacts", "worker", "pinnersage")
    if os.path.exists(built):
        return built
    if shutil.which("dotnet") and os.path.exists(os.path.join(repo, "scaleout", "build-worker.sh")):
        print("building the worker (scaleout/build-worker.sh) …", flush=True)
        run(["sh", os.path.join(repo, "scaleout", "build-worker.sh")])
        return built
    if shutil.which("pinnersage"):
        return "pinnersage"
    raise RuntimeError("no worker: pass --worker, set PINNERSAGE_WORKER, or install the .NET SDK to build one")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.out, exist_ok=True)
    # Everything is written here first; only a run whose every step succeeded replaces what --out held.
    staging = os.path.join(args.out, f".staging-{uuid.uuid4().hex}")
    os.makedirs(staging)
    try:
        return run_driver(args, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_driver(args, staging):
    import dask
    import dask.dataframe as dd
    import pandas as pd
    from dask.distributed import Client, LocalCluster, progress

    worker = shlex.split(args.worker or find_worker())
    plan_path = os.path.join(staging, "plan.json")
    events_path = os.path.join(staging, "events.tsv")
    # 1. Plan (and the store's logged events as action lines).
    import glob
    parquet = sorted(glob.glob(args.actions)) if args.actions.endswith(".parquet") else None
    if parquet == []:
        raise RuntimeError(f"--actions: no Parquet file matches {args.actions}")
    plan_cmd = worker + ["profiles", "plan", "--embeddings", args.embeddings, "--out", plan_path]
    for path in parquet or [args.actions]:
        plan_cmd += ["--actions", path]
    if args.store:
        plan_cmd += ["--store", args.store, "--events-out", events_path]
    plan_cmd += model_args(args)
    print(run(plan_cmd).stdout.decode().strip(), flush=True)
    import json
    with open(plan_path) as f:
        plan = json.load(f)
    if parquet and plan["events_exported"] > 0:
        raise RuntimeError("the store has logged events to fold in, which cannot join Parquet shards holding whole users: "
                           "run profiles build, or give the actions as TSV")
    # Every shard gets the resolved values, so no mapper depends on the others' data.
    map_args = ["--now", str(plan["now"]), "--alpha", repr(plan["alpha"]), "--lambda", repr(plan["lambda"])]
    map_args += model_args(args, skip={"--now", "--alpha", "--lambda", "--settings", "--ids"})
    if args.settings:
        map_args += ["--settings", args.settings]

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        partitions = args.partitions or 4 * max(1, len(client.scheduler_info()["workers"]))
        # 2. Read as text columns (exact strings, no NaN), add the events, shuffle by user shard.
        if not parquet:
            read = dict(sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
            actions = dd.read_csv(args.actions, blocksize="64MB", **read)
            actions.columns = COLUMNS[:len(actions.columns)]
            frames = [actions]
            if args.store and plan["events_exported"] > 0:
                frames.append(dd.read_csv(events_path, header=None, names=COLUMNS[:4], **read))
            frame = dd.concat(frames) if len(frames) > 1 else frames[0]
            frame = frame.fillna("")
            frame["shard"] = frame["user_id"].map(lambda u: shard_of(u, partitions), meta=("shard", "int64"))
            frame = frame.shuffle("shard", npartitions=partitions)
        # 3. One profiles map per partition, into the staging folder; nothing reaches --out unless every task succeeds.
        # The distributed cache: the embeddings and their ids go to every worker once (workers joining later get
        # them too), under names the worker's default --ids rule pairs.
        embeddings = "pinnersage-items.npy"
        for source, name in ((args.embeddings, embeddings),
                             (args.ids or os.path.splitext(args.embeddings)[0] + ".ids", "pinnersage-items.ids")):
            shipped = os.path.join(staging, name)
            shutil.copyfile(source, shipped)
            client.upload_file(shipped)
            os.remove(shipped)
        if parquet:
            futures = [client.submit(map_file, os.path.abspath(path), worker, embeddings, map_args, staging, i, retries=args.retries, pure=False)
                       for i, path in enumerate(parquet)]
            progress(futures)
            sizes = client.gather(futures)
            summary = pd.DataFrame({"lines": [0] * len(sizes), "bytes": sizes})
        else:
            meta = pd.DataFrame({"part": pd.Series(dtype="int64"), "lines": pd.Series(dtype="int64"), "bytes": pd.Series(dtype="int64")})
            done = frame.map_partitions(map_partition, worker, embeddings, map_args, staging, meta=meta)
            future = client.compute(done, retries=args.retries)
            progress(future)
            summary = future.result()
        parts = [os.path.join(staging, name) for name in sorted(os.listdir(staging))
                 if name.startswith("part-") and name.endswith(".jsonl")]
        print(f"\n{len(parts)} parts, {int(summary['lines'].sum()):,} lines mapped, {int(summary['bytes'].sum()):,} bytes of profiles → {args.out}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    # 4. Commit into the store, as profiles build would (from the staging folder: a refused load leaves --out as it was),
    #    then replace --out's plan and parts.
    if args.store:
        load = worker + ["profiles", "load", "--store", args.store, "--plan", plan_path, "--parts"] + parts
        if args.allow_shrink:
            load.append("--allow-shrink")
        print(run(load).stdout.decode().strip())
    for name in os.listdir(args.out):
        if name.startswith("part-") and name.endswith(".jsonl"):
            os.remove(os.path.join(args.out, name))
    for path in parts + [plan_path]:
        os.replace(path, os.path.join(args.out, os.path.basename(path)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
