using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>Conv2D kernels against <see cref="Reference"/>. Tolerance: 1e-6 + 1e-5·Σ|terms| per element.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class Conv2DKernelTests(CpuDeviceFixture gpu)
{
    private const double Relative = 1e-5;

    [Theory]
    [InlineData(1, 1, 1, 3, 3, 3, false)]
    [InlineData(1, 1, 32, 28, 28, 3, true)]
    [InlineData(3, 2, 5, 7, 9, 3, true)]
    [InlineData(2, 3, 4, 6, 5, 2, false)]
    [InlineData(2, 2, 3, 5, 4, 1, true)]
    public void Forward_matches_reference(int batch, int cin, int cout, int h, int w, int k, bool relu)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k);
        var random = new Random(batch * 1000 + cin * 100 + cout * 10 + k);
        var x = TestData.Uniform(random, batch * cin * h * w);
        var weight = TestData.Uniform(random, cout * s.Taps);
        var bias = TestData.Uniform(random, cout);
        var y = gpu.Allocate<float>(batch * cout * s.OutHeight * s.OutWidth);

        gpu.Kernels.ConvForward(gpu.Upload(x), gpu.Upload(weight), gpu.Upload(bias), y, s, relu);

        var (want, scale) = Reference.ConvForward(TestData.ToDouble(x), TestData.ToDouble(weight), TestData.ToDouble(bias), s, relu);
        Close.All("conv forward", want, gpu.Download(y), scale, Relative);
        if (relu)
            Assert.Contains(gpu.Download(y), v => v == 0f);
    }

    [Theory]
    [InlineData(1, 1, 1, 3, 3, 3)]
    [InlineData(4, 1, 32, 28, 28, 3)]
    [InlineData(3, 2, 5, 7, 9, 3)]
    [InlineData(2, 3, 4, 6, 5, 2)]
    public void Backward_parameters_match_reference(int batch, int cin, int cout, int h, int w, int k)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k);
        var random = new Random(7 + batch * cin * cout);
        var x = TestData.Uniform(random, batch * cin * h * w);
        var dy = TestData.Uniform(random, batch * cout * s.OutHeight * s.OutWidth);
        var dw = gpu.Allocate<float>(cout * s.Taps);
        var db = gpu.Allocate<float>(cout);

        gpu.Kernels.ConvBackwardParameters(gpu.Upload(x), gpu.Upload(dy), dw, db, s);

        var want = Reference.ConvBackwardParameters(TestData.ToDouble(x), TestData.ToDouble(dy), s);
        Close.All("conv dW", want.DW, gpu.Download(dw), want.DWScale, Relative);
        Close.All("conv db", want.DB, gpu.Download(db), want.DBScale, Relative);
    }

    [Theory]
    [InlineData(1, 1, 1, 3, 3, 3)]
    [InlineData(2, 1, 32, 28, 28, 3)]
    [InlineData(3, 2, 5, 7, 9, 3)]
    [InlineData(2, 3, 4, 6, 5, 2)]
    public void Backward_input_matches_reference(int batch, int cin, int cout, int h, int w, int k)
    {
        var s = new ConvShape(batch, cin, cout, h, w, k);
        var random = new Random(11 + batch + cin + cout + h);
        var dy = TestData.Uniform(random, batch * cout * s.OutHeight * s.OutWidth);
        var weight = TestData.Uniform(random, cout * s.Taps);
        var dx = gpu.Allocate<float>(batch * cin * h * w);

        gpu.Kernels.ConvBackwardInput(gpu.Upload(dy), gpu.Upload(weight), dx, s);

        var (want, scale) = Reference.ConvBackwardInput(TestData.ToDouble(dy), TestData.ToDouble(weight), s);
        Close.All("conv dx", want, gpu.Download(dx), scale, Relative);
    }
}
