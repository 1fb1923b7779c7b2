using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>ReLU's backward, for activations whose forward ReLU was fused into the producing kernel.</summary>
public static class ActivationKernels
{
    /// <summary>In place: dy[i] = y[i] &gt; 0 ? dy[i] : 0, where y is the ReLU's output. Launch: range.Stride threads.</summary>
    public static void ReluBackward(Index1D thread, ArrayView<float> y, ArrayView<float> dy, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            if (!(y[i] > 0f))
                dy[i] = 0f;
        }
    }
}
