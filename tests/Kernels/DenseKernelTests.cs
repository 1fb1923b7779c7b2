using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>
/// Dense products against <see cref="Reference.MatMul"/>, through both GEMM paths: register blocks (CPU accelerator)
/// and shared-memory tiles with split-K (GPUs; run here on a 64-thread-group CPU accelerator). Tolerance:
/// 1e-6 + 1e-5·Σ|terms| per element.
/// </summary>
public abstract class DenseKernelTests(DeviceFixture gpu)
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
            var y = gpu.Allocate<float>(batch * outputs);

            gpu.Kernels.DenseForward(gpu.Upload(x), gpu.Upload(w), gpu.Upload(b), y, s, relu);

            var (want, scale) = Reference.MatMul(TestData.ToDouble(x), Reference.Transpose(TestData.ToDouble(w), outputs, inputs),
                batch, outputs, inputs, TestData.ToDouble(b), relu);
            Close.All($"dense forward (relu {relu})", want, gpu.Download(y), scale, Relative);
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
        var dx = gpu.Allocate<float>(x.Length);
        var dxMasked = gpu.Allocate<float>(x.Length);
        var dw = gpu.Allocate<float>(w.Length);
        var db = gpu.Allocate<float>(outputs);
        var (dyView, wView) = (gpu.Upload(dy), gpu.Upload(w));

        gpu.Kernels.DenseBackwardInput(dyView, wView, dx, reluMask: null, s);
        gpu.Kernels.DenseBackwardInput(dyView, wView, dxMasked, reluMask: gpu.Upload(mask), s);
        gpu.Kernels.DenseBackwardParameters(dyView, gpu.Upload(x), dw, db, s);

        var dyD = TestData.ToDouble(dy);
        var (wantDx, dxScale) = Reference.MatMul(dyD, TestData.ToDouble(w), batch, inputs, outputs);
        var (wantDw, dwScale) = Reference.MatMul(Reference.Transpose(dyD, batch, outputs), TestData.ToDouble(x), outputs, inputs, batch);
        var (wantDb, dbScale) = Reference.MatMul(Enumerable.Repeat(1.0, batch).ToArray(), dyD, 1, outputs, batch);
        Close.All("dense dx", wantDx, gpu.Download(dx), dxScale, Relative);
        Close.All("dense dx masked by the ReLU below", wantDx.Select((v, i) => mask[i] > 0 ? v : 0).ToArray(), gpu.Download(dxMasked), dxScale, Relative);
        Close.All("dense dW", wantDw, gpu.Download(dw), dwScale, Relative);
        Close.All("dense db", wantDb, gpu.Download(db), dbScale, Relative);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class BlockedDenseKernelTests(CpuDeviceFixture gpu) : DenseKernelTests(gpu)
{
    [Fact]
    public void The_model_sized_product_matches_reference() => Forward_matches_reference(32, 5408, 128);
}

[Collection(GroupedCpuAcceleratorCollection.Name)]
public sealed class TiledDenseKernelTests(GroupedCpuDeviceFixture gpu) : DenseKernelTests(gpu);
