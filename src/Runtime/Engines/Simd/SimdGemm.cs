using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// A matrix inside a float array: element (row, col) at Start(row) + col·ColStride, where row r starts at
/// Offset + r·RowStride, or at Offset + RowStarts[r] when rows lie anywhere in the array (a convolution's unrolled input
/// read in place: each tap's row is a slice of the padded image).
/// </summary>
public readonly record struct Matrix(float[] Data, int Offset, int RowStride, int ColStride = 1, int[]? RowStarts = null)
{
    public static Matrix RowMajor(float[] data, int columns, int offset = 0) => new(data, offset, columns);
    public static Matrix Transposed(float[] data, int storedColumns, int offset = 0) => new(data, offset, 1, storedColumns);

    /// <summary>Rows at arbitrary starts (<see cref="RowStarts"/>, relative to <paramref name="offset"/>), columns contiguous.</summary>
    public static Matrix Rows(float[] data, int[] rowStarts, int offset = 0) => new(data, offset, 0, 1, rowStarts);

    public int Start(int row) => Offset + (RowStarts is null ? row * RowStride : RowStarts[row]);
    public float this[int row, int col] => Data[Start(row) + col * ColStride];

    /// <summary>Throws unless every element of a rows x cols view lies inside the array (the kernels load unchecked).</summary>
    public void Require(int rows, int cols, string name)
    {
        if (rows <= 0 || cols <= 0)
            return;
        if (ColStride < 0 || RowStride < 0 || (RowStarts is not null && RowStarts.Length < rows))
            throw new ArgumentException($"{name}: a {rows}x{cols} view with negative strides or too few row starts");
        // Strided rows lie between the first and the last; rows from a table may lie anywhere.
        if (RowStarts is null)
        {
            RequireRow(0, rows, cols, name);
            RequireRow(rows - 1, rows, cols, name);
        }
        else
            for (var row = 0; row < rows; row++)
                RequireRow(row, rows, cols, name);
    }

    private void RequireRow(int row, int rows, int cols, string name)
    {
        var (first, last) = ((long)Start(row), Start(row) + (long)(cols - 1) * ColStride);
        if (first < 0 || last >= Data.Length)
            throw new ArgumentException($"{name}: a {rows}x{cols} view at offset {Offset} does not fit an array of {Data.Length}");
    }
}

/// <summary>
/// The SIMD engine's matrix products, with 256-bit vectors (512-bit in the NN tiles where the processor has them) and
/// a scalar fallback. Every output element is computed wholly by one task in a fixed order, so results do not depend
/// on the number of cores.
/// </summary>
public static class SimdGemm
{
    private const int Panel = 256;

    /// <summary>
    /// Whether the JIT has only sixteen vector registers (no AVX-512's EVEX encoding: AVX2-only processors, or AVX-512
    /// switched off). The tiles of sixteen 256-bit accumulators would then spill some to the stack on every step of K,
    /// so tiles of twelve run instead (4x24 for NN products, 3x4 for NT ones): the same products in the same order, the
    /// same bits.
    /// </summary>
    private static readonly bool SixteenRegisters = !Avx512F.VL.IsSupported;

    /// <summary>
    /// C[M,N] = A[M,K]·B[K,N] with B row-major and C dense row-major (ldc = N); A read through its strides (a
    /// transposed A is copied into the packed blocks like any other). Vectorised along N in 8x32 or 8x16 register tiles
    /// over the packed blocks of A (4x16, 2x32, 1x8 and scalar at the edges); column panels run in parallel.
    /// </summary>
    public static void MultiplyNN(Matrix a, Matrix b, float[] c, int cOffset, int m, int n, int k, int parallelism)
    {
        using var product = new ProductNN(a, m, k, b, c, cOffset, n, parallelism);
        product.RunAll(parallelism);
    }

    /// <summary>
    /// <see cref="MultiplyNN(Matrix, Matrix, float[], int, int, int, int, int)"/> with A packed beforehand, for an A
    /// that several products share (a convolution's weights, image after image).
    /// </summary>
    public static void MultiplyNN(PackedRows a, Matrix b, float[] c, int cOffset, int n, int parallelism)
    {
        using var product = new ProductNN(a, b, c, cOffset, n, parallelism);
        product.RunAll(parallelism);
    }

    /// <summary>
    /// C = A·B (see <see cref="MultiplyNN(Matrix, Matrix, float[], int, int, int, int, int)"/>) as column panels that
    /// any thread may run in any order, for a caller that runs several products' panels in one parallel loop. An A not
    /// packed beforehand is packed by the first panel to run, so a one-panel product packs on its own thread.
    /// </summary>
    public sealed class ProductNN : IDisposable
    {
        private readonly Matrix _source;
        private readonly Matrix _b;
        private readonly float[] _c;
        private readonly int _m, _k, _cOffset, _n, _panel;
        private readonly int[] _starts;
        private readonly bool _ownsPacked;
        private PackedRows? _packed;
        private object? _packing;

        /// <param name="panels">
        /// At least this many panels where there are columns for them: panels narrower than usual (whole 32s) for a
        /// narrow layer's product.
        /// </param>
        public ProductNN(Matrix a, int m, int k, Matrix b, float[] c, int cOffset, int n, int panels = 1)
            : this(a, m, k, null, b, c, cOffset, n, panels)
        {
        }

        public ProductNN(PackedRows a, Matrix b, float[] c, int cOffset, int n, int panels = 1)
            : this(a.Source, a.Rows, a.Columns, a, b, c, cOffset, n, panels)
        {
        }

        private ProductNN(Matrix a, int m, int k, PackedRows? packed, Matrix b, float[] c, int cOffset, int n, int panels)
        {
            a.Require(m, k, nameof(a));
            b.Require(k, n, nameof(b));
            Matrix.RowMajor(c, n, cOffset).Require(m, n, nameof(c));
            (_source, _m, _k, _packed, _ownsPacked, _b, _c, _cOffset, _n) = (a, m, k, packed, packed is null, b, c, cOffset, n);
            _panel = n < panels * Panel ? Math.Clamp((n + 32 * panels - 1) / (32 * panels) * 32, 32, Panel) : Panel;
            Panels = (n + _panel - 1) / _panel;
            _starts = ArrayPool<int>.Shared.Rent(Math.Max(1, k));
            for (var kk = 0; kk < k; kk++)
                _starts[kk] = b.Start(kk);
        }

        public int Panels { get; }

        private PackedRows Packed => _packed ?? LazyInitializer.EnsureInitialized(ref _packed, ref _packing, () => PackedRows.Of(_source, _m, _k));

        /// <summary>Every panel, in parallel unless <paramref name="parallelism"/> is 1 (a product per image inside an outer parallel loop).</summary>
        public void RunAll(int parallelism)
        {
            if (parallelism == 1 || Panels == 1)
                for (var p = 0; p < Panels; p++)
                    Run(p);
            else
                WorkerTeam.For(Panels, parallelism, Run);
        }

        /// <summary>C's columns of panel <paramref name="p"/>, every row.</summary>
        public void Run(int p)
        {
            var a = Packed;
            var (m, k, blocks, n) = (_m, _k, a.Blocks, _n);
            var j0 = p * _panel;
            var j1 = Math.Min(n, j0 + _panel);
            var tiled = j0 + (j1 - j0) / 16 * 16;
            for (var block = 0; block < blocks; block++)
                Rows8NN(a.Data, block * 8 * k, _b.Data, _starts, _c, _cOffset, n, k, block * 8, j0, tiled);
            var i = 0;
            for (; i < blocks * 8; i += 4)
                RowsNN(_source, _b, _c, _cOffset, n, k, i, 4, tiled, j1);
            for (; i + 4 <= m; i += 4)
                RowsNN(_source, _b, _c, _cOffset, n, k, i, 4, j0, j1);
            for (; i < m; i += 2)
                Rows2NN(_source, _b, _c, _cOffset, n, k, i, Math.Min(2, m - i), j0, j1);
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(_starts);
            if (_ownsPacked)
                _packed?.Dispose();
        }
    }

    /// <summary>
    /// C rows i0..i0+7, columns [j0, j1) (a multiple of 16 wide): 8x32 register tiles of 512-bit vectors where the
    /// processor has them, then 8x16 tiles of 256-bit ones (16 accumulators either way; where there are only
    /// <see cref="SixteenRegisters"/>, 4x24 tiles and then 4x16 ones for what is left); row kk of B starts at
    /// bStarts[kk]. All add the same products in the same order, so neither the vector width nor the register count
    /// changes a bit.
    /// </summary>
    private static void Rows8NN(float[] packed, int aOffset, float[] b, int[] bStarts, float[] c, int cOffset, int n, int k, int i0, int j0, int j1)
    {
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(packed);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        ref var startRef = ref MemoryMarshal.GetArrayDataReference(bStarts);
        ref var cRef = ref MemoryMarshal.GetArrayDataReference(c);
        var j = j0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 32 <= j1; j += 32)
                Tile8<Vector512<float>, Lanes512>(ref aRef, (nuint)aOffset, ref bRef, ref startRef, ref cRef, (nuint)(cOffset + i0 * n + j), (nuint)n, k, j);
        if (SixteenRegisters && Vector256.IsHardwareAccelerated)
        {
            // 24 columns at a time while what is left stays a whole number of 16s.
            var wide = (j1 - j) / 24;
            if (wide > 0 && (j1 - j - 24 * wide) % 16 != 0)
                wide--;
            for (var t = 0; t < wide; t++, j += 24)
            {
                var ci = (nuint)(cOffset + i0 * n + j);
                Tile4x24(ref aRef, (nuint)aOffset, ref bRef, ref startRef, ref cRef, ci, (nuint)n, k, j);
                Tile4x24(ref aRef, (nuint)aOffset + 4, ref bRef, ref startRef, ref cRef, ci + 4 * (nuint)n, (nuint)n, k, j);
            }
        }
        for (; j + 16 <= j1; j += 16)
        {
            var ci = (nuint)(cOffset + i0 * n + j);
            if (SixteenRegisters)
            {
                Tile4(ref aRef, (nuint)aOffset, ref bRef, ref startRef, ref cRef, ci, (nuint)n, k, j);
                Tile4(ref aRef, (nuint)aOffset + 4, ref bRef, ref startRef, ref cRef, ci + 4 * (nuint)n, (nuint)n, k, j);
            }
            else
                Tile8<Vector256<float>, Lanes256>(ref aRef, (nuint)aOffset, ref bRef, ref startRef, ref cRef, ci, (nuint)n, k, j);
        }
    }

    /// <summary>
    /// Four rows of <see cref="Tile8{TVector, TLanes}"/>'s 8x16 tile (the packed block's rows from <paramref name="ai"/>
    /// on, eight floats a k apart) in eight accumulators, for sixteen registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4(ref float aRef, nuint ai, ref float bRef, ref int startRef, ref float cRef, nuint ci, nuint row, int k, int j)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (var kk = 0; kk < k; kk++, ai += 8)
        {
            var bi = (nuint)(Unsafe.Add(ref startRef, kk) + j);
            var b0 = Vector256.LoadUnsafe(ref bRef, bi);
            var b1 = Vector256.LoadUnsafe(ref bRef, bi + 8);
            var a0 = Vector256.Create(Unsafe.Add(ref aRef, ai));
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(Unsafe.Add(ref aRef, ai + 1));
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(Unsafe.Add(ref aRef, ai + 2));
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(Unsafe.Add(ref aRef, ai + 3));
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
        }
        c00.StoreUnsafe(ref cRef, ci); c01.StoreUnsafe(ref cRef, ci + 8); ci += row;
        c10.StoreUnsafe(ref cRef, ci); c11.StoreUnsafe(ref cRef, ci + 8); ci += row;
        c20.StoreUnsafe(ref cRef, ci); c21.StoreUnsafe(ref cRef, ci + 8); ci += row;
        c30.StoreUnsafe(ref cRef, ci); c31.StoreUnsafe(ref cRef, ci + 8);
    }

    /// <summary>
    /// Four rows by 24 columns of C in twelve 256-bit accumulators, for sixteen registers: with three vectors of B and a
    /// broadcast of A that is all of them, and each step of K has twelve FMAs to hide their latency where
    /// <see cref="Tile4"/> has eight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x24(ref float aRef, nuint ai, ref float bRef, ref int startRef, ref float cRef, nuint ci, nuint row, int k, int j)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        for (var kk = 0; kk < k; kk++, ai += 8)
        {
            var bi = (nuint)(Unsafe.Add(ref startRef, kk) + j);
            var b0 = Vector256.LoadUnsafe(ref bRef, bi);
            var b1 = Vector256.LoadUnsafe(ref bRef, bi + 8);
            var b2 = Vector256.LoadUnsafe(ref bRef, bi + 16);
            var a = Vector256.Create(Unsafe.Add(ref aRef, ai));
            c00 = Vector256.FusedMultiplyAdd(a, b0, c00); c01 = Vector256.FusedMultiplyAdd(a, b1, c01); c02 = Vector256.FusedMultiplyAdd(a, b2, c02);
            a = Vector256.Create(Unsafe.Add(ref aRef, ai + 1));
            c10 = Vector256.FusedMultiplyAdd(a, b0, c10); c11 = Vector256.FusedMultiplyAdd(a, b1, c11); c12 = Vector256.FusedMultiplyAdd(a, b2, c12);
            a = Vector256.Create(Unsafe.Add(ref aRef, ai + 2));
            c20 = Vector256.FusedMultiplyAdd(a, b0, c20); c21 = Vector256.FusedMultiplyAdd(a, b1, c21); c22 = Vector256.FusedMultiplyAdd(a, b2, c22);
            a = Vector256.Create(Unsafe.Add(ref aRef, ai + 3));
            c30 = Vector256.FusedMultiplyAdd(a, b0, c30); c31 = Vector256.FusedMultiplyAdd(a, b1, c31); c32 = Vector256.FusedMultiplyAdd(a, b2, c32);
        }
        c00.StoreUnsafe(ref cRef, ci); c01.StoreUnsafe(ref cRef, ci + 8); c02.StoreUnsafe(ref cRef, ci + 16); ci += row;
        c10.StoreUnsafe(ref cRef, ci); c11.StoreUnsafe(ref cRef, ci + 8); c12.StoreUnsafe(ref cRef, ci + 16); ci += row;
        c20.StoreUnsafe(ref cRef, ci); c21.StoreUnsafe(ref cRef, ci + 8); c22.StoreUnsafe(ref cRef, ci + 16); ci += row;
        c30.StoreUnsafe(ref cRef, ci); c31.StoreUnsafe(ref cRef, ci + 8); c32.StoreUnsafe(ref cRef, ci + 16);
    }

    /// <summary>
    /// One 8-row tile of C at ci, two vectors wide (8x16 with 256-bit vectors, 8x32 with 512-bit): eight broadcasts of
    /// A's packed column and two vectors of B's row kk per k, into sixteen accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8<TVector, TLanes>(ref float aRef, nuint ai, ref float bRef, ref int startRef, ref float cRef, nuint ci, nuint row, int k, int j)
        where TVector : struct
        where TLanes : struct, ILanes<TVector>
    {
        var w = (nuint)TLanes.Count;
        TVector c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        TVector c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (var kk = 0; kk < k; kk++, ai += 8)
        {
            var bi = (nuint)(Unsafe.Add(ref startRef, kk) + j);
            var b0 = TLanes.Load(ref bRef, bi);
            var b1 = TLanes.Load(ref bRef, bi + w);
            var a0 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai));
            c00 = TLanes.MultiplyAdd(a0, b0, c00); c01 = TLanes.MultiplyAdd(a0, b1, c01);
            var a1 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 1));
            c10 = TLanes.MultiplyAdd(a1, b0, c10); c11 = TLanes.MultiplyAdd(a1, b1, c11);
            var a2 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 2));
            c20 = TLanes.MultiplyAdd(a2, b0, c20); c21 = TLanes.MultiplyAdd(a2, b1, c21);
            var a3 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 3));
            c30 = TLanes.MultiplyAdd(a3, b0, c30); c31 = TLanes.MultiplyAdd(a3, b1, c31);
            var a4 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 4));
            c40 = TLanes.MultiplyAdd(a4, b0, c40); c41 = TLanes.MultiplyAdd(a4, b1, c41);
            var a5 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 5));
            c50 = TLanes.MultiplyAdd(a5, b0, c50); c51 = TLanes.MultiplyAdd(a5, b1, c51);
            var a6 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 6));
            c60 = TLanes.MultiplyAdd(a6, b0, c60); c61 = TLanes.MultiplyAdd(a6, b1, c61);
            var a7 = TLanes.Broadcast(Unsafe.Add(ref aRef, ai + 7));
            c70 = TLanes.MultiplyAdd(a7, b0, c70); c71 = TLanes.MultiplyAdd(a7, b1, c71);
        }
        TLanes.Store(c00, ref cRef, ci); TLanes.Store(c01, ref cRef, ci + w); ci += row;
        TLanes.Store(c10, ref cRef, ci); TLanes.Store(c11, ref cRef, ci + w); ci += row;
        TLanes.Store(c20, ref cRef, ci); TLanes.Store(c21, ref cRef, ci + w); ci += row;
        TLanes.Store(c30, ref cRef, ci); TLanes.Store(c31, ref cRef, ci + w); ci += row;
        TLanes.Store(c40, ref cRef, ci); TLanes.Store(c41, ref cRef, ci + w); ci += row;
        TLanes.Store(c50, ref cRef, ci); TLanes.Store(c51, ref cRef, ci + w); ci += row;
        TLanes.Store(c60, ref cRef, ci); TLanes.Store(c61, ref cRef, ci + w); ci += row;
        TLanes.Store(c70, ref cRef, ci); TLanes.Store(c71, ref cRef, ci + w);
    }

    /// <summary>
    /// One or two rows of C past A's blocks of eight and fours, 32 columns at a time: eight accumulators (a lone row is
    /// computed twice and stored once), so the FMAs do not wait on each other; <see cref="RowsNN"/> takes the rest.
    /// </summary>
    private static void Rows2NN(Matrix a, Matrix b, float[] c, int cOffset, int n, int k, int i0, int rows, int j0, int j1)
    {
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b.Data);
        ref var cRef = ref MemoryMarshal.GetArrayDataReference(c);
        var i1 = i0 + rows - 1;
        var j = j0;
        if (Vector256.IsHardwareAccelerated)
            for (; j + 32 <= j1; j += 32)
            {
                Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
                Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
                for (var kk = 0; kk < k; kk++)
                {
                    var bi = (nuint)(b.Start(kk) + j);
                    var (b0, b1) = (Vector256.LoadUnsafe(ref bRef, bi), Vector256.LoadUnsafe(ref bRef, bi + 8));
                    var (b2, b3) = (Vector256.LoadUnsafe(ref bRef, bi + 16), Vector256.LoadUnsafe(ref bRef, bi + 24));
                    var (a0, a1) = (Vector256.Create(a[i0, kk]), Vector256.Create(a[i1, kk]));
                    c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                    c02 = Vector256.FusedMultiplyAdd(a0, b2, c02); c03 = Vector256.FusedMultiplyAdd(a0, b3, c03);
                    c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                    c12 = Vector256.FusedMultiplyAdd(a1, b2, c12); c13 = Vector256.FusedMultiplyAdd(a1, b3, c13);
                }
                var ci = (nuint)(cOffset + i0 * n + j);
                c00.StoreUnsafe(ref cRef, ci); c01.StoreUnsafe(ref cRef, ci + 8); c02.StoreUnsafe(ref cRef, ci + 16); c03.StoreUnsafe(ref cRef, ci + 24);
                ci = (nuint)(cOffset + i1 * n + j);
                c10.StoreUnsafe(ref cRef, ci); c11.StoreUnsafe(ref cRef, ci + 8); c12.StoreUnsafe(ref cRef, ci + 16); c13.StoreUnsafe(ref cRef, ci + 24);
            }
        RowsNN(a, b, c, cOffset, n, k, i0, rows, j, j1);
    }

    private static void RowsNN(Matrix a, Matrix b, float[] c, int cOffset, int n, int k, int i0, int rows, int j0, int j1)
    {
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b.Data);
        ref var cRef = ref MemoryMarshal.GetArrayDataReference(c);
        var j = j0;
        if (Vector256.IsHardwareAccelerated && rows == 4)
        {
            for (; j + 16 <= j1; j += 16)
            {
                Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
                Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
                for (var kk = 0; kk < k; kk++)
                {
                    var bi = (nuint)(b.Start(kk) + j);
                    var b0 = Vector256.LoadUnsafe(ref bRef, bi);
                    var b1 = Vector256.LoadUnsafe(ref bRef, bi + 8);
                    var a0 = Vector256.Create(a[i0, kk]);
                    var a1 = Vector256.Create(a[i0 + 1, kk]);
                    var a2 = Vector256.Create(a[i0 + 2, kk]);
                    var a3 = Vector256.Create(a[i0 + 3, kk]);
                    c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                    c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                    c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                    c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                }
                var ci = (nuint)(cOffset + i0 * n + j);
                c00.StoreUnsafe(ref cRef, ci); c01.StoreUnsafe(ref cRef, ci + 8);
                c10.StoreUnsafe(ref cRef, ci + (nuint)n); c11.StoreUnsafe(ref cRef, ci + (nuint)n + 8);
                c20.StoreUnsafe(ref cRef, ci + (nuint)(2 * n)); c21.StoreUnsafe(ref cRef, ci + (nuint)(2 * n) + 8);
                c30.StoreUnsafe(ref cRef, ci + (nuint)(3 * n)); c31.StoreUnsafe(ref cRef, ci + (nuint)(3 * n) + 8);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= j1; j += 8)
            {
                for (var r = 0; r < rows; r++)
                {
                    var acc = Vector256<float>.Zero;
                    for (var kk = 0; kk < k; kk++)
                        acc = Vector256.FusedMultiplyAdd(Vector256.Create(a[i0 + r, kk]), Vector256.LoadUnsafe(ref bRef, (nuint)(b.Start(kk) + j)), acc);
                    acc.StoreUnsafe(ref cRef, (nuint)(cOffset + (i0 + r) * n + j));
                }
            }
        }
        for (; j < j1; j++)
        {
            for (var r = 0; r < rows; r++)
            {
                var acc = 0f;
                for (var kk = 0; kk < k; kk++)
                    acc = MathF.FusedMultiplyAdd(a[i0 + r, kk], b.Data[b.Start(kk) + j], acc);
                c[cOffset + (i0 + r) * n + j] = acc;
            }
        }
    }

    /// <summary>
    /// C[i,j] = Σ_k A[i,k]·B[j,k] for row-major A [M,K] and B [N,K] (x·Wᵀ with W in PyTorch's layout), vectorised along
    /// K with 4x4 tiles of dot products (4x8 on 512-bit vectors, 4x5 for ten columns there; 3x4 tiles where there are
    /// only <see cref="SixteenRegisters"/>; 2x4 and single dot products at the edges); blocks of B's rows, and groups
    /// of A's rows when the blocks are few, run in parallel. With <paramref name="bias"/>, C[i,j] + bias[j] (then
    /// max(·, 0) when <paramref name="relu"/>, a NaN staying NaN), added by the thread that formed the sum.
    /// </summary>
    public static void MultiplyNT(float[] a, int aOffset, float[] b, int bOffset, float[] c, int cOffset, int m, int n, int k, int parallelism,
        ReadOnlyMemory<float> bias = default, bool relu = false) =>
        MultiplyNT(Matrix.RowMajor(a, k, aOffset), Matrix.RowMajor(b, k, bOffset), c, cOffset, m, n, k, parallelism, bias, relu);

    /// <summary>
    /// <see cref="MultiplyNT(float[], int, float[], int, float[], int, int, int, int, int, ReadOnlyMemory{float}, bool)"/>
    /// with A's rows a fixed stride apart and B's rows wherever <paramref name="b"/> says (both contiguous along K).
    /// </summary>
    public static void MultiplyNT(Matrix a, Matrix b, float[] c, int cOffset, int m, int n, int k, int parallelism,
        ReadOnlyMemory<float> bias = default, bool relu = false)
    {
        if (!bias.IsEmpty && bias.Length < n)
            throw new ArgumentException($"MultiplyNT: a bias of {bias.Length} for {n} columns");
        if (a.ColStride != 1 || a.RowStarts is not null || b.ColStride != 1)
            throw new ArgumentException("MultiplyNT needs A's rows a fixed stride apart and both operands contiguous along K");
        a.Require(m, k, nameof(a));
        b.Require(n, k, nameof(b));
        Matrix.RowMajor(c, n, cOffset).Require(m, n, nameof(c));
        // Ten columns (every output layer here) are two blocks of five where 32 vector registers hold a 4x5 tile;
        // otherwise blocks of eight columns on 512-bit vectors (Tile4x8), of four on 256-bit ones.
        var width = !Vector512.IsHardwareAccelerated ? 4 : n % 4 != 0 && n % 5 == 0 ? 5 : 8;
        var (blocks, lda) = ((n + width - 1) / width, a.RowStride);
        // Work units: blocks of columns, and with too few of them for the threads (a narrow output layer), groups of
        // rows too, each thread's units one contiguous group of rows.
        var rowGroups = blocks >= 4 * parallelism ? 1 : Math.Clamp(m / 16, 1, parallelism);
        var groupRows = (m + rowGroups - 1) / rowGroups;
        groupRows = (groupRows + 3) / 4 * 4;
        if (parallelism == 1)
            for (var unit = 0; unit < blocks * rowGroups; unit++)
                ColumnsNT(unit);
        else
            WorkerTeam.For(blocks * rowGroups, parallelism, ColumnsNT);

        void ColumnsNT(int unit)
        {
            var (group, block) = Math.DivRem(unit, blocks);
            var (i, i1) = (group * groupRows, Math.Min(m, (group + 1) * groupRows));
            var j0 = block * width;
            if (width == 5)
                Columns5NT(a, b, c, cOffset, n, k, i, i1, j0, bias.IsEmpty ? default : bias.Span.Slice(j0, 5), relu);
            else
            {
                if (width == 8)
                    Columns8NT(i, i1, j0);
                else
                    Columns4NT(i, i1, j0);
                if (!bias.IsEmpty)
                    AddBias(c, cOffset, n, i, i1, j0, bias.Span.Slice(j0, Math.Min(width, n - j0)), relu);
            }
        }

        // Columns j0..j0+7 as Columns4NT would make them at j0 and at j0 + 4, the 4-row tiles two at once.
        void Columns8NT(int i, int i1, int j0)
        {
            var cols = Math.Min(8, n - j0);
            if (cols > 4)
            {
                // Fewer than eight columns left: the high half repeats B's last row, as Columns4NT's tiles do.
                BRows Rows(int o) => new(b.Start(j0 + Math.Min(o, cols - 1)), b.Start(j0 + Math.Min(o + 1, cols - 1)),
                    b.Start(j0 + Math.Min(o + 2, cols - 1)), b.Start(j0 + Math.Min(o + 3, cols - 1)));
                var (low, high) = (Rows(0), Rows(4));
                var partial = cols < 8 ? ArrayPool<float>.Shared.Rent(32) : null;
                var (target, at, ldc) = partial is null ? (c, cOffset + j0, n) : (partial, 0, 8);
                for (; i + 4 <= i1; i += 4)
                {
                    var c0 = partial is null ? at + i * ldc : 0;
                    Tile4x8(a.Data, a.Start(i), lda, b.Data, low, high, target, c0, ldc, k);
                    if (k % 8 != 0)
                    {
                        AddTail(a.Data, a.Start(i), lda, b.Data, low, target, c0, ldc, k, k / 8 * 8, 4);
                        AddTail(a.Data, a.Start(i), lda, b.Data, high, target, c0 + 4, ldc, k, k / 8 * 8, 4);
                    }
                    if (partial is not null)
                        for (var r = 0; r < 4; r++)
                            partial.AsSpan(r * 8, cols).CopyTo(c.AsSpan(cOffset + (i + r) * n + j0, cols));
                }
                if (partial is not null)
                    ArrayPool<float>.Shared.Return(partial);
                Columns4NT(i, i1, j0 + 4);
            }
            Columns4NT(i, i1, j0);
        }

        void Columns4NT(int i, int i1, int j0)
        {
            var cols = Math.Min(4, n - j0);
            // Fewer than four columns left: the tiles repeat B's last row and keep the sums of the real ones.
            var rowsB = new BRows(b.Start(j0), b.Start(j0 + Math.Min(1, cols - 1)), b.Start(j0 + Math.Min(2, cols - 1)), b.Start(j0 + Math.Min(3, cols - 1)));
            var partial = cols < 4 ? ArrayPool<float>.Shared.Rent(16) : null;
            var (target, at, ldc) = partial is null ? (c, cOffset + j0, n) : (partial, 0, 4);
            // Sixteen registers hold three rows' tile (twelve accumulators), not four.
            var tileRows = SixteenRegisters ? 3 : 4;
            if (Vector256.IsHardwareAccelerated)
                for (; i + tileRows <= i1; i += tileRows)
                {
                    var c0 = partial is null ? at + i * ldc : 0;
                    if (SixteenRegisters)
                        Tile3x4(a.Data, a.Start(i), lda, b.Data, rowsB, target, c0, ldc, k);
                    else
                    {
                        Tile4x4(a.Data, a.Start(i), lda, b.Data, rowsB, target, c0, ldc, k);
                        if (k % 8 != 0)
                            AddTail(a.Data, a.Start(i), lda, b.Data, rowsB, target, c0, ldc, k, k / 8 * 8, 4);
                    }
                    if (partial is not null)
                        for (var r = 0; r < tileRows; r++)
                            partial.AsSpan(r * 4, cols).CopyTo(c.AsSpan(cOffset + (i + r) * n + j0, cols));
                }
            for (; i < i1; i += 2)
            {
                var rows = Math.Min(2, i1 - i);
                if (rows == 2 && cols == 4)
                    Tile2x4(a.Data, a.Start(i), lda, b.Data, rowsB, c, cOffset + i * n + j0, n, k);
                else
                    for (var r = 0; r < rows; r++)
                        for (var cc = 0; cc < cols; cc++)
                            c[cOffset + (i + r) * n + j0 + cc] = Dot(a.Data, a.Start(i + r), b.Data, b.Start(j0 + cc), k);
            }
            if (partial is not null)
                ArrayPool<float>.Shared.Return(partial);
        }
    }

    /// <summary>C[i, j0 + j] += bias[j] for rows [i0, i1), then max(·, 0) when <paramref name="relu"/>.</summary>
    private static void AddBias(float[] c, int cOffset, int n, int i0, int i1, int j0, ReadOnlySpan<float> bias, bool relu)
    {
        var quad = bias.Length >= 4 && Vector128.IsHardwareAccelerated ? Vector128.Create(bias[..4]) : default;
        for (var i = i0; i < i1; i++)
        {
            var row = c.AsSpan(cOffset + i * n + j0, bias.Length);
            var j = 0;
            if (bias.Length >= 4 && Vector128.IsHardwareAccelerated)
            {
                var v = Vector128.Create<float>(row) + quad;
                (relu ? Relu(v) : v).CopyTo(row);
                j = 4;
            }
            for (; j < row.Length; j++)
            {
                var v = row[j] + bias[j];
                row[j] = relu && v < 0f ? 0f : v;
            }
        }
    }

    /// <summary>C rows [i, i1), columns j0..j0+4: 4x5 tiles, then single dot products for the rows past the last four.</summary>
    private static void Columns5NT(Matrix a, Matrix b, float[] c, int cOffset, int n, int k, int i, int i1, int j0, ReadOnlySpan<float> bias, bool relu)
    {
        var rowsB = new BRows(b.Start(j0), b.Start(j0 + 1), b.Start(j0 + 2), b.Start(j0 + 3));
        var fifth = b.Start(j0 + 4);
        // Without a tail the tiles' sums are final, and the bias goes on as they are stored.
        var folded = k % 8 == 0 && !bias.IsEmpty;
        var tile = folded ? new TileBias(true, Vector128.Create(bias[..4]), bias[4], relu) : default;
        var i0 = i;
        for (; i + 4 <= i1; i += 4)
        {
            Tile4x5(a.Data, a.Start(i), a.RowStride, b.Data, rowsB, fifth, c, cOffset + i * n + j0, n, k, tile);
            if (k % 8 != 0)
                AddTail(a.Data, a.Start(i), a.RowStride, b.Data, rowsB, c, cOffset + i * n + j0, n, k, k / 8 * 8, 4, fifth);
        }
        var rest = i;
        for (; i < i1; i++)
            for (var cc = 0; cc < 5; cc++)
                c[cOffset + i * n + j0 + cc] = Dot(a.Data, a.Start(i), b.Data, b.Start(j0 + cc), k);
        if (!bias.IsEmpty)
            AddBias(c, cOffset, n, folded ? rest : i0, i1, j0, bias, relu);
    }

    /// <summary>A bias added as <see cref="Tile4x5"/> stores its sums (when <see cref="Add"/>): its first four columns, its fifth, and ReLU after it.</summary>
    private readonly record struct TileBias(bool Add, Vector128<float> Quad, float Fifth, bool Relu)
    {
        /// <summary>A row's sums of the first four columns, biased.</summary>
        public Vector128<float> OnRow(Vector128<float> sums) => Relu ? SimdGemm.Relu(sums + Quad) : sums + Quad;

        /// <summary>Four rows' sums of the fifth column, biased.</summary>
        public Vector128<float> OnFifths(Vector128<float> sums) => Relu ? SimdGemm.Relu(sums + Vector128.Create(Fifth)) : sums + Vector128.Create(Fifth);
    }

    /// <summary><see cref="Kernels.NanRule.Relu"/> on four lanes: a NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Relu(Vector128<float> v) => Vector128.ConditionalSelect(Vector128.LessThan(v, Vector128<float>.Zero), Vector128<float>.Zero, v);

    /// <summary>
    /// Twenty dot products of 4 rows of A with 5 rows of B (<paramref name="rowsB"/> and <paramref name="fifth"/>), as
    /// <see cref="Tile4x4"/>: 20 accumulators, 4 rows of A and one of B live at once, which needs 32 registers.
    /// </summary>
    private static void Tile4x5(float[] a, int a0, int lda, float[] b, BRows rowsB, int fifth, float[] c, int c0, int ldc, int k, TileBias bias)
    {
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(a);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default, s14 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s24 = default;
        Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default, s34 = default;
        var ka = (nuint)lda;
        for (var kk = 0; kk + 8 <= k; kk += 8)
        {
            var ai = (nuint)(a0 + kk);
            var x0 = Vector256.LoadUnsafe(ref aRef, ai);
            var x1 = Vector256.LoadUnsafe(ref aRef, ai + ka);
            var x2 = Vector256.LoadUnsafe(ref aRef, ai + 2 * ka);
            var x3 = Vector256.LoadUnsafe(ref aRef, ai + 3 * ka);
            var w = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R0 + kk));
            s00 = Vector256.FusedMultiplyAdd(x0, w, s00); s10 = Vector256.FusedMultiplyAdd(x1, w, s10); s20 = Vector256.FusedMultiplyAdd(x2, w, s20); s30 = Vector256.FusedMultiplyAdd(x3, w, s30);
            w = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R1 + kk));
            s01 = Vector256.FusedMultiplyAdd(x0, w, s01); s11 = Vector256.FusedMultiplyAdd(x1, w, s11); s21 = Vector256.FusedMultiplyAdd(x2, w, s21); s31 = Vector256.FusedMultiplyAdd(x3, w, s31);
            w = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R2 + kk));
            s02 = Vector256.FusedMultiplyAdd(x0, w, s02); s12 = Vector256.FusedMultiplyAdd(x1, w, s12); s22 = Vector256.FusedMultiplyAdd(x2, w, s22); s32 = Vector256.FusedMultiplyAdd(x3, w, s32);
            w = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R3 + kk));
            s03 = Vector256.FusedMultiplyAdd(x0, w, s03); s13 = Vector256.FusedMultiplyAdd(x1, w, s13); s23 = Vector256.FusedMultiplyAdd(x2, w, s23); s33 = Vector256.FusedMultiplyAdd(x3, w, s33);
            w = Vector256.LoadUnsafe(ref bRef, (nuint)(fifth + kk));
            s04 = Vector256.FusedMultiplyAdd(x0, w, s04); s14 = Vector256.FusedMultiplyAdd(x1, w, s14); s24 = Vector256.FusedMultiplyAdd(x2, w, s24); s34 = Vector256.FusedMultiplyAdd(x3, w, s34);
        }
        var fifths = Sums(s04, s14, s24, s34);
        if (!bias.Add)
        {
            StoreSums(c, c0, s00, s01, s02, s03);
            StoreSums(c, c0 + ldc, s10, s11, s12, s13);
            StoreSums(c, c0 + 2 * ldc, s20, s21, s22, s23);
            StoreSums(c, c0 + 3 * ldc, s30, s31, s32, s33);
        }
        else
        {
            bias.OnRow(Sums(s00, s01, s02, s03)).CopyTo(c.AsSpan(c0, 4));
            bias.OnRow(Sums(s10, s11, s12, s13)).CopyTo(c.AsSpan(c0 + ldc, 4));
            bias.OnRow(Sums(s20, s21, s22, s23)).CopyTo(c.AsSpan(c0 + 2 * ldc, 4));
            bias.OnRow(Sums(s30, s31, s32, s33)).CopyTo(c.AsSpan(c0 + 3 * ldc, 4));
            fifths = bias.OnFifths(fifths);
        }
        (c[c0 + 4], c[c0 + ldc + 4], c[c0 + 2 * ldc + 4], c[c0 + 3 * ldc + 4]) = (fifths[0], fifths[1], fifths[2], fifths[3]);
    }

    /// <summary>
    /// Sixteen dot products of 4 rows of A with 4 rows of B, 8 lanes at a time, over the whole 8s of k; the caller adds
    /// the rest (<see cref="AddTail"/>).
    /// </summary>
    private static void Tile4x4(float[] a, int a0, int lda, float[] b, BRows rowsB, float[] c, int c0, int ldc, int k)
    {
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(a);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        var ka = (nuint)lda;
        var kk = 0;
        for (; kk + 8 <= k; kk += 8)
        {
            var ai = (nuint)(a0 + kk);
            var w0 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R0 + kk));
            var w1 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R1 + kk));
            var w2 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R2 + kk));
            var w3 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R3 + kk));
            var x = Vector256.LoadUnsafe(ref aRef, ai);
            s00 = Vector256.FusedMultiplyAdd(x, w0, s00); s01 = Vector256.FusedMultiplyAdd(x, w1, s01); s02 = Vector256.FusedMultiplyAdd(x, w2, s02); s03 = Vector256.FusedMultiplyAdd(x, w3, s03);
            x = Vector256.LoadUnsafe(ref aRef, ai + ka);
            s10 = Vector256.FusedMultiplyAdd(x, w0, s10); s11 = Vector256.FusedMultiplyAdd(x, w1, s11); s12 = Vector256.FusedMultiplyAdd(x, w2, s12); s13 = Vector256.FusedMultiplyAdd(x, w3, s13);
            x = Vector256.LoadUnsafe(ref aRef, ai + 2 * ka);
            s20 = Vector256.FusedMultiplyAdd(x, w0, s20); s21 = Vector256.FusedMultiplyAdd(x, w1, s21); s22 = Vector256.FusedMultiplyAdd(x, w2, s22); s23 = Vector256.FusedMultiplyAdd(x, w3, s23);
            x = Vector256.LoadUnsafe(ref aRef, ai + 3 * ka);
            s30 = Vector256.FusedMultiplyAdd(x, w0, s30); s31 = Vector256.FusedMultiplyAdd(x, w1, s31); s32 = Vector256.FusedMultiplyAdd(x, w2, s32); s33 = Vector256.FusedMultiplyAdd(x, w3, s33);
        }
        StoreSums(c, c0, s00, s01, s02, s03);
        StoreSums(c, c0 + ldc, s10, s11, s12, s13);
        StoreSums(c, c0 + 2 * ldc, s20, s21, s22, s23);
        StoreSums(c, c0 + 3 * ldc, s30, s31, s32, s33);
    }

    /// <summary>
    /// <see cref="Tile4x4"/> for columns <paramref name="low"/> and <paramref name="high"/> at once on 512-bit vectors:
    /// each accumulator holds a low column's eight lanes and a high column's, so every lane adds the same products in
    /// the same order as Tile4x4's and the sums are the same bits.
    /// </summary>
    private static void Tile4x8(float[] a, int a0, int lda, float[] b, BRows low, BRows high, float[] c, int c0, int ldc, int k)
    {
        ref var x0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), a0);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        // Each B row pair as its low row and the high row's distance from it: fewer live registers than eight starts.
        ref var b0 = ref Unsafe.Add(ref bRef, low.R0);
        ref var b1 = ref Unsafe.Add(ref bRef, low.R1);
        ref var b2 = ref Unsafe.Add(ref bRef, low.R2);
        ref var b3 = ref Unsafe.Add(ref bRef, low.R3);
        var (h0, h1, h2, h3) = ((nint)(high.R0 - low.R0), (nint)(high.R1 - low.R1), (nint)(high.R2 - low.R2), (nint)(high.R3 - low.R3));
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        var ka = (nuint)lda;
        for (nuint kk = 0; kk + 8 <= (nuint)k; kk += 8)
        {
            var w0 = LowAndHigh(ref b0, kk, h0);
            var w1 = LowAndHigh(ref b1, kk, h1);
            var w2 = LowAndHigh(ref b2, kk, h2);
            var w3 = LowAndHigh(ref b3, kk, h3);
            var x = Both(ref x0, kk);
            s00 = Vector512.FusedMultiplyAdd(x, w0, s00); s01 = Vector512.FusedMultiplyAdd(x, w1, s01); s02 = Vector512.FusedMultiplyAdd(x, w2, s02); s03 = Vector512.FusedMultiplyAdd(x, w3, s03);
            x = Both(ref x0, kk + ka);
            s10 = Vector512.FusedMultiplyAdd(x, w0, s10); s11 = Vector512.FusedMultiplyAdd(x, w1, s11); s12 = Vector512.FusedMultiplyAdd(x, w2, s12); s13 = Vector512.FusedMultiplyAdd(x, w3, s13);
            x = Both(ref x0, kk + 2 * ka);
            s20 = Vector512.FusedMultiplyAdd(x, w0, s20); s21 = Vector512.FusedMultiplyAdd(x, w1, s21); s22 = Vector512.FusedMultiplyAdd(x, w2, s22); s23 = Vector512.FusedMultiplyAdd(x, w3, s23);
            x = Both(ref x0, kk + 3 * ka);
            s30 = Vector512.FusedMultiplyAdd(x, w0, s30); s31 = Vector512.FusedMultiplyAdd(x, w1, s31); s32 = Vector512.FusedMultiplyAdd(x, w2, s32); s33 = Vector512.FusedMultiplyAdd(x, w3, s33);
        }
        StoreSums(c, c0, s00.GetLower(), s01.GetLower(), s02.GetLower(), s03.GetLower());
        StoreSums(c, c0 + 4, s00.GetUpper(), s01.GetUpper(), s02.GetUpper(), s03.GetUpper());
        StoreSums(c, c0 + ldc, s10.GetLower(), s11.GetLower(), s12.GetLower(), s13.GetLower());
        StoreSums(c, c0 + ldc + 4, s10.GetUpper(), s11.GetUpper(), s12.GetUpper(), s13.GetUpper());
        StoreSums(c, c0 + 2 * ldc, s20.GetLower(), s21.GetLower(), s22.GetLower(), s23.GetLower());
        StoreSums(c, c0 + 2 * ldc + 4, s20.GetUpper(), s21.GetUpper(), s22.GetUpper(), s23.GetUpper());
        StoreSums(c, c0 + 3 * ldc, s30.GetLower(), s31.GetLower(), s32.GetLower(), s33.GetLower());
        StoreSums(c, c0 + 3 * ldc + 4, s30.GetUpper(), s31.GetUpper(), s32.GetUpper(), s33.GetUpper());
    }

    /// <summary>Eight floats of A's row, in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Both(ref float row, nuint at) => Vector512.Create(Vector256.LoadUnsafe(ref row, at));

    /// <summary>
    /// Eight floats of a low B row, and the same eight of the high row <paramref name="high"/> floats on, in the upper
    /// half: one load and one insert that reads the high row from memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LowAndHigh(ref float low, nuint at, nint high) =>
        Avx512F.InsertVector256(Vector256.LoadUnsafe(ref low, at).ToVector512Unsafe(), Vector256.LoadUnsafe(ref Unsafe.Add(ref low, high), at), 1);

    /// <summary>
    /// <see cref="Tile4x4"/> for three rows of A, for sixteen registers: twelve accumulators, the three rows' vectors and
    /// one of B at a time. Adds its own tail.
    /// </summary>
    private static void Tile3x4(float[] a, int a0, int lda, float[] b, BRows rowsB, float[] c, int c0, int ldc, int k)
    {
        ref var x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), a0);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        ref var b0 = ref Unsafe.Add(ref bRef, rowsB.R0);
        ref var b1 = ref Unsafe.Add(ref bRef, rowsB.R1);
        ref var b2 = ref Unsafe.Add(ref bRef, rowsB.R2);
        ref var b3 = ref Unsafe.Add(ref bRef, rowsB.R3);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
        var ka = (nuint)lda;
        nuint kk = 0;
        for (; kk + 8 <= (nuint)k; kk += 8)
        {
            var (x0, x1, x2) = (Vector256.LoadUnsafe(ref x, kk), Vector256.LoadUnsafe(ref x, kk + ka), Vector256.LoadUnsafe(ref x, kk + 2 * ka));
            var w = Vector256.LoadUnsafe(ref b0, kk);
            s00 = Vector256.FusedMultiplyAdd(x0, w, s00); s10 = Vector256.FusedMultiplyAdd(x1, w, s10); s20 = Vector256.FusedMultiplyAdd(x2, w, s20);
            w = Vector256.LoadUnsafe(ref b1, kk);
            s01 = Vector256.FusedMultiplyAdd(x0, w, s01); s11 = Vector256.FusedMultiplyAdd(x1, w, s11); s21 = Vector256.FusedMultiplyAdd(x2, w, s21);
            w = Vector256.LoadUnsafe(ref b2, kk);
            s02 = Vector256.FusedMultiplyAdd(x0, w, s02); s12 = Vector256.FusedMultiplyAdd(x1, w, s12); s22 = Vector256.FusedMultiplyAdd(x2, w, s22);
            w = Vector256.LoadUnsafe(ref b3, kk);
            s03 = Vector256.FusedMultiplyAdd(x0, w, s03); s13 = Vector256.FusedMultiplyAdd(x1, w, s13); s23 = Vector256.FusedMultiplyAdd(x2, w, s23);
        }
        StoreSums(c, c0, s00, s01, s02, s03);
        StoreSums(c, c0 + ldc, s10, s11, s12, s13);
        StoreSums(c, c0 + 2 * ldc, s20, s21, s22, s23);
        if ((int)kk < k)
            AddTail(a, a0, lda, b, rowsB, c, c0, ldc, k, (int)kk, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile2x4(float[] a, int a0, int lda, float[] b, BRows rowsB, float[] c, int c0, int ldc, int k)
    {
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(a);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        var kk = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; kk + 8 <= k; kk += 8)
            {
                var x0 = Vector256.LoadUnsafe(ref aRef, (nuint)(a0 + kk));
                var x1 = Vector256.LoadUnsafe(ref aRef, (nuint)(a0 + lda + kk));
                var w0 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R0 + kk));
                var w1 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R1 + kk));
                var w2 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R2 + kk));
                var w3 = Vector256.LoadUnsafe(ref bRef, (nuint)(rowsB.R3 + kk));
                s00 = Vector256.FusedMultiplyAdd(x0, w0, s00); s01 = Vector256.FusedMultiplyAdd(x0, w1, s01);
                s02 = Vector256.FusedMultiplyAdd(x0, w2, s02); s03 = Vector256.FusedMultiplyAdd(x0, w3, s03);
                s10 = Vector256.FusedMultiplyAdd(x1, w0, s10); s11 = Vector256.FusedMultiplyAdd(x1, w1, s11);
                s12 = Vector256.FusedMultiplyAdd(x1, w2, s12); s13 = Vector256.FusedMultiplyAdd(x1, w3, s13);
            }
        }
        StoreSums(c, c0, s00, s01, s02, s03);
        StoreSums(c, c0 + ldc, s10, s11, s12, s13);
        if (kk < k)
            AddTail(a, a0, lda, b, rowsB, c, c0, ldc, k, kk, 2);
    }

    /// <summary>
    /// The columns past the last whole 8 of K, added one by one in k order onto the tile's sums already in C. Out of the
    /// tiles' bodies: a staging buffer there cost the tail-free products (most conv products) measurably.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddTail(float[] a, int a0, int lda, float[] b, BRows rowsB, float[] c, int c0, int ldc, int k, int kk, int rows, int fifth = -1)
    {
        var cols = fifth < 0 ? 4 : 5;
        for (; kk < k; kk++)
            for (var r = 0; r < rows; r++)
                for (var cc = 0; cc < cols; cc++)
                    c[c0 + r * ldc + cc] = MathF.FusedMultiplyAdd(a[a0 + r * lda + kk], b[(cc < 4 ? rowsB[cc] : fifth) + kk], c[c0 + r * ldc + cc]);
    }

    /// <summary>
    /// c[at..at+3] = <see cref="Sums"/> of four accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreSums(float[] c, int at, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3) =>
        Sums(s0, s1, s2, s3).CopyTo(c.AsSpan(at, 4));

    /// <summary>
    /// The lane sums of four accumulators, each in the order Vector256.Sum adds one: ((0+1)+(2+3))+((4+5)+(6+7)). With
    /// AVX, three horizontal adds and one add give all four at once in that order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        if (Avx.IsSupported)
        {
            var sums = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
            return sums.GetLower() + sums.GetUpper();
        }
        return Vector128.Create(Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
    }

    /// <summary>Where four consecutive rows of B start.</summary>
    private readonly record struct BRows(int R0, int R1, int R2, int R3)
    {
        public int this[int i] => i switch { 0 => R0, 1 => R1, 2 => R2, _ => R3 };
    }

    private static float Dot(float[] a, int aOffset, float[] b, int bOffset, int k)
    {
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(a);
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        var acc = Vector256<float>.Zero;
        var kk = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; kk + 8 <= k; kk += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref aRef, (nuint)(aOffset + kk)), Vector256.LoadUnsafe(ref bRef, (nuint)(bOffset + kk)), acc);
        var sum = Vector256.Sum(acc);
        for (; kk < k; kk++)
            sum = MathF.FusedMultiplyAdd(a[aOffset + kk], b[bOffset + kk], sum);
        return sum;
    }
}

/// <summary>
/// A's rows in blocks of 8, each stored k-major (8 consecutive floats per k), so the 8x16 micro-kernel's eight
/// broadcasts per k are one cache line whatever A's strides; rows past the last full block are read from
/// <see cref="Source"/>. The storage is rented from the shared pool and returned on dispose.
/// </summary>
public sealed class PackedRows : IDisposable
{
    private readonly bool _ownsSource;

    private PackedRows(Matrix source, int rows, int columns, int blocks, float[] data, bool ownsSource) =>
        (Source, Rows, Columns, Blocks, Data, _ownsSource) = (source, rows, columns, blocks, data, ownsSource);

    public Matrix Source { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Blocks { get; }
    public float[] Data { get; }

    public static PackedRows Of(Matrix a, int m, int k) => Pack(a, m, k, ownsSource: false);

    /// <summary>
    /// <see cref="Of"/> for an A whose array was rented from the shared pool for this alone: it is returned with the
    /// packed rows, since the rows past the last block are read from it until then.
    /// </summary>
    public static PackedRows OfRented(Matrix a, int m, int k) => Pack(a, m, k, ownsSource: true);

    private static PackedRows Pack(Matrix a, int m, int k, bool ownsSource)
    {
        a.Require(m, k, nameof(a));
        var blocks = Vector256.IsHardwareAccelerated ? m / 8 : 0;
        var packed = ArrayPool<float>.Shared.Rent(Math.Max(1, blocks * 8 * k));
        var source = a.Data.AsSpan();
        for (var block = 0; block < blocks; block++)
        {
            var target = packed.AsSpan(block * k * 8, k * 8);
            var first = a.Offset + block * 8 * a.RowStride;
            if (a.RowStride == 1)
            {
                // A transposed in place: the block's 8 rows at one k are 8 consecutive floats.
                for (var kk = 0; kk < k; kk++)
                    source.Slice(first + kk * a.ColStride, 8).CopyTo(target.Slice(kk * 8, 8));
            }
            else
            {
                var kk = 0;
                if (a.ColStride == 1 && Avx.IsSupported)
                    for (; kk + 8 <= k; kk += 8)
                        Transpose8x8(source, first + kk, a.RowStride, target.Slice(kk * 8, 64));
                for (var r = 0; r < 8; r++)
                {
                    var row = first + r * a.RowStride;
                    for (var kt = kk; kt < k; kt++)
                        target[kt * 8 + r] = source[row + kt * a.ColStride];
                }
            }
        }
        return new PackedRows(a, m, k, blocks, packed, ownsSource);
    }

    /// <summary>
    /// Eight rows of eight floats (<paramref name="stride"/> apart) into eight columns, as eight rows of
    /// <paramref name="target"/>, <paramref name="targetStride"/> apart.
    /// </summary>
    internal static void Transpose8x8(ReadOnlySpan<float> source, int first, int stride, Span<float> target, int targetStride = 8)
    {
        if (first < 0 || (long)first + 7L * stride + 8 > source.Length || target.Length < 7L * targetStride + 8)
            throw new ArgumentException($"Transpose8x8: eight rows {stride} apart from {first} or {targetStride} apart do not fit");
        ref var from = ref Unsafe.Add(ref MemoryMarshal.GetReference(source), first);
        ref var to = ref MemoryMarshal.GetReference(target);
        var (s, t) = ((nuint)stride, (nuint)targetStride);
        var r0 = Vector256.LoadUnsafe(ref from);
        var r1 = Vector256.LoadUnsafe(ref from, s);
        var r2 = Vector256.LoadUnsafe(ref from, 2 * s);
        var r3 = Vector256.LoadUnsafe(ref from, 3 * s);
        var r4 = Vector256.LoadUnsafe(ref from, 4 * s);
        var r5 = Vector256.LoadUnsafe(ref from, 5 * s);
        var r6 = Vector256.LoadUnsafe(ref from, 6 * s);
        var r7 = Vector256.LoadUnsafe(ref from, 7 * s);
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves swapped into place.
        var (t0, t1, t2, t3) = (Avx.UnpackLow(r0, r1), Avx.UnpackHigh(r0, r1), Avx.UnpackLow(r2, r3), Avx.UnpackHigh(r2, r3));
        var (t4, t5, t6, t7) = (Avx.UnpackLow(r4, r5), Avx.UnpackHigh(r4, r5), Avx.UnpackLow(r6, r7), Avx.UnpackHigh(r6, r7));
        var (u0, u1, u2, u3) = (Avx.Shuffle(t0, t2, 0x44), Avx.Shuffle(t0, t2, 0xEE), Avx.Shuffle(t1, t3, 0x44), Avx.Shuffle(t1, t3, 0xEE));
        var (u4, u5, u6, u7) = (Avx.Shuffle(t4, t6, 0x44), Avx.Shuffle(t4, t6, 0xEE), Avx.Shuffle(t5, t7, 0x44), Avx.Shuffle(t5, t7, 0xEE));
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref to, t);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref to, 2 * t);
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref to, 3 * t);
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref to, 4 * t);
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref to, 5 * t);
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref to, 6 * t);
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref to, 7 * t);
    }

    public void Dispose()
    {
        ArrayPool<float>.Shared.Return(Data);
        if (_ownsSource)
            ArrayPool<float>.Shared.Return(Source.Data);
    }
}
