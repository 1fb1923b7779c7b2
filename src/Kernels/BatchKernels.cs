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

/// <summary>
/// What the gather does to each image. Every draw is a pure function of (<see cref="Key"/>, the image's index in its
/// dataset), and the key of a training epoch comes from (seed, epoch), so a resumed run sees the same images. An
/// output pixel (r, c) reads source pixel (r - dy, c - dx), mirrored left-right when the image is flipped; pixels
/// shifted in from outside, and those inside an erased rectangle, are 0.
/// </summary>
public readonly struct Augmentation
{
    /// <summary>Flip each image with probability 1/2.</summary>
    public const int FlipRandom = 1;
    /// <summary>Flip every image (test-time augmentation's mirror pass).</summary>
    public const int FlipAll = 2;
    public const int EraseMinSide = 4;
    public const int EraseMaxSide = 14;

    /// <summary>Flip the images whose own bit (from <see cref="FlipKey"/>, the same every epoch) is 1: half of them, and on alternate epochs the other half.</summary>
    public const int FlipByImage = 3;
    /// <summary>Flip the images whose own bit is 0.</summary>
    public const int FlipByImageInverted = 4;

    public Augmentation(ulong key, int maxShift, int flip, int erase, ulong flipKey = 0, int dx = 0, int dy = 0)
    {
        Key = key;
        MaxShift = maxShift;
        Flip = flip;
        Erase = erase;
        FlipKey = flipKey;
        Dx = dx;
        Dy = dy;
    }

    public static Augmentation None => default;

    /// <summary>Every image mirrored or not and translated by (dx, dy): one view of test-time augmentation.</summary>
    public static Augmentation View(bool mirrored, int dx, int dy) => new(0, 0, mirrored ? FlipAll : 0, 0, 0, dx, dy);

    public ulong Key { get; }

    /// <summary>dx and dy are uniform in [-MaxShift, MaxShift].</summary>
    public int MaxShift { get; }

    /// <summary>0: never; <see cref="FlipRandom"/>; <see cref="FlipAll"/>; <see cref="FlipByImage"/>; <see cref="FlipByImageInverted"/>.</summary>
    public int Flip { get; }

    /// <summary>The key of each image's own flip bit (<see cref="FlipByImage"/>).</summary>
    public ulong FlipKey { get; }

    /// <summary>A translation added to the drawn one (test-time augmentation's views).</summary>
    public int Dx { get; }
    public int Dy { get; }

    /// <summary>1: with probability 1/2 a rectangle with sides uniform in [EraseMinSide, EraseMaxSide], placed uniformly inside the image, is set to 0.</summary>
    public int Erase { get; }

    public bool IsIdentity => MaxShift == 0 && Flip == 0 && Erase == 0 && Dx == 0 && Dy == 0;

    /// <summary>Uniform integer in [0, n) from 16 random bits.</summary>
    private static int Pick(ulong bits, int n) => (int)(((bits & 0xFFFF) * (ulong)n) >> 16);

    /// <summary>The draws for image <paramref name="sample"/> of a <paramref name="rows"/> x <paramref name="columns"/> dataset.</summary>
    public AugmentedImage Draw(int sample, int rows, int columns)
    {
        var h = CounterRng.Hash(Key, 2 * (ulong)sample);
        var dx = Dx + (MaxShift == 0 ? 0 : Pick(h, 2 * MaxShift + 1) - MaxShift);
        var dy = Dy + (MaxShift == 0 ? 0 : Pick(h >> 16, 2 * MaxShift + 1) - MaxShift);
        var flip = Flip == FlipAll || (Flip == FlipRandom && ((h >> 32) & 1) == 1)
            || (Flip >= FlipByImage && ((CounterRng.Hash(FlipKey, (ulong)sample) & 1) == 1) == (Flip == FlipByImage));
        if (Erase == 0 || ((h >> 33) & 1) == 0)
            return new AugmentedImage(dx, dy, flip, 0, 0, 0, 0);
        var e = CounterRng.Hash(Key, 2 * (ulong)sample + 1);
        var sides = EraseMaxSide - EraseMinSide + 1;
        var height = EraseMinSide + Pick(e, sides);
        var width = EraseMinSide + Pick(e >> 16, sides);
        var top = Pick(e >> 32, rows - height + 1);
        var left = Pick(e >> 48, columns - width + 1);
        return new AugmentedImage(dx, dy, flip, top, top + height, left, left + width);
    }
}

/// <summary>One image's draws: its shift, flip and erased rectangle [Top, Bottom) x [Left, Right) (empty when Bottom is 0).</summary>
public readonly struct AugmentedImage
{
    public AugmentedImage(int dx, int dy, bool flip, int top, int bottom, int left, int right)
    {
        Dx = dx;
        Dy = dy;
        Flipped = flip;
        Top = top;
        Bottom = bottom;
        Left = left;
        Right = right;
    }

    public int Dx { get; }
    public int Dy { get; }
    public bool Flipped { get; }
    public int Top { get; }
    public int Bottom { get; }
    public int Left { get; }
    public int Right { get; }

    /// <summary>
    /// Where output pixel (r, c) comes from in its rows x columns source image (row-major), or -1 when it is shifted in
    /// from outside or erased: the gather writes 0 there.
    /// </summary>
    public int SourcePixel(int r, int c, int rows, int columns)
    {
        if (r >= Top && r < Bottom && c >= Left && c < Right)
            return -1;
        var (sr, sc) = (r - Dy, c - Dx);
        if (sr < 0 || sr >= rows || sc < 0 || sc >= columns)
            return -1;
        return sr * columns + (Flipped ? columns - 1 - sc : sc);
    }
}

public static class BatchKernels
{
    /// <summary>
    /// One thread per (image b, pixel row r): x[b, r, ·] = the augmented row of images[indices[b]] times PixelScale;
    /// the thread of row 0 also copies the label. Launch: Threads.
    /// </summary>
    public static void Gather(
        Index1D thread, ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, ArrayView<float> x,
        ArrayView<int> y, GatherShape s, Augmentation augment)
    {
        var r = thread % s.Rows;
        var b = thread / s.Rows;
        var source = indices[b];
        var to = b * s.ImagePixels + r * s.RowLength;
        if (augment.IsIdentity)
        {
            var from = source * s.ImagePixels + r * s.RowLength;
            for (var c = 0; c < s.RowLength; c++)
                x[to + c] = images[from + c] * s.PixelScale;
        }
        else
        {
            var image = augment.Draw(source, s.Rows, s.RowLength);
            for (var c = 0; c < s.RowLength; c++)
            {
                var pixel = image.SourcePixel(r, c, s.Rows, s.RowLength);
                x[to + c] = pixel < 0 ? 0f : images[source * s.ImagePixels + pixel] * s.PixelScale;
            }
        }
        if (r == 0)
            y[b] = labels[source];
    }
}
