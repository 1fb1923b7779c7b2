using System.Text.Json;
using FashionGpu.Cli.Prediction;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using FashionGpu.Tests.Support;
using SkiaSharp;

namespace FashionGpu.Tests.Cli;

/// <summary>`fashiongpu predict` against `evaluate`'s predictions for the same test images, on the CPU accelerator.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class PredictTests(CpuDeviceFixture gpu) : IDisposable
{
    private const int Count = 12;
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly LabeledImages TestSample =
        SampleData.Test.Take(Count);

    private string WritePng(string name, byte[] pixels, bool darkOnLight)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        for (var i = 0; i < 784; i++)
        {
            var v = darkOnLight ? (byte)(255 - pixels[i]) : pixels[i];
            bitmap.SetPixel(i % 28, i / 28, new SKColor(v, v, v));
        }
        var path = _temp.File(name);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, png.ToArray());
        return path;
    }

    /// <summary>A checkpoint trained for one short epoch on the sample, and evaluate's predictions for the test images.</summary>
    private (string Checkpoint, int[] Predictions) TrainedModel()
    {
        var train = SampleData.Train.Take(320);
        var config = new RunConfiguration { Settings = new TrainingSettings { Seed = 3 }, Epochs = 1 };
        using var engine = new IlgpuEngine(gpu.Device, Models.Seed, config.Settings);
        new Trainer(engine).Run(train, config, _temp.Path, null, NullTrainingObserver.Instance, CancellationToken.None);
        return (Checkpoint.PathOf(_temp.Path, "last"), Evaluator.Evaluate(engine, TestSample).Predictions);
    }

    [Fact]
    public void A_PNG_round_trip_gives_back_the_exact_pixels_inverting_light_backgrounds()
    {
        for (var i = 0; i < 3; i++)
        {
            var pixels = TestSample.Pixels[(i * 784)..((i + 1) * 784)];
            var plain = ImageInputs.Read(WritePng($"plain{i}.png", pixels, darkOnLight: false)).Single();
            var inverted = ImageInputs.Read(WritePng($"inverted{i}.png", pixels, darkOnLight: true)).Single();
            Assert.Equal(pixels, plain.Pixels);
            Assert.False(plain.Inverted);
            Assert.Equal(pixels, inverted.Pixels);
            Assert.True(inverted.Inverted);
        }
    }

    [Fact]
    public void Predict_agrees_with_evaluate_and_reports_broken_files_without_stopping()
    {
        var (checkpoint, expected) = TrainedModel();
        var files = new List<string>();
        for (var i = 0; i < Count; i++)
            files.Add(WritePng($"item{i}.png", TestSample.Pixels[(i * 784)..((i + 1) * 784)], darkOnLight: i % 2 == 1));
        var text = _temp.File("notes.txt");
        File.WriteAllText(text, "not an image");
        var broken = _temp.File("broken.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(files[0])[..20]);
        var idx = Path.Combine(RepoPaths.Sample, "t10k-images-idx3-ubyte.gz");

        var (exit, stdout, stderr) = CliProcess.Run(_temp.Path,
            ["predict", "--checkpoint", checkpoint, "--device", "cpu", "--json", text, .. files, broken, _temp.File("missing.png"), idx]);

        Assert.Equal(1, exit);
        Assert.Contains($"error: {text}: not a PNG, JPEG, IDX or Kaggle CSV image file", stderr);
        Assert.Contains($"error: {broken}: could not be decoded", stderr);
        Assert.Contains("missing.png: no such file", stderr);
        var results = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToArray();
        Assert.Equal(Count + 500, results.Length);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(files[i], results[i].GetProperty("file").GetString());
            Assert.Equal(i % 2 == 1, results[i].GetProperty("inverted").GetBoolean());
            var top = results[i].GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(3, top.Length);
            Assert.Equal(FashionMnistShape.ClassNames[expected[i]], top[0].GetProperty("class").GetString());
            Assert.True(top[0].GetProperty("probability").GetDouble() >= top[1].GetProperty("probability").GetDouble());
            // The IDX file holds the same test images first: the same classes.
            Assert.Equal(top[0].GetProperty("class").GetString(),
                results[Count + i].GetProperty("top")[0].GetProperty("class").GetString());
        }
    }

    [Fact]
    public void A_large_photo_on_a_light_background_is_fitted_and_inverted()
    {
        using var bitmap = new SKBitmap(300, 150);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var dark = new SKPaint { Color = new SKColor(30, 30, 30) };
            canvas.DrawRect(100, 20, 100, 110, dark);
        }
        var path = _temp.File("photo.jpg");
        using (var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90))
            File.WriteAllBytes(path, jpeg.ToArray());

        var input = ImageInputs.Read(path).Single();

        Assert.True(input.Inverted);
        Assert.True(input.Pixels[14 * 28 + 14] > 200, "the dark object becomes light");
        Assert.True(input.Pixels[2 * 28 + 14] < 30, "the padding above a wide image is background (dark after inversion)");
        Assert.True(input.Pixels[14 * 28 + 1] < 30, "the white margins become dark");
    }
}
