using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>A fully connected layer: x [Batch, In] → y [Batch, Out]; weight [Out, In] (PyTorch's layout), bias [Out].</summary>
public readonly struct DenseShape
{
    public DenseShape(int batch, int inputs, int outputs)
    {
        Batch = batch;
        Inputs = inputs;
        Outputs = outputs;
    }

    public int Batch { get; }
    public int Inputs { get; }
    public int Outputs { get; }

    /// <summary>y = x·Wᵀ: A = x [Batch, In], B = Wᵀ read in place from W [Out, In].</summary>
    public GemmShape Forward => new(Batch, Outputs, Inputs, MatrixLayout.RowMajor(Inputs), MatrixLayout.Transposed(Inputs));

    /// <summary>dx = dy·W: A = dy [Batch, Out], B = W [Out, In].</summary>
    public GemmShape BackwardInput => new(Batch, Inputs, Outputs, MatrixLayout.RowMajor(Outputs), MatrixLayout.RowMajor(Inputs));

    /// <summary>dW = dyᵀ·x: A = dyᵀ read in place from dy [Batch, Out], B = x [Batch, In]; sums over the batch.</summary>
    public GemmShape BackwardWeights => new(Outputs, Inputs, Batch, MatrixLayout.Transposed(Outputs), MatrixLayout.RowMajor(Inputs));

    /// <summary>Threads of <see cref="DenseKernels.BackwardParameters"/>: the weight blocks, then one per bias.</summary>
    public int BackwardParameterThreads => BackwardWeights.BlockCount + Outputs;
}

/// <summary>
/// Dense layer, forward and backward, on <see cref="Gemm.Block4x4"/> (the CPU accelerator's shape; GPUs run the same
/// products through <see cref="GemmKernels.Tiled"/> plus <see cref="BackwardBias"/>).
/// </summary>
public static class DenseKernels
{
    /// <summary>y = x·Wᵀ + b, then ReLU when <paramref name="relu"/> ≠ 0. Launch: Forward.BlockCount threads.</summary>
    public static void Forward(
        Index1D block, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        DenseShape shape, int relu) =>
        Gemm.Block4x4(block, x, weight, y, shape.Forward, bias, y, new GemmEpilogue(addBias: true, relu: relu != 0, maskByPositive: false));

    /// <summary>
    /// dx = dy·W; with <paramref name="reluMask"/> ≠ 0 also ReLU's backward for the layer below, dx = 0 where
    /// mask ≤ 0 (mask = that layer's ReLU output). Launch: BackwardInput.BlockCount threads.
    /// </summary>
    public static void BackwardInput(
        Index1D block, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> dx, ArrayView<float> mask,
        DenseShape shape, int reluMask) =>
        Gemm.Block4x4(block, dy, weight, dx, shape.BackwardInput, dx, mask, new GemmEpilogue(false, false, reluMask != 0));

    /// <summary>
    /// dW = dyᵀ·x and db = Σ_n dy[n, ·] in one launch: the first BackwardWeights.BlockCount threads compute 4x4 blocks
    /// of dW, the last Outputs threads one bias each (summed in batch order). Launch: BackwardParameterThreads.
    /// </summary>
    public static void BackwardParameters(
        Index1D thread, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dWeight, ArrayView<float> dBias,
        DenseShape shape)
    {
        var blocks = shape.BackwardWeights.BlockCount;
        if (thread < blocks)
            Gemm.Block4x4(thread, dy, x, dWeight, shape.BackwardWeights, dWeight, dWeight, GemmEpilogue.None);
        else
            BiasSum(thread - blocks, dy, dBias, shape);
    }

    /// <summary>The GPU path's db[o] = Σ_n dy[n, o] (see <see cref="StridedSum"/>). Launch: one thread per output.</summary>
    public static void BackwardBias(Index1D output, ArrayView<float> dy, ArrayView<float> dBias, DenseShape shape) =>
        dBias[output] = StridedSum.Of(dy, output, shape.Outputs, shape.Batch);

    private static void BiasSum(int output, ArrayView<float> dy, ArrayView<float> dBias, DenseShape shape)
    {
        var sum = 0f;
        for (var n = 0; n < shape.Batch; n++)
            sum += dy[n * shape.Outputs + output];
        dBias[output] = sum;
    }
}
