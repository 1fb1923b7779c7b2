using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// The exponential moving average of the weights (--ema), after each optimizer step: a ← a + w·(p − a), where w is
/// 1 − the step's decay (computed on the host). Every engine does these operations in this order, so the average has
/// the same bits on each.
/// </summary>
public static class WeightAverageKernels
{
    public static float Apply(float average, float parameter, float weight) => average + weight * (parameter - average);

    /// <summary>average[i] = <see cref="Apply"/>(average[i], parameters[i], weight). Launch: range.Stride threads.</summary>
    public static void Update(Index1D thread, ArrayView<float> parameters, ArrayView<float> average, float weight, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
            average[i] = Apply(average[i], parameters[i], weight);
    }
}
