using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// The backward of a 3x3 convolution followed by a 2x2 max-pool, from the pooled gradient: of each window's four outputs
/// only the one its argmax picked has a gradient, so dW, db and dx are sums over the pooled cells alone, a quarter of
/// the terms of <see cref="SimdConv2d"/>'s dense products. A cell adds g times its input window to its filter's dW and
/// g times the filter to dx's window. Images and filters lie channel-last, each pixel's channels padded to a whole
/// number of vectors (<see cref="PixelStride"/>), in buffers aligned to 64 bytes: a window row is then a few aligned
/// vectors, summed in registers for dW and added in place for dx. With AVX-512 a pixel is one or two 512-bit vectors and
/// a window's three rows are held at once; with 256-bit vectors alone (sixteen registers) a pixel is two to four
/// 256-bit vectors and the window is taken eight channels at a time, its nine taps in registers.
/// </summary>
/// <remarks>
/// The sums are the dense products' sums, term for term and in the same order, so the bits are the same: only terms
/// with g = 0 are left out, which only a NaN or infinite input (0·∞ is NaN) or the sign of a zero sum could tell. Let q
/// be an output's column on the dense backward's wide grid (<c>gridWidth</c> columns a row). The dense dW, a dot
/// product along q, adds q into vector lane q mod 8 in order of q, then adds the lanes as ((0+1)+(2+3))+((4+5)+(6+7)):
/// here the cells go into eight lists by that lane, each in order of q, and the lists' sums are added the same way. db
/// is <see cref="SimdConv2d.Sum"/> of the gradient on that grid: the cells' g go into its 32 slots by q mod 32 in order
/// of q. dx's dense product adds filter after filter, each in order of q; so do the cells here, and each dx element lies
/// in one block of eight channels, so taking the blocks one after another keeps its order.
/// </remarks>
internal static class PooledConvBackward
{
    private const int Lanes = 8;
    private const int Chunk = 16;
    private const int KernelSize = 3;
    private const int MaxCells = 256;

    [ThreadStatic] private static float[]? _buffer;
    [ThreadStatic] private static int[]? _windows;

    /// <summary>Whether this processor runs the 512-bit form (AVX-512); the 256-bit one needs AVX2 and FMA.</summary>
    public static readonly bool Wide = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Whether <paramref name="s"/> runs here: AVX-512, or AVX2 and FMA; 3x3 filters, 16, 24 or 32 input channels (a
    /// window row of three or six 512-bit vectors, eighteen registers at most; whole blocks of eight channels for the
    /// transposes and the 256-bit form), images at least eight wide, and at most 16 pooled columns and
    /// <see cref="MaxCells"/> pooled cells a plane. Fewer channels would leave the vectors mostly empty; the dense
    /// products are faster there.
    /// </summary>
    public static bool Fit(ConvShape s) =>
        (Wide || Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated) && s.KernelSize == KernelSize && s.InChannels is >= 16 and <= 32
        && s.InChannels % 8 == 0 && s.Width >= 8 && s.OutWidth / 2 <= Chunk && s.OutHeight / 2 * (s.OutWidth / 2) <= MaxCells;

    /// <summary>
    /// Floats a pixel takes in the channel-last layouts: its channels rounded up to whole 512-bit vectors for the
    /// <paramref name="wide"/> form, or as they are (whole 256-bit vectors, as <see cref="Fit"/> asks).
    /// </summary>
    private static int PixelStride(ConvShape s, bool wide) => wide ? (s.InChannels + Chunk - 1) / Chunk * Chunk : s.InChannels;

    /// <summary>The per-thread buffer's parts, in floats from an aligned start; fields, read in the per-filter loops.</summary>
    private readonly struct Layout
    {
        public Layout(ConvShape s, bool wide)
        {
            Stride = PixelStride(s, wide);
            RowWidth = s.Width + 2 * s.Padding;
            RowFloats = RowWidth * Stride;
            Image = (s.Height + 2 * s.Padding) * RowFloats;
            Filter = KernelSize * KernelSize * Stride;
            InputGradient = Image;
            LaneSums = 2 * Image;
            Gradients = LaneSums + Lanes * Filter;
            Length = Gradients + s.OutChannels * (s.OutHeight / 2 * (s.OutWidth / 2) + Chunk);
        }

        public int Stride { get; }
        public int RowWidth { get; }
        public int RowFloats { get; }
        /// <summary>A padded image [H + 2P, W + 2P, Stride].</summary>
        public int Image { get; }
        /// <summary>A filter, or a lane's sums: [3, 3, Stride].</summary>
        public int Filter { get; }
        public int Input => 0;
        public int InputGradient { get; }
        public int LaneSums { get; }
        /// <summary>Each filter's cells' gradients, in grid order.</summary>
        public int Gradients { get; }
        public int Length { get; }
    }

    /// <summary>
    /// The calling thread's buffer for <see cref="Image"/>: pinned, so that its aligned start stays put, and kept for the
    /// thread's next call.
    /// </summary>
    public static Memory<float> Buffer(ConvShape s, bool wide)
    {
        var l = new Layout(s, wide);
        if (_buffer is null || _buffer.Length < l.Length + Chunk)
            _buffer = GC.AllocateArray<float>(l.Length + Chunk, pinned: true);
        var misalignment = (int)(Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0) & 63) / sizeof(float);
        var memory = _buffer.AsMemory((Chunk - misalignment) % Chunk, l.Length);
        var buffer = memory.Span;
        // The input's border and every pixel's padding channels stay zero: only the channels inside are ever written.
        buffer[..l.Image].Clear();
        return memory;
    }

    /// <summary>
    /// W [Out, In, 3, 3] as the filters <see cref="Image"/> adds into dx: [Out, 3, 3, <see cref="PixelStride"/>], the
    /// padding channels zero; once per backward, for every thread. Rented: the caller returns it to the shared pool.
    /// </summary>
    public static float[] ChannelLastFilters(ReadOnlySpan<float> weights, ConvShape s, bool wide)
    {
        var l = new Layout(s, wide);
        var filters = ArrayPool<float>.Shared.Rent(s.OutChannels * l.Filter);
        filters.AsSpan(0, s.OutChannels * l.Filter).Clear();
        for (var co = 0; co < s.OutChannels; co++)
            for (var ci = 0; ci < s.InChannels; ci++)
                for (var t = 0; t < KernelSize * KernelSize; t++)
                    filters[co * l.Filter + t * l.Stride + ci] = weights[(co * s.InChannels + ci) * KernelSize * KernelSize + t];
        return filters;
    }

    /// <summary>
    /// One image's parameter-gradient partial into <paramref name="partial"/> (dW [Out, 3, 3, In], see
    /// <see cref="ToFilterOrder"/>, then db [Out]) and, when <paramref name="dx"/> is not empty, its dx [In, H, W]; from
    /// its input x [In, H, W], the pooled gradient and the pool's argmax. <paramref name="filters"/> come from
    /// <see cref="ChannelLastFilters"/>; <paramref name="buffer"/> is the thread's <see cref="Buffer"/>;
    /// <paramref name="gridWidth"/> and <paramref name="gridColumns"/> are the dense backward's grid, which decides the
    /// order of the sums. <paramref name="wide"/>: the 512-bit form (<see cref="Wide"/>), or the 256-bit one; both give
    /// the same bits, and the filters and the buffer must be laid out for the same one.
    /// </summary>
    public static void Image(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> partial, Span<float> dx,
        ReadOnlySpan<float> filters, Span<float> buffer, ConvShape s, int gridWidth, int gridColumns, bool wide)
    {
        if (!wide)
            Image<Blocks>(x, dy, argmax, partial, dx, filters, buffer, s, gridWidth, gridColumns);
        else if (s.InChannels == 24)
            Image<TwentyFour>(x, dy, argmax, partial, dx, filters, buffer, s, gridWidth, gridColumns);
        else if (PixelStride(s, wide: true) == 2 * Chunk)
            Image<Six>(x, dy, argmax, partial, dx, filters, buffer, s, gridWidth, gridColumns);
        else
            Image<Three>(x, dy, argmax, partial, dx, filters, buffer, s, gridWidth, gridColumns);
    }

    private static void Image<TChunks>(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> partial,
        Span<float> dx, ReadOnlySpan<float> filters, Span<float> buffer, ConvShape s, int gridWidth, int gridColumns) where TChunks : struct, IChunks
    {
        var l = new Layout(s, TChunks.Wide);
        var cells = s.OutHeight / 2 * (s.OutWidth / 2);
        var taps = s.Taps;
        if (partial.Length < s.OutChannels * (taps + 1) || argmax.Length < s.OutChannels * cells || dy.Length < s.OutChannels * cells)
            throw new ArgumentException("PooledConvBackward: the partial or the pooled gradient is short for the shape");
        Transpose(x, buffer.Slice(l.Input, l.Image), s, l.Stride, toChannelLast: true);
        var capacity = cells + Chunk;
        // Every filter's cells in grid order, kept for dx: dW's pass reads the input and dx's writes dx, one at a time in cache.
        if (_windows is null || _windows.Length < s.OutChannels * capacity + s.OutChannels)
            _windows = new int[s.OutChannels * capacity + s.OutChannels];
        var windows = _windows.AsSpan(0, s.OutChannels * capacity);
        var counts = _windows.AsSpan(s.OutChannels * capacity, s.OutChannels);
        var gradients = buffer.Slice(l.Gradients, s.OutChannels * capacity);
        Span<int> qs = stackalloc int[capacity];
        Span<int> laneWindows = stackalloc int[Lanes * capacity];
        Span<float> laneGradients = stackalloc float[Lanes * capacity];
        Span<int> laneCounts = stackalloc int[Lanes];
        Span<int> rowArgmax = stackalloc int[capacity];
        Span<float> rowGradients = stackalloc float[capacity];
        ref var image = ref MemoryMarshal.GetReference(buffer);
        for (var co = 0; co < s.OutChannels; co++)
        {
            argmax.Slice(co * cells, cells).CopyTo(rowArgmax);
            dy.Slice(co * cells, cells).CopyTo(rowGradients);
            var w = windows.Slice(co * capacity, capacity);
            var g = gradients.Slice(co * capacity, capacity);
            var n = counts[co] = TChunks.Wide ? InGridOrder(rowArgmax, rowGradients, w, g, qs, s, gridWidth, l)
                : InGridOrder256(rowArgmax, rowGradients, w, g, qs, s, gridWidth, l);
            var bias = ByLane(w[..n], g[..n], qs[..n], laneWindows, laneGradients, laneCounts, capacity, gridColumns);
            for (var lane = 0; lane < Lanes; lane++)
            {
                var laneWindow = laneWindows.Slice(lane * capacity, laneCounts[lane]);
                var laneGradient = laneGradients.Slice(lane * capacity, laneCounts[lane]);
                var sums = buffer.Slice(l.LaneSums + lane * l.Filter, l.Filter);
                if (TChunks.Wide)
                    SumLane<TChunks>(ref image, laneWindow, laneGradient, l.RowFloats, sums);
                else
                    SumLaneByBlock(ref image, laneWindow, laneGradient, l, s.InChannels, sums);
            }
            ReduceLanes(buffer.Slice(l.LaneSums, Lanes * l.Filter), partial.Slice(co * taps, taps), s.InChannels, l.Stride);
            partial[s.OutChannels * taps + co] = bias;
        }
        var withDx = !dx.IsEmpty;
        if (withDx)
        {
            buffer.Slice(l.InputGradient, l.Image).Clear();
            for (var co = 0; co < s.OutChannels; co++)
            {
                var filterWindows = windows.Slice(co * capacity, counts[co]);
                var filterGradients = gradients.Slice(co * capacity, counts[co]);
                var filter = filters.Slice(co * l.Filter, l.Filter);
                if (TChunks.Wide)
                    AddFilter<TChunks>(ref image, l.InputGradient, filterWindows, filterGradients, filter, l.RowFloats);
                else
                    AddFilterByBlock(ref image, l.InputGradient, filterWindows, filterGradients, filter, l, s.InChannels);
            }
        }
        if (withDx)
            Transpose(buffer.Slice(l.InputGradient, l.Image), dx, s, l.Stride, toChannelLast: false);
    }

    /// <summary>
    /// One filter's cells in order of q: per pooled row, the cells whose output lies in the window's upper row, then the
    /// lower row's, each left to right. For each: its window's offset in the channel-last image, g and q. Returns the count.
    /// </summary>
    private static int InGridOrder(ReadOnlySpan<int> argmax, ReadOnlySpan<float> dy, Span<int> windows, Span<float> gradients, Span<int> qs,
        ConvShape s, int gridWidth, Layout l)
    {
        var (ph, pw) = (s.OutHeight / 2, s.OutWidth / 2);
        RequireVectorToSpare(argmax, dy, windows, gradients, qs, ph * pw);
        var column = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var inRow = Vector512.LessThan(column, Vector512.Create(pw));
        var (one, twice) = (Vector512.Create(1), column * 2);
        ref var a0 = ref MemoryMarshal.GetReference(argmax);
        ref var g0 = ref MemoryMarshal.GetReference(dy);
        ref var w0 = ref MemoryMarshal.GetReference(windows);
        ref var gr0 = ref MemoryMarshal.GetReference(gradients);
        ref var q0 = ref MemoryMarshal.GetReference(qs);
        var n = 0;
        for (var py = 0; py < ph; py++)
        {
            // Masked to the window's four cells: the windows' offsets below are used unchecked.
            var a = Vector512.LoadUnsafe(ref a0, (nuint)(py * pw)) & Vector512.Create(3);
            var g = Vector512.LoadUnsafe(ref g0, (nuint)(py * pw));
            var lower = Vector512.ShiftRightLogical(a, 1);
            var oy = Vector512.Create(2 * py) + lower;
            var ox = twice + (a & one);
            var q = oy * Vector512.Create(gridWidth) + ox;
            var window = (oy * Vector512.Create(l.RowWidth) + ox) * Vector512.Create(l.Stride);
            n = Append(inRow & Vector512.Equals(lower, Vector512<int>.Zero), window, g, q, ref w0, ref gr0, ref q0, n);
            n = Append(inRow & Vector512.Equals(lower, one), window, g, q, ref w0, ref gr0, ref q0, n);
        }
        return n;
    }

    /// <summary>
    /// Whole vectors are loaded from each pooled row and stored at the count, unchecked: every span must have a vector to
    /// spare past the plane's <paramref name="cells"/>.
    /// </summary>
    private static void RequireVectorToSpare(ReadOnlySpan<int> argmax, ReadOnlySpan<float> dy, Span<int> windows, Span<float> gradients, Span<int> qs,
        int cells)
    {
        var room = cells + Chunk;
        if (argmax.Length < room || dy.Length < room || windows.Length < room || gradients.Length < room || qs.Length < room)
            throw new ArgumentException("PooledConvBackward: a cell list has no vector to spare");
    }

    /// <summary>
    /// For each 8-bit mask, the lanes it sets, lowest first, then the rest: a permutation that packs a 256-bit vector's
    /// chosen lanes to its start, as AVX-512's compress does.
    /// </summary>
    private static readonly int[] PackedLanes = Enumerable.Range(0, 256)
        .SelectMany(mask => Enumerable.Range(0, 8).OrderBy(lane => (mask >> lane & 1) == 0 ? 1 : 0).ThenBy(lane => lane)).ToArray();

    /// <summary>
    /// <see cref="InGridOrder"/> in 256-bit vectors (AVX2 has no compress): eight cells of a pooled row at a time, the
    /// chosen ones packed to the front by a permutation from <see cref="PackedLanes"/>.
    /// </summary>
    private static int InGridOrder256(ReadOnlySpan<int> argmax, ReadOnlySpan<float> dy, Span<int> windows, Span<float> gradients, Span<int> qs,
        ConvShape s, int gridWidth, Layout l)
    {
        var (ph, pw) = (s.OutHeight / 2, s.OutWidth / 2);
        RequireVectorToSpare(argmax, dy, windows, gradients, qs, ph * pw);
        var column = Vector256<int>.Indices;
        var (one, twice) = (Vector256.Create(1), column * 2);
        ref var a0 = ref MemoryMarshal.GetReference(argmax);
        ref var g0 = ref MemoryMarshal.GetReference(dy);
        ref var w0 = ref MemoryMarshal.GetReference(windows);
        ref var gr0 = ref MemoryMarshal.GetReference(gradients);
        ref var q0 = ref MemoryMarshal.GetReference(qs);
        ref var lanes = ref MemoryMarshal.GetArrayDataReference(PackedLanes);
        var n = 0;
        for (var py = 0; py < ph; py++)
            for (var lower = 0; lower < 2; lower++)
                for (var px = 0; px < pw; px += 8)
                {
                    var at = (nuint)(py * pw + px);
                    // Masked to the window's four cells: the windows' offsets below are used unchecked.
                    var a = Vector256.LoadUnsafe(ref a0, at) & Vector256.Create(3);
                    var oy = Vector256.Create(2 * py + lower);
                    var ox = Vector256.Create(2 * px) + twice + (a & one);
                    var taken = Vector256.LessThan(column, Vector256.Create(pw - px)) & Vector256.Equals(Vector256.ShiftRightLogical(a, 1), Vector256.Create(lower));
                    var mask = taken.ExtractMostSignificantBits();
                    var order = Vector256.LoadUnsafe(ref lanes, (nuint)(mask * 8));
                    Avx2.PermuteVar8x32((oy * Vector256.Create(l.RowWidth) + ox) * Vector256.Create(l.Stride), order).StoreUnsafe(ref w0, (nuint)n);
                    Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref g0, at), order).StoreUnsafe(ref gr0, (nuint)n);
                    Avx2.PermuteVar8x32(oy * Vector256.Create(gridWidth) + ox, order).StoreUnsafe(ref q0, (nuint)n);
                    n += BitOperations.PopCount(mask);
                }
        return n;
    }

    /// <summary>The cells of <paramref name="taken"/> stored from <paramref name="n"/> on; returns the new count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Append(Vector512<int> taken, Vector512<int> window, Vector512<float> g, Vector512<int> q, ref int windows, ref float gradients,
        ref int qs, int n)
    {
        Avx512F.Compress(Vector512<int>.Zero, taken, window).StoreUnsafe(ref windows, (nuint)n);
        Avx512F.Compress(Vector512<float>.Zero, taken.AsSingle(), g).StoreUnsafe(ref gradients, (nuint)n);
        Avx512F.Compress(Vector512<int>.Zero, taken, q).StoreUnsafe(ref qs, (nuint)n);
        return n + BitOperations.PopCount(taken.ExtractMostSignificantBits());
    }

    /// <summary>
    /// The cells split by their lane, q mod 8, each lane's in the order given: lane i's from i·<paramref name="capacity"/>.
    /// Returns db's term, <see cref="SimdConv2d.Sum"/> of a gradient plane of <paramref name="columns"/> floats that holds
    /// the gradients at their q (in increasing order) and zeros elsewhere, without the plane: the same additions in the
    /// same order, the cells in whole 32-column blocks into 32 slots by q mod 32, then the slots' sum, then the rest.
    /// </summary>
    private static float ByLane(ReadOnlySpan<int> windows, ReadOnlySpan<float> gradients, ReadOnlySpan<int> qs, Span<int> laneWindows,
        Span<float> laneGradients, Span<int> counts, int capacity, int columns)
    {
        if (laneWindows.Length < Lanes * capacity || laneGradients.Length < Lanes * capacity || capacity < windows.Length
            || gradients.Length < windows.Length || qs.Length < windows.Length || counts.Length < Lanes)
            throw new ArgumentException("PooledConvBackward: the lanes' lists are short");
        counts[..Lanes].Clear();
        Span<float> slots = stackalloc float[32];
        slots.Clear();
        ref var slot = ref MemoryMarshal.GetReference(slots);
        ref var count0 = ref MemoryMarshal.GetReference(counts);
        ref var lw = ref MemoryMarshal.GetReference(laneWindows);
        ref var lg = ref MemoryMarshal.GetReference(laneGradients);
        var (blocks, inBlocks) = (columns / 32 * 32, 0);
        for (var j = 0; j < windows.Length; j++)
        {
            var (q, g) = (qs[j], gradients[j]);
            ref var count = ref Unsafe.Add(ref count0, q & (Lanes - 1));
            var at = (q & (Lanes - 1)) * capacity + count++;
            Unsafe.Add(ref lw, at) = windows[j];
            Unsafe.Add(ref lg, at) = g;
            if (q < blocks)
            {
                Unsafe.Add(ref slot, q & 31) += g;
                inBlocks++;
            }
        }
        var (a, b) = (Vector256.LoadUnsafe(ref slot), Vector256.LoadUnsafe(ref slot, 8));
        var (c, d) = (Vector256.LoadUnsafe(ref slot, 16), Vector256.LoadUnsafe(ref slot, 24));
        var sum = Vector256.Sum((a + b) + (c + d));
        // The cells past the whole blocks, the plane's tail, come last in q order.
        for (var j = inBlocks; j < windows.Length; j++)
            sum += gradients[j];
        return sum;
    }

    /// <summary>Σ g·window over one lane's cells, in registers: three window rows of <typeparamref name="TChunks"/> vectors.</summary>
    private static void SumLane<TChunks>(ref float image, ReadOnlySpan<int> windows, ReadOnlySpan<float> gradients, int rowFloats, Span<float> sums)
        where TChunks : struct, IChunks
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
        var row = (nuint)rowFloats;
        for (var j = 0; j < windows.Length; j++)
        {
            var g = Vector512.Create(gradients[j]);
            ref var r = ref Unsafe.Add(ref image, windows[j]);
            a00 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r), a00);
            a01 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 16), a01);
            a02 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 32), a02);
            if (TChunks.Count > 3) a03 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 48), a03);
            if (TChunks.Count > 3) a04 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 64), a04);
            if (TChunks.Count > 3) a05 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 80), a05);
            a10 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row), a10);
            a11 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row + 16), a11);
            a12 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row + 32), a12);
            if (TChunks.Count > 3) a13 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row + 48), a13);
            if (TChunks.Count > 3) a14 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row + 64), a14);
            if (TChunks.Count > 3) a15 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, row + 80), a15);
            a20 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row), a20);
            a21 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row + 16), a21);
            a22 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row + 32), a22);
            if (TChunks.Count > 3) a23 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row + 48), a23);
            if (TChunks.Count > 3) a24 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row + 64), a24);
            if (TChunks.Count > 3) a25 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref r, 2 * row + 80), a25);
        }
        if (sums.Length < KernelSize * TChunks.Count * Chunk)
            throw new ArgumentException("PooledConvBackward: the lane's sums do not fit");
        ref var s = ref MemoryMarshal.GetReference(sums);
        var next = (nuint)(TChunks.Count * Chunk);
        a00.StoreUnsafe(ref s); a01.StoreUnsafe(ref s, 16); a02.StoreUnsafe(ref s, 32);
        if (TChunks.Count > 3) { a03.StoreUnsafe(ref s, 48); a04.StoreUnsafe(ref s, 64); a05.StoreUnsafe(ref s, 80); }
        a10.StoreUnsafe(ref s, next); a11.StoreUnsafe(ref s, next + 16); a12.StoreUnsafe(ref s, next + 32);
        if (TChunks.Count > 3) { a13.StoreUnsafe(ref s, next + 48); a14.StoreUnsafe(ref s, next + 64); a15.StoreUnsafe(ref s, next + 80); }
        a20.StoreUnsafe(ref s, 2 * next); a21.StoreUnsafe(ref s, 2 * next + 16); a22.StoreUnsafe(ref s, 2 * next + 32);
        if (TChunks.Count > 3) { a23.StoreUnsafe(ref s, 2 * next + 48); a24.StoreUnsafe(ref s, 2 * next + 64); a25.StoreUnsafe(ref s, 2 * next + 80); }
    }

    /// <summary>
    /// <see cref="SumLane{TChunks}"/> in 256-bit vectors: eight channels at a time, the window's nine taps in registers
    /// over the lane's cells, block after block.
    /// </summary>
    private static void SumLaneByBlock(ref float image, ReadOnlySpan<int> windows, ReadOnlySpan<float> gradients, Layout l, int inChannels,
        Span<float> sums)
    {
        if (sums.Length < l.Filter || l.Filter < KernelSize * KernelSize * inChannels)
            throw new ArgumentException("PooledConvBackward: the lane's sums do not fit");
        var (row, pixel) = ((nuint)l.RowFloats, (nuint)l.Stride);
        ref var sum = ref MemoryMarshal.GetReference(sums);
        for (var block = 0; block < inChannels; block += 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default;
            for (var j = 0; j < windows.Length; j++)
            {
                var g = Vector256.Create(gradients[j]);
                ref var r = ref Unsafe.Add(ref image, windows[j] + block);
                a0 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r), a0);
                a1 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, pixel), a1);
                a2 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, 2 * pixel), a2);
                a3 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, row), a3);
                a4 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, row + pixel), a4);
                a5 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, row + 2 * pixel), a5);
                a6 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, 2 * row), a6);
                a7 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, 2 * row + pixel), a7);
                a8 = Vector256.FusedMultiplyAdd(g, Vector256.LoadUnsafe(ref r, 2 * row + 2 * pixel), a8);
            }
            ref var s = ref Unsafe.Add(ref sum, block);
            a0.StoreUnsafe(ref s); a1.StoreUnsafe(ref s, pixel); a2.StoreUnsafe(ref s, 2 * pixel);
            a3.StoreUnsafe(ref s, 3 * pixel); a4.StoreUnsafe(ref s, 4 * pixel); a5.StoreUnsafe(ref s, 5 * pixel);
            a6.StoreUnsafe(ref s, 6 * pixel); a7.StoreUnsafe(ref s, 7 * pixel); a8.StoreUnsafe(ref s, 8 * pixel);
        }
    }

    /// <summary>
    /// <see cref="AddFilter{TChunks}"/> in 256-bit vectors: eight channels at a time, the filter's nine taps in registers,
    /// every cell in the order given for each block.
    /// </summary>
    private static void AddFilterByBlock(ref float buffer, int inputGradient, ReadOnlySpan<int> windows, ReadOnlySpan<float> gradients,
        ReadOnlySpan<float> filter, Layout l, int inChannels)
    {
        if (filter.Length < KernelSize * KernelSize * l.Stride || l.Stride < inChannels)
            throw new ArgumentException("PooledConvBackward: the filter is short");
        var (row, pixel) = ((nuint)l.RowFloats, (nuint)l.Stride);
        ref var dx = ref Unsafe.Add(ref buffer, inputGradient);
        for (var block = 0; block < inChannels; block += 8)
        {
            ref var f = ref Unsafe.Add(ref MemoryMarshal.GetReference(filter), block);
            var (f0, f1, f2) = (Vector256.LoadUnsafe(ref f), Vector256.LoadUnsafe(ref f, pixel), Vector256.LoadUnsafe(ref f, 2 * pixel));
            var (f3, f4, f5) = (Vector256.LoadUnsafe(ref f, 3 * pixel), Vector256.LoadUnsafe(ref f, 4 * pixel), Vector256.LoadUnsafe(ref f, 5 * pixel));
            var (f6, f7, f8) = (Vector256.LoadUnsafe(ref f, 6 * pixel), Vector256.LoadUnsafe(ref f, 7 * pixel), Vector256.LoadUnsafe(ref f, 8 * pixel));
            for (var j = 0; j < windows.Length; j++)
            {
                var g = Vector256.Create(gradients[j]);
                ref var r = ref Unsafe.Add(ref dx, windows[j] + block);
                AddTo(ref r, 0, g, f0); AddTo(ref r, pixel, g, f1); AddTo(ref r, 2 * pixel, g, f2);
                AddTo(ref r, row, g, f3); AddTo(ref r, row + pixel, g, f4); AddTo(ref r, row + 2 * pixel, g, f5);
                AddTo(ref r, 2 * row, g, f6); AddTo(ref r, 2 * row + pixel, g, f7); AddTo(ref r, 2 * row + 2 * pixel, g, f8);
            }
        }
    }

    /// <summary>
    /// dx's window of each cell += g·filter, the cells in the order given: three rows of <typeparamref name="TChunks"/>
    /// vectors each, the filter held in registers.
    /// </summary>
    private static void AddFilter<TChunks>(ref float buffer, int inputGradient, ReadOnlySpan<int> windows, ReadOnlySpan<float> gradients,
        ReadOnlySpan<float> filter, int rowFloats) where TChunks : struct, IChunks
    {
        var rowLength = (nuint)(TChunks.Count * Chunk);
        if (filter.Length < KernelSize * (int)rowLength)
            throw new ArgumentException("PooledConvBackward: the filter is short");
        ref var f = ref MemoryMarshal.GetReference(filter);
        var (f00, f01, f02) = (Vector512.LoadUnsafe(ref f), Vector512.LoadUnsafe(ref f, 16), Vector512.LoadUnsafe(ref f, 32));
        var (f10, f11, f12) = (Vector512.LoadUnsafe(ref f, rowLength), Vector512.LoadUnsafe(ref f, rowLength + 16), Vector512.LoadUnsafe(ref f, rowLength + 32));
        var (f20, f21, f22) = (Vector512.LoadUnsafe(ref f, 2 * rowLength), Vector512.LoadUnsafe(ref f, 2 * rowLength + 16), Vector512.LoadUnsafe(ref f, 2 * rowLength + 32));
        Vector512<float> f03 = default, f04 = default, f05 = default, f13 = default, f14 = default, f15 = default, f23 = default, f24 = default, f25 = default;
        if (TChunks.Count > 3)
        {
            (f03, f04, f05) = (Vector512.LoadUnsafe(ref f, 48), Vector512.LoadUnsafe(ref f, 64), Vector512.LoadUnsafe(ref f, 80));
            (f13, f14, f15) = (Vector512.LoadUnsafe(ref f, rowLength + 48), Vector512.LoadUnsafe(ref f, rowLength + 64), Vector512.LoadUnsafe(ref f, rowLength + 80));
            (f23, f24, f25) = (Vector512.LoadUnsafe(ref f, 2 * rowLength + 48), Vector512.LoadUnsafe(ref f, 2 * rowLength + 64), Vector512.LoadUnsafe(ref f, 2 * rowLength + 80));
        }
        ref var dx = ref Unsafe.Add(ref buffer, inputGradient);
        var row = (nuint)rowFloats;
        if (TChunks.Narrow)
        {
            // 24 channels: each pixel's second vector holds 8 of them, added as a 256-bit half (fewer bytes stored).
            for (var j = 0; j < windows.Length; j++)
            {
                var g = Vector512.Create(gradients[j]);
                var h = g.GetLower();
                ref var r = ref Unsafe.Add(ref dx, windows[j]);
                AddTo(ref r, 0, g, f00); AddTo(ref r, 16, h, f01.GetLower()); AddTo(ref r, 32, g, f02);
                AddTo(ref r, 48, h, f03.GetLower()); AddTo(ref r, 64, g, f04); AddTo(ref r, 80, h, f05.GetLower());
                AddTo(ref r, row, g, f10); AddTo(ref r, row + 16, h, f11.GetLower()); AddTo(ref r, row + 32, g, f12);
                AddTo(ref r, row + 48, h, f13.GetLower()); AddTo(ref r, row + 64, g, f14); AddTo(ref r, row + 80, h, f15.GetLower());
                AddTo(ref r, 2 * row, g, f20); AddTo(ref r, 2 * row + 16, h, f21.GetLower()); AddTo(ref r, 2 * row + 32, g, f22);
                AddTo(ref r, 2 * row + 48, h, f23.GetLower()); AddTo(ref r, 2 * row + 64, g, f24); AddTo(ref r, 2 * row + 80, h, f25.GetLower());
            }
            return;
        }
        for (var j = 0; j < windows.Length; j++)
        {
            var g = Vector512.Create(gradients[j]);
            ref var r = ref Unsafe.Add(ref dx, windows[j]);
            AddTo(ref r, 0, g, f00); AddTo(ref r, 16, g, f01); AddTo(ref r, 32, g, f02);
            if (TChunks.Count > 3) { AddTo(ref r, 48, g, f03); AddTo(ref r, 64, g, f04); AddTo(ref r, 80, g, f05); }
            AddTo(ref r, row, g, f10); AddTo(ref r, row + 16, g, f11); AddTo(ref r, row + 32, g, f12);
            if (TChunks.Count > 3) { AddTo(ref r, row + 48, g, f13); AddTo(ref r, row + 64, g, f14); AddTo(ref r, row + 80, g, f15); }
            AddTo(ref r, 2 * row, g, f20); AddTo(ref r, 2 * row + 16, g, f21); AddTo(ref r, 2 * row + 32, g, f22);
            if (TChunks.Count > 3) { AddTo(ref r, 2 * row + 48, g, f23); AddTo(ref r, 2 * row + 64, g, f24); AddTo(ref r, 2 * row + 80, g, f25); }
        }
    }

    /// <summary>target[at..at+16] = g·f + target[at..at+16], fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float target, nuint at, Vector512<float> g, Vector512<float> f) =>
        Vector512.FusedMultiplyAdd(g, f, Vector512.LoadUnsafe(ref target, at)).StoreUnsafe(ref target, at);

    /// <summary>target[at..at+8] = g·f + target[at..at+8], fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float target, nuint at, Vector256<float> g, Vector256<float> f) =>
        Vector256.FusedMultiplyAdd(g, f, Vector256.LoadUnsafe(ref target, at)).StoreUnsafe(ref target, at);

    /// <summary>
    /// A filter's dW (HWC order, In channels a pixel) from its eight lanes' sums (<paramref name="stride"/> floats a
    /// pixel), added as ((0+1)+(2+3))+((4+5)+(6+7)).
    /// </summary>
    private static void ReduceLanes(ReadOnlySpan<float> lanes, Span<float> dWeight, int inChannels, int stride)
    {
        var filter = lanes.Length / Lanes;
        if (dWeight.Length < KernelSize * KernelSize * inChannels || filter < KernelSize * KernelSize * stride)
            throw new ArgumentException("PooledConvBackward: dW or the lanes are short for a filter");
        ref var l = ref MemoryMarshal.GetReference(lanes);
        ref var d = ref MemoryMarshal.GetReference(dWeight);
        var laneStride = (nuint)filter;
        for (var pixel = 0; pixel < KernelSize * KernelSize; pixel++)
            for (var ci = 0; ci < inChannels; ci += 8)
            {
                var at = (nuint)(pixel * stride + ci);
                var low = (Vector256.LoadUnsafe(ref l, at) + Vector256.LoadUnsafe(ref l, at + laneStride))
                    + (Vector256.LoadUnsafe(ref l, at + 2 * laneStride) + Vector256.LoadUnsafe(ref l, at + 3 * laneStride));
                var high = (Vector256.LoadUnsafe(ref l, at + 4 * laneStride) + Vector256.LoadUnsafe(ref l, at + 5 * laneStride))
                    + (Vector256.LoadUnsafe(ref l, at + 6 * laneStride) + Vector256.LoadUnsafe(ref l, at + 7 * laneStride));
                (low + high).StoreUnsafe(ref d, (nuint)(pixel * inChannels + ci));
            }
    }

    /// <summary>dW [Out, 3, 3, In] (the order <see cref="Image"/> gives) into [Out, In, 3, 3].</summary>
    public static void ToFilterOrder(ReadOnlySpan<float> channelLast, Span<float> dWeight, ConvShape s)
    {
        var (k2, taps) = (s.KernelSize * s.KernelSize, s.Taps);
        for (var co = 0; co < s.OutChannels; co++)
            for (var t = 0; t < k2; t++)
                for (var ci = 0; ci < s.InChannels; ci++)
                    dWeight[co * taps + ci * k2 + t] = channelLast[co * taps + t * s.InChannels + ci];
    }

    /// <summary>
    /// An image [In, H, W] into the inside of its zero-bordered channel-last layout [H + 2P, W + 2P, stride], or
    /// (<paramref name="toChannelLast"/> false) back: blocks of eight channels by eight pixels of a row transposed, the
    /// last block of a row overlapping the one before.
    /// </summary>
    private static void Transpose(ReadOnlySpan<float> source, Span<float> target, ConvShape s, int stride, bool toChannelLast)
    {
        var (plane, rowWidth, p) = (s.Height * s.Width, s.Width + 2 * s.Padding, s.Padding);
        for (var ci = 0; ci < s.InChannels; ci += 8)
            for (var y = 0; y < s.Height; y++)
                for (var x = 0; x < s.Width; x += 8)
                {
                    var x0 = Math.Min(x, s.Width - 8);
                    var (planar, channelLast) = (ci * plane + y * s.Width + x0, ((y + p) * rowWidth + x0 + p) * stride + ci);
                    if (toChannelLast)
                        PackedRows.Transpose8x8(source, planar, plane, target[channelLast..], stride);
                    else
                        PackedRows.Transpose8x8(source, channelLast, stride, target[planar..], plane);
                }
    }

    private interface IChunks
    {
        /// <summary>Whether this is a 512-bit form; the 256-bit one (<see cref="Blocks"/>) takes eight channels at a time.</summary>
        static abstract bool Wide { get; }
        static abstract int Count { get; }
        /// <summary>Whether each pixel's second vector holds 8 channels (24 a pixel): dx adds it as a 256-bit half.</summary>
        static abstract bool Narrow { get; }
    }

    /// <summary>A window row of three vectors: three pixels of 16 channels.</summary>
    private readonly struct Three : IChunks { public static bool Wide => true; public static int Count => 3; public static bool Narrow => false; }

    /// <summary>A window row of six vectors: three pixels of 32 channels.</summary>
    private readonly struct Six : IChunks { public static bool Wide => true; public static int Count => 6; public static bool Narrow => false; }

    /// <summary>A window row of six vectors, three pixels of 24 channels: each pixel's second vector half used.</summary>
    private readonly struct TwentyFour : IChunks { public static bool Wide => true; public static int Count => 6; public static bool Narrow => true; }

    /// <summary>256-bit vectors: the window eight channels at a time (<see cref="SumLaneByBlock"/>, <see cref="AddFilterByBlock"/>).</summary>
    private readonly struct Blocks : IChunks { public static bool Wide => false; public static int Count => 0; public static bool Narrow => false; }
}
