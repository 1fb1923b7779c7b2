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

    /// <summary>One element's step: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= StepSize·m / (sqrt(v) + ε).</summary>
    public void Apply(float g, ref float m, ref float v, ref float p)
    {
        m = Beta1 * m + (1f - Beta1) * g;
        v = Beta2 * v + (1f - Beta2) * g * g;
        p -= StepSize * m / (MathF.Sqrt(v) + Epsilon);
    }

    public static AdamParameters ForStep(double learningRate, double beta1, double beta2, double epsilon, long step) =>
        new((float)(learningRate * Math.Sqrt(1 - Math.Pow(beta2, step)) / (1 - Math.Pow(beta1, step))),
            (float)beta1, (float)beta2, (float)epsilon);
}

public static class AdamKernels
{
    /// <summary>
    /// In place over one contiguous parameter buffer: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
    /// p -= StepSize·m / (sqrt(v) + ε). A parameter that becomes NaN or infinite sets nonFinite[0] to 1 (every writer
    /// stores the same value, so the flag is the same whatever the order), which the divergence guard reads.
    /// Launch: range.Stride threads.
    /// </summary>
    public static void Update(
        Index1D thread, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        AdamParameters a, ArrayView<int> nonFinite, ElementRange range)
    {
        for (var i = (int)thread; i < range.Count; i += range.Stride)
        {
            var (mi, vi, pi) = (m[i], v[i], parameters[i]);
            a.Apply(gradients[i], ref mi, ref vi, ref pi);
            m[i] = mi;
            v[i] = vi;
            parameters[i] = pi;
            if (float.IsNaN(pi) || float.IsInfinity(pi))
                nonFinite[0] = 1;
        }
    }
}
