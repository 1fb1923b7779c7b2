using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>Fused softmax + cross-entropy against <see cref="Reference.SoftmaxCrossEntropy"/>: 1e-5 relative, 1e-6 absolute.</summary>
public abstract class SoftmaxCrossEntropyTests(LayerBackend layers)
{
    public static TheoryData<int, int, float> Cases => new()
    {
        { 1, 10, 1f },
        { 32, 10, 5f },
        { 7, 3, 1f },
        { 5, 10, 2000f },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_gradient_and_correctness_match_reference(int batch, int classes, float logitScale)
    {
        var (z, labels, s) = Logits(batch, classes, logitScale);

        var (loss, dz, correct) = layers.SoftmaxCrossEntropy(z, labels, s);

        var want = Reference.SoftmaxCrossEntropy(TestData.ToDouble(z), labels, classes);
        Assert.All(loss, l => Assert.True(float.IsFinite(l), "loss must stay finite for large logits"));
        Close.All("loss", want.Loss, loss, 1e-5);
        Close.All("dlogits", want.DLogits, dz, 1e-5);
        Assert.Equal(want.Correct, correct);
    }

    internal static (float[] Z, int[] Labels, LossShape Shape) Logits(int batch, int classes, float logitScale)
    {
        var random = new Random(batch * classes);
        var z = TestData.Uniform(random, batch * classes, -logitScale, logitScale);
        var labels = Enumerable.Range(0, batch).Select(_ => random.Next(classes)).ToArray();
        return (z, labels, new LossShape(batch, classes));
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuSoftmaxCrossEntropyTests(CpuDeviceFixture gpu) : SoftmaxCrossEntropyTests(new IlgpuLayers(gpu))
{
    /// <summary>The device-side prediction kernel (the SIMD engine takes predictions from logits on the host).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Argmax_is_the_first_largest_logit(int batch, int classes, float logitScale)
    {
        var (z, _, s) = Logits(batch, classes, logitScale);
        var predictions = gpu.Allocate<int>(batch);

        gpu.Kernels.Argmax(gpu.Upload(z), predictions, s);

        var want = Enumerable.Range(0, batch)
            .Select(n => Array.IndexOf(z, z.Skip(n * classes).Take(classes).Max(), n * classes) - n * classes);
        Assert.Equal(want, gpu.Download(predictions));
    }
}

public sealed class SimdSoftmaxCrossEntropyTests() : SoftmaxCrossEntropyTests(new SimdLayers());
