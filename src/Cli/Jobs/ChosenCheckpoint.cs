using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// The checkpoint a command was pointed at, loaded: `--run DIR` means DIR/best.safetensors, `--checkpoint FILE` the
/// file. <see cref="Directory"/> is where reports about it go (the run directory, or the file's directory).
/// </summary>
public sealed record ChosenCheckpoint(string Path, ModelPlan Model, ModelState State, CheckpointInfo? Info, string Directory, bool IsRun)
{
    /// <summary>
    /// Where `evaluate` writes its text report (the JSON goes beside it): report.txt in a run directory, NAME.report.txt
    /// beside a checkpoint named directly, so two checkpoints in one folder never overwrite each other's reports.
    /// </summary>
    public string ReportPath => IsRun ? System.IO.Path.Combine(Directory, "report.txt")
        : System.IO.Path.Combine(Directory, System.IO.Path.GetFileNameWithoutExtension(Path) + ".report.txt");

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
            if (!float.IsFinite(v))
                return false;
        return true;
    }

    public static ChosenCheckpoint Load(string? run, string? checkpoint)
    {
        if (run is null == checkpoint is null)
            throw new UsageException("give exactly one of --run DIR or --checkpoint FILE");
        if (run is not null && !System.IO.Directory.Exists(run))
            throw new UsageException($"--run {run}: no such run directory");
        var path = checkpoint ?? Checkpoint.PathOf(run!, "best");
        if (run is not null && !File.Exists(path))
        {
            if (RunLock.IsHeld(run))
                throw new UsageException($"{RunLock.InUse(run)}; its first epoch has not finished, so it has no best checkpoint yet");
            if (File.Exists(Checkpoint.PathOf(run, "last")))
                throw new UsageException($"no epoch of {run} has finished yet, so it has no best checkpoint; finish it with '{CommandName.Value} train --resume {run}', or name --checkpoint {Checkpoint.PathOf(run, "last")}");
            if (File.Exists(System.IO.Path.Combine(run, "config.json")))
                throw new UsageException($"{run} stopped before its first checkpoint; train it again with '{CommandName.Value} train --run-dir {run}'");
        }
        if (System.IO.Directory.Exists(path))
            throw new UsageException($"--checkpoint {path} is a directory; give a .safetensors file, or the run directory as --run {path}");
        if (!File.Exists(path))
            throw new UsageException($"{path} does not exist; give a run directory written by '{CommandName.Value} train' or a .safetensors file");
        var loaded = Checkpoint.Load(path);
        if (loaded.ModelAssumption is { } assumption)
            Console.Error.WriteLine($"warning: {path}: {assumption}");
        var state = loaded.State.ForInference();
        var nonFinite = loaded.Model.Parameters.FirstOrDefault(p => !AllFinite(state.Parameters.AsSpan(p.Offset, p.Length)));
        if (nonFinite is not null)
            throw new FashionGpuException($"checkpoint {path} holds NaN or infinite values in {nonFinite.Name}: its training diverged, so its answers would mean nothing; use an earlier checkpoint or train again with a lower --learning-rate");
        return new ChosenCheckpoint(path, loaded.Model, state, loaded.Info, run ?? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            run is not null);
    }
}
