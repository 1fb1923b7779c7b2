using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// Matrix products for GPUs, and the reduction of split-K partial sums. <see cref="Tiled"/> stages 32x16 tiles of A
/// and 16x32 tiles of B in shared memory; each of a group's 64 threads keeps a 4x4 block of the 32x32 tile of C in
/// registers. The CPU accelerator, where barriers are costly, uses <see cref="Gemm.Block4x4"/> instead.
/// </summary>
public static class GemmKernels
{
    public const int Tile = 32;
    public const int TileK = 16;
    public const int GroupSize = 64;

    /// <summary>
    /// Shared tiles are stored with rows of 33 floats: filling them along k, consecutive threads write 33 words apart,
    /// which lands in 32 different banks; with rows of 32 every one of 16 threads hit the same bank.
    /// </summary>
    public const int SharedStride = Tile + 1;

    /// <summary>Launch: grid (ceil(N/32), ceil(M/32), KSplits), groups of 64 threads.</summary>
    [GroupedKernel(GroupSize)]
    public static void Tiled(
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s, ArrayView<float> bias,
        ArrayView<float> mask, GemmEpilogue epilogue)
    {
        var tileA = SharedMemory.Allocate<float>(TileK * SharedStride);
        var tileB = SharedMemory.Allocate<float>(TileK * SharedStride);
        var t = Group.IdxX;
        var tr = t / 8;
        var tc = t % 8;
        var row0 = Grid.IdxY * Tile;
        var col0 = Grid.IdxX * Tile;
        var slice = Grid.IdxZ;
        var kBegin = slice * s.KPerSplit;
        var kEnd = IntrinsicMath.Min(s.K, kBegin + s.KPerSplit);
        // Consecutive threads load consecutive addresses: along k when k is the contiguous index, else along rows/columns.
        var aAlongK = s.A.ColStride == 1;
        var bAlongCols = s.B.ColStride == 1;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0;

        for (var k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            for (var l = 0; l < TileK * Tile / GroupSize; l++)
            {
                var idx = t + l * GroupSize;
                var ak = aAlongK ? idx % TileK : idx / Tile;
                var ar = aAlongK ? idx / TileK : idx % Tile;
                var gr = row0 + ar;
                var gk = k0 + ak;
                tileA[ak * SharedStride + ar] = gr < s.M && gk < kEnd ? a[gr * s.A.RowStride + gk * s.A.ColStride] : 0f;
                var bk = bAlongCols ? idx / Tile : idx % TileK;
                var bc = bAlongCols ? idx % Tile : idx / TileK;
                var gc = col0 + bc;
                gk = k0 + bk;
                tileB[bk * SharedStride + bc] = gc < s.N && gk < kEnd ? b[gk * s.B.RowStride + gc * s.B.ColStride] : 0f;
            }
            Group.Barrier();
            for (var kk = 0; kk < TileK; kk++)
            {
                var ra = kk * SharedStride + tr * 4;
                var rb = kk * SharedStride + tc * 4;
                var a0 = tileA[ra];
                var a1 = tileA[ra + 1];
                var a2 = tileA[ra + 2];
                var a3 = tileA[ra + 3];
                var b0 = tileB[rb];
                var b1 = tileB[rb + 1];
                var b2 = tileB[rb + 2];
                var b3 = tileB[rb + 3];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        var target = s.KSplits > 1 ? c.SubView((long)slice * s.M * s.N, (long)s.M * s.N) : c;
        var e = s.KSplits > 1 ? GemmEpilogue.None : epilogue;
        var i0 = row0 + tr * 4;
        var j0 = col0 + tc * 4;
        Gemm.StoreRow(target, s, i0, j0, c00, c01, c02, c03, bias, mask, e);
        Gemm.StoreRow(target, s, i0 + 1, j0, c10, c11, c12, c13, bias, mask, e);
        Gemm.StoreRow(target, s, i0 + 2, j0, c20, c21, c22, c23, bias, mask, e);
        Gemm.StoreRow(target, s, i0 + 3, j0, c30, c31, c32, c33, bias, mask, e);
    }

    /// <summary>
    /// c[i] = epilogue(Σ_slice workspace[slice, i]), slices summed in increasing order. Launch: range.Stride threads
    /// over range.Count = M·N elements.
    /// </summary>
    public static void ReduceSplits(
        Index1D thread, ArrayView<float> workspace, ArrayView<float> c, GemmShape s, ArrayView<float> bias,
        ArrayView<float> mask, GemmEpilogue epilogue, ElementRange range)
    {
        var size = s.M * s.N;
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var sum = 0f;
            for (var slice = 0; slice < s.KSplits; slice++)
                sum += workspace[slice * size + i];
            c[i] = epilogue.Apply(sum, bias, mask, i / s.N, i % s.N, s.N);
        }
    }
}
