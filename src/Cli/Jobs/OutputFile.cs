using FashionGpu.Runtime;
using FashionGpu.Runtime.Checkpoints;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// A file a command was told to write (--output), checked before any work: its directory must exist (nothing is
/// created behind the user's back), and it must be a regular file or not exist yet. A symbolic link is written
/// through to its target; a directory, device or pipe is refused.
/// </summary>
public static class OutputFile
{
    /// <summary>The file that writing <paramref name="path"/> replaces (a link's final target), or a usage error naming <paramref name="flag"/>.</summary>
    public static string Check(string flag, string path)
    {
        if (path.Length == 0)
            throw new UsageException($"{flag} is empty; give a file name");
        string target;
        try
        {
            target = AtomicFile.Target(path);
        }
        catch (FashionGpuException e)
        {
            throw new UsageException($"{flag} {e.Message}");
        }
        var directory = Path.GetDirectoryName(target)!;
        if (File.Exists(directory))
            throw new UsageException($"{flag} {path}: {directory} is a file, not a directory; choose another path");
        if (!Directory.Exists(directory))
            throw new UsageException($"{flag} {path}: the directory {directory} does not exist; create it first or choose another path");
        return target;
    }

    /// <summary>Refuses two outputs of one command that would land in the same file.</summary>
    public static void Distinct(string flag, string first, string second)
    {
        if (string.Equals(AtomicFile.Target(first), AtomicFile.Target(second), StringComparison.Ordinal))
            throw new UsageException($"{flag}: {first} and {second} are the same file, so one report would overwrite the other; choose another name");
    }
}
