using FashionGpu.Kernels;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// Batchnorm with PyTorch's semantics against a double-precision reference: training output and running statistics
/// (momentum 0.1, unbiased variance), inference on the running statistics, and the backward pass (weight, bias and
/// input gradients, the batch statistics' own gradient included) against central finite differences of the reference
/// with a random upstream gradient. Tolerances: 1e-5 relative to the largest |value| per tensor (forward), 1e-4
/// (gradients against differences).
/// </summary>
public abstract class BatchNormTests(LayerBackend layers)
{
    [Theory]
    [InlineData(7, 3, 25)] // after a conv: batch 7, 5x5 maps
    [InlineData(2, 5, 1)] // after a dense layer: per feature
    [InlineData(1, 4, 9)] // batch 1, 3x3 maps
    public void Training_and_inference_match_the_reference(int batch, int channels, int spatial)
    {
        var s = new BatchNormShape(batch, channels, spatial);
        var random = new Random(batch * 100 + channels * 10 + spatial);
        var x = TestData.Uniform(random, batch * channels * spatial, -2f, 3f);
        var weight = TestData.Uniform(random, channels, 0.5f, 1.5f);
        var bias = TestData.Uniform(random, channels, -0.5f, 0.5f);
        var running = TestData.Uniform(random, channels, -0.2f, 0.2f).Concat(TestData.Uniform(random, channels, 0.5f, 2f)).ToArray();
        var before = (float[])running.Clone();

        var (y, _) = layers.BatchNormForward(x, weight, bias, running, s, training: true);

        var (want, mean, unbiased) = Reference.BatchNormTraining(TestData.ToDouble(x), TestData.ToDouble(weight), TestData.ToDouble(bias), batch, channels, spatial);
        Close.All("batchnorm y (training)", want, y, Enumerable.Repeat(want.Max(Math.Abs), want.Length).ToArray(), 1e-5);
        var wantRunning = Enumerable.Range(0, channels).Select(c => 0.9 * before[c] + 0.1 * mean[c])
            .Concat(Enumerable.Range(0, channels).Select(c => 0.9 * before[channels + c] + 0.1 * unbiased[c])).ToArray();
        Close.All("running statistics", wantRunning, running, 1e-5);

        var (inference, _) = layers.BatchNormForward(x, weight, bias, running, s, training: false);
        var wantInference = x.Select((v, i) =>
        {
            var c = s.ChannelOf(i);
            return (v - (double)running[c]) / Math.Sqrt(running[channels + c] + 1e-5) * weight[c] + bias[c];
        }).ToArray();
        Close.All("batchnorm y (inference)", wantInference, inference, Enumerable.Repeat(wantInference.Max(Math.Abs), x.Length).ToArray(), 1e-5);
        Close.All("running statistics after inference (unchanged)", wantRunning, running, 1e-5);
    }

    [Theory]
    [InlineData(7, 3, 25)]
    [InlineData(3, 5, 1)]
    [InlineData(1, 2, 16)]
    public void Backward_matches_finite_differences(int batch, int channels, int spatial)
    {
        var s = new BatchNormShape(batch, channels, spatial);
        var random = new Random(7 * batch + channels + spatial);
        var x = TestData.Uniform(random, batch * channels * spatial, -2f, 3f);
        var weight = TestData.Uniform(random, channels, 0.5f, 1.5f);
        var bias = TestData.Uniform(random, channels, -0.5f, 0.5f);
        var dy = TestData.Uniform(random, x.Length);
        var running = new float[2 * channels];

        var (_, saved) = layers.BatchNormForward(x, weight, bias, running, s, training: true);
        var (dw, db, dx) = layers.BatchNormBackward(x, dy, weight, saved, s);

        // L = Σ dy·y(x, w, b) in double; its derivatives by central differences.
        var (xd, wd, bd, dyd) = (TestData.ToDouble(x), TestData.ToDouble(weight), TestData.ToDouble(bias), TestData.ToDouble(dy));
        double Loss() => Reference.BatchNormTraining(xd, wd, bd, batch, channels, spatial).Y.Select((v, i) => v * dyd[i]).Sum();
        double[] Differences(double[] values)
        {
            const double h = 1e-6;
            return values.Select((_, i) =>
            {
                var keep = values[i];
                values[i] = keep + h;
                var up = Loss();
                values[i] = keep - h;
                var down = Loss();
                values[i] = keep;
                return (up - down) / (2 * h);
            }).ToArray();
        }
        var (wantDx, wantDw, wantDb) = (Differences(xd), Differences(wd), Differences(bd));
        Close.All("batchnorm dx", wantDx, dx, Enumerable.Repeat(wantDx.Max(Math.Abs) + 1e-3, dx.Length).ToArray(), 1e-4);
        Close.All("batchnorm dWeight", wantDw, dw, Enumerable.Repeat(wantDw.Max(Math.Abs), dw.Length).ToArray(), 1e-4);
        Close.All("batchnorm dBias", wantDb, db, Enumerable.Repeat(wantDb.Max(Math.Abs), db.Length).ToArray(), 1e-4);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuBatchNormTests(CpuDeviceFixture gpu) : BatchNormTests(new IlgpuLayers(gpu));

public sealed class SimdBatchNormTests() : BatchNormTests(new SimdLayers())
{
    /// <summary>
    /// Batchnorm with its ReLU in one op gives the bits of the two ops apart (the engine's own ReLU forward and backward
    /// between them), on planes with tails (5x5) and after a dense layer.
    /// </summary>
    [Theory]
    [InlineData(7, 3, 25)]
    [InlineData(37, 21, 1)]
    public void Batchnorm_with_its_relu_gives_the_bits_of_the_two_apart(int batch, int channels, int spatial)
    {
        var s = new BatchNormShape(batch, channels, spatial);
        var random = new Random(batch + channels + spatial);
        var x = TestData.Uniform(random, batch * channels * spatial, -2f, 3f);
        var dy = TestData.Uniform(random, x.Length);
        var parameters = TestData.Uniform(random, channels, 0.5f, 1.5f).Concat(TestData.Uniform(random, channels, -0.5f, 0.5f))
            .Concat(new float[channels]).Concat(Enumerable.Repeat(1f, channels)).ToArray();
        var c = channels;
        (float[] Y, float[] Gradients, float[] Dx) Run(bool fused)
        {
            var (y, saved, gradients, dx) = (new float[x.Length], new float[2 * c], new float[2 * c], new float[x.Length]);
            SimdBatchNorm.Forward(x, y, (float[])parameters.Clone(), 0, c, 2 * c, 3 * c, saved, s, training: true, relu: fused, parallelism: 2);
            var (relu, g) = (y, dy);
            if (!fused)
            {
                (relu, g) = (new float[x.Length], new float[x.Length]);
                SimdRelu.Forward(y, relu);
                SimdRelu.Backward(relu, dy, g);
            }
            SimdBatchNorm.Backward(x, g, dx, parameters, 0, saved, gradients, 0, c, s, fused ? y : null, parallelism: 2);
            return (relu, gradients, dx);
        }
        var (apart, together) = (Run(fused: false), Run(fused: true));
        Assert.Equal(apart.Y, together.Y);
        Assert.Equal(apart.Gradients, together.Gradients);
        Assert.Equal(apart.Dx, together.Dx);
        Assert.Contains(together.Y, v => v == 0f);
    }

    /// <summary>
    /// After a dense layer the SIMD engine runs eight channels at a time across lanes (21 channels: two blocks and five
    /// alone). Its sums must be those of a channel on its own, in double, image by image, and every float the scalar
    /// formulas give: the same bits, forward (training) and backward.
    /// </summary>
    [Fact]
    public void Per_feature_batchnorm_gives_the_bits_of_the_scalar_formulas()
    {
        var (batch, channels) = (37, 21);
        var s = new BatchNormShape(batch, channels, 1);
        var random = new Random(21);
        var x = TestData.Uniform(random, batch * channels, -2f, 3f);
        var weight = TestData.Uniform(random, channels, 0.5f, 1.5f);
        var bias = TestData.Uniform(random, channels, -0.5f, 0.5f);
        var dy = TestData.Uniform(random, x.Length);
        var running = TestData.Uniform(random, channels, -0.2f, 0.2f).Concat(TestData.Uniform(random, channels, 0.5f, 2f)).ToArray();
        var wantRunning = (float[])running.Clone();
        var layers = new SimdLayers();
        var (y, saved) = layers.BatchNormForward(x, weight, bias, running, s, training: true);
        var (dw, db, dx) = layers.BatchNormBackward(x, dy, weight, saved, s);

        for (var c = 0; c < channels; c++)
        {
            var values = Enumerable.Range(0, batch).Select(n => x[n * channels + c]).ToArray();
            double sum = 0, squares = 0;
            foreach (var v in values)
                sum += v;
            var mean = sum / batch;
            foreach (var v in values)
                squares += (v - mean) * (v - mean);
            var (m, invstd) = ((float)mean, (float)(1.0 / Math.Sqrt(squares / batch + BatchNormShape.Epsilon)));
            Assert.Equal([m, invstd], [saved[c], saved[channels + c]]);
            Assert.Equal(0.9f * wantRunning[c] + 0.1f * m, running[c]);
            Assert.Equal(0.9f * wantRunning[channels + c] + 0.1f * (float)(squares / (batch - 1)), running[channels + c]);
            double sumDy = 0, sumDyXhat = 0;
            for (var n = 0; n < batch; n++)
            {
                var i = n * channels + c;
                Assert.Equal((x[i] - m) * invstd * weight[c] + bias[c], y[i]);
                sumDy += dy[i];
                sumDyXhat += dy[i] * (double)((x[i] - m) * invstd);
            }
            var (wantDb, wantDw) = ((float)sumDy, (float)sumDyXhat);
            Assert.Equal([wantDw, wantDb], [dw[c], db[c]]);
            for (var n = 0; n < batch; n++)
            {
                var i = n * channels + c;
                Assert.Equal(weight[c] * invstd / batch * (batch * dy[i] - wantDb - (x[i] - m) * invstd * wantDw), dx[i]);
            }
        }
    }
}

/// <summary>The GPU path: per-image partial statistics and gradients, merged per channel in image order.</summary>
[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledBatchNormTests(GroupedCpuDeviceFixture gpu) : BatchNormTests(new IlgpuLayers(gpu));
