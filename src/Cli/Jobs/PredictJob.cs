using System.Globalization;
using System.Text.Json;
using FashionGpu.Cli.Hosting;
using FashionGpu.Cli.Prediction;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Devices;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Model;
using FashionGpu.Runtime.Training;
using Microsoft.Extensions.Options;

namespace FashionGpu.Cli.Jobs;

public sealed class PredictOptions
{
    public string? Run { get; set; }
    public string? Checkpoint { get; set; }
    public string Device { get; set; } = "auto";
    public string? Onnx { get; set; }
    public string[] Images { get; set; } = [];
    public bool Json { get; set; }
    /// <summary>Test-time augmentation: none or flip.</summary>
    public string Tta { get; set; } = "none";
}

/// <summary>
/// `fashiongpu predict`: the top 3 classes of each image. A file that cannot be read is reported on stderr and the
/// rest are still predicted; the exit code is then 1.
/// </summary>
public sealed class PredictJob(IOptions<PredictOptions> options) : IJob
{
    public int Run(CancellationToken stopping)
    {
        var o = options.Value;
        if (o.Images.Length == 0)
            throw new UsageException($"give at least one image: {CommandName.Value} predict --run DIR IMAGE...");
        if (!TestTimeAugmentation.TryParse(o.Tta, out var tta))
            throw TrainOptions.Configured("Predict:Tta", TestTimeAugmentation.Syntax, o.Tta);
        if (o.Onnx is not null && (o.Run ?? o.Checkpoint) is not null)
            throw new UsageException("give one of --run DIR, --checkpoint FILE and --onnx FILE");
        if (o.Onnx is not null && !File.Exists(o.Onnx))
            throw new UsageException($"--onnx {o.Onnx}: no such file; export one with '{CommandName.Value} export --run DIR'");
        var chosen = o.Onnx is null ? ChosenCheckpoint.Load(o.Run, o.Checkpoint) : null;

        var inputs = new List<ImageInput>();
        var failed = 0;
        foreach (var path in o.Images)
        {
            try
            {
                var read = ImageInputs.Read(path);
                foreach (var warning in read.Select(i => i.Warning).OfType<string>())
                    Console.Error.WriteLine($"warning: {warning}");
                inputs.AddRange(read);
            }
            catch (Exception e) when (e is FashionGpuException or IOException or UnauthorizedAccessException or OutOfMemoryException)
            {
                // One unreadable file never stops the others.
                Console.Error.WriteLine($"error: {(e is FashionGpuException ? e.Message : $"{path}: {e.Message.TrimEnd('.')}")}");
                failed++;
            }
        }
        if (inputs.Count == 0)
            return ExitCodes.Failure;

        var images = new LabeledImages(inputs.SelectMany(i => i.Pixels).ToArray(), new byte[inputs.Count], "predict");
        float[] logits;
        if (chosen is null)
            logits = OnnxPredictor.Logits(o.Onnx!, images, tta);
        else
        {
            using var engine = EngineFactory.Open(DeviceSpec.Parse(o.Device), chosen.Model, (chosen.Info?.Config.Settings ?? new TrainingSettings()) with { BatchSize = 1 });
            engine.LoadState(chosen.State);
            using var data = engine.Upload(images);
            logits = Evaluator.Logits(engine, data, Enumerable.Range(0, inputs.Count).ToArray(), tta, cancellation: stopping);
        }
        var names = FashionMnistShape.ClassNames;
        var results = inputs.Select((input, i) =>
        {
            var p = LogitMetrics.Probabilities(logits, i);
            var top = Enumerable.Range(0, p.Length).OrderByDescending(c => p[c]).Take(3).Select(c => new { @class = names[c], probability = p[c] }).ToArray();
            return new { file = input.Name, label = input.Label is { } l ? names[l] : null, inverted = input.Inverted, top };
        }).ToArray();

        if (o.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            var inv = CultureInfo.InvariantCulture;
            foreach (var r in results)
            {
                var top = string.Join(", ", r.top.Select(t => string.Create(inv, $"{t.@class} {t.probability:F3}")));
                var notes = new[] { r.label is null ? null : $"label: {r.label}", r.inverted ? "inverted: light background" : null }.OfType<string>().ToArray();
                Console.Out.WriteLine($"{r.file}: {top}{(notes.Length > 0 ? $"  ({string.Join("; ", notes)})" : "")}");
            }
        }
        return failed > 0 ? ExitCodes.Failure : ExitCodes.Ok;
    }

}
