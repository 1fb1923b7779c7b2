using System.Runtime.InteropServices;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>
/// What kind of file system entry a path is, which .NET does not say (a device or a pipe reads as a plain file). On
/// Linux it asks statx(2), whose buffer has the same layout on every architecture; elsewhere it does not know.
/// </summary>
public static class FileType
{
    public enum Kind
    {
        Regular,
        Directory,
        CharacterDevice,
        BlockDevice,
        Pipe,
        Socket,
        Link,
    }

    /// <summary>The kind of what <paramref name="path"/> names (links followed), or null when it does not exist or the platform cannot tell.</summary>
    public static Kind? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
            return null;
        var buffer = new byte[256];
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxType, buffer) != 0)
                return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return (BitConverter.ToUInt16(buffer, ModeOffset) & 0xF000) switch
        {
            0x8000 => Kind.Regular,
            0x4000 => Kind.Directory,
            0x2000 => Kind.CharacterDevice,
            0x6000 => Kind.BlockDevice,
            0x1000 => Kind.Pipe,
            0xC000 => Kind.Socket,
            0xA000 => Kind.Link,
            _ => null,
        };
    }

    public static string Describe(Kind kind) => kind switch
    {
        Kind.Regular => "a file",
        Kind.Directory => "a directory",
        Kind.CharacterDevice or Kind.BlockDevice => "a device",
        Kind.Pipe => "a named pipe",
        Kind.Socket => "a socket",
        Kind.Link => "a symbolic link",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 1;
    // struct statx: stx_mask, stx_blksize (u32 each), stx_attributes (u64), stx_nlink, stx_uid, stx_gid (u32 each), stx_mode (u16).
    private const int ModeOffset = 28;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Statx(int directory, string path, int flags, uint mask, byte[] buffer);
}
