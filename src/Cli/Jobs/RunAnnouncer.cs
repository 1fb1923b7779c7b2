using FashionGpu.Runtime.Data;

namespace FashionGpu.Cli.Jobs;

/// <summary>The lines that say what a command is about to use: where the data came from and whether it is official.</summary>
public static class RunAnnouncer
{
    public static void Data(TextWriter output, DataSource source, LoadedSplit split)
    {
        var what = split.Split == Split.Train ? "training" : "test";
        if (source.IsSample)
            output.WriteLine($"warning: no Fashion-MNIST installed; using the bundled sample ({split.Data.Count:N0} {what} images) in " +
                $"{source.Directory}. {char.ToUpperInvariant(DataLocator.InstallHint[0])}{DataLocator.InstallHint[1..]}.");
        output.WriteLine($"data: {split.Data.Count:N0} {what} images from {source.Directory} ({source.Format}, {Origin(source.Origin)}); {split.Verification}");
    }

    private static string Origin(DataOrigin origin) => origin switch
    {
        DataOrigin.Flag => "--data-dir",
        DataOrigin.Resumed => "the run's own data directory",
        DataOrigin.Environment => "$" + DataLocator.EnvironmentVariable,
        DataOrigin.WorkingDirectory => "./data/fashion-mnist",
        DataOrigin.System => "dataset-fashion-mnist package",
        _ => "bundled sample",
    };
}
