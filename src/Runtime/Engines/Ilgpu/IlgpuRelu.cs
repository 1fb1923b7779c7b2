using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>ReLU on its own (<see cref="ActivationKernels"/>); it also serves dense + ReLU and batchnorm + ReLU.</summary>
internal sealed class IlgpuRelu : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Relu;
    public override void Forward(IlgpuOp o) => Forward(o.Kernels, o.Input.SubView(0, o.Length), o.BatchOutput);
    public override void Backward(IlgpuOp o) => Backward(o.Kernels, o.BatchOutput, o.BatchGradient, o.InputGradient!.Value);

    public static void Forward(KernelSet k, ArrayView<float> x, ArrayView<float> y)
    {
        var range = k.Range(y.Length);
        var forward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ElementRange>>(ActivationKernels.ReluForward);
        k.Launch("Activation.ReluForward", range.Stride, () => forward(range.Stride, x, y, range));
    }

    /// <summary>dx = dy where the ReLU's output y is positive, else 0; <paramref name="dx"/> may be <paramref name="dy"/>.</summary>
    public static void Backward(KernelSet k, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx)
    {
        var range = k.Range(y.Length);
        var backward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementRange>>(ActivationKernels.ReluBackward);
        k.Launch("Activation.ReluBackward", range.Stride, () => backward(range.Stride, y, dy, dx, range));
    }
}
