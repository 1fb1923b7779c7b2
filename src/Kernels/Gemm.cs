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

/// <summary>C[M,N] (dense, row-major) = A[M,K]·B[K,N] with A and B read through their layouts.</summary>
public readonly struct GemmShape
{
    public GemmShape(int m, int n, int k, MatrixLayout a, MatrixLayout b)
    {
        M = m;
        N = n;
        K = k;
        A = a;
        B = b;
    }

    public int M { get; }
    public int N { get; }
    public int K { get; }
    public MatrixLayout A { get; }
    public MatrixLayout B { get; }

    /// <summary>Threads to launch: one per 4x4 block of C.</summary>
    public int BlockCount => ((M + 3) / 4) * ((N + 3) / 4);
}

/// <summary>
/// The register-blocked matrix product every dense kernel is built on: one thread computes a 4x4 block of C with 16
/// accumulators, summing over k in increasing order (fixed order: deterministic). Rows and columns past the edge are
/// clamped for loading, so the loop has no branches, and dropped at the store.
/// </summary>
public static class Gemm
{
    public const int NoBias = 0;
    public const int AddBias = 1;

    public static void Block4x4(
        int blockIndex, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s,
        ArrayView<float> columnBias, int biasMode, int relu)
    {
        var blocksN = (s.N + 3) / 4;
        var i0 = (blockIndex / blocksN) * 4;
        var j0 = (blockIndex % blocksN) * 4;
        var lastRow = s.M - 1;
        var lastCol = s.N - 1;

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

        for (var k = 0; k < s.K; k++)
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

        StoreRow(c, s, i0, j0, c00, c01, c02, c03, columnBias, biasMode, relu);
        StoreRow(c, s, i0 + 1, j0, c10, c11, c12, c13, columnBias, biasMode, relu);
        StoreRow(c, s, i0 + 2, j0, c20, c21, c22, c23, columnBias, biasMode, relu);
        StoreRow(c, s, i0 + 3, j0, c30, c31, c32, c33, columnBias, biasMode, relu);
    }

    private static void StoreRow(
        ArrayView<float> c, GemmShape s, int i, int j0, float v0, float v1, float v2, float v3,
        ArrayView<float> columnBias, int biasMode, int relu)
    {
        if (i >= s.M)
            return;
        var row = i * s.N;
        Store(c, row, j0, s.N, v0, columnBias, biasMode, relu);
        Store(c, row, j0 + 1, s.N, v1, columnBias, biasMode, relu);
        Store(c, row, j0 + 2, s.N, v2, columnBias, biasMode, relu);
        Store(c, row, j0 + 3, s.N, v3, columnBias, biasMode, relu);
    }

    private static void Store(
        ArrayView<float> c, int row, int j, int n, float value, ArrayView<float> columnBias, int biasMode, int relu)
    {
        if (j >= n)
            return;
        if (biasMode == AddBias)
            value += columnBias[j];
        if (relu != 0 && value < 0f)
            value = 0f;
        c[row + j] = value;
    }
}
