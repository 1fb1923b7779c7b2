using System.Buffers.Binary;
using System.IO.Compression;

namespace FashionGpu.Runtime.Data;

/// <summary>
/// Reads the official IDX files, gzip-compressed or raw (told apart by the gzip magic, not the name): images
/// (magic 0x00000803, count·28·28 bytes) and labels (magic 0x00000801, count bytes, each 0..9). Streams straight into
/// the result array; any structural problem is a <see cref="DataFormatException"/> naming the file.
/// </summary>
public static class IdxReader
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    public static byte[] ReadImages(string path) => Read(path, ImagesMagic, dimensions: 3, (header, n) =>
    {
        var (rows, cols) = (header[1], header[2]);
        if (rows != 28 || cols != 28)
            throw new DataFormatException(path, $"images are {rows}x{cols}, Fashion-MNIST's are 28x28");
        if ((long)n * 784 > Array.MaxLength)
            throw new DataFormatException(path, $"its header claims {n:N0} images ({(long)n * 784:N0} bytes), more than one array holds; the file is corrupt, download or copy it again");
        if (n == 0)
            throw new DataFormatException(path, "holds no images (its header says 0); give a file with at least one image");
        return n * 784;
    });

    public static byte[] ReadLabels(string path)
    {
        var labels = Read(path, LabelsMagic, dimensions: 1, (_, n) => n);
        var bad = Array.FindIndex(labels, l => l > 9);
        if (bad >= 0)
            throw new DataFormatException(path, $"label {labels[bad]} at index {bad} is outside 0..9");
        return labels;
    }

    private static byte[] Read(string path, int expectedMagic, int dimensions, Func<int[], int, int> payloadLength)
    {
        try
        {
            using var stream = Open(path);
            Span<byte> word = stackalloc byte[4];
            ReadHeaderWord(stream, word, path, "magic number");
            var magic = BinaryPrimitives.ReadInt32BigEndian(word);
            if (magic != expectedMagic)
            {
                var what = expectedMagic == ImagesMagic ? "an IDX image file" : "an IDX label file";
                throw new DataFormatException(path, $"magic number 0x{magic:X8} is not {what}'s 0x{expectedMagic:X8}");
            }
            var header = new int[dimensions];
            for (var d = 0; d < dimensions; d++)
            {
                ReadHeaderWord(stream, word, path, "header");
                header[d] = BinaryPrimitives.ReadInt32BigEndian(word);
                if (header[d] < 0)
                    throw new DataFormatException(path, $"dimension {d} is negative ({header[d]})");
            }
            var length = payloadLength(header, header[0]);
            // An uncompressed file shows its size: a header promising more than it holds is refused before the allocation.
            if (stream is FileStream { CanSeek: true } plain && plain.Length - plain.Position < length)
                throw new DataFormatException(path, $"truncated: the header promises {header[0]:N0} items ({length:N0} bytes) but only {plain.Length - plain.Position:N0} bytes follow");
            var data = new byte[length];
            var read = stream.ReadAtLeast(data, length, throwOnEndOfStream: false);
            if (read < length)
                throw new DataFormatException(path, $"truncated: the header promises {header[0]} items ({length} bytes) but only {read} bytes follow");
            if (stream.ReadByte() >= 0)
                throw new DataFormatException(path, $"has bytes after the {header[0]} items its header announces");
            return data;
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"is not a valid gzip file (corrupt or truncated: {e.Message.TrimEnd('.').ToLowerInvariant()}); download or copy it again");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new DataFormatException(path, $"could not be read ({e.Message})");
        }
    }

    private static void ReadHeaderWord(Stream stream, Span<byte> word, string path, string what)
    {
        if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
            throw new DataFormatException(path, $"truncated: the file ends inside its {what}");
    }

    /// <summary>The file's bytes, decompressed when it starts with gzip's magic bytes 1f 8b.</summary>
    public static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var first = new byte[2];
        var n = file.ReadAtLeast(first, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return n == 2 && first[0] == 0x1f && first[1] == 0x8b
            ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16)
            : file;
    }
}
