using FashionGpu.Kernels;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// --tta: its spelling, its views and weights, and the merged answer against images mirrored and translated by hand,
/// each run as a plain image, with the probabilities averaged in double here.
/// </summary>
public sealed class TestTimeAugmentationTests
{
    [Theory]
    [InlineData("none", false, false)]
    [InlineData("flip", true, false)]
    [InlineData("shift", false, true)]
    [InlineData("flip,shift", true, true)]
    [InlineData("shift, flip", true, true)]
    public void Each_spelling_names_its_views(string text, bool flip, bool shift)
    {
        Assert.True(TestTimeAugmentation.TryParse(text, out var tta));
        Assert.Equal(new TestTimeAugmentation(flip, shift), tta);
        Assert.Equal((flip ? 2 : 1) * (shift ? 3 : 1), tta.Views.Count);
        Assert.Equal(1.0, tta.Views.Sum(v => v.Weight), 12);
        Assert.True(tta.Views[0].View.IsIdentity);
    }

    [Theory]
    [InlineData("")]
    [InlineData("flip,flip")]
    [InlineData("mirror")]
    [InlineData("none,flip")]
    public void Other_spellings_are_refused(string text) => Assert.False(TestTimeAugmentation.TryParse(text, out _));

    /// <summary>Image <paramref name="i"/> of <paramref name="pixels"/> mirrored, then moved by (dx, dy), zeros shifted in.</summary>
    private static byte[] ByHand(byte[] pixels, bool mirror, int dx, int dy)
    {
        var result = new byte[pixels.Length];
        for (var i = 0; i < pixels.Length / 784; i++)
            for (var r = 0; r < 28; r++)
                for (var c = 0; c < 28; c++)
                {
                    var (sr, sc) = (r - dy, c - dx);
                    if (sr is >= 0 and < 28 && sc is >= 0 and < 28)
                        result[i * 784 + r * 28 + c] = pixels[i * 784 + sr * 28 + (mirror ? 27 - sc : sc)];
                }
        return result;
    }

    [Fact]
    public void Flip_and_shift_average_six_views_weighted_as_stated()
    {
        var test = SampleData.Test.Take(40);
        var indices = Enumerable.Range(0, test.Count).ToArray();
        using var engine = new SimdEngine(Models.Seed, new TrainingSettings());
        using var data = engine.Upload(test);
        var merged = Evaluator.Logits(engine, data, indices, TestTimeAugmentation.Parse("flip,shift"));

        (bool Mirror, int Dx, int Dy, double Weight)[] views =
            [(false, 0, 0, 0.25), (true, 0, 0, 0.25), (false, 1, 1, 0.125), (true, 1, 1, 0.125), (false, -1, -1, 0.125), (true, -1, -1, 0.125)];
        var mean = new double[test.Count * 10];
        foreach (var (mirror, dx, dy, weight) in views)
        {
            using var moved = engine.Upload(new LabeledImages(ByHand(test.Pixels, mirror, dx, dy), test.Labels, "by hand"));
            var logits = engine.Logits(moved, indices);
            for (var n = 0; n < test.Count; n++)
            {
                var row = logits.AsSpan(n * 10, 10).ToArray();
                var max = row.Max();
                var sum = row.Sum(z => Math.Exp(z - max));
                for (var c = 0; c < 10; c++)
                    mean[n * 10 + c] += weight * Math.Exp(row[c] - max) / sum;
            }
        }
        Close.All("log of the weighted mean probability", mean.Select(p => Math.Log(p)).ToArray(), merged, relative: 1e-5, absolute: 1e-5);
    }
}
