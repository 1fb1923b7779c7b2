using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>ReLU backward, dropout, Adam and the batch gather against host references.</summary>
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

        gpu.Kernels.ReluBackward(gpu.Upload(y), view);

        var want = dy.Select((g, i) => y[i] > 0 ? (double)g : 0.0).ToArray();
        Close.All("relu backward", want, gpu.Download(view), 0, 0);
    }

    [Theory]
    [InlineData(1, 0.2f)]
    [InlineData(5408 * 3 + 1, 0.2f)]
    [InlineData(10000, 0.5f)]
    public void Dropout_masks_are_a_pure_function_of_key_and_index(int length, float rate)
    {
        var random = new Random(length);
        var x = TestData.Uniform(random, length, 0.5f, 1.5f);
        var p = new DropoutParameters(CounterRng.Key(42, CounterRng.DropoutStream + 7), rate);
        var forward = gpu.Upload(x);
        var dy = TestData.Uniform(random, length);
        var backward = gpu.Upload(dy);

        gpu.Kernels.DropoutForward(forward, p);
        gpu.Kernels.DropoutBackward(backward, p);

        var keep = Enumerable.Range(0, length).Select(i => CounterRng.UniformFloat(p.Key, (ulong)i) >= rate).ToArray();
        var scale = 1.0 / (1.0 - rate);
        Close.All("dropout forward", x.Select((v, i) => keep[i] ? v * scale : 0).ToArray(), gpu.Download(forward), 1e-7);
        Close.All("dropout backward", dy.Select((v, i) => keep[i] ? v * scale : 0).ToArray(), gpu.Download(backward), 1e-7);
        if (length >= 10000)
        {
            var kept = keep.Count(k => k) / (double)length;
            var sigma = Math.Sqrt(rate * (1 - rate) / length);
            Assert.InRange(kept, 1 - rate - 5 * sigma, 1 - rate + 5 * sigma);
        }
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
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(9001)]
    public void Adam_matches_the_keras_update_over_three_steps(int length)
    {
        var random = new Random(length);
        var p = TestData.Uniform(random, length);
        var pView = gpu.Upload(p);
        var mView = gpu.Allocate<float>(length);
        var vView = gpu.Allocate<float>(length);
        var want = TestData.ToDouble(p);
        var m = new double[length];
        var v = new double[length];
        var mScale = new double[length];
        var pScale = Array.ConvertAll(want, Math.Abs);
        // The kernel works in float with float hyperparameters (as Keras does): 1 - 0.999f is 1.3e-5 off 0.001.
        double beta1 = 0.9f, beta2 = 0.999f;
        for (var step = 1; step <= 3; step++)
        {
            var g = TestData.Uniform(random, length, -2f, 2f);
            var adam = AdamParameters.ForStep(1e-3, 0.9, 0.999, 1e-7, step);
            gpu.Kernels.Adam(pView, gpu.Upload(g), mView, vView, adam);
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
        Close.All("adam parameters", want, gpu.Download(pView), pScale, 1e-6, 1e-9);
        Close.All("adam m", m, gpu.Download(mView), mScale, 1e-6, 1e-9);
        Close.All("adam v", v, gpu.Download(vView), 1e-5, 1e-10);
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
