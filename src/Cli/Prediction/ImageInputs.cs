using FashionGpu.Runtime;
using FashionGpu.Runtime.Data;
using SkiaSharp;

namespace FashionGpu.Cli.Prediction;

/// <summary>One 28x28 image to classify, and where it came from.</summary>
public sealed record ImageInput(string Name, byte[] Pixels, int? Label, bool Inverted)
{
    /// <summary>Something the user should know about this image (it was truncated, say); it is still predicted.</summary>
    public string? Warning { get; init; }
}

/// <summary>
/// Turns files into model inputs, recognising them by content: PNG and JPEG (decoded with SkiaSharp, fitted into
/// 28x28 on their background colour, converted to grey and, when the background is light, inverted, since
/// Fashion-MNIST is light on dark), IDX image files (gzip or raw) and Kaggle CSV files (every image in them).
/// </summary>
public static class ImageInputs
{
    public static IReadOnlyList<ImageInput> Read(string path)
    {
        if (Directory.Exists(path))
            throw new FashionGpuException($"{path} is a directory; give image files (PNG, JPEG, IDX or CSV), e.g. {Path.Combine(path, "*.png")}");
        if (!File.Exists(path))
            throw new FashionGpuException($"{path}: no such file");
        var head = new byte[8];
        using (var file = File.OpenRead(path))
            file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (head is [0x89, 0x50, 0x4E, 0x47, ..] or [0xFF, 0xD8, 0xFF, ..])
            return [Decode(path)];
        if (head is [0x1F, 0x8B, ..] or [0, 0, 8, 3, ..])
        {
            var pixels = IdxReader.ReadImages(path);
            return Split(path, new LabeledImages(pixels, new byte[pixels.Length / 784], path), labelled: false);
        }
        if (System.Text.Encoding.ASCII.GetString(head).StartsWith("label,", StringComparison.Ordinal))
            return Split(path, CsvReader.Read(path), labelled: true);
        throw new FashionGpuException($"{path}: not a PNG, JPEG, IDX or Kaggle CSV image file");
    }

    private static IReadOnlyList<ImageInput> Split(string path, LabeledImages images, bool labelled) =>
        Enumerable.Range(0, images.Count).Select(i => new ImageInput($"{path}#{i}", images.Pixels[(i * 784)..((i + 1) * 784)],
            labelled ? images.Labels[i] : null, false)).ToArray();

    /// <summary>Larger images are refused from their header alone, before any memory is taken for their pixels.</summary>
    private const long MaxPixels = 64L << 20;

    private static ImageInput Decode(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new FashionGpuException($"{path}: could not be decoded as a PNG or JPEG image");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || (long)width * height > MaxPixels)
            throw new FashionGpuException($"{path}: its header says {width}x{height} pixels, more than the {MaxPixels >> 20} megapixels read here; scale it down first");
        using var source = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var result = codec.GetPixels(source.Info, source.GetPixels());
        string? warning = null;
        if (result == SKCodecResult.IncompleteInput)
            warning = $"{path} is truncated; the missing part was read as blank";
        else if (result != SKCodecResult.Success)
            throw new FashionGpuException($"{path}: could not be decoded as a PNG or JPEG image ({result})");
        else if (!EndsWhole(path))
            warning = $"{path} is truncated (it lacks the end marker every PNG or JPEG closes with); its prediction may rest on a partial image";
        var light = BorderLuminance(source) > 127;
        using var small = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(small))
        {
            canvas.Clear(light ? SKColors.White : SKColors.Black);
            var scale = 28f / Math.Max(source.Width, source.Height);
            var (w, h) = (source.Width * scale, source.Height * scale);
            using var image = SKImage.FromBitmap(source);
            canvas.DrawImage(image, SKRect.Create((28 - w) / 2, (28 - h) / 2, w, h), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        var pixels = new byte[784];
        for (var y = 0; y < 28; y++)
        for (var x = 0; x < 28; x++)
        {
            var luminance = Luminance(small.GetPixel(x, y));
            pixels[y * 28 + x] = (byte)Math.Clamp(Math.Round(light ? 255 - luminance : luminance), 0, 255);
        }
        return new ImageInput(path, pixels, null, light) { Warning = warning };
    }

    /// <summary>Whether the file ends as a whole PNG (an IEND chunk) or JPEG (an EOI marker) does.</summary>
    private static bool EndsWhole(string path)
    {
        ReadOnlySpan<byte> pngEnd = [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82];
        ReadOnlySpan<byte> jpegEnd = [0xFF, 0xD9];
        using var file = File.OpenRead(path);
        var first = file.ReadByte();
        var tail = new byte[Math.Min(file.Length, 12)];
        file.Seek(-tail.Length, SeekOrigin.End);
        file.ReadExactly(tail);
        // A JPEG may carry padding after its EOI marker; trailing zero bytes are allowed there.
        var trimmed = first == 0xFF ? tail.AsSpan().TrimEnd((byte)0) : tail.AsSpan();
        return first == 0x89 ? trimmed.EndsWith(pngEnd) : trimmed.EndsWith(jpegEnd);
    }

    private static double Luminance(SKColor c) => (0.299 * c.Red + 0.587 * c.Green + 0.114 * c.Blue) * c.Alpha / 255.0 + 255.0 * (255 - c.Alpha) / 255.0;

    /// <summary>Mean luminance of the outermost pixels, with transparency counted as white.</summary>
    private static double BorderLuminance(SKBitmap bitmap)
    {
        var (sum, count) = (0.0, 0);
        for (var x = 0; x < bitmap.Width; x++)
        {
            sum += Luminance(bitmap.GetPixel(x, 0)) + Luminance(bitmap.GetPixel(x, bitmap.Height - 1));
            count += 2;
        }
        for (var y = 0; y < bitmap.Height; y++)
        {
            sum += Luminance(bitmap.GetPixel(0, y)) + Luminance(bitmap.GetPixel(bitmap.Width - 1, y));
            count += 2;
        }
        return sum / count;
    }
}
