using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// The parameter-free layers on their own: 2x2 max-pool (floor mode, first maximum; routing exact), global average
/// pooling (1e-6 relative) and ReLU (exact), forward and backward, against the reference.
/// </summary>
public abstract class PoolingAndReluTests(LayerBackend layers)
{
    [Theory]
    [InlineData(1, 1, 5, 5)] // a 5x5 map into 2x2 windows: the last row and column are dropped
    [InlineData(7, 3, 6, 9)]
    [InlineData(2, 4, 28, 28)]
    [InlineData(1, 2, 16, 16)] // exactly one block of eight windows per row (the SIMD engine's 256-bit path)
    [InlineData(3, 2, 20, 21)] // two blocks of eight, the last moved back to end at the last used column
    [InlineData(2, 3, 14, 14)] // two blocks of four (the 128-bit path), the second moved back
    public void Max_pool_matches_the_reference(int batch, int channels, int h, int w)
    {
        var s = new PoolShape(batch, channels, h, w);
        var random = new Random(batch + channels + h * w);
        var x = TestData.Uniform(random, batch * channels * h * w);
        // Ties: the first maximum wins, as in PyTorch.
        x[1] = x[0];
        var dy = TestData.Uniform(random, batch * channels * s.OutHeight * s.OutWidth);

        var (y, argmax) = layers.MaxPoolForward(x, s);
        var dx = layers.MaxPoolBackward(dy, argmax, s);

        var (want, wantArgmax) = Reference.PoolForward(TestData.ToDouble(x), s);
        Assert.Equal(want.Select(v => (float)v), y);
        Assert.Equal(wantArgmax, argmax);
        Assert.Equal(Reference.PoolBackward(TestData.ToDouble(dy), wantArgmax, s).Select(v => (float)v), dx);
    }

    /// <summary>
    /// Ties and NaNs everywhere, on maps wide enough for the SIMD engine's vector path: every window against PyTorch's
    /// rule written out (the first NaN of the window wins, else its first maximum).
    /// </summary>
    [Theory]
    [InlineData(28)]
    [InlineData(21)]
    [InlineData(14)]
    [InlineData(9)]
    [InlineData(7)]
    public void Max_pool_keeps_the_first_maximum_and_the_first_NaN_in_every_window(int width)
    {
        var s = new PoolShape(2, 3, 6, width);
        var random = new Random(width);
        float[] values = [0f, 1f, 2f, float.NaN];
        var x = Enumerable.Range(0, 2 * 3 * 6 * width).Select(_ => values[random.Next(values.Length)]).ToArray();
        var (y, argmax) = layers.MaxPoolForward(x, s);
        for (var plane = 0; plane < 6; plane++)
        for (var py = 0; py < s.OutHeight; py++)
        for (var px = 0; px < s.OutWidth; px++)
        {
            var at = (plane * 6 + 2 * py) * width + 2 * px;
            float[] window = [x[at], x[at + 1], x[at + width], x[at + width + 1]];
            var firstNaN = Array.FindIndex(window, float.IsNaN);
            var want = firstNaN >= 0 ? firstNaN : Array.IndexOf(window, window.Max());
            var o = (plane * s.OutHeight + py) * s.OutWidth + px;
            Assert.Equal(want, argmax[o]);
            Assert.Equal(window[want], y[o]);
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 3, 25)]
    [InlineData(2, 64, 49)]
    public void Global_average_pooling_matches_the_reference(int batch, int channels, int spatial)
    {
        var random = new Random(batch * channels + spatial);
        var planes = batch * channels;
        var x = TestData.Uniform(random, planes * spatial);
        var dy = TestData.Uniform(random, planes);

        var y = layers.GlobalAvgPoolForward(x, planes, spatial);
        var dx = layers.GlobalAvgPoolBackward(dy, planes, spatial);

        Close.All("global average pool y", Reference.GlobalAvgPool(TestData.ToDouble(x), planes, spatial), y, 1e-6);
        Close.All("global average pool dx", Enumerable.Range(0, planes * spatial).Select(i => (double)dy[i / spatial] / spatial).ToArray(), dx, 1e-6);
    }

    /// <summary>PyTorch's rule on every backend: relu(NaN) = NaN, and a window holding a NaN pools to NaN (its first one wins).</summary>
    [Fact]
    public void NaN_goes_through_relu_and_max_pool_as_in_PyTorch()
    {
        var relu = layers.ReluForward([float.NaN, -1f, 2f, float.NaN, -3f, 0.5f, -0.25f, 4f, float.NaN]);
        Assert.Equal([float.NaN, 0f, 2f, float.NaN, 0f, 0.5f, 0f, 4f, float.NaN], relu);

        var (y, argmax) = layers.MaxPoolForward([float.NaN, 5f, 3f, float.NaN, 1f, 1f, 1f, 2f, 7f, 2f, 1f, 9f, 2f, 2f, 0f, 0f], new PoolShape(1, 1, 4, 4));
        Assert.Equal([float.NaN, float.NaN, 7f, 9f], y);
        Assert.Equal([0, 1, 0, 1], argmax);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Relu_is_exact(int length)
    {
        var random = new Random(length);
        var x = TestData.Uniform(random, length);
        x[0] = 0f;
        var dy = TestData.Uniform(random, length);

        var y = layers.ReluForward(x);
        var dx = layers.ReluBackward(y, dy);

        Assert.Equal(x.Select(v => v > 0 ? v : 0f), y);
        Assert.Equal(x.Select((v, i) => v > 0 ? dy[i] : 0f), dx);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuPoolingAndReluTests(CpuDeviceFixture gpu) : PoolingAndReluTests(new IlgpuLayers(gpu));

public sealed class SimdPoolingAndReluTests() : PoolingAndReluTests(new SimdLayers());

/// <summary>The GPU path: a thread per pooled output and per input element.</summary>
[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledPoolingAndReluTests(GroupedCpuDeviceFixture gpu) : PoolingAndReluTests(new IlgpuLayers(gpu));
