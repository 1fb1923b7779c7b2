using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>
/// One Adam step in the Keras form. <see cref="StepSize"/> is lr·sqrt(1-β2^t)/(1-β1^t), computed on the host in double
/// for step t (1-based); ε is added to sqrt(v), not to the bias-corrected sqrt(v̂) as PyTorch does.
/// </summary>
public readonly struct AdamParameters
{
    public AdamParameters(float stepSize, float beta1, float beta2, float epsilon)
    {
        StepSize = stepSize;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    public float StepSize { get; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }

    public static AdamParameters ForStep(double learningRate, double beta1, double beta2, double epsilon, long step) =>
        new((float)(learningRate * Math.Sqrt(1 - Math.Pow(beta2, step)) / (1 - Math.Pow(beta1, step))),
            (float)beta1, (float)beta2, (float)epsilon);
}

public static class AdamKernels
{
    /// <summary>
    /// In place over one contiguous parameter buffer: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
    /// p -= StepSize·m / (sqrt(v) + ε). Launch: range.Stride threads.
    /// </summary>
    public static void Update(
        Index1D thread, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        AdamParameters a, ElementRange range)
    {
        var oneMinusBeta1 = 1f - a.Beta1;
        var oneMinusBeta2 = 1f - a.Beta2;
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var g = gradients[i];
            var mi = a.Beta1 * m[i] + oneMinusBeta1 * g;
            var vi = a.Beta2 * v[i] + oneMinusBeta2 * g * g;
            m[i] = mi;
            v[i] = vi;
            parameters[i] -= a.StepSize * mi / (MathF.Sqrt(vi) + a.Epsilon);
        }
    }
}
