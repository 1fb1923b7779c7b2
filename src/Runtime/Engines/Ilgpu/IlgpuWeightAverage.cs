using FashionGpu.Kernels;
using FashionGpu.Runtime.Devices;
using ILGPU;

namespace FashionGpu.Runtime.Engines.Ilgpu;

/// <summary>The weight average's update after each optimizer step (<see cref="WeightAverageKernels"/>).</summary>
internal static class IlgpuWeightAverage
{
    public static void Update(KernelSet k, ArrayView<float> parameters, ArrayView<float> average, float weight)
    {
        var range = k.Range(parameters.Length);
        var update = k.Loaded<Action<Index1D, ArrayView<float>, ArrayView<float>, float, ElementRange>>(WeightAverageKernels.Update);
        k.Launch("WeightAverage.Update", range.Stride, () => update(range.Stride, parameters, average, weight, range));
    }
}
