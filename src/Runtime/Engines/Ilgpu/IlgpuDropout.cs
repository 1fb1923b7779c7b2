using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines.Ilgpu;

internal sealed class IlgpuDropout : IlgpuLayer
{
    public override LayerKind Kind => LayerKinds.Dropout;

    public override void Forward(IlgpuOp o)
    {
        o.Kernels.Copy(o.Input.SubView(0, o.Length), o.BatchOutput);
        if (o.Dropout.Rate > 0f)
            o.Kernels.DropoutForward(o.BatchOutput, o.Dropout);
    }

    public override void Backward(IlgpuOp o)
    {
        o.Kernels.Copy(o.BatchGradient, o.InputGradient!.Value);
        if (o.Op.DropoutRate > 0f)
            o.Kernels.DropoutBackward(o.InputGradient.Value, o.Dropout);
    }
}
