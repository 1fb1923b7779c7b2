using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// Dense products against <see cref="Reference.MatMul"/>: the ILGPU kernels through both GEMM paths (register blocks
/// on the CPU accelerator; shared-memory tiles with split-K as GPUs run them, here on a 64-thread-group CPU
/// accelerator) and the SIMD engine's SimdGemm. Tolerance: 1e-6 + 1e-5·Σ|terms| per element.
/// </summary>
public abstract class DenseTests(LayerBackend layers)
{
    private const double Relative = 1e-5;

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 },
        { 1, 7, 3 },
        { 5, 13, 6 },
        { 3, 128, 10 },
        { 9, 17, 33 },
        { 33, 300, 70 },
        { 130, 64, 10 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_reference(int batch, int inputs, int outputs)
    {
        foreach (var relu in new[] { false, true })
        {
            var s = new DenseShape(batch, inputs, outputs);
            var random = new Random(batch + inputs + outputs + (relu ? 1 : 0));
            var x = TestData.Uniform(random, batch * inputs);
            var w = TestData.Uniform(random, outputs * inputs);
            var b = TestData.Uniform(random, outputs);

            var y = layers.DenseForward(x, w, b, s, relu);

            var (want, scale) = Reference.MatMul(TestData.ToDouble(x), Reference.Transpose(TestData.ToDouble(w), outputs, inputs),
                batch, outputs, inputs, TestData.ToDouble(b), relu);
            Close.All($"dense forward (relu {relu})", want, y, scale, Relative);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_matches_reference(int batch, int inputs, int outputs)
    {
        var s = new DenseShape(batch, inputs, outputs);
        var random = new Random(3 * batch + inputs + outputs);
        var x = TestData.Uniform(random, batch * inputs);
        var w = TestData.Uniform(random, outputs * inputs);
        var dy = TestData.Uniform(random, batch * outputs);
        var mask = TestData.Uniform(random, batch * inputs);

        var dx = layers.DenseBackwardInput(dy, w, reluMask: null, s);
        var dxMasked = layers.DenseBackwardInput(dy, w, mask, s);
        var (dw, db) = layers.DenseBackwardParameters(dy, x, s);

        var dyD = TestData.ToDouble(dy);
        var (wantDx, dxScale) = Reference.MatMul(dyD, TestData.ToDouble(w), batch, inputs, outputs);
        var (wantDw, dwScale) = Reference.MatMul(Reference.Transpose(dyD, batch, outputs), TestData.ToDouble(x), outputs, inputs, batch);
        var (wantDb, dbScale) = Reference.MatMul(Enumerable.Repeat(1.0, batch).ToArray(), dyD, 1, outputs, batch);
        Close.All("dense dx", wantDx, dx, dxScale, Relative);
        Close.All("dense dx masked by the ReLU below", wantDx.Select((v, i) => mask[i] > 0 ? v : 0).ToArray(), dxMasked, dxScale, Relative);
        Close.All("dense dW", wantDw, dw, dwScale, Relative);
        Close.All("dense db", wantDb, db, dbScale, Relative);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class BlockedDenseTests(CpuDeviceFixture gpu) : DenseTests(new IlgpuLayers(gpu))
{
    [Fact]
    public void The_model_sized_product_matches_reference() => Forward_matches_reference(32, 5408, 128);
}

[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledDenseTests(GroupedCpuDeviceFixture gpu) : DenseTests(new IlgpuLayers(gpu));

public sealed class SimdDenseTests() : DenseTests(new SimdLayers())
{
    [Fact]
    public void The_model_sized_product_matches_reference() => Forward_matches_reference(32, 5408, 128);
}
