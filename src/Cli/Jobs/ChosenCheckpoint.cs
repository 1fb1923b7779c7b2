using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// The checkpoint a command was pointed at, loaded: `--run DIR` means DIR/best.safetensors, `--checkpoint FILE` the
/// file. <see cref="Directory"/> is where reports about it go (the run directory, or the file's directory).
/// </summary>
public sealed record ChosenCheckpoint(string Path, ModelPlan Model, ModelState State, CheckpointInfo? Info, string Directory)
{
    public static ChosenCheckpoint Load(string? run, string? checkpoint)
    {
        if (run is null == checkpoint is null)
            throw new UsageException("give exactly one of --run DIR or --checkpoint FILE");
        if (run is not null && !System.IO.Directory.Exists(run))
            throw new UsageException($"--run {run}: no such run directory");
        var path = checkpoint ?? Checkpoint.PathOf(run!, "best");
        if (!File.Exists(path))
            throw new UsageException($"{path} does not exist; give a run directory written by 'fashiongpu train' or a .safetensors file");
        var loaded = Checkpoint.Load(path);
        return new ChosenCheckpoint(path, loaded.Model, loaded.State, loaded.Info, run ?? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
    }
}
