using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// Three Adam steps against the Keras update in double. Tolerances: parameters and m 1e-6·Σ|terms|, v 1e-5 relative.
/// Lengths cover the vector body and the scalar tail of the SIMD update and more than one of its parallel chunks.
/// </summary>
public abstract class AdamTests(LayerBackend layers)
{
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(9001)]
    [InlineData(40_003)]
    public void Adam_matches_the_keras_update_over_three_steps(int length)
    {
        var random = new Random(length);
        var p = TestData.Uniform(random, length);
        var (gotM, gotV) = (new float[length], new float[length]);
        var want = TestData.ToDouble(p);
        var m = new double[length];
        var v = new double[length];
        var mScale = new double[length];
        var pScale = Array.ConvertAll(want, Math.Abs);
        // The update works in float with float hyperparameters (as Keras does): 1 - 0.999f is 1.3e-5 off 0.001.
        double beta1 = 0.9f, beta2 = 0.999f;
        for (var step = 1; step <= 3; step++)
        {
            var g = TestData.Uniform(random, length, -2f, 2f);
            layers.Optimizer(p, g, gotM, gotV, OptimizerStep.Adam(1e-3, 0.9, 0.999, 1e-7, step));
            var lrT = 1e-3 * Math.Sqrt(1 - Math.Pow(0.999, step)) / (1 - Math.Pow(0.9, step));
            for (var i = 0; i < length; i++)
            {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                mScale[i] = beta1 * mScale[i] + (1 - beta1) * Math.Abs(g[i]);
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * (double)g[i];
                var update = lrT * m[i] / (Math.Sqrt(v[i]) + 1e-7);
                want[i] -= update;
                pScale[i] += Math.Abs(update);
            }
        }
        Close.All("adam parameters", want, p, pScale, 1e-6, 1e-9);
        Close.All("adam m", m, gotM, mScale, 1e-6, 1e-9);
        Close.All("adam v", v, gotV, 1e-5, 1e-10);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuAdamTests(CpuDeviceFixture gpu) : AdamTests(new IlgpuLayers(gpu));

public sealed class SimdAdamTests() : AdamTests(new SimdLayers());
