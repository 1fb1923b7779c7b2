using FashionGpu.Kernels;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Kernels;

/// <summary>Fused softmax + cross-entropy against <see cref="Reference.SoftmaxCrossEntropy"/>: 1e-5 relative, 1e-6 absolute.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class SoftmaxCrossEntropyKernelTests(CpuDeviceFixture gpu)
{
    [Theory]
    [InlineData(1, 10, 1f)]
    [InlineData(32, 10, 5f)]
    [InlineData(7, 3, 1f)]
    [InlineData(5, 10, 2000f)]
    public void Loss_gradient_and_correctness_match_reference(int batch, int classes, float logitScale)
    {
        var random = new Random(batch * classes);
        var z = TestData.Uniform(random, batch * classes, -logitScale, logitScale);
        var labels = Enumerable.Range(0, batch).Select(_ => random.Next(classes)).ToArray();
        var s = new LossShape(batch, classes);
        var dz = gpu.Allocate<float>(z.Length);
        var loss = gpu.Allocate<float>(batch);
        var correct = gpu.Allocate<int>(batch);
        var predictions = gpu.Allocate<int>(batch);
        var zView = gpu.Upload(z);

        gpu.Kernels.SoftmaxCrossEntropy(zView, gpu.Upload(labels), dz, loss, correct, s);
        gpu.Kernels.Argmax(zView, predictions, s);

        var want = Reference.SoftmaxCrossEntropy(TestData.ToDouble(z), labels, classes);
        var gotLoss = gpu.Download(loss);
        Assert.All(gotLoss, l => Assert.True(float.IsFinite(l), "loss must stay finite for large logits"));
        Close.All("loss", want.Loss, gotLoss, 1e-5);
        Close.All("dlogits", want.DLogits, gpu.Download(dz), 1e-5);
        Assert.Equal(want.Correct, gpu.Download(correct));
        var wantPredictions = Enumerable.Range(0, batch)
            .Select(n => Array.IndexOf(z, z.Skip(n * classes).Take(classes).Max(), n * classes) - n * classes);
        Assert.Equal(wantPredictions, gpu.Download(predictions));
    }
}
