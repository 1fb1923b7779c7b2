using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Model;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>Inverted dropout (<see cref="DropoutKernels"/>) in place on a copy of its input; the identity in inference.</summary>
internal sealed class IlgpuDropout : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Dropout;

    public override void Forward(IlgpuOp o)
    {
        o.Kernels.Copy(o.Input.SubView(0, o.Length), o.BatchOutput);
        if (o.Dropout.Rate > 0f)
            Apply(o.Kernels, o.BatchOutput, o.Dropout, backward: false);
    }

    public override void Backward(IlgpuOp o)
    {
        o.Kernels.Copy(o.BatchGradient, o.InputGradient!.Value);
        if (o.Op.DropoutRate > 0f)
            Apply(o.Kernels, o.InputGradient.Value, o.Dropout, backward: true);
    }

    /// <summary>Keeps each element with probability 1 - rate, scaled by 1/(1 - rate), in place.</summary>
    public static void Apply(KernelSet k, ArrayView<float> values, DropoutParameters p, bool backward)
    {
        var range = k.Range(values.Length);
        var kernel = k.Loaded<Action<Index1D, ArrayView<float>, DropoutParameters, ElementRange>>(backward ? DropoutKernels.Backward : DropoutKernels.Forward);
        k.Launch(backward ? "Dropout.Backward" : "Dropout.Forward", range.Stride, () => kernel(range.Stride, values, p, range));
    }
}
