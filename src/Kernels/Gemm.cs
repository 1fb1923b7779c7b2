using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>Where element (row, col) of a matrix lives: RowStride·row + ColStride·col. A transpose is a swap of strides.</summary>
public readonly struct MatrixLayout
{
    public MatrixLayout(int rowStride, int colStride)
    {
        RowStride = rowStride;
        ColStride = colStride;
    }

    public int RowStride { get; }
    public int ColStride { get; }

    public static MatrixLayout RowMajor(int columns) => new(columns, 1);
    public static MatrixLayout Transposed(int columnsOfStored) => new(1, columnsOfStored);
}

/// <summary>
/// C[M,N] (dense, row-major) = A[M,K]·B[K,N] with A and B read through their layouts. With KSplits &gt; 1 the K range
/// is cut into slices whose partial products go to a workspace [KSplits, M, N] and are summed, slice by slice in a
/// fixed order, by <see cref="GemmKernels.ReduceSplits"/>: more threads for long, thin products, still deterministic.
/// </summary>
public readonly struct GemmShape
{
    public GemmShape(int m, int n, int k, MatrixLayout a, MatrixLayout b, int kSplits = 1)
    {
        M = m;
        N = n;
        K = k;
        A = a;
        B = b;
        KSplits = Math.Max(1, Math.Min(kSplits, k));
    }

    public int M { get; }
    public int N { get; }
    public int K { get; }
    public MatrixLayout A { get; }
    public MatrixLayout B { get; }
    public int KSplits { get; }
    public int KPerSplit => (K + KSplits - 1) / KSplits;

    /// <summary>Threads of the register-blocked kernel: one per 4x4 block of C and K slice.</summary>
    public int BlockCount => ((M + 3) / 4) * ((N + 3) / 4) * KSplits;

    public GemmShape WithKSplits(int kSplits) => new(M, N, K, A, B, kSplits);
}

/// <summary>What happens to each C element after the sum: + bias[col], ReLU, or zeroed where mask[row, col] ≤ 0.</summary>
public readonly struct GemmEpilogue
{
    public GemmEpilogue(bool addBias, bool relu, bool maskByPositive)
    {
        AddBias = addBias ? 1 : 0;
        Relu = relu ? 1 : 0;
        MaskByPositive = maskByPositive ? 1 : 0;
    }

    public int AddBias { get; }
    public int Relu { get; }
    public int MaskByPositive { get; }

    public static GemmEpilogue None => default;

    public bool IsNone => AddBias == 0 && Relu == 0 && MaskByPositive == 0;

    public float Apply(float value, ArrayView<float> bias, ArrayView<float> mask, int row, int col, int n)
    {
        if (AddBias != 0)
            value += bias[col];
        if (Relu != 0 && value < 0f)
            value = 0f;
        if (MaskByPositive != 0 && !(mask[row * n + col] > 0f))
            value = 0f;
        return value;
    }
}

/// <summary>
/// The register-blocked matrix product the dense kernels are built on: one thread computes a 4x4 block of C (of one
/// K slice) with 16 accumulators, summing over k in increasing order (fixed order: deterministic). Rows and columns
/// past the edge are clamped for loading, so the loop has no branches, and dropped at the store. This is the shape
/// that runs well on the CPU accelerator; <see cref="GemmKernels.Tiled"/> is the GPU one.
/// </summary>
public static class Gemm
{
    public static void Block4x4(
        int thread, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s,
        ArrayView<float> bias, ArrayView<float> mask, GemmEpilogue epilogue)
    {
        var blocksN = (s.N + 3) / 4;
        var blocks = blocksN * ((s.M + 3) / 4);
        var slice = thread / blocks;
        var block = thread % blocks;
        var i0 = (block / blocksN) * 4;
        var j0 = (block % blocksN) * 4;
        var lastRow = s.M - 1;
        var lastCol = s.N - 1;
        var kBegin = slice * s.KPerSplit;
        var kEnd = IntrinsicMath.Min(s.K, kBegin + s.KPerSplit);

        var ra0 = i0 * s.A.RowStride;
        var ra1 = IntrinsicMath.Min(i0 + 1, lastRow) * s.A.RowStride;
        var ra2 = IntrinsicMath.Min(i0 + 2, lastRow) * s.A.RowStride;
        var ra3 = IntrinsicMath.Min(i0 + 3, lastRow) * s.A.RowStride;
        var cb0 = j0 * s.B.ColStride;
        var cb1 = IntrinsicMath.Min(j0 + 1, lastCol) * s.B.ColStride;
        var cb2 = IntrinsicMath.Min(j0 + 2, lastCol) * s.B.ColStride;
        var cb3 = IntrinsicMath.Min(j0 + 3, lastCol) * s.B.ColStride;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0;

        for (var k = kBegin; k < kEnd; k++)
        {
            var ka = k * s.A.ColStride;
            var kb = k * s.B.RowStride;
            var a0 = a[ra0 + ka];
            var a1 = a[ra1 + ka];
            var a2 = a[ra2 + ka];
            var a3 = a[ra3 + ka];
            var b0 = b[kb + cb0];
            var b1 = b[kb + cb1];
            var b2 = b[kb + cb2];
            var b3 = b[kb + cb3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }

        // Partial sums of a split product go to the workspace raw; the reduction applies the epilogue.
        var target = s.KSplits > 1 ? c.SubView((long)slice * s.M * s.N, (long)s.M * s.N) : c;
        var e = s.KSplits > 1 ? GemmEpilogue.None : epilogue;
        if (e.IsNone && i0 + 3 < s.M && j0 + 3 < s.N)
        {
            // A whole block with nothing to apply: plain stores (the common case; per-element calls are costly on the CPU accelerator).
            var r = i0 * s.N + j0;
            target[r] = c00; target[r + 1] = c01; target[r + 2] = c02; target[r + 3] = c03;
            r += s.N;
            target[r] = c10; target[r + 1] = c11; target[r + 2] = c12; target[r + 3] = c13;
            r += s.N;
            target[r] = c20; target[r + 1] = c21; target[r + 2] = c22; target[r + 3] = c23;
            r += s.N;
            target[r] = c30; target[r + 1] = c31; target[r + 2] = c32; target[r + 3] = c33;
            return;
        }
        StoreRow(target, s, i0, j0, c00, c01, c02, c03, bias, mask, e);
        StoreRow(target, s, i0 + 1, j0, c10, c11, c12, c13, bias, mask, e);
        StoreRow(target, s, i0 + 2, j0, c20, c21, c22, c23, bias, mask, e);
        StoreRow(target, s, i0 + 3, j0, c30, c31, c32, c33, bias, mask, e);
    }

    internal static void StoreRow(
        ArrayView<float> c, GemmShape s, int i, int j0, float v0, float v1, float v2, float v3,
        ArrayView<float> bias, ArrayView<float> mask, GemmEpilogue e)
    {
        if (i >= s.M)
            return;
        Store(c, s, i, j0, v0, bias, mask, e);
        Store(c, s, i, j0 + 1, v1, bias, mask, e);
        Store(c, s, i, j0 + 2, v2, bias, mask, e);
        Store(c, s, i, j0 + 3, v3, bias, mask, e);
    }

    private static void Store(ArrayView<float> c, GemmShape s, int i, int j, float value, ArrayView<float> bias,
        ArrayView<float> mask, GemmEpilogue e)
    {
        if (j < s.N)
            c[i * s.N + j] = e.Apply(value, bias, mask, i, j, s.N);
    }
}
