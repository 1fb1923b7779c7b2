namespace FashionGpu.Runtime.Data;

/// <summary>Images as the files hold them: Count·784 bytes (row-major 28x28, 0 = background) and Count labels 0..9.</summary>
public sealed class LabeledImages
{
    public LabeledImages(byte[] pixels, byte[] labels, string source)
    {
        if (pixels.Length != labels.Length * Model.FashionMnistShape.ImagePixels)
            throw new FashionGpuException($"{source}: {pixels.Length} pixel bytes do not make {labels.Length} 28x28 images");
        Pixels = pixels;
        Labels = labels;
        Source = source;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public string Source { get; }
    public int Count => Labels.Length;

    public LabeledImages Take(int count) => count >= Count ? this
        : new LabeledImages(Pixels[..(count * Model.FashionMnistShape.ImagePixels)], Labels[..count], $"{Source} (first {count})");
}
