using BenchmarkDotNet.Running;
using PinnerSage.Benchmarks;

// One command per benchmark. The side-by-side ones run their peers in the same run and write
// bench/results/<name>.md + .json; `micro` hands over to BenchmarkDotNet for the kernel-level benchmarks.
string command = args.Length > 0 ? args[0] : "";
string[] rest = args.Length > 0 ? args[1..] : [];
switch (command)
{
    case "clustering":
        return ClusteringBenchmark.Run(rest);
    case "clustering-variants":
        return ClusteringVariantsBenchmark.Run(rest);
    case "batch":
        return BatchBenchmark.Run(rest);
    case "hnsw":
        return HnswBenchmark.Run(rest);
    case "retrieval":
        return RetrievalBenchmark.Run(rest);
    case "serve":
        return ServeBenchmark.Run(rest);
    case "itemsage-gemm":
        return GemmBenchmark.Run(rest);
    case "stores":
        return StoresBenchmark.Run(rest);
    case "itemsage-train":
        return ItemSageTrainBenchmark.Run(rest);
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(ClusteringBenchmark).Assembly).Run(rest);
        return 0;
    default:
        Console.Error.WriteLine("""
            usage: dotnet run -c Release --project bench/PinnerSage.Benchmarks -- <benchmark> [options]
              clustering [--quick] [--sizes 50,100,...] [--parts]   Ward per user vs fastcluster and scipy
              clustering-variants [--users 2000]                     Ward / complete linkage / k-means: interest recovery, per-user time vs scipy, sklearn
              batch [--users N | --world DIR] [--threads T] [--also-unsorted]   profiles build on a synthetic world
              hnsw [--quick] [--n N] [--append] [--no-python]         HNSW (int8, float) vs native/Python hnswlib, FAISS: q/s at recall 0.90/0.95/0.99, build, memory
              retrieval [--users 20000] [--items 50000]              PinnerSage candidates/s: HNSW, + medoid cache, exact; candidate recall
              serve [--users 100000] [--items 100000] [--duration 15] [--connections 16] [--index float|int8|both]   HTTP service under wrk: recommendations warm/cold, actions/s
              itemsage-gemm [--quick]                                GEMM GFLOP/s vs measured FMA peak, tower examples/s
              stores [--users 100000] [--appends 2000] [--threads 8] [--postgres CONNSTRING]   event appends/s, batch write, reads: SQLite vs PostgreSQL
              itemsage-train [--quick]                               training examples/s (transformer, MLP) vs PyTorch CPU
              micro [BenchmarkDotNet arguments]                      kernel micro-benchmarks (e.g. --filter *ActionsReader*)
            """);
        return 3;
}
