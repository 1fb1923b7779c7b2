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

    /// <summary>One optimizer step on elements [begin, end), in place on the three state arrays.</summary>
    public abstract void Optimizer(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a, int begin, int end);

    public void Optimizer(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a) =>
        Optimizer(parameters, gradients, m, v, a, 0, parameters.Length);

    /// <summary>The training gather: images [indices] of a 28x28 byte dataset, scaled and augmented.</summary>
    public abstract (float[] X, int[] Labels) Gather(byte[] images, byte[] labels, int[] indices, float scale, Augmentation augment);

    /// <summary>A convolution on its own (any padding and channel count), no activation.</summary>
    public abstract float[] Conv2dForward(float[] x, float[] weight, float[] bias, ConvShape s);

    /// <summary>dW, db and dx of <see cref="Conv2dForward"/>.</summary>
    public abstract (float[] DW, float[] DB, float[] DX) Conv2dBackward(float[] x, float[] dy, float[] weight, ConvShape s);

    /// <summary>
    /// Batchnorm forward over x [Batch, C, Spatial]; <paramref name="running"/> is mean then variance per channel,
    /// updated in place while training. Returns the output and the statistics backward needs.
    /// </summary>
    public abstract (float[] Y, float[] Saved) BatchNormForward(float[] x, float[] weight, float[] bias, float[] running, BatchNormShape s, bool training);

    public abstract (float[] DWeight, float[] DBias, float[] DX) BatchNormBackward(float[] x, float[] dy, float[] weight, float[] saved, BatchNormShape s);

    public abstract (float[] Y, int[] Argmax) MaxPoolForward(float[] x, PoolShape s);

    public abstract float[] MaxPoolBackward(float[] dy, int[] argmax, PoolShape s);

    public abstract float[] GlobalAvgPoolForward(float[] x, int planes, int spatial);

    public abstract float[] GlobalAvgPoolBackward(float[] dy, int planes, int spatial);

    public abstract float[] ReluForward(float[] x);

    /// <summary>dx = y &gt; 0 ? dy : 0.</summary>
    public abstract float[] ReluBackward(float[] y, float[] dy);
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
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuDropout.Apply(gpu.Kernels, view, p, backward: false);
        return gpu.Download(view);
    }

    public override void Optimizer(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a, int begin, int end)
    {
        var (p, mv, vv) = (gpu.Upload(parameters), gpu.Upload(m), gpu.Upload(v));
        var length = end - begin;
        gpu.Kernels.Optimizer(p.SubView(begin, length), gpu.Upload(gradients).SubView(begin, length), mv.SubView(begin, length), vv.SubView(begin, length), a,
            gpu.Allocate<int>(1));
        gpu.Download(p).CopyTo(parameters, 0);
        gpu.Download(mv).CopyTo(m, 0);
        gpu.Download(vv).CopyTo(v, 0);
    }

    public override (float[] X, int[] Labels) Gather(byte[] images, byte[] labels, int[] indices, float scale, Augmentation augment)
    {
        var (x, y) = (gpu.Allocate<float>(indices.Length * 784), gpu.Allocate<int>(indices.Length));
        gpu.Kernels.Gather(gpu.Upload(images), gpu.Upload(labels), gpu.Upload(indices), x, y, new GatherShape(indices.Length, 28, 28, scale), augment);
        return (gpu.Download(x), gpu.Download(y));
    }

    public override float[] Conv2dForward(float[] x, float[] weight, float[] bias, ConvShape s)
    {
        var y = gpu.Allocate<float>(s.Batch * s.OutChannels * s.OutHeight * s.OutWidth);
        gpu.Kernels.ConvForward(gpu.Upload(x), gpu.Upload(weight), gpu.Upload(bias), y, s, relu: false);
        return gpu.Download(y);
    }

    public override (float[] DW, float[] DB, float[] DX) Conv2dBackward(float[] x, float[] dy, float[] weight, ConvShape s)
    {
        var (dw, db, dx) = (gpu.Allocate<float>(s.OutChannels * s.Taps), gpu.Allocate<float>(s.OutChannels), gpu.Allocate<float>(x.Length));
        var dyView = gpu.Upload(dy);
        gpu.Kernels.ConvBackwardParameters(gpu.Upload(x), dyView, dw, db, s);
        gpu.Kernels.ConvBackwardInput(dyView, gpu.Upload(weight), dx, s);
        return (gpu.Download(dw), gpu.Download(db), gpu.Download(dx));
    }

    public override (float[] Y, float[] Saved) BatchNormForward(float[] x, float[] weight, float[] bias, float[] running, BatchNormShape s, bool training)
    {
        var (y, saved, stats) = (gpu.Allocate<float>(x.Length), gpu.Allocate<float>(2 * s.Channels), gpu.Upload(running));
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuBatchNorm.Forward(gpu.Kernels, gpu.Upload(x), y, gpu.Upload(weight), gpu.Upload(bias), stats.SubView(0, s.Channels),
            stats.SubView(s.Channels, s.Channels), saved, s, training);
        gpu.Download(stats).CopyTo(running, 0);
        return (gpu.Download(y), gpu.Download(saved));
    }

    public override (float[] DWeight, float[] DBias, float[] DX) BatchNormBackward(float[] x, float[] dy, float[] weight, float[] saved, BatchNormShape s)
    {
        var (dw, db, dx) = (gpu.Allocate<float>(s.Channels), gpu.Allocate<float>(s.Channels), gpu.Allocate<float>(x.Length));
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuBatchNorm.Backward(gpu.Kernels, gpu.Upload(x), gpu.Upload(dy), dx, gpu.Upload(weight), gpu.Upload(saved), dw, db, s);
        return (gpu.Download(dw), gpu.Download(db), gpu.Download(dx));
    }

    public override (float[] Y, int[] Argmax) MaxPoolForward(float[] x, PoolShape s)
    {
        var outputs = s.Batch * s.Channels * s.OutHeight * s.OutWidth;
        var (y, argmax) = (gpu.Allocate<float>(outputs), gpu.Allocate<int>(outputs));
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Forward(gpu.Kernels, gpu.Upload(x), y, argmax, s);
        return (gpu.Download(y), gpu.Download(argmax));
    }

    public override float[] MaxPoolBackward(float[] dy, int[] argmax, PoolShape s)
    {
        var dx = gpu.Allocate<float>(s.Batch * s.Channels * s.Height * s.Width);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Backward(gpu.Kernels, gpu.Upload(dy), gpu.Upload(argmax), dx, s);
        return gpu.Download(dx);
    }

    public override float[] GlobalAvgPoolForward(float[] x, int planes, int spatial)
    {
        var y = gpu.Allocate<float>(planes);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuGlobalAvgPool.Forward(gpu.Kernels, gpu.Upload(x), y, planes, spatial);
        return gpu.Download(y);
    }

    public override float[] GlobalAvgPoolBackward(float[] dy, int planes, int spatial)
    {
        var dx = gpu.Allocate<float>(planes * spatial);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuGlobalAvgPool.Backward(gpu.Kernels, gpu.Upload(dy), dx, planes, spatial);
        return gpu.Download(dx);
    }

    public override float[] ReluForward(float[] x)
    {
        var y = gpu.Allocate<float>(x.Length);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuRelu.Forward(gpu.Kernels, gpu.Upload(x), y);
        return gpu.Download(y);
    }

    public override float[] ReluBackward(float[] y, float[] dy)
    {
        var dx = gpu.Allocate<float>(dy.Length);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuRelu.Backward(gpu.Kernels, gpu.Upload(y), gpu.Upload(dy), dx);
        return gpu.Download(dx);
    }
}

/// <summary>The SIMD engine's layers on all cores, through the same batch entry points the engine calls.</summary>
public sealed class SimdLayers : LayerBackend
{
    private static readonly int AllCores = Environment.ProcessorCount;

    public override (float[] Y, int[] Argmax) ConvBlockForward(float[] x, float[] weight, float[] bias, ConvShape s, DropoutParameters dropout)
    {
        var outputs = s.Batch * ConvBlockKernels.Outputs(s);
        var (y, argmax) = (new float[outputs], new int[outputs]);
        SimdConvBlock.Forward(x, weight, bias, y, argmax, s, dropout, parallelism: AllCores);
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
        var y = new float[x.Length];
        SimdDropout.Apply(x, y, x.Length, p, AllCores);
        return y;
    }

    public override void Optimizer(float[] parameters, float[] gradients, float[] m, float[] v, OptimizerStep a, int begin, int end) =>
        SimdOptimizer.Update(parameters, gradients, m, v, a, begin, end, AllCores);

    public override (float[] X, int[] Labels) Gather(byte[] images, byte[] labels, int[] indices, float scale, Augmentation augment)
    {
        var (x, y) = (new float[indices.Length * 784], new int[indices.Length]);
        SimdGather.Gather(new FashionGpu.Runtime.Data.LabeledImages(images, labels, "test"), indices, scale, augment, x, y);
        return (x, y);
    }

    public override float[] Conv2dForward(float[] x, float[] weight, float[] bias, ConvShape s)
    {
        var y = new float[s.Batch * s.OutChannels * s.OutHeight * s.OutWidth];
        SimdConv2d.Forward(x, weight, 0, bias, y, null, s, AllCores);
        return y;
    }

    public override (float[] DW, float[] DB, float[] DX) Conv2dBackward(float[] x, float[] dy, float[] weight, ConvShape s)
    {
        var (dw, db, dx) = (new float[s.OutChannels * s.Taps], new float[s.OutChannels], new float[x.Length]);
        SimdConv2d.Backward(x, dy, null, weight, 0, new float[s.Batch * SimdConv2d.PartialLength(s)], dw, db, dx, s, AllCores);
        return (dw, db, dx);
    }

    public override (float[] Y, float[] Saved) BatchNormForward(float[] x, float[] weight, float[] bias, float[] running, BatchNormShape s, bool training)
    {
        // The engine keeps weight, bias and running statistics in its parameter buffer: here [weight, bias, mean, var].
        var c = s.Channels;
        var parameters = weight.Concat(bias).Concat(running).ToArray();
        var (y, saved) = (new float[x.Length], new float[2 * c]);
        SimdBatchNorm.Forward(x, y, parameters, 0, c, 2 * c, 3 * c, saved, s, training, relu: false, AllCores);
        parameters.AsSpan(2 * c, 2 * c).CopyTo(running);
        return (y, saved);
    }

    public override (float[] DWeight, float[] DBias, float[] DX) BatchNormBackward(float[] x, float[] dy, float[] weight, float[] saved, BatchNormShape s)
    {
        var (gradients, dx) = (new float[2 * s.Channels], new float[x.Length]);
        SimdBatchNorm.Backward(x, dy, dx, weight, 0, saved, gradients, 0, s.Channels, s, reluOutput: null, AllCores);
        return (gradients[..s.Channels], gradients[s.Channels..], dx);
    }

    public override (float[] Y, int[] Argmax) MaxPoolForward(float[] x, PoolShape s)
    {
        var outputs = s.Batch * s.Channels * s.OutHeight * s.OutWidth;
        var (y, argmax) = (new float[outputs], new int[outputs]);
        SimdMaxPool.Forward(x, y, argmax, s, AllCores);
        return (y, argmax);
    }

    public override float[] MaxPoolBackward(float[] dy, int[] argmax, PoolShape s)
    {
        var dx = new float[s.Batch * s.Channels * s.Height * s.Width];
        SimdMaxPool.Backward(dy, argmax, dx, s, AllCores);
        return dx;
    }

    public override float[] GlobalAvgPoolForward(float[] x, int planes, int spatial)
    {
        var y = new float[planes];
        SimdGlobalAvgPool.Forward(x, y, planes, spatial);
        return y;
    }

    public override float[] GlobalAvgPoolBackward(float[] dy, int planes, int spatial)
    {
        var dx = new float[planes * spatial];
        SimdGlobalAvgPool.Backward(dy, dx, planes, spatial);
        return dx;
    }

    public override float[] ReluForward(float[] x)
    {
        var y = new float[x.Length];
        SimdRelu.Forward(x, y);
        return y;
    }

    public override float[] ReluBackward(float[] y, float[] dy)
    {
        var dx = new float[dy.Length];
        SimdRelu.Backward(y, dy, dx);
        return dx;
    }
}
