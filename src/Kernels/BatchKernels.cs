using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// A batch gathered from the device-resident dataset: Count images of Rows·RowLength bytes each, converted to floats
/// and multiplied by PixelScale (1 for the reference's raw 0..255 pixels, 1/255 to scale to [0, 1]).
/// </summary>
public readonly struct GatherShape
{
    public GatherShape(int count, int rows, int rowLength, float pixelScale)
    {
        Count = count;
        Rows = rows;
        RowLength = rowLength;
        PixelScale = pixelScale;
    }

    public int Count { get; }
    public int Rows { get; }
    public int RowLength { get; }
    public float PixelScale { get; }
    public int ImagePixels => Rows * RowLength;
    public int Threads => Count * Rows;
}

public static class BatchKernels
{
    /// <summary>
    /// One thread per (image b, pixel row r): x[b, r, ·] = images[indices[b], r, ·]·PixelScale; the thread of row 0 also
    /// copies the label. Launch: Threads.
    /// </summary>
    public static void Gather(
        Index1D thread, ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, ArrayView<float> x,
        ArrayView<int> y, GatherShape s)
    {
        var r = thread % s.Rows;
        var b = thread / s.Rows;
        var source = indices[b];
        var from = source * s.ImagePixels + r * s.RowLength;
        var to = b * s.ImagePixels + r * s.RowLength;
        for (var c = 0; c < s.RowLength; c++)
            x[to + c] = images[from + c] * s.PixelScale;
        if (r == 0)
            y[b] = labels[source];
    }
}
