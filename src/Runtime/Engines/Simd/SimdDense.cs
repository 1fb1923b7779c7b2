using System.Runtime.Intrinsics;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Engines.Simd;

/// <summary>
/// <see cref="DenseKernels"/> on the host: x [Batch, In], weight [Out, In] (PyTorch's layout) at an offset in a parameter buffer, bias [Out]; the
/// products run on <see cref="SimdGemm"/>, bias sums in batch order.
/// </summary>
public static class SimdDense
{
    /// <summary>Products of fewer multiply-adds than this run on one core: splitting them costs more than it saves.</summary>
    private const long SplitFrom = 1 << 16;

    /// <summary>The threads a layer's products get out of <paramref name="cores"/>.</summary>
    public static int Parallelism(DenseShape s, int cores) => (long)s.Batch * s.Inputs * s.Outputs >= SplitFrom ? cores : 1;

    /// <summary>y = x·Wᵀ + b, then ReLU when <paramref name="relu"/>.</summary>
    public static void Forward(float[] x, float[] weights, int weightOffset, ReadOnlyMemory<float> bias, float[] y, DenseShape s, bool relu, int parallelism) =>
        SimdGemm.MultiplyNT(x, 0, weights, weightOffset, y, 0, s.Batch, s.Outputs, s.Inputs, parallelism, bias, relu);

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
    public static void BackwardParameters(float[] dy, float[] x, float[] gradients, int weightOffset, Span<float> dBias, DenseShape s, int parallelism) =>
        Backward(dy, x, null, 0, gradients, weightOffset, dBias, null, s, parallelism);

    /// <summary>
    /// <see cref="BackwardParameters"/> and, when <paramref name="dx"/> is not null, dx = dy·W: the two products' column
    /// panels in one parallel loop, so a narrow layer's products (one panel each) run side by side on two cores.
    /// </summary>
    public static void Backward(float[] dy, float[] x, float[]? weights, int weightOffset, float[] gradients, int gradientOffset,
        Span<float> dBias, float[]? dx, DenseShape s, int parallelism)
    {
        var panels = dx is null ? parallelism : (parallelism + 1) / 2;
        using var dW = new SimdGemm.ProductNN(Matrix.Transposed(dy, s.Outputs), s.Outputs, s.Batch, Matrix.RowMajor(x, s.Inputs), gradients,
            gradientOffset, s.Inputs, panels);
        using var dX = dx is null ? null : new SimdGemm.ProductNN(Matrix.RowMajor(dy, s.Outputs), s.Batch, s.Outputs,
            Matrix.RowMajor(weights!, s.Inputs, weightOffset), dx, 0, s.Inputs, panels);
        WorkerTeam.For(dW.Panels + (dX?.Panels ?? 0), parallelism, p =>
        {
            if (p < dW.Panels)
                dW.Run(p);
            else
                dX!.Run(p - dW.Panels);
        });
        // db: rows added in batch order, eight outputs at a time where there are eight.
        var o = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; o + 8 <= s.Outputs; o += 8)
            {
                var sum = Vector256<float>.Zero;
                for (var n = 0; n < s.Batch; n++)
                    sum += Vector256.Create<float>(dy.AsSpan(n * s.Outputs + o, 8));
                sum.CopyTo(dBias.Slice(o, 8));
            }
        for (; o < s.Outputs; o++)
        {
            var sum = 0f;
            for (var n = 0; n < s.Batch; n++)
                sum += dy[n * s.Outputs + o];
            dBias[o] = sum;
        }
    }
}

/// <summary>dense, with the ReLU after it when the op fuses it.</summary>
internal sealed class SimdDenseLayer : SimdLayer
{
    public override Model.LayerKind Kind => Model.LayerKinds.Dense;

    public override (int Argmax, int Saved, int Scratch) Buffers(Op op, int batch, int train) => (0, 0, op.Relu && op.Trains ? train * op.Output.Size : 0);

    public override void Forward(SimdOp o)
    {
        var s = o.Op.Dense(o.Batch);
        SimdDense.Forward(o.Input, o.Parameters, o.Offset("weight"), o.Parameter("bias"), o.Output, s, o.Op.Relu, SimdDense.Parallelism(s, o.Parallelism));
    }

    public override void Backward(SimdOp o)
    {
        var s = o.Op.Dense(o.Batch);
        var g = o.Gradient;
        if (o.Op.Relu)
        {
            SimdRelu.Backward(o.Output, o.Gradient, o.Scratch, o.Length, o.Parallelism);
            g = o.Scratch;
        }
        SimdDense.Backward(g, o.Input, o.Parameters, o.Offset("weight"), o.Gradients, o.Offset("weight"), o.GradientOf("bias"), o.InputGradient, s,
            SimdDense.Parallelism(s, o.Parallelism));
    }
}
