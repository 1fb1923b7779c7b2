using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="DenseKernels"/> on the host: x [Batch, In], weight [Out, In] (PyTorch's layout) at an offset in a parameter buffer, bias [Out]; the
/// products run on <see cref="SimdGemm"/>, bias sums in batch order.
/// </summary>
public static class SimdDense
{
    /// <summary>y = x·Wᵀ + b, then ReLU when <paramref name="relu"/>.</summary>
    public static void Forward(float[] x, float[] weights, int weightOffset, ReadOnlySpan<float> bias, float[] y, DenseShape s, bool relu, int parallelism)
    {
        SimdGemm.MultiplyNT(x, 0, weights, weightOffset, y, 0, s.Batch, s.Outputs, s.Inputs, parallelism);
        for (var n = 0; n < s.Batch; n++)
        {
            var row = y.AsSpan(n * s.Outputs, s.Outputs);
            for (var o = 0; o < row.Length; o++)
            {
                var v = row[o] + bias[o];
                row[o] = relu && v < 0f ? 0f : v;
            }
        }
    }

    /// <summary>dx = dy·W, zeroed where <paramref name="reluMask"/> (the layer below's ReLU output) is not positive.</summary>
    public static void BackwardInput(float[] dy, float[] weights, int weightOffset, float[] dx, ReadOnlySpan<float> reluMask, DenseShape s, int parallelism)
    {
        SimdGemm.MultiplyNN(Matrix.RowMajor(dy, s.Outputs), Matrix.RowMajor(weights, s.Inputs, weightOffset), dx, 0, s.Batch, s.Inputs, s.Outputs, parallelism);
        if (reluMask.IsEmpty)
            return;
        var values = dx.AsSpan(0, s.Batch * s.Inputs);
        for (var i = 0; i < values.Length; i++)
            if (!(reluMask[i] > 0f))
                values[i] = 0f;
    }

    /// <summary>dW = dyᵀ·x into <paramref name="gradients"/> at <paramref name="weightOffset"/>; db = Σ_n dy[n, ·].</summary>
    public static void BackwardParameters(float[] dy, float[] x, float[] gradients, int weightOffset, Span<float> dBias, DenseShape s, int parallelism)
    {
        SimdGemm.MultiplyNN(Matrix.Transposed(dy, s.Outputs), Matrix.RowMajor(x, s.Inputs), gradients, weightOffset, s.Outputs, s.Inputs, s.Batch, parallelism);
        for (var o = 0; o < s.Outputs; o++)
        {
            var sum = 0f;
            for (var n = 0; n < s.Batch; n++)
                sum += dy[n * s.Outputs + o];
            dBias[o] = sum;
        }
    }
}
