using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>Global average pooling (<see cref="GlobalAvgPoolKernels"/>): x [Planes, Spatial] → y [Planes].</summary>
internal sealed class IlgpuGlobalAvgPool : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.GlobalAvgPool;
    public override void Forward(IlgpuOp o) => Forward(o.Kernels, o.Input, o.Output, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);
    public override void Backward(IlgpuOp o) => Backward(o.Kernels, o.Gradient, o.InputGradient!.Value, o.Batch * o.Op.Input.Channels, o.Op.Input.Spatial);

    public static void Forward(KernelSet k, ArrayView<float> x, ArrayView<float> y, int planes, int spatial)
    {
        var forward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, int>>(GlobalAvgPoolKernels.Forward);
        k.Launch("GlobalAvgPool.Forward", planes, () => forward(planes, x, y, spatial));
    }

    public static void Backward(KernelSet k, ArrayView<float> dy, ArrayView<float> dx, int planes, int spatial)
    {
        var range = k.Range((long)planes * spatial);
        var backward = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, int, ElementRange>>(GlobalAvgPoolKernels.Backward);
        k.Launch("GlobalAvgPool.Backward", range.Stride, () => backward(range.Stride, dy, dx, spatial, range));
    }
}
