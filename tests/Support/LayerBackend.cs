using FashionGpu.Kernels;
using FashionGpu.Runtime.Engines.Simd;

namespace FashionGpu.Tests.Support;

/// <summary>
/// The layers both engines implement, called with host arrays, so one suite of layer tests (tests/Layers) runs on the
/// ILGPU kernels and on the SIMD engine's layers with the same shapes, references and tolerances.
/// </summary>
public abstract class LayerBackend
{
    public abstract (float[] Y, int[] Argmax) ConvBlockForward(float[] x, float[] weight, float[] bias, ConvShape s, DropoutParameters dropout);

    public abstract (float[] DW, float[] DB) ConvBlockBackward(float[] x, float[] y, int[] argmax, float[] dy, ConvShape s, DropoutParameters dropout);

    public abstract float[] DenseForward(float[] x, float[] weight, float[] bias, DenseShape s, bool relu);

    public abstract float[] DenseBackwardInput(float[] dy, float[] weight, float[]? reluMask, DenseShape s);

    public abstract (float[] DW, float[] DB) DenseBackwardParameters(float[] dy, float[] x, DenseShape s);

    public abstract (float[] Loss, float[] DLogits, int[] Correct) SoftmaxCrossEntropy(float[] logits, int[] labels, LossShape s);

    public abstract float[] Dropout(float[] x, DropoutParameters p);

    /// <summary>One Adam step, in place on the three state arrays.</summary>
    public abstract void Adam(float[] parameters, float[] gradients, float[] m, float[] v, AdamParameters a);
}

/// <summary>The ILGPU kernels through a fixture's accelerator and kernel set (its GEMM path included).</summary>
public sealed class IlgpuLayers(DeviceFixture gpu) : LayerBackend
{
    public override (float[] Y, int[] Argmax) ConvBlockForward(float[] x, float[] weight, float[] bias, ConvShape s, DropoutParameters dropout)
    {
        var outputs = s.Batch * ConvBlockKernels.Outputs(s);
        var (y, argmax) = (gpu.Allocate<float>(outputs), gpu.Allocate<int>(outputs));
        gpu.Kernels.ConvBlockForward(gpu.Upload(x), gpu.Upload(weight), gpu.Upload(bias), y, argmax, s, dropout);
        return (gpu.Download(y), gpu.Download(argmax));
    }

    public override (float[] DW, float[] DB) ConvBlockBackward(float[] x, float[] y, int[] argmax, float[] dy, ConvShape s, DropoutParameters dropout)
    {
        var (dw, db) = (gpu.Allocate<float>(s.OutChannels * s.Taps), gpu.Allocate<float>(s.OutChannels));
        gpu.Kernels.ConvBlockBackward(gpu.Upload(x), gpu.Upload(y), gpu.Upload(argmax), gpu.Upload(dy), dw, db, s, dropout);
        return (gpu.Download(dw), gpu.Download(db));
    }

    public override float[] DenseForward(float[] x, float[] weight, float[] bias, DenseShape s, bool relu)
    {
        var y = gpu.Allocate<float>(s.Batch * s.Outputs);
        gpu.Kernels.DenseForward(gpu.Upload(x), gpu.Upload(weight), gpu.Upload(bias), y, s, relu);
        return gpu.Download(y);
    }

    public override float[] DenseBackwardInput(float[] dy, float[] weight, float[]? reluMask, DenseShape s)
    {
        var dx = gpu.Allocate<float>(s.Batch * s.Inputs);
        gpu.Kernels.DenseBackwardInput(gpu.Upload(dy), gpu.Upload(weight), dx, reluMask is null ? null : gpu.Upload(reluMask), s);
        return gpu.Download(dx);
    }

    public override (float[] DW, float[] DB) DenseBackwardParameters(float[] dy, float[] x, DenseShape s)
    {
        var (dw, db) = (gpu.Allocate<float>(s.Outputs * s.Inputs), gpu.Allocate<float>(s.Outputs));
        gpu.Kernels.DenseBackwardParameters(gpu.Upload(dy), gpu.Upload(x), dw, db, s);
        return (gpu.Download(dw), gpu.Download(db));
    }

    public override (float[] Loss, float[] DLogits, int[] Correct) SoftmaxCrossEntropy(float[] logits, int[] labels, LossShape s)
    {
        var (dz, loss, correct) = (gpu.Allocate<float>(logits.Length), gpu.Allocate<float>(s.Batch), gpu.Allocate<int>(s.Batch));
        gpu.Kernels.SoftmaxCrossEntropy(gpu.Upload(logits), gpu.Upload(labels), dz, loss, correct, s);
        return (gpu.Download(loss), gpu.Download(dz), gpu.Download(correct));
    }

    public override float[] Dropout(float[] x, DropoutParameters p)
    {
        var view = gpu.Upload(x);
        gpu.Kernels.DropoutForward(view, p);
        return gpu.Download(view);
    }

    public override void Adam(float[] parameters, float[] gradients, float[] m, float[] v, AdamParameters a)
    {
        var (p, mv, vv) = (gpu.Upload(parameters), gpu.Upload(m), gpu.Upload(v));
        gpu.Kernels.Adam(p, gpu.Upload(gradients), mv, vv, a);
        gpu.Download(p).CopyTo(parameters, 0);
        gpu.Download(mv).CopyTo(m, 0);
        gpu.Download(vv).CopyTo(v, 0);
    }
}

/// <summary>The SIMD engine's layers on all cores, through the same batch entry points the engine calls.</summary>
public sealed class SimdLayers : LayerBackend
{
    private static readonly ParallelOptions AllCores = new();

    public override (float[] Y, int[] Argmax) ConvBlockForward(float[] x, float[] weight, float[] bias, ConvShape s, DropoutParameters dropout)
    {
        var outputs = s.Batch * ConvBlockKernels.Outputs(s);
        var (y, argmax) = (new float[outputs], new int[outputs]);
        SimdConvBlock.Forward(x, weight, bias, y, argmax, s, dropout, AllCores);
        return (y, argmax);
    }

    public override (float[] DW, float[] DB) ConvBlockBackward(float[] x, float[] y, int[] argmax, float[] dy, ConvShape s, DropoutParameters dropout)
    {
        var (dw, db) = (new float[s.OutChannels * s.Taps], new float[s.OutChannels]);
        SimdConvBlock.BackwardParameters(x, y, argmax, dy, new float[s.Batch * SimdConvBlock.PartialLength(s)], dw, db, s, dropout, AllCores);
        return (dw, db);
    }

    public override float[] DenseForward(float[] x, float[] weight, float[] bias, DenseShape s, bool relu)
    {
        var y = new float[s.Batch * s.Outputs];
        SimdDense.Forward(x, weight, 0, bias, y, s, relu, Environment.ProcessorCount);
        return y;
    }

    public override float[] DenseBackwardInput(float[] dy, float[] weight, float[]? reluMask, DenseShape s)
    {
        var dx = new float[s.Batch * s.Inputs];
        SimdDense.BackwardInput(dy, weight, 0, dx, reluMask, s, Environment.ProcessorCount);
        return dx;
    }

    public override (float[] DW, float[] DB) DenseBackwardParameters(float[] dy, float[] x, DenseShape s)
    {
        var (dw, db) = (new float[s.Outputs * s.Inputs], new float[s.Outputs]);
        SimdDense.BackwardParameters(dy, x, dw, 0, db, s, Environment.ProcessorCount);
        return (dw, db);
    }

    public override (float[] Loss, float[] DLogits, int[] Correct) SoftmaxCrossEntropy(float[] logits, int[] labels, LossShape s)
    {
        var (loss, dz, correct) = (new float[s.Batch], new float[logits.Length], new int[s.Batch]);
        SimdSoftmaxCrossEntropy.ForwardBackward(logits, labels, dz, loss, correct, s);
        return (loss, dz, correct);
    }

    public override float[] Dropout(float[] x, DropoutParameters p)
    {
        var y = (float[])x.Clone();
        SimdDropout.Apply(y, 0, p);
        return y;
    }

    public override void Adam(float[] parameters, float[] gradients, float[] m, float[] v, AdamParameters a) =>
        SimdAdam.Update(parameters, gradients, m, v, a, AllCores);
}
