using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// Inverted dropout against the scalar mask (<see cref="CounterRng.UniformFloat"/> ≥ rate), which the SIMD engine
/// draws eight lanes at a time with integer arithmetic: kept elements within 1e-7 relative, dropped ones exactly 0.
/// </summary>
public abstract class DropoutTests(LayerBackend layers)
{
    [Theory]
    [InlineData(1, 0.2f)]
    [InlineData(5408 * 3 + 1, 0.2f)]
    [InlineData(10000, 0.5f)]
    [InlineData(4099, 0.3f)] // a rate whose threshold 0.3·2²⁴ is not an integer
    [InlineData(64, 0f)]
    public void Dropout_masks_are_a_pure_function_of_key_and_index(int length, float rate)
    {
        var random = new Random(length);
        var x = TestData.Uniform(random, length, 0.5f, 1.5f);
        var p = new DropoutParameters(CounterRng.Key(42, CounterRng.DropoutStream + 7), rate);

        var y = layers.Dropout(x, p);

        var keep = Enumerable.Range(0, length).Select(i => rate <= 0 || CounterRng.UniformFloat(p.Key, (ulong)i) >= rate).ToArray();
        var scale = 1.0 / (1.0 - rate);
        Close.All("dropout forward", x.Select((v, i) => keep[i] ? v * scale : 0).ToArray(), y, 1e-7);
        Assert.Equal(keep, y.Select(v => v != 0f));
        if (length >= 10000)
        {
            var kept = keep.Count(k => k) / (double)length;
            var sigma = Math.Sqrt(rate * (1 - rate) / length);
            Assert.InRange(kept, 1 - rate - 5 * sigma, 1 - rate + 5 * sigma);
        }
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuDropoutTests(CpuDeviceFixture gpu) : DropoutTests(new IlgpuLayers(gpu));

public sealed class SimdDropoutTests() : DropoutTests(new SimdLayers());
