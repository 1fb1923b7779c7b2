namespace FashionGpu.Runtime.Checkpoints;

/// <summary>
/// Writes a file so that a crash at any moment leaves either the old file or the new one: the bytes go to a temporary
/// file beside it, are flushed to disk, and the temporary file is renamed over the target. A symbolic link is written
/// through (its final target gets the new bytes, the link stays a link); anything that is not a regular file (a
/// directory, a device, a pipe) is refused rather than replaced. The directory must exist.
/// </summary>
public static class AtomicFile
{
    private static readonly object Gate = new();
    private static int _inProgress;
    private static bool _closed;

    public static void Write(string path, Action<Stream> write)
    {
        var target = Target(path);
        var directory = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"cannot write {path}: the directory {directory} does not exist");
        var temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Environment.ProcessId}.tmp");
        Begin();
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        finally
        {
            End();
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>
    /// The file a write to <paramref name="path"/> replaces: the path itself, or the final target of the symbolic link
    /// it is. Throws <see cref="FashionGpuException"/> when that is a directory, a device, a pipe or a socket.
    /// </summary>
    public static string Target(string path)
    {
        var full = Path.GetFullPath(path);
        var target = new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)!.FullName;
        if (Directory.Exists(target))
            throw new FashionGpuException($"{path} is a directory; give a file name inside it");
        if (FileType.Of(target) is { } type && type != FileType.Kind.Regular)
            throw new FashionGpuException($"{path} is {FileType.Describe(type)}, not a regular file; give the path of a file to write");
        return target;
    }

    /// <summary>
    /// Lets the writes under way finish, then holds every later one forever: for a process about to exit with work
    /// still running, so that it leaves no half-written temporary file.
    /// </summary>
    public static void CloseForExit()
    {
        lock (Gate)
        {
            _closed = true;
            while (_inProgress > 0)
                Monitor.Wait(Gate);
        }
    }

    private static void Begin()
    {
        lock (Gate)
        {
            while (_closed)
                Monitor.Wait(Gate);
            _inProgress++;
        }
    }

    private static void End()
    {
        lock (Gate)
        {
            _inProgress--;
            Monitor.PulseAll(Gate);
        }
    }
}
