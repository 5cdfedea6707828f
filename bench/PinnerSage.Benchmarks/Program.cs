using PinnerSage.Benchmarks;

// One command per benchmark; each runs its peers in the same process run and writes bench/results/<name>.md + .json.
string command = args.Length > 0 ? args[0] : "";
switch (command)
{
    case "clustering":
        return ClusteringBenchmark.Run(args.AsSpan(1).ToArray());
    default:
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/PinnerSage.Benchmarks -- clustering [--quick] [--sizes 50,100]");
        return 3;
}
