using ILGPU;

namespace FashionGpu.Kernels;

/// <summary>Which update <see cref="OptimizerStep"/> applies.</summary>
public enum OptimizerKind
{
    /// <summary>Adam in the Keras form (the reference): ε is added to sqrt(v) with the bias correction folded into the step size.</summary>
    Adam,
    /// <summary>torch.optim.AdamW: decoupled weight decay p ← p·(1 - lr·wd), then Adam with ε added to sqrt(v̂).</summary>
    AdamW,
    /// <summary>torch.optim.SGD(nesterov=True, dampening=0): g ← g + wd·p; b ← μ·b + g; p ← p - lr·(g + μ·b).</summary>
    Sgd,
}

/// <summary>
/// One optimizer step's constants for every element, computed on the host in double for step t (1-based) and the
/// scheduled learning rate. Adam and AdamW keep the first and second moments in m and v; SGD keeps its momentum buffer
/// in m and leaves v alone. <see cref="Decay"/> is 0 for parameters that take no weight decay (biases, batchnorm).
/// </summary>
public readonly struct OptimizerStep
{
    public OptimizerStep(OptimizerKind kind, float stepSize, float beta1, float beta2, float epsilon, float decay)
    {
        Kind = kind;
        StepSize = stepSize;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        Decay = decay;
    }

    public OptimizerKind Kind { get; }

    /// <summary>Adam and AdamW: lr·sqrt(1-β2^t)/(1-β1^t); SGD: lr.</summary>
    public float StepSize { get; }

    /// <summary>Adam and AdamW: β1; SGD: the momentum μ.</summary>
    public float Beta1 { get; }

    public float Beta2 { get; }

    /// <summary>Added to sqrt(v). AdamW's ε (added to sqrt(v̂) by PyTorch) arrives here as ε·sqrt(1-β2^t).</summary>
    public float Epsilon { get; }

    /// <summary>AdamW: lr·wd (the fraction of each weight decayed away); SGD and Adam: wd (added to the gradient as wd·p).</summary>
    public float Decay { get; }

    /// <summary>The same step for parameters that take no weight decay.</summary>
    public OptimizerStep WithoutDecay() => new(Kind, StepSize, Beta1, Beta2, Epsilon, 0f);

    public void Apply(float g, ref float m, ref float v, ref float p)
    {
        if (Kind == OptimizerKind.Sgd)
        {
            g += Decay * p;
            m = Beta1 * m + g;
            p -= StepSize * (g + Beta1 * m);
            return;
        }
        if (Kind == OptimizerKind.AdamW)
            p *= 1f - Decay;
        else
            g += Decay * p;
        m = Beta1 * m + (1f - Beta1) * g;
        v = Beta2 * v + (1f - Beta2) * g * g;
        p -= StepSize * m / (MathF.Sqrt(v) + Epsilon);
    }

    /// <summary>The reference's Adam (Keras form, no weight decay) at step <paramref name="step"/>.</summary>
    public static OptimizerStep Adam(double learningRate, double beta1, double beta2, double epsilon, long step) =>
        For(OptimizerKind.Adam, learningRate, beta1, beta2, epsilon, 0, step);

    /// <summary>
    /// The constants of step <paramref name="step"/> (1-based) at learning rate <paramref name="learningRate"/>;
    /// <paramref name="beta1"/> is SGD's momentum.
    /// </summary>
    public static OptimizerStep For(OptimizerKind kind, double learningRate, double beta1, double beta2, double epsilon,
        double weightDecay, long step)
    {
        if (kind == OptimizerKind.Sgd)
            return new(kind, (float)learningRate, (float)beta1, 0f, 0f, (float)weightDecay);
        var correction2 = Math.Sqrt(1 - Math.Pow(beta2, step));
        var stepSize = (float)(learningRate * correction2 / (1 - Math.Pow(beta1, step)));
        return kind == OptimizerKind.AdamW
            ? new(kind, stepSize, (float)beta1, (float)beta2, (float)(epsilon * correction2), (float)(learningRate * weightDecay))
            : new(kind, stepSize, (float)beta1, (float)beta2, (float)epsilon, (float)weightDecay);
    }
}

public static class OptimizerKernels
{
    /// <summary>
    /// In place over a contiguous run of the parameter buffer (<see cref="OptimizerStep.Apply"/> per element). A
    /// parameter that becomes NaN or infinite sets nonFinite[0] to 1 (every writer stores the same value, so the flag is
    /// the same whatever the order), which the divergence guard reads. Launch: range.Stride threads.
    /// </summary>
    public static void Update(
        Index1D thread, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        OptimizerStep a, ArrayView<int> nonFinite, ElementRange range)
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
