using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>The ILGPU-only elementwise kernels (ReLU backward, dropout backward, the batch gather) against host references.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class ElementwiseKernelTests(CpuDeviceFixture gpu)
{
    [Theory]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4097)]
    [InlineData(21632)]
    public void Relu_backward_zeroes_gradients_where_the_output_is_not_positive(int length)
    {
        var random = new Random(length);
        var y = TestData.Uniform(random, length);
        for (var i = 0; i < length; i += 5)
            y[i] = 0f;
        var dy = TestData.Uniform(random, length);
        var view = gpu.Upload(dy);

        FashionGpu.Runtime.Engines.Ilgpu.IlgpuRelu.Backward(gpu.Kernels, gpu.Upload(y), view, view);

        var want = dy.Select((g, i) => y[i] > 0 ? (double)g : 0.0).ToArray();
        Close.All("relu backward", want, gpu.Download(view), 0, 0);
    }

    [Theory]
    [InlineData(1, 0.2f)]
    [InlineData(5408 * 3 + 1, 0.5f)]
    public void Dropout_backward_applies_the_forward_mask(int length, float rate)
    {
        var random = new Random(length);
        var dy = TestData.Uniform(random, length);
        var p = new DropoutParameters(CounterRng.Key(42, CounterRng.DropoutStream + 7), rate);
        var backward = gpu.Upload(dy);

        FashionGpu.Runtime.Engines.Ilgpu.IlgpuDropout.Apply(gpu.Kernels, backward, p, backward: true);

        var keep = Enumerable.Range(0, length).Select(i => CounterRng.UniformFloat(p.Key, (ulong)i) >= rate).ToArray();
        Close.All("dropout backward", dy.Select((v, i) => keep[i] ? v / (1.0 - rate) : 0).ToArray(), gpu.Download(backward), 1e-7);
    }

    [Fact]
    public void Dropout_masks_differ_between_steps()
    {
        var a = new DropoutParameters(CounterRng.Key(42, CounterRng.DropoutStream + 1), 0.2f);
        var b = new DropoutParameters(CounterRng.Key(42, CounterRng.DropoutStream + 2), 0.2f);
        var differing = Enumerable.Range(0, 1000).Count(i => a.Keeps(i) != b.Keeps(i));
        Assert.InRange(differing, 200, 450);
    }

    [Theory]
    [InlineData(1, 1f)]
    [InlineData(7, 1f / 255f)]
    public void Gather_copies_the_indexed_images_and_labels(int count, float pixelScale)
    {
        const int images = 11;
        var random = new Random(count);
        var bytes = new byte[images * 784];
        random.NextBytes(bytes);
        var labels = Enumerable.Range(0, images).Select(i => (byte)(i % 10)).ToArray();
        var indices = Enumerable.Range(0, count).Select(i => (i * 5 + 3) % images).ToArray();
        var x = gpu.Allocate<float>(count * 784);
        var y = gpu.Allocate<int>(count);

        gpu.Kernels.Gather(gpu.Upload(bytes), gpu.Upload(labels), gpu.Upload(indices), x, y, new GatherShape(count, 28, 28, pixelScale));

        var want = new double[count * 784];
        for (var b = 0; b < count; b++)
        for (var i = 0; i < 784; i++)
            want[b * 784 + i] = bytes[indices[b] * 784 + i] * (double)pixelScale;
        Close.All("gathered pixels", want, gpu.Download(x), 1e-7);
        Assert.Equal(indices.Select(i => (int)labels[i]), gpu.Download(y));
    }
}
