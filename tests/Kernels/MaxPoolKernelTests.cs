using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>MaxPool 2x2 against <see cref="Reference"/>: selection and routing are exact, so the tolerance is zero.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class MaxPoolKernelTests(CpuDeviceFixture gpu)
{
    [Theory]
    [InlineData(1, 1, 2, 2)]
    [InlineData(2, 32, 26, 26)]
    [InlineData(3, 5, 7, 9)]
    [InlineData(1, 3, 5, 4)]
    public void Forward_and_backward_match_reference(int batch, int channels, int h, int w)
    {
        var s = new PoolShape(batch, channels, h, w);
        var random = new Random(batch * 31 + channels * 7 + h + w);
        var x = TestData.Uniform(random, batch * channels * h * w);
        var outputs = batch * channels * s.OutHeight * s.OutWidth;
        var dy = TestData.Uniform(random, outputs);
        var y = gpu.Allocate<float>(outputs);
        var argmax = gpu.Allocate<int>(outputs);
        var dx = gpu.Upload(TestData.Uniform(random, x.Length, 5f, 6f));

        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Forward(gpu.Kernels, gpu.Upload(x), y, argmax, s);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Backward(gpu.Kernels, gpu.Upload(dy), argmax, dx, s);

        var (wantY, wantArg) = Reference.PoolForward(TestData.ToDouble(x), s);
        Assert.Equal(wantArg, gpu.Download(argmax));
        Close.All("pool forward", wantY, gpu.Download(y), 0, 0);
        Close.All("pool backward", Reference.PoolBackward(TestData.ToDouble(dy), wantArg, s), gpu.Download(dx), 0, 0);
    }

    [Fact]
    public void Ties_pick_the_first_maximum_as_PyTorch_does()
    {
        var s = new PoolShape(1, 1, 2, 4);
        var x = new float[] { 1, 3, 2, 2, 3, 3, 2, 2 };
        var y = gpu.Allocate<float>(2);
        var argmax = gpu.Allocate<int>(2);
        FashionGpu.Runtime.Engines.Ilgpu.IlgpuMaxPool.Forward(gpu.Kernels, gpu.Upload(x), y, argmax, s);
        Assert.Equal(new[] { 3f, 2f }, gpu.Download(y));
        Assert.Equal(new[] { 1, 0 }, gpu.Download(argmax));
    }
}
