namespace FashionGpu.Runtime.Data;

public enum Split
{
    Train,
    Test,
}

public enum DataFormat
{
    Idx,
    Csv,
}

/// <summary>Where the data was found, and why there.</summary>
public enum DataOrigin
{
    Flag,
    Environment,
    WorkingDirectory,
    System,
    Sample,
    /// <summary>The directory a resumed run was trained on.</summary>
    Resumed,
}

public sealed record DataSource(string Directory, DataOrigin Origin, DataFormat Format)
{
    public bool IsSample => Origin == DataOrigin.Sample;

    public string ImagesPath(Split split) => Format == DataFormat.Csv ? CsvPath(split) : DataLocator.FindIdx(Directory, split, "images")!;
    public string LabelsPath(Split split) => DataLocator.FindIdx(Directory, split, "labels")!;
    public string CsvPath(Split split) => Path.Combine(Directory, DataLocator.CsvName(split));
}

/// <summary>
/// Finds Fashion-MNIST in this order: --data-dir, $FASHIONGPU_DATA, ./data/fashion-mnist, /usr/share/datasets/fashion-mnist
/// (Debian's dataset-fashion-mnist), then the sample bundled with the program. A directory the user named that does
/// not hold the data is an error, never a silent fallback.
/// </summary>
public static class DataLocator
{
    public const string EnvironmentVariable = "FASHIONGPU_DATA";
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";
    public const string InstallHint = "install the full set with 'apt-get install dataset-fashion-mnist' or point --data-dir at it";

    public static string SampleDirectory => Path.Combine(AppContext.BaseDirectory, "data", "sample");

    public static string CsvName(Split split) => split == Split.Train ? "fashion-mnist_train.csv" : "fashion-mnist_test.csv";

    private static string IdxPrefix(Split split) => split == Split.Train ? "train" : "t10k";

    internal static string? FindIdx(string directory, Split split, string kind)
    {
        var name = $"{IdxPrefix(split)}-{kind}-{(kind == "images" ? "idx3" : "idx1")}-ubyte";
        foreach (var candidate in new[] { name + ".gz", name })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }
        return null;
    }

    /// <summary>The format of <paramref name="directory"/> for these splits, or what is missing.</summary>
    public static DataFormat? Inspect(string directory, IReadOnlyCollection<Split> splits, out string missing)
    {
        missing = "";
        if (!Directory.Exists(directory))
        {
            missing = "the directory does not exist";
            return null;
        }
        if (splits.All(s => FindIdx(directory, s, "images") is not null && FindIdx(directory, s, "labels") is not null))
            return DataFormat.Idx;
        if (splits.All(s => File.Exists(Path.Combine(directory, CsvName(s)))))
            return DataFormat.Csv;
        var wanted = splits.Select(s => $"{IdxPrefix(s)}-images-idx3-ubyte[.gz] + {IdxPrefix(s)}-labels-idx1-ubyte[.gz] or {CsvName(s)}");
        missing = "no " + string.Join("; no ", wanted);
        return null;
    }

    public static DataSource Locate(string? dataDirectory, IReadOnlyCollection<Split> splits, string? environmentValue = null)
    {
        environmentValue ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        return Locate(dataDirectory, splits, environmentValue,
        [
            (Path.Combine(Directory.GetCurrentDirectory(), "data", "fashion-mnist"), DataOrigin.WorkingDirectory),
            (SystemDirectory, DataOrigin.System),
            (SampleDirectory, DataOrigin.Sample),
        ]);
    }

    internal static DataSource Locate(string? dataDirectory, IReadOnlyCollection<Split> splits, string? environmentValue,
        IReadOnlyList<(string Directory, DataOrigin Origin)> candidates)
    {
        if (!string.IsNullOrWhiteSpace(dataDirectory))
            return Require(dataDirectory, DataOrigin.Flag, "--data-dir", splits);
        if (!string.IsNullOrWhiteSpace(environmentValue))
            return Require(environmentValue, DataOrigin.Environment, "$" + EnvironmentVariable, splits);
        foreach (var (directory, origin) in candidates)
            if (Inspect(directory, splits, out _) is { } format)
                return new DataSource(Path.GetFullPath(directory), origin, format);
        throw new FashionGpuException($"no Fashion-MNIST data found, not even the bundled sample in {candidates[^1].Directory}; {InstallHint}");
    }

    private static DataSource Require(string directory, DataOrigin origin, string from, IReadOnlyCollection<Split> splits) =>
        Inspect(directory, splits, out var missing) is { } format
            ? new DataSource(Path.GetFullPath(directory), origin, format)
            : throw new FashionGpuException($"{from} {directory} does not hold Fashion-MNIST: {missing}");
}
