using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// The gather's augmentation against pixels written out by hand (a shift, a mirror, an erased rectangle), the same
/// bits on both engines, the draws' distribution, and their dependence on (seed, epoch, sample) only.
/// </summary>
public abstract class AugmentationTests(LayerBackend layers)
{
    private const int Side = 28, Pixels = Side * Side;

    /// <summary>Four images whose pixel values say where they come from: (image·7 + row·3 + column) mod 251 + 1, never 0.</summary>
    private static readonly byte[] Images = Enumerable.Range(0, 4 * Pixels).Select(i => (byte)((i / Pixels * 7 + i % Pixels / Side * 3 + i % Side) % 251 + 1)).ToArray();
    private static readonly byte[] Labels = [3, 1, 4, 1];

    private static byte Source(int image, int r, int c) => Images[image * Pixels + r * Side + c];

    /// <summary>The first image index in [0, 100000) whose draws satisfy <paramref name="wanted"/>.</summary>
    private static int Find(Augmentation a, Func<AugmentedImage, bool> wanted) =>
        Enumerable.Range(0, 100_000).First(i => wanted(a.Draw(i, Side, Side)));

    /// <summary>Gathers image <paramref name="sample"/> of a dataset that holds it at that index (the others are copies of image 2).</summary>
    private float[] GatherAs(int sample, Augmentation a, float scale = 1f)
    {
        var images = new byte[(sample + 1) * Pixels];
        for (var i = 0; i <= sample; i++)
            Images.AsSpan(2 * Pixels, Pixels).CopyTo(images.AsSpan(i * Pixels));
        return layers.Gather(images, new byte[sample + 1], [sample], scale, a).X;
    }

    [Fact]
    public void A_shift_moves_the_pixels_and_fills_zeros()
    {
        var a = new Augmentation(CounterRng.Key(3, CounterRng.AugmentStream), 2, 0, 0);
        var sample = Find(a, d => d is { Dx: 2, Dy: -1 });
        var x = GatherAs(sample, a, 0.5f);
        for (var r = 0; r < Side; r++)
            for (var c = 0; c < Side; c++)
            {
                // dy = -1: output row r shows source row r + 1; dx = 2: output column c shows source column c - 2.
                var want = r + 1 < Side && c - 2 >= 0 ? Source(2, r + 1, c - 2) * 0.5f : 0f;
                Assert.Equal(want, x[r * Side + c]);
            }
    }

    [Fact]
    public void A_flip_mirrors_each_row_and_the_mirror_pass_flips_every_image()
    {
        var (x, y) = layers.Gather(Images, Labels, [3, 0, 2], 1f, Augmentation.View(mirrored: true, 0, 0));
        Assert.Equal([1, 3, 4], y);
        int[] order = [3, 0, 2];
        for (var b = 0; b < 3; b++)
            for (var r = 0; r < Side; r++)
                for (var c = 0; c < Side; c++)
                    Assert.Equal(Source(order[b], r, Side - 1 - c), x[b * Pixels + r * Side + c]);

        var random = new Augmentation(CounterRng.Key(3, CounterRng.AugmentStream), 0, Augmentation.FlipRandom, 0);
        var flipped = Find(random, d => d.Flipped);
        Assert.Equal(Source(2, 5, 27), GatherAs(flipped, random)[5 * Side + 0]);
        var kept = Find(random, d => !d.Flipped);
        Assert.Equal(Source(2, 5, 0), GatherAs(kept, random)[5 * Side + 0]);
    }

    [Fact]
    public void Erasing_zeroes_exactly_its_rectangle()
    {
        var a = new Augmentation(CounterRng.Key(9, CounterRng.AugmentStream), 0, 0, 1);
        var sample = Find(a, d => d.Bottom > 0);
        var d = a.Draw(sample, Side, Side);
        Assert.InRange(d.Bottom - d.Top, Augmentation.EraseMinSide, Augmentation.EraseMaxSide);
        Assert.InRange(d.Right - d.Left, Augmentation.EraseMinSide, Augmentation.EraseMaxSide);
        var x = GatherAs(sample, a);
        var zeros = 0;
        for (var r = 0; r < Side; r++)
            for (var c = 0; c < Side; c++)
            {
                var erased = r >= d.Top && r < d.Bottom && c >= d.Left && c < d.Right;
                Assert.Equal(erased ? 0f : Source(2, r, c), x[r * Side + c]);
                zeros += erased ? 1 : 0;
            }
        Assert.Equal((d.Bottom - d.Top) * (d.Right - d.Left), zeros);
    }

}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuAugmentationTests(CpuDeviceFixture gpu) : AugmentationTests(new IlgpuLayers(gpu));

public sealed class SimdAugmentationTests() : AugmentationTests(new SimdLayers());

[Collection(CpuAcceleratorCollection.Name)]
public sealed class AugmentationAcrossEnginesTests(CpuDeviceFixture gpu)
{
    private static readonly byte[] Images = Enumerable.Range(0, 4 * 784).Select(i => (byte)(i * 37 % 256)).ToArray();

    [Fact]
    public void Both_engines_gather_the_same_bits_with_every_augmentation()
    {
        var a = AugmentationSpec.Parse("flip,shift:3,erase").For(CounterRng.Key(1, CounterRng.AugmentStream + 2), 0, 2);
        int[] indices = [0, 1, 2, 3, 3, 2, 1, 0];
        var simd = new SimdLayers().Gather(Images, [3, 1, 4, 1], indices, 1f / 255, a).X;
        var ilgpu = new IlgpuLayers(gpu).Gather(Images, [3, 1, 4, 1], indices, 1f / 255, a).X;
        Assert.True(simd.AsSpan().SequenceEqual(ilgpu), "the engines' augmented batches differ");
        // An image's draws depend on its index only: the two copies of each image are identical.
        for (var b = 0; b < 4; b++)
            Assert.True(simd.AsSpan(b * 784, 784).SequenceEqual(simd.AsSpan((7 - b) * 784, 784)), $"image {indices[b]}");
        Assert.False(simd.AsSpan(0, 784).SequenceEqual(new SimdLayers().Gather(Images, [3, 1, 4, 1], [0], 1f / 255, Augmentation.None).X), "nothing was augmented");
    }
}

/// <summary>The draws themselves: their distribution over many images and what they depend on.</summary>
public sealed class AugmentationDrawTests
{
    [Fact]
    public void Draws_are_uniform_within_their_ranges()
    {
        var a = AugmentationSpec.Parse("flip,shift:2,erase").For(CounterRng.Key(42, CounterRng.AugmentStream), 0, 0);
        const int n = 20_000;
        var (dx, dy) = (new int[5], new int[5]);
        var (flips, erased) = (0, 0);
        for (var i = 0; i < n; i++)
        {
            var d = a.Draw(i, 28, 28);
            dx[d.Dx + 2]++;
            dy[d.Dy + 2]++;
            flips += d.Flipped ? 1 : 0;
            if (d.Bottom > 0)
            {
                erased++;
                Assert.InRange(d.Top, 0, 28 - (d.Bottom - d.Top));
                Assert.InRange(d.Left, 0, 28 - (d.Right - d.Left));
            }
        }
        // Binomial standard deviations: sqrt(n·0.2·0.8) ≈ 57 for each shift, sqrt(n/4) ≈ 71 for flips and erasing; 5σ bounds.
        foreach (var count in dx.Concat(dy))
            Assert.InRange(count, n / 5 - 285, n / 5 + 285);
        Assert.InRange(flips, n / 2 - 355, n / 2 + 355);
        Assert.InRange(erased, n / 2 - 355, n / 2 + 355);
    }

    [Fact]
    public void Draws_depend_on_seed_epoch_and_sample_only()
    {
        var settings = new TrainingSettings { Seed = 4, Augment = "flip,shift:2" };
        var (epoch0, again, epoch1) = (settings.AugmentationIn(0), settings.AugmentationIn(0), settings.AugmentationIn(1));
        var other = (settings with { Seed = 5 }).AugmentationIn(0);
        var draws = (Augmentation a) => Enumerable.Range(0, 200).Select(i => a.Draw(i, 28, 28)).ToArray();
        Assert.Equal(draws(epoch0), draws(again));
        Assert.NotEqual(draws(epoch0), draws(epoch1));
        Assert.NotEqual(draws(epoch0), draws(other));
        Assert.True(new TrainingSettings().AugmentationIn(3).IsIdentity, "the reference recipe augments nothing");
    }

    [Theory]
    [InlineData("none", "none")]
    [InlineData("flip", "flip")]
    [InlineData(" shift:2 , flip ", "flip,shift:2")]
    [InlineData("erase,shift:8,flip", "flip,shift:8,erase")]
    public void Specs_parse_and_print_in_one_order(string text, string printed) =>
        Assert.Equal(printed, AugmentationSpec.Parse(text).ToString());

    [Theory]
    [InlineData("shift:0")]
    [InlineData("shift:9")]
    [InlineData("shift")]
    [InlineData("flip,flip")]
    [InlineData("rotate")]
    [InlineData("")]
    public void Bad_specs_are_refused_naming_the_part(string text)
    {
        var e = Assert.Throws<FashionGpu.Runtime.FashionGpuException>(() => AugmentationSpec.Parse(text));
        Assert.Contains("--augment", e.Message);
    }
}

/// <summary>--augment flip-alternate: each image is mirrored in every other epoch, half of the images in each.</summary>
public sealed class FlipAlternateTests
{
    [Fact]
    public void Each_image_is_mirrored_in_alternate_epochs_and_half_of_them_in_each()
    {
        var spec = AugmentationSpec.Parse("flip-alternate,shift:1");
        Assert.Equal("flip-alternate,shift:1", spec.ToString());
        var settings = new TrainingSettings { Seed = 8, Augment = spec.ToString() };
        var epochs = Enumerable.Range(0, 3).Select(settings.AugmentationIn).ToArray();
        const int n = 20_000;
        var flipped = 0;
        for (var i = 0; i < n; i++)
        {
            var (a, b, c) = (epochs[0].Draw(i, 28, 28), epochs[1].Draw(i, 28, 28), epochs[2].Draw(i, 28, 28));
            Assert.NotEqual(a.Flipped, b.Flipped);
            Assert.Equal(a.Flipped, c.Flipped);
            flipped += a.Flipped ? 1 : 0;
        }
        // sqrt(n/4) ≈ 71: a 5σ bound.
        Assert.InRange(flipped, n / 2 - 355, n / 2 + 355);
        // The shifts are still drawn afresh each epoch.
        Assert.Contains(Enumerable.Range(0, 100), i => epochs[0].Draw(i, 28, 28).Dx != epochs[2].Draw(i, 28, 28).Dx);
    }

    [Theory]
    [InlineData("flip,flip-alternate")]
    [InlineData("flip-alternate,flip-alternate")]
    public void Flip_and_flip_alternate_exclude_each_other(string text) =>
        Assert.Throws<FashionGpu.Runtime.FashionGpuException>(() => AugmentationSpec.Parse(text));

    [Fact]
    public void A_translated_view_moves_every_image_by_its_offset()
    {
        var images = Enumerable.Range(0, 2 * 784).Select(i => (byte)(i % 251 + 1)).ToArray();
        var x = new SimdLayers().Gather(images, [0, 0], [1, 0], 1f, Augmentation.View(false, 1, -1)).X;
        for (var b = 0; b < 2; b++)
            for (var r = 0; r < 28; r++)
                for (var c = 0; c < 28; c++)
                {
                    var source = 1 - b;
                    var want = r + 1 < 28 && c - 1 >= 0 ? images[source * 784 + (r + 1) * 28 + c - 1] : 0;
                    Assert.Equal(want, x[b * 784 + r * 28 + c]);
                }
    }
}
