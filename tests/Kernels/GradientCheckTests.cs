using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>
/// Each backward kernel against central finite differences of the double-precision forward, L = Σ r ⊙ layer(·) for a
/// random r: this checks the backward against the forward's definition, not against a second backward. Tolerance:
/// 1e-4 relative to Σ|terms| of the gradient plus 1e-6 (the differences themselves are accurate to ~1e-9).
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class GradientCheckTests(CpuDeviceFixture gpu)
{
    private const double H = 1e-5;

    private static double[] Numeric(Func<double[], double> loss, double[] at)
    {
        var grad = new double[at.Length];
        for (var i = 0; i < at.Length; i++)
        {
            var saved = at[i];
            at[i] = saved + H;
            var plus = loss(at);
            at[i] = saved - H;
            var minus = loss(at);
            at[i] = saved;
            grad[i] = (plus - minus) / (2 * H);
        }
        return grad;
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();

    private static double[] Scale(double[] grad) => Array.ConvertAll(grad, g => Math.Abs(g) + 1.0);

    [Fact]
    public void Conv2D_gradients_match_finite_differences()
    {
        var s = new ConvShape(2, 2, 3, 6, 5, 3);
        var random = new Random(5);
        var x = TestData.Uniform(random, 2 * 2 * 6 * 5);
        var w = TestData.Uniform(random, 3 * s.Taps);
        var b = TestData.Uniform(random, 3);
        var r = TestData.Uniform(random, 2 * 3 * s.OutHeight * s.OutWidth);
        var (xd, wd, bd, rd) = (TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(b), TestData.ToDouble(r));
        var dw = gpu.Allocate<float>(w.Length);
        var db = gpu.Allocate<float>(b.Length);
        var dx = gpu.Allocate<float>(x.Length);

        gpu.Kernels.ConvBackwardParameters(gpu.Upload(x), gpu.Upload(r), dw, db, s);
        gpu.Kernels.ConvBackwardInput(gpu.Upload(r), gpu.Upload(w), dx, s);

        var wantDw = Numeric(v => Dot(rd, Reference.ConvForward(xd, v, bd, s, false).Y), wd);
        var wantDb = Numeric(v => Dot(rd, Reference.ConvForward(xd, wd, v, s, false).Y), bd);
        var wantDx = Numeric(v => Dot(rd, Reference.ConvForward(v, wd, bd, s, false).Y), xd);
        Close.All("conv dW vs finite differences", wantDw, gpu.Download(dw), Scale(wantDw), 1e-4);
        Close.All("conv db vs finite differences", wantDb, gpu.Download(db), Scale(wantDb), 1e-4);
        Close.All("conv dx vs finite differences", wantDx, gpu.Download(dx), Scale(wantDx), 1e-4);
    }

    [Fact]
    public void MaxPool_gradient_matches_finite_differences()
    {
        var s = new PoolShape(2, 3, 6, 7);
        var random = new Random(6);
        // Distinct values at least 1e-3 apart, so no window has a tie within the step H.
        var x = Enumerable.Range(0, 2 * 3 * 6 * 7).Select(i => (float)(i * 1e-3)).OrderBy(_ => random.Next()).ToArray();
        var r = TestData.Uniform(random, 2 * 3 * 3 * 3);
        var y = gpu.Allocate<float>(r.Length);
        var argmax = gpu.Allocate<int>(r.Length);
        var dx = gpu.Allocate<float>(x.Length);

        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Forward(gpu.Kernels, gpu.Upload(x), y, argmax, s);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Backward(gpu.Kernels, gpu.Upload(r), argmax, dx, s);

        var rd = TestData.ToDouble(r);
        var want = Numeric(v => Dot(rd, Reference.PoolForward(v, s).Y), TestData.ToDouble(x));
        Close.All("pool dx vs finite differences", want, gpu.Download(dx), Scale(want), 1e-4);
    }

    [Fact]
    public void Dense_with_relu_gradients_match_finite_differences()
    {
        var s = new DenseShape(3, 11, 6);
        var random = new Random(8);
        var x = TestData.Uniform(random, 3 * 11);
        var w = TestData.Uniform(random, 6 * 11);
        var b = TestData.Uniform(random, 6);
        var r = TestData.Uniform(random, 3 * 6);
        var (xd, wd, bd, rd) = (TestData.ToDouble(x), TestData.ToDouble(w), TestData.ToDouble(b), TestData.ToDouble(r));
        var y = gpu.Allocate<float>(3 * 6);
        var dy = gpu.Upload(r);
        var dx = gpu.Allocate<float>(x.Length);
        var dw = gpu.Allocate<float>(w.Length);
        var db = gpu.Allocate<float>(b.Length);
        var (xv, wv) = (gpu.Upload(x), gpu.Upload(w));

        gpu.Kernels.DenseForward(xv, wv, gpu.Upload(b), y, s, relu: true);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuRelu.Backward(gpu.Kernels, y, dy, dy);
        gpu.Kernels.DenseBackwardInput(dy, wv, dx, reluMask: null, s);
        gpu.Kernels.DenseBackwardParameters(dy, xv, dw, db, s);

        double Loss(double[] xs, double[] ws, double[] bs) =>
            Dot(rd, Reference.MatMul(xs, Reference.Transpose(ws, 6, 11), 3, 6, 11, bs, relu: true).C);
        var wantDx = Numeric(v => Loss(v, wd, bd), xd);
        var wantDw = Numeric(v => Loss(xd, v, bd), wd);
        var wantDb = Numeric(v => Loss(xd, wd, v), bd);
        Close.All("dense dx vs finite differences", wantDx, gpu.Download(dx), Scale(wantDx), 1e-4);
        Close.All("dense dW vs finite differences", wantDw, gpu.Download(dw), Scale(wantDw), 1e-4);
        Close.All("dense db vs finite differences", wantDb, gpu.Download(db), Scale(wantDb), 1e-4);
    }

    [Fact]
    public void Softmax_cross_entropy_gradient_matches_finite_differences()
    {
        var s = new LossShape(4, 10);
        var random = new Random(9);
        var z = TestData.Uniform(random, 40, -3f, 3f);
        var labels = new[] { 3, 0, 9, 3 };
        var dz = gpu.Allocate<float>(40);

        gpu.Kernels.SoftmaxCrossEntropy(gpu.Upload(z), gpu.Upload(labels), dz, gpu.Allocate<float>(4), gpu.Allocate<int>(4), s);

        var want = Numeric(v => Reference.SoftmaxCrossEntropy(v, labels, 10).Loss.Average(), TestData.ToDouble(z));
        Close.All("softmax dz vs finite differences", want, gpu.Download(dz), Scale(want), 1e-4);
    }
}
