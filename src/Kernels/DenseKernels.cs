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
}

/// <summary>Dense layer, forward and backward. Every product goes through <see cref="Gemm.Block4x4"/>.</summary>
public static class DenseKernels
{
    /// <summary>y = x·Wᵀ + b, then ReLU when <paramref name="relu"/> ≠ 0. Launch: Forward.BlockCount threads.</summary>
    public static void Forward(
        Index1D block, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        DenseShape shape, int relu) =>
        Gemm.Block4x4(block, x, weight, y, shape.Forward, bias, Gemm.AddBias, relu);

    /// <summary>dx = dy·W (dy already masked by any ReLU). Launch: BackwardInput.BlockCount threads.</summary>
    public static void BackwardInput(
        Index1D block, ArrayView<float> dy, ArrayView<float> weight, ArrayView<float> dx, DenseShape shape) =>
        Gemm.Block4x4(block, dy, weight, dx, shape.BackwardInput, dx, Gemm.NoBias, 0);

    /// <summary>dW = dyᵀ·x, overwriting dW. Launch: BackwardWeights.BlockCount threads.</summary>
    public static void BackwardWeights(
        Index1D block, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> dWeight, DenseShape shape) =>
        Gemm.Block4x4(block, dy, x, dWeight, shape.BackwardWeights, dWeight, Gemm.NoBias, 0);

    /// <summary>db[o] = Σ_n dy[n, o], summed in batch order. Launch: one thread per output.</summary>
    public static void BackwardBias(Index1D output, ArrayView<float> dy, ArrayView<float> dBias, DenseShape shape)
    {
        var sum = 0f;
        for (var n = 0; n < shape.Batch; n++)
            sum += dy[n * shape.Outputs + output];
        dBias[output] = sum;
    }
}
