using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// The fused conv block against the reference layers composed in double: conv + ReLU → 2x2 max-pool → dropout, and
/// backward as dropout → pool routing → ReLU mask → conv parameter gradients. Tolerance: 1e-6 + 1e-5·Σ|terms|.
/// </summary>
public abstract class ConvBlockTests(LayerBackend layers)
{
    [Theory]
    [InlineData(1, 1, 1, 4, 4, 3, 0.0f)]
    [InlineData(2, 1, 32, 28, 28, 3, 0.2f)] // the model; SIMD: two overlapping 8-column strips
    [InlineData(3, 2, 5, 9, 8, 3, 0.5f)]
    [InlineData(2, 3, 4, 6, 7, 2, 0.2f)]
    [InlineData(3, 1, 5, 20, 19, 3, 0.2f)] // SIMD: one strip exactly, odd width
    [InlineData(2, 1, 3, 23, 40, 3, 0.5f)] // SIMD: strips at 0, 8 and 11, odd height
    [InlineData(2, 1, 9, 40, 23, 3, 0.0f)] // SIMD: strips at 0 and 2, no dropout
    public void Forward_and_backward_match_the_composed_reference(int batch, int cin, int cout, int h, int w, int k, float rate)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k);
        var random = new Random(batch * 100 + cout * 10 + h);
        var x = TestData.Uniform(random, batch * cin * h * w);
        var weight = TestData.Uniform(random, cout * s.Taps);
        var bias = TestData.Uniform(random, cout, -0.5f, 0.5f);
        var pool = new PoolShape(batch, cout, s.OutHeight, s.OutWidth);
        var outputs = batch * cout * pool.OutHeight * pool.OutWidth;
        var dy = TestData.Uniform(random, outputs);
        var dropout = new DropoutParameters(CounterRng.Key(3, CounterRng.DropoutStream + 9), rate);

        var (y, argmax) = layers.ConvBlockForward(x, weight, bias, s, dropout);
        var (dw, db) = layers.ConvBlockBackward(x, y, argmax, dy, s, dropout);

        var (xd, wd) = (TestData.ToDouble(x), TestData.ToDouble(weight));
        var (conv, convScale) = Reference.ConvForward(xd, wd, TestData.ToDouble(bias), s, relu: true);
        var (pooled, wantArgmax) = Reference.PoolForward(conv, pool);
        var keep = Enumerable.Range(0, outputs).Select(dropout.Keeps).ToArray();
        var want = pooled.Select((v, i) => keep[i] ? v * dropout.Scale : 0).ToArray();
        var outScale = Enumerable.Range(0, outputs).Select(i => want[i] == 0 ? 1.0 : convScale.Max() * dropout.Scale).ToArray();
        Close.All("conv block forward", want, y, outScale, 1e-5);
        Assert.Equal(wantArgmax, argmax);

        var dPooled = dy.Select((g, i) => keep[i] ? g * (double)dropout.Scale : 0).ToArray();
        var dConv = Reference.PoolBackward(dPooled, wantArgmax, pool).Select((g, i) => conv[i] > 0 ? g : 0).ToArray();
        var wantGrad = Reference.ConvBackwardParameters(xd, dConv, s);
        Close.All("conv block dW", wantGrad.DW, dw, wantGrad.DWScale, 1e-5);
        Close.All("conv block db", wantGrad.DB, db, wantGrad.DBScale, 1e-5);
    }
}

public abstract class ConvBlockNanTests(LayerBackend layers)
{
    /// <summary>A NaN pixel makes exactly the pooled outputs whose windows read it NaN, on every backend (PyTorch's rule).</summary>
    [Fact]
    public void A_NaN_pixel_reaches_the_pooled_outputs_that_read_it()
    {
        var s = new ConvShape(1, 1, 3, 10, 21, 3);
        var random = new Random(5);
        var x = TestData.Uniform(random, s.Height * s.Width);
        x[0] = float.NaN;
        var (y, argmax) = layers.ConvBlockForward(x, TestData.Uniform(random, 3 * 9), TestData.Uniform(random, 3), s, DropoutParameters.None);
        var (ph, pw) = (ConvBlockKernels.PooledHeight(s), ConvBlockKernels.PooledWidth(s));
        for (var co = 0; co < 3; co++)
            for (var p = 0; p < ph * pw; p++)
            {
                var i = co * ph * pw + p;
                Assert.True(float.IsNaN(y[i]) == (p == 0), $"filter {co}, pooled output {p}: {y[i]}");
            }
        Assert.All(Enumerable.Range(0, 3), co => Assert.Equal(0, argmax[co * ph * pw]));
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuConvBlockNanTests(CpuDeviceFixture gpu) : ConvBlockNanTests(new IlgpuLayers(gpu));

public sealed class SimdConvBlockNanTests() : ConvBlockNanTests(new SimdLayers());

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuConvBlockTests(CpuDeviceFixture gpu) : ConvBlockTests(new IlgpuLayers(gpu));

public sealed class SimdConvBlockTests() : ConvBlockTests(new SimdLayers());

/// <summary>The GPU path's two-stage parameter gradient (partials over images and row chunks, then an ordered sum).</summary>
[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledConvBlockTests(GroupedCpuDeviceFixture gpu) : ConvBlockTests(new IlgpuLayers(gpu));
