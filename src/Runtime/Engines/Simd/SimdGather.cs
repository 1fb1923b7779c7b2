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
                for (var i = 0; i < pixels; i++)
                    target[i] = source[i] * scale;
                continue;
            }
            var image = augment.Draw(indices[b], side, side);
            for (var r = 0; r < side; r++)
            {
                var row = image.SourceRow(r, side);
                for (var c = 0; c < side; c++)
                {
                    var column = row < 0 ? -1 : image.SourceColumn(r, c, side);
                    target[r * side + c] = column < 0 ? 0f : source[row * side + column] * scale;
                }
            }
        }
    }
}
