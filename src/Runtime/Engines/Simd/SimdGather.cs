using System.Runtime.Intrinsics;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary><see cref="BatchKernels.Gather"/> on the host: the same draws and pixels, image by image.</summary>
public static class SimdGather
{
    public static void Gather(LabeledImages data, ReadOnlySpan<int> indices, float scale, Augmentation augment, Span<float> x, Span<int> labels)
    {
        const int side = FashionMnistShape.ImageSide, pixels = FashionMnistShape.ImagePixels;
        for (var b = 0; b < indices.Length; b++)
        {
            var source = data.Pixels.AsSpan(indices[b] * pixels, pixels);
            var target = x.Slice(b * pixels, pixels);
            labels[b] = data.Labels[indices[b]];
            if (augment.IsIdentity)
            {
                Scale(source, target, scale);
                continue;
            }
            var image = augment.Draw(indices[b], side, side);
            for (var r = 0; r < side; r++)
                for (var c = 0; c < side; c++)
                {
                    var pixel = image.SourcePixel(r, c, side, side);
                    target[r * side + c] = pixel < 0 ? 0f : source[pixel] * scale;
                }
        }
    }

    /// <summary>target = source · scale, sixteen bytes widened to floats at a time.</summary>
    private static void Scale(ReadOnlySpan<byte> source, Span<float> target, float scale)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var factor = Vector128.Create(scale);
            for (; i + 16 <= source.Length; i += 16)
            {
                var (low, high) = Vector128.Widen(Vector128.Create<byte>(source[i..]));
                var (a, b) = Vector128.Widen(low);
                var (c, d) = Vector128.Widen(high);
                (Vector128.ConvertToSingle(a) * factor).CopyTo(target[i..]);
                (Vector128.ConvertToSingle(b) * factor).CopyTo(target[(i + 4)..]);
                (Vector128.ConvertToSingle(c) * factor).CopyTo(target[(i + 8)..]);
                (Vector128.ConvertToSingle(d) * factor).CopyTo(target[(i + 12)..]);
            }
        }
        for (; i < source.Length; i++)
            target[i] = source[i] * scale;
    }
}
