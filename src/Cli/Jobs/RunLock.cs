using System.Globalization;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// A run directory held by one `train` for as long as it runs: an exclusive lock on DIR/.lock (advisory, released by
/// the OS if the process dies). Runs never share a directory: a default name that is taken gets a suffix, a named
/// one that holds a run is refused unless it stopped before its first checkpoint (then it starts again). Claiming
/// also proves the directory can be written, before any data is loaded.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly FileStream _lock;

    private RunLock(string directory, FileStream held, IReadOnlyList<string> created) => (Directory, _lock, _created) = (directory, held, created);

    /// <summary>The directories this claim created, deepest first.</summary>
    private readonly IReadOnlyList<string> _created;

    public string Directory { get; }

    /// <summary>True when an earlier run in this directory stopped before writing a checkpoint and is started again.</summary>
    public bool Restarted { get; private init; }

    /// <summary>Releases the directory; one this claim created and nothing was written to is removed again.</summary>
    public void Dispose()
    {
        var path = _lock.Name;
        _lock.Dispose();
        File.Delete(path);
        foreach (var directory in _created)
        {
            if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
                break;
            System.IO.Directory.Delete(directory);
        }
    }

    /// <summary>A new run: <paramref name="requested"/> (--run-dir) or runs/&lt;timestamp&gt;[-N].</summary>
    public static RunLock ForNewRun(string? requested)
    {
        if (requested is not null)
        {
            var claimed = TryClaim(requested, out var reason) ?? throw new UsageException(reason!);
            if (!HasRun(requested))
                return claimed;
            if (!File.Exists(Checkpoint.PathOf(requested, "last")))
                return new RunLock(claimed.Directory, claimed._lock, []) { Restarted = true };
            claimed.Dispose();
            throw new UsageException($"{requested} already holds a run; choose another --run-dir, or continue it with --resume {requested}");
        }
        var stamp = Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        for (var n = 1; ; n++)
        {
            var candidate = n == 1 ? stamp : $"{stamp}-{n}";
            if (System.IO.Directory.Exists(candidate) && System.IO.Directory.EnumerateFileSystemEntries(candidate).Any())
                continue;
            var claimed = TryClaim(candidate, out var reason);
            if (claimed is null)
            {
                if (System.IO.Directory.Exists(candidate))
                    continue;
                throw new UsageException(reason!);
            }
            if (!HasRun(candidate))
                return claimed;
            claimed.Dispose();
        }
    }

    /// <summary>The run being resumed, held so that no other `train` writes into it meanwhile.</summary>
    public static RunLock ForResume(string directory) => TryClaim(directory, out var reason) ?? throw new UsageException(reason!);

    /// <summary>True while a `train` holds <paramref name="directory"/> (its lock file is open without sharing).</summary>
    public static bool IsHeld(string directory)
    {
        var path = Path.Combine(directory, ".lock");
        if (!File.Exists(path))
            return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return false;
        }
        catch (IOException)
        {
            return File.Exists(path);
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The sentence for a run directory another `train` is writing to right now.</summary>
    public static string InUse(string directory) =>
        $"another fashiongpu is training in {directory} right now; wait for it to finish (or stop it), or choose another run";

    private static bool HasRun(string directory) =>
        File.Exists(Path.Combine(directory, "config.json")) || File.Exists(Checkpoint.PathOf(directory, "last"));

    private static RunLock? TryClaim(string directory, out string? reason)
    {
        reason = null;
        try
        {
            if (File.Exists(directory))
            {
                reason = $"--run-dir {directory} is a file, not a directory; choose another --run-dir";
                return null;
            }
            for (var up = Path.GetDirectoryName(Path.GetFullPath(directory)); up is not null; up = Path.GetDirectoryName(up))
                if (File.Exists(up))
                {
                    reason = $"cannot create the run directory {directory}: {up} is a file; choose another --run-dir";
                    return null;
                }
            var created = new List<string>();
            for (var d = Path.GetFullPath(directory); !System.IO.Directory.Exists(d); d = Path.GetDirectoryName(d)!)
                created.Add(d);
            System.IO.Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, ".lock");
            return new RunLock(directory, new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None), created);
        }
        catch (IOException e) when (e is not DirectoryNotFoundException && System.IO.Directory.Exists(directory) && File.Exists(Path.Combine(directory, ".lock")))
        {
            reason = InUse(directory);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot create the run directory {directory} ({e.Message.TrimEnd('.')}); choose a writable --run-dir";
            return null;
        }
    }
}
