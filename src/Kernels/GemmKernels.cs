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

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0;

        // Each thread fills 8 slots of each shared tile. The next K tile is read into registers while the current one
        // is multiplied, so the global loads' latency hides behind the arithmetic instead of stalling every step.
        var f = new TileFill(s, t, row0, col0, kEnd);
        var pa0 = f.A(a, 0, kBegin); var pa1 = f.A(a, 1, kBegin); var pa2 = f.A(a, 2, kBegin); var pa3 = f.A(a, 3, kBegin);
        var pa4 = f.A(a, 4, kBegin); var pa5 = f.A(a, 5, kBegin); var pa6 = f.A(a, 6, kBegin); var pa7 = f.A(a, 7, kBegin);
        var pb0 = f.B(b, 0, kBegin); var pb1 = f.B(b, 1, kBegin); var pb2 = f.B(b, 2, kBegin); var pb3 = f.B(b, 3, kBegin);
        var pb4 = f.B(b, 4, kBegin); var pb5 = f.B(b, 5, kBegin); var pb6 = f.B(b, 6, kBegin); var pb7 = f.B(b, 7, kBegin);
        for (var k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            tileA[f.SlotA(0)] = pa0; tileA[f.SlotA(1)] = pa1; tileA[f.SlotA(2)] = pa2; tileA[f.SlotA(3)] = pa3;
            tileA[f.SlotA(4)] = pa4; tileA[f.SlotA(5)] = pa5; tileA[f.SlotA(6)] = pa6; tileA[f.SlotA(7)] = pa7;
            tileB[f.SlotB(0)] = pb0; tileB[f.SlotB(1)] = pb1; tileB[f.SlotB(2)] = pb2; tileB[f.SlotB(3)] = pb3;
            tileB[f.SlotB(4)] = pb4; tileB[f.SlotB(5)] = pb5; tileB[f.SlotB(6)] = pb6; tileB[f.SlotB(7)] = pb7;
            Group.Barrier();
            var next = k0 + TileK;
            pa0 = f.A(a, 0, next); pa1 = f.A(a, 1, next); pa2 = f.A(a, 2, next); pa3 = f.A(a, 3, next);
            pa4 = f.A(a, 4, next); pa5 = f.A(a, 5, next); pa6 = f.A(a, 6, next); pa7 = f.A(a, 7, next);
            pb0 = f.B(b, 0, next); pb1 = f.B(b, 1, next); pb2 = f.B(b, 2, next); pb3 = f.B(b, 3, next);
            pb4 = f.B(b, 4, next); pb5 = f.B(b, 5, next); pb6 = f.B(b, 6, next); pb7 = f.B(b, 7, next);
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
    /// c[i] = epilogue(Σ_slice workspace[slice, i]), slices summed in a fixed order (<see cref="StridedSum"/>). Launch: range.Stride threads
    /// over range.Count = M·N elements.
    /// </summary>
    public static void ReduceSplits(
        Index1D thread, ArrayView<float> workspace, ArrayView<float> c, GemmShape s, ArrayView<float> bias,
        ArrayView<float> mask, GemmEpilogue epilogue, ElementRange range)
    {
        var size = s.M * s.N;
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            c[i] = epilogue.Apply(StridedSum.Of(workspace, i, size, s.KSplits), bias, mask, i / s.N, i % s.N, s.N);
        }
    }
}

/// <summary>
/// Which element of A's and B's K tiles each of <see cref="GemmKernels.Tiled"/>'s threads loads into which shared slot:
/// slot l of thread t is element t + 64·l of the tile. Consecutive threads load consecutive addresses: along k when k
/// is A's (B's) contiguous index, else along rows (columns). Elements past M, N or the slice's K end load as 0.
/// </summary>
public readonly struct TileFill
{
    private readonly GemmShape _s;
    private readonly int _t;
    private readonly int _row0;
    private readonly int _col0;
    private readonly int _kEnd;
    private readonly bool _aAlongK;
    private readonly bool _bAlongCols;

    public TileFill(GemmShape s, int t, int row0, int col0, int kEnd)
    {
        _s = s;
        _t = t;
        _row0 = row0;
        _col0 = col0;
        _kEnd = kEnd;
        _aAlongK = s.A.ColStride == 1;
        _bAlongCols = s.B.ColStride == 1;
    }

    private int Index(int l) => _t + l * GemmKernels.GroupSize;
    private int AK(int l) => _aAlongK ? Index(l) % GemmKernels.TileK : Index(l) / GemmKernels.Tile;
    private int ARow(int l) => _aAlongK ? Index(l) / GemmKernels.TileK : Index(l) % GemmKernels.Tile;
    private int BK(int l) => _bAlongCols ? Index(l) / GemmKernels.Tile : Index(l) % GemmKernels.TileK;
    private int BCol(int l) => _bAlongCols ? Index(l) % GemmKernels.Tile : Index(l) / GemmKernels.TileK;

    public int SlotA(int l) => AK(l) * GemmKernels.SharedStride + ARow(l);
    public int SlotB(int l) => BK(l) * GemmKernels.SharedStride + BCol(l);

    public float A(ArrayView<float> a, int l, int k0)
    {
        var row = _row0 + ARow(l);
        var k = k0 + AK(l);
        return row < _s.M && k < _kEnd ? a[row * _s.A.RowStride + k * _s.A.ColStride] : 0f;
    }

    public float B(ArrayView<float> b, int l, int k0)
    {
        var col = _col0 + BCol(l);
        var k = k0 + BK(l);
        return col < _s.N && k < _kEnd ? b[k * _s.B.RowStride + col * _s.B.ColStride] : 0f;
    }
}
