using System.Diagnostics;
using System.Reflection;
using FashionGpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace FashionGpu.Runtime.Devices;

/// <summary>How dense products run: register blocks per thread (the CPU accelerator) or shared-memory tiles (GPUs).</summary>
public enum GemmPath
{
    Blocked,
    Tiled,
}

/// <summary>
/// A kernel set's paths when they are not its device's own: the tests run the GPU path (tiled products, split along K
/// when fewer than <paramref name="MinimumGroups"/> output tiles) on a CPU accelerator.
/// </summary>
public sealed record KernelPaths(GemmPath Gemm, int MinimumGroups);

/// <summary>
/// The kernels of <see cref="FashionGpu.Kernels"/> loaded once for one accelerator, each behind a method that knows
/// its launch size. Element-wise kernels give each thread one element on a GPU and thousands on the CPU accelerator,
/// where a simulated thread costs far more than an element's arithmetic. Dense products and convolutions (over im2col
/// columns) take the tiled GEMM on GPUs, split along K when the output alone would leave multiprocessors idle.
/// </summary>
public sealed class KernelSet : IDisposable
{
    private const int CpuElementsPerThread = 4096;

    private readonly Accelerator _accelerator;
    private readonly int _groupSize;
    private readonly int _elementsPerThread;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int, RowStrips> _convForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> _convBackwardParameters;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, RowStrips> _convBackwardInput;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ConvShape, DropoutParameters, int> _convBlockForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, DropoutParameters> _convBlockBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ConvShape, DropoutParameters, int> _convBlockPartials;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int> _convBlockSum;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ConvShape> _convColumns;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ConvShape> _convInputFromColumns;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> _transpose;
    private MemoryBuffer1D<float, Stride1D.Dense>? _partials;
    private MemoryBuffer1D<float, Stride1D.Dense>? _columns;
    private MemoryBuffer1D<float, Stride1D.Dense>? _positionRows;
    private MemoryBuffer1D<double, Stride1D.Dense>? _doublePartials;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape, int> _denseForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape, int> _denseBackwardInput;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseShape> _denseBackwardParameters;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, DenseShape> _denseBackwardBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, GemmShape, ArrayView<float>, ArrayView<float>, GemmEpilogue, ElementRange> _reduceSplits;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, LossShape> _softmaxCrossEntropy;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, LossShape> _argmax;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerStep, ArrayView<int>, ElementRange> _optimizer;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<int>, GatherShape, Augmentation> _gather;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, ArrayView<float>, ArrayView<float>, GemmEpilogue>? _tiled;
    private MemoryBuffer1D<float, Stride1D.Dense>? _workspace;

    internal KernelSet(ComputeDevice device, KernelPaths? paths)
    {
        var a = _accelerator = device.Accelerator;
        _groupSize = device.IsCpu ? 0 : GroupSize;
        _elementsPerThread = device.RunsOnHostCpu ? CpuElementsPerThread : 1;
        GemmPath = paths?.Gemm ?? (device.RunsOnHostCpu ? GemmPath.Blocked : GemmPath.Tiled);
        MinimumGroups = paths?.MinimumGroups ?? 2 * Math.Max(1, a.NumMultiprocessors);
        Load(out _convForward, Conv2DKernels.Forward);
        Load(out _convBackwardParameters, Conv2DKernels.BackwardParameters);
        Load(out _convBackwardInput, Conv2DKernels.BackwardInput);
        Load(out _convBlockForward, ConvBlockKernels.Forward);
        Load(out _convBlockBackward, ConvBlockKernels.BackwardParameters);
        Load(out _convBlockPartials, ConvBlockKernels.BackwardParameterPartials);
        Load(out _convColumns, Conv2DKernels.Columns);
        Load(out _convInputFromColumns, Conv2DKernels.InputFromColumns);
        Load(out _transpose, TransposeKernels.Batched);
        Load(out _convBlockSum, ConvBlockKernels.SumParameterPartials);
        Load(out _denseForward, DenseKernels.Forward);
        Load(out _denseBackwardInput, DenseKernels.BackwardInput);
        Load(out _denseBackwardParameters, DenseKernels.BackwardParameters);
        Load(out _denseBackwardBias, DenseKernels.BackwardBias);
        Load(out _reduceSplits, GemmKernels.ReduceSplits);
        Load(out _softmaxCrossEntropy, SoftmaxCrossEntropyKernels.ForwardBackward);
        Load(out _argmax, SoftmaxCrossEntropyKernels.Argmax);
        Load(out _optimizer, OptimizerKernels.Update);
        Load(out _gather, BatchKernels.Gather);
    }

    /// <summary>
    /// Threads per group of every kernel but the tiled GEMM on GPUs and OpenCL devices. ILGPU's automatic choice fills a
    /// multiprocessor's occupancy with large groups, which leaves most multiprocessors idle in a launch of a few
    /// thousand threads; groups of 128 spread such a launch over the whole GPU. The CPU accelerator keeps ILGPU's choice.
    /// </summary>
    public const int GroupSize = 128;

    /// <summary>
    /// Loads a kernel with <see cref="GroupSize"/> threads per group, or with ILGPU's choice on the CPU accelerator.
    /// ILGPU offers its loaders once per parameter count, so the one that fits the kernel's delegate is picked here.
    /// </summary>
    private void Load<TKernel>(out TKernel launcher, TKernel kernel) where TKernel : Delegate
    {
        var types = typeof(TKernel).GetGenericArguments();
        var (name, arguments) = _groupSize > 0
            ? (nameof(KernelLoaders.LoadImplicitlyGroupedStreamKernel), new object[] { _accelerator, kernel, _groupSize })
            : (nameof(KernelLoaders.LoadAutoGroupedStreamKernel), new object[] { _accelerator, kernel });
        var loader = typeof(KernelLoaders).GetMethods().SingleOrDefault(m => m.Name == name
            && m.GetGenericArguments().Length == types.Length && m.GetParameters().Length == arguments.Length)
            ?? throw new InvalidOperationException($"ILGPU has no {name} for {types.Length} type arguments");
        launcher = (TKernel)loader.MakeGenericMethod(types).Invoke(null, BindingFlags.DoNotWrapExceptions, null, arguments, null)!;
    }

    /// <summary>Kernel launches issued so far (for `fashiongpu bench`).</summary>
    public long Launches { get; private set; }

    /// <summary>When set, every launch is followed by a synchronisation and timed into it.</summary>
    public Profiling.StepProfile? Profile { get; set; }

    /// <summary>Blocked on the CPU accelerator, tiled elsewhere (unless <see cref="KernelPaths"/> says otherwise).</summary>
    public GemmPath GemmPath { get; }

    /// <summary>A tiled product with fewer 32x32 output tiles than this is split along K (2 per multiprocessor).</summary>
    public int MinimumGroups { get; }

    private readonly Dictionary<MethodInfo, Delegate> _loaded = [];

    /// <summary>
    /// <paramref name="kernel"/> loaded for this accelerator on first use and kept: how a layer kind's launcher (in
    /// Engines/Ilgpu, beside nothing else) gets its kernels without a field here.
    /// </summary>
    public TKernel Loaded<TKernel>(TKernel kernel) where TKernel : Delegate
    {
        if (_loaded.TryGetValue(kernel.Method, out var launcher))
            return (TKernel)launcher;
        Load(out TKernel loaded, kernel);
        _loaded[kernel.Method] = loaded;
        return loaded;
    }

    /// <summary>Counts a launch of <paramref name="threads"/> threads and, while profiling, times it alone.</summary>
    public void Launch(string kernel, long threads, Action launch)
    {
        Launches++;
        if (Profile is null)
        {
            launch();
            return;
        }
        var start = Stopwatch.GetTimestamp();
        launch();
        _accelerator.Synchronize();
        Profile.Add(kernel, Stopwatch.GetElapsedTime(start), threads);
    }

    /// <summary>An element-wise kernel's launch shape over <paramref name="count"/> elements (one per thread on a GPU).</summary>
    public ElementRange Range(long count) => ElementRange.For(checked((int)count), _elementsPerThread);

    /// <summary>
    /// A convolution's forward: a thread per output row strip on the CPU accelerator; on the GPU path one tiled product
    /// over im2col columns, rows [Batch·P, Out] = columns·Wᵀ + b (ReLU in its epilogue), turned back into [Batch, Out, P].
    /// </summary>
    public void ConvForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, ConvShape s, bool relu)
    {
        if (GemmPath == GemmPath.Blocked)
        {
            var strips = Strips(s.OutWidth);
            Launch("Conv2D.Forward", strips.Threads(s.ForwardRows), () => _convForward(strips.Threads(s.ForwardRows), x, w, b, y, s, relu ? 1 : 0, strips));
            return;
        }
        var columns = Columns(x, s);
        var rows = checked(s.Batch * s.OutHeight * s.OutWidth);
        var product = Scratch(ref _positionRows, (long)rows * s.OutChannels);
        var shape = new GemmShape(rows, s.OutChannels, s.Taps, MatrixLayout.RowMajor(s.Taps + 1), MatrixLayout.Transposed(s.Taps));
        Gemm(columns, w, product, shape, b, product, new GemmEpilogue(addBias: true, relu, maskByPositive: false));
        Transpose(product, y, s.Batch, s.OutHeight * s.OutWidth, s.OutChannels);
    }

    /// <summary>im2col of x into the columns scratch (see <see cref="Conv2DKernels.Columns"/>).</summary>
    private ArrayView<float> Columns(ArrayView<float> x, ConvShape s)
    {
        var columns = Scratch(ref _columns, checked((long)s.Batch * s.OutHeight * s.OutWidth * (s.Taps + 1)));
        Launch("Conv2D.Columns", columns.Length, () => _convColumns(checked((int)columns.Length), x, columns, s));
        return columns;
    }

    /// <summary>dy [Batch, Out, P] as the rows [Batch·P, Out] of a matrix product, in the position-rows scratch.</summary>
    private ArrayView<float> PositionRows(ArrayView<float> dy, ConvShape s)
    {
        var positions = s.OutHeight * s.OutWidth;
        var rows = Scratch(ref _positionRows, (long)s.Batch * positions * s.OutChannels);
        Transpose(dy, rows, s.Batch, s.OutChannels, positions);
        return rows;
    }

    /// <summary>The <paramref name="batch"/> [rows, columns] matrices of <paramref name="input"/> transposed into <paramref name="output"/>.</summary>
    private void Transpose(ArrayView<float> input, ArrayView<float> output, int batch, int rows, int columns)
    {
        var elements = checked(batch * rows * columns);
        Launch("Transpose.Batched", elements, () => _transpose(elements, input, output, rows, columns));
    }

    /// <summary>
    /// dW and db of a convolution, and dx when <paramref name="dx"/> is given; on the GPU path dy is laid out as the
    /// products' rows once for both.
    /// </summary>
    public void ConvBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dw, ArrayView<float> db,
        ArrayView<float>? dx, ConvShape s)
    {
        if (GemmPath == GemmPath.Blocked)
        {
            ConvBackwardParameters(x, dy, dw, db, s);
            if (dx is { } blockedInput)
                ConvBackwardInput(dy, w, blockedInput, s);
            return;
        }
        var positionRows = PositionRows(dy, s);
        ParameterProduct(x, positionRows, dw, db, s);
        if (dx is { } input)
            InputProduct(positionRows, w, input, s);
    }

    /// <summary>
    /// dW and db of a convolution: one thread per (co, tap) on the CPU accelerator. On the GPU path they are one tiled
    /// product, [dW | db] = dyᵀ·columns over every image and output position (K = Batch·P, split as any long product
    /// is), whose result a last launch stores into dW and db.
    /// </summary>
    public void ConvBackwardParameters(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, ConvShape s)
    {
        if (GemmPath == GemmPath.Blocked)
            Launch("Conv2D.BackwardParameters", s.BackwardParameterThreads, () => _convBackwardParameters(s.BackwardParameterThreads, x, dy, dw, db, s));
        else
            ParameterProduct(x, PositionRows(dy, s), dw, db, s);
    }

    private void ParameterProduct(ArrayView<float> x, ArrayView<float> positionRows, ArrayView<float> dw, ArrayView<float> db, ConvShape s)
    {
        var columns = Columns(x, s);
        var product = Scratch(ref _partials, s.BackwardParameterThreads);
        var shape = new GemmShape(s.OutChannels, s.Taps + 1, s.Batch * s.OutHeight * s.OutWidth, MatrixLayout.Transposed(s.OutChannels),
            MatrixLayout.RowMajor(s.Taps + 1));
        Gemm(positionRows, columns, product, shape, product, product, GemmEpilogue.None);
        Launch("Conv2D.StoreParameterGradients", s.BackwardParameterThreads, () => _convBlockSum(s.BackwardParameterThreads, product, dw, db, s, 1));
    }

    /// <summary>
    /// A convolution's input gradient: a thread per input row strip on the CPU accelerator; on the GPU path one tiled
    /// product, dColumns [Batch·P, Taps] = dy·W, gathered back onto the input (col2im).
    /// </summary>
    public void ConvBackwardInput(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, ConvShape s)
    {
        if (GemmPath == GemmPath.Blocked)
        {
            var strips = Strips(s.Width);
            Launch("Conv2D.BackwardInput", strips.Threads(s.BackwardInputRows), () => _convBackwardInput(strips.Threads(s.BackwardInputRows), dy, w, dx, s, strips));
        }
        else
            InputProduct(PositionRows(dy, s), w, dx, s);
    }

    private void InputProduct(ArrayView<float> positionRows, ArrayView<float> w, ArrayView<float> dx, ConvShape s)
    {
        var rows = checked(s.Batch * s.OutHeight * s.OutWidth);
        var dColumns = Scratch(ref _columns, (long)rows * s.Taps);
        var shape = new GemmShape(rows, s.Taps, s.OutChannels, MatrixLayout.RowMajor(s.OutChannels), MatrixLayout.RowMajor(s.Taps));
        Gemm(positionRows, w, dColumns, shape, dColumns, dColumns, GemmEpilogue.None);
        var inputs = checked(s.Batch * s.InChannels * s.Height * s.Width);
        Launch("Conv2D.InputFromColumns", inputs, () => _convInputFromColumns(inputs, dColumns, dx, s));
    }

    /// <summary>The conv block forward: a thread per pooled row on the CPU accelerator, per pooled output on the GPU path.</summary>
    public void ConvBlockForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, ArrayView<int> argmax,
        ConvShape s, DropoutParameters dropout)
    {
        var columns = GemmPath == GemmPath.Blocked ? ConvBlockKernels.PooledWidth(s) : 1;
        var threads = ConvBlockKernels.ForwardThreads(s, columns);
        Launch("ConvBlock.Forward", threads, () => _convBlockForward(threads, x, w, b, y, argmax, s, dropout, columns));
    }

    /// <summary>
    /// The conv block's parameter gradients: on the CPU accelerator one thread per (co, tap) walks the batch; on the GPU
    /// path the batch and its pooled rows are split across at least <see cref="ConvBlockPartialThreads"/> threads whose partials
    /// a second launch adds in a fixed order.
    /// </summary>
    public void ConvBlockBackward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, ArrayView<float> dy,
        ArrayView<float> dw, ArrayView<float> db, ConvShape s, DropoutParameters dropout)
    {
        if (GemmPath == GemmPath.Blocked)
        {
            Launch("ConvBlock.BackwardParameters", s.BackwardParameterThreads, () => _convBlockBackward(s.BackwardParameterThreads, x, y, argmax, dy, dw, db, s, dropout));
            return;
        }
        var perImage = (long)s.BackwardParameterThreads * s.Batch;
        var chunks = (int)Math.Clamp((ConvBlockPartialThreads + perImage - 1) / perImage, 1, ConvBlockKernels.PooledHeight(s));
        var threads = checked((int)(perImage * chunks));
        var partials = Scratch(ref _partials, threads);
        Launch("ConvBlock.BackwardPartials", threads, () => _convBlockPartials(threads, x, y, argmax, dy, partials, s, dropout, chunks));
        Launch("ConvBlock.SumPartials", s.BackwardParameterThreads, () => _convBlockSum(s.BackwardParameterThreads, partials, dw, db, s, s.Batch * chunks));
    }

    /// <summary>Rows of <paramref name="width"/> elements: whole rows per thread on the CPU accelerator, one element on the GPU path.</summary>
    /// <summary>A row kernel's strips: a whole row per thread on the CPU path, one element per thread on GPUs.</summary>
    public RowStrips Strips(int width) => new(width, GemmPath == GemmPath.Blocked ? width : 1);

    /// <summary>Threads a launch that carries real work should offer a GPU (an H100 has 132 multiprocessors).</summary>
    public const int TargetThreads = 16384;

    /// <summary>
    /// The conv block's parameter-gradient partials take four times <see cref="TargetThreads"/>: each thread's walk over
    /// pooled outputs is a chain of dependent loads (argmax, then the input it names), so shorter walks pay more than
    /// the longer ordered sum of partials that follows costs.
    /// </summary>
    private const int ConvBlockPartialThreads = 4 * TargetThreads;

    /// <summary>A view of <paramref name="length"/> elements of a scratch buffer that grows when a launch needs more.</summary>
    private ArrayView<T> Scratch<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = _accelerator.Allocate1D<T>(length);
        }
        return buffer.View.SubView(0, length);
    }

    public void DenseForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, DenseShape s, bool relu)
    {
        if (GemmPath == GemmPath.Tiled)
            Gemm(x, w, y, s.Forward, b, y, new GemmEpilogue(addBias: true, relu, maskByPositive: false));
        else
            Launch("Dense.Forward", s.Forward.BlockCount, () => _denseForward(s.Forward.BlockCount, x, w, b, y, s, relu ? 1 : 0));
    }

    /// <summary>dx = dy·W, zeroed where <paramref name="reluMask"/> (the layer below's ReLU output) is not positive.</summary>
    public void DenseBackwardInput(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, ArrayView<float>? reluMask, DenseShape s)
    {
        var mask = reluMask ?? dx;
        if (GemmPath == GemmPath.Tiled)
            Gemm(dy, w, dx, s.BackwardInput, dx, mask, new GemmEpilogue(false, false, reluMask is not null));
        else
            Launch("Dense.BackwardInput", s.BackwardInput.BlockCount, () => _denseBackwardInput(s.BackwardInput.BlockCount, dy, w, dx, mask, s, reluMask is null ? 0 : 1));
    }

    public void DenseBackwardParameters(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dw, ArrayView<float> db, DenseShape s)
    {
        if (GemmPath == GemmPath.Tiled)
        {
            Gemm(dy, x, dw, s.BackwardWeights, dw, dw, GemmEpilogue.None);
            Launch("Dense.BackwardBias", s.Outputs, () => _denseBackwardBias(s.Outputs, dy, db, s));
        }
        else
        {
            Launch("Dense.BackwardParameters", s.BackwardParameterThreads, () => _denseBackwardParameters(s.BackwardParameterThreads, dy, x, dw, db, s));
        }
    }

    /// <summary>The tiled product, split along K when its output has fewer tiles than <see cref="MinimumGroups"/>.</summary>
    private void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s, ArrayView<float> bias,
        ArrayView<float> mask, GemmEpilogue epilogue)
    {
        _tiled ??= _accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, ArrayView<float>, ArrayView<float>, GemmEpilogue>(GemmKernels.Tiled);
        var tilesM = (s.M + GemmKernels.Tile - 1) / GemmKernels.Tile;
        var tilesN = (s.N + GemmKernels.Tile - 1) / GemmKernels.Tile;
        var splits = Math.Clamp(MinimumGroups / (tilesM * tilesN), 1, Math.Max(1, s.K / (4 * GemmKernels.TileK)));
        s = s.WithKSplits(splits);
        var config = new KernelConfig(new Index3D(tilesN, tilesM, s.KSplits), new Index3D(GemmKernels.GroupSize, 1, 1));
        if (s.KSplits == 1)
        {
            Launch("Gemm.Tiled", (long)config.GridDim.Size * config.GroupDim.Size, () => _tiled(config, a, b, c, s, bias, mask, epilogue));
            return;
        }
        var partial = (long)s.KSplits * s.M * s.N;
        var workspace = Scratch(ref _workspace, partial);
        var range = Range((long)s.M * s.N);
        Launch("Gemm.Tiled", (long)config.GridDim.Size * config.GroupDim.Size, () => _tiled(config, a, b, workspace, s, bias, mask, epilogue));
        Launch("Gemm.ReduceSplits", range.Stride, () => _reduceSplits(range.Stride, workspace, c, s, bias, mask, epilogue, range));
    }

    /// <summary>A shared scratch of doubles for staged per-channel sums (batchnorm's, on the GPU path), grown on demand.</summary>
    public ArrayView<double> DoublePartials(long length) => Scratch(ref _doublePartials, length);

    /// <summary>y = x (element copies on the accelerator's stream).</summary>
    public void Copy(ArrayView<float> x, ArrayView<float> y) => Launch("Copy", y.Length, () => x.CopyTo(y));

    public void SoftmaxCrossEntropy(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> dLogits,
        ArrayView<float> loss, ArrayView<int> correct, LossShape s) =>
        Launch("SoftmaxCrossEntropy.ForwardBackward", s.Batch, () => _softmaxCrossEntropy(s.Batch, logits, labels, dLogits, loss, correct, s));

    public void Argmax(ArrayView<float> logits, ArrayView<int> predictions, LossShape s) =>
        Launch("SoftmaxCrossEntropy.Argmax", s.Batch, () => _argmax(s.Batch, logits, predictions, s));

    /// <summary>One optimizer step over a run of parameters; <paramref name="nonFinite"/>[0] becomes 1 if a parameter turns NaN or infinite.</summary>
    public void Optimizer(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, OptimizerStep p,
        ArrayView<int> nonFinite)
    {
        var range = Range(parameters.Length);
        Launch("Optimizer.Update", range.Stride, () => _optimizer(range.Stride, parameters, gradients, m, v, p, nonFinite, range));
    }


    public void Gather(ArrayView<byte> images, ArrayView<byte> labels, ArrayView<int> indices, ArrayView<float> x,
        ArrayView<int> y, GatherShape s, Augmentation augment = default) =>
        Launch("Batch.Gather", s.Threads, () => _gather(s.Threads, images, labels, indices, x, y, s, augment));

    public void Dispose()
    {
        _workspace?.Dispose();
        _partials?.Dispose();
        _columns?.Dispose();
        _positionRows?.Dispose();
        _doublePartials?.Dispose();
    }
}
