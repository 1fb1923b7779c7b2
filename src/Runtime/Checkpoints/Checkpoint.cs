using System.Text.Json;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Checkpoints;

/// <summary>A checkpoint read back: the model it holds, its state and, when it was written by `train`, where training stood.</summary>
public sealed record LoadedCheckpoint(ModelPlan Model, ModelState State, CheckpointInfo? Info)
{
    /// <summary>Where the model came from when the file does not say: null when its `model` metadata or training info does.</summary>
    public string? ModelAssumption { get; init; }
}

/// <summary>
/// A checkpoint is NAME.safetensors (parameters under PyTorch's names, Adam's moments under optimizer.m.* and
/// optimizer.v.*, and under --ema the average under the names with the raw parameters as optimizer.w.*, the model definition as JSON under the metadata key `model`, its torch.nn modules under
/// `torch_modules` and the <see cref="CheckpointInfo"/> under `fashiongpu`) with NAME.json beside it holding the same info for people and tools. Loading reads only the
/// safetensors file, so the two can never disagree.
/// </summary>
public static class Checkpoint
{
    private const string InfoKey = "fashiongpu";
    public const string ModelKey = "model";

    /// <summary>The model as torch.nn modules (see <see cref="ModelPlan.TorchModulesJson"/>), for tools/pytorch_evaluate.py.</summary>
    public const string TorchKey = "torch_modules";

    public static string PathOf(string runDirectory, string name) => Path.Combine(runDirectory, name + ".safetensors");

    public static void Save(string runDirectory, string name, ModelPlan model, ModelState state, CheckpointInfo info)
    {
        var infoJson = JsonSerializer.Serialize(info, CheckpointInfo.Json);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt", [ModelKey] = model.Definition.ToJson(), [TorchKey] = model.TorchModulesJson(), [InfoKey] = infoJson,
        };
        SafeTensors.Write(PathOf(runDirectory, name), state.Tensors(model).ToArray(), metadata);
        AtomicFile.WriteAllText(Path.Combine(runDirectory, name + ".json"), infoJson + "\n");
    }

    /// <summary>
    /// Loads the model the metadata describes (checkpoints from before models were data hold the seed model), its
    /// parameters (required: exactly the model's names and shapes) and, when present, the optimizer moments and
    /// training info.
    /// </summary>
    public static LoadedCheckpoint Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        CheckpointInfo? info = null;
        if (metadata.TryGetValue(InfoKey, out var json))
        {
            try
            {
                info = JsonSerializer.Deserialize<CheckpointInfo>(json, CheckpointInfo.Json);
                info?.Config.Settings.Validate();
            }
            catch (Exception e) when (e is JsonException or FashionGpuException)
            {
                throw new FashionGpuException($"checkpoint {path} has unreadable training metadata ({(e is JsonException j ? JsonProblem.Describe(j) : e.Message)})");
            }
        }
        ModelPlan model;
        string? assumption = null;
        try
        {
            if (!metadata.ContainsKey(ModelKey) && info?.Config.Model is null && info?.Config.Settings.Normalize is null)
                assumption = "it holds no model metadata, so it is taken as the seed model on raw 0..255 pixels";
            var definition = metadata.TryGetValue(ModelKey, out var modelJson) ? ModelDefinition.Parse(modelJson, "its model metadata")
                : info?.Config.Model ?? ModelPresets.Seed(info?.Config.Settings.Normalize == true ? ModelDefinition.ScaledPixels : 1f);
            model = new ModelPlan(definition);
        }
        catch (FashionGpuException e)
        {
            throw new FashionGpuException($"checkpoint {path}: {e.Message}");
        }

        var byName = tensors.ToDictionary(t => t.Name);
        foreach (var t in tensors)
        {
            var name = t.Name.StartsWith("optimizer.m.", StringComparison.Ordinal) || t.Name.StartsWith("optimizer.v.", StringComparison.Ordinal)
                || t.Name.StartsWith(ModelState.RawPrefix, StringComparison.Ordinal) ? t.Name[12..] : t.Name;
            if (!model.Has(name))
                throw new FashionGpuException($"checkpoint {path} has a tensor {t.Name} that its model ({model.Parameters.Count} tensors, {model.ParameterCount:N0} parameters) does not have; the model metadata does not match the tensors");
        }
        float[] Gather(string prefix, bool required)
        {
            var flat = new float[model.ParameterCount];
            foreach (var p in model.Parameters)
            {
                if (!byName.TryGetValue(prefix + p.Name, out var t))
                {
                    if (required)
                        throw new FashionGpuException($"checkpoint {path} has no tensor {prefix + p.Name} that its model needs; the model metadata does not match the tensors");
                    if (!p.Trainable)
                        continue; // running statistics have no optimizer moments
                    return new float[model.ParameterCount]; // no moments at all: Adam starts afresh
                }
                if (!t.Shape.SequenceEqual(p.Shape))
                    throw new FashionGpuException(
                        $"checkpoint {path}: {t.Name} has shape [{string.Join(",", t.Shape)}], its model needs [{string.Join(",", p.Shape)}]; the model metadata does not match the tensors");
                t.Data.Span.CopyTo(flat.AsSpan(p.Offset));
            }
            return flat;
        }
        var weights = Gather("", required: true);
        var m = Gather("optimizer.m.", required: false);
        var v = Gather("optimizer.v.", required: false);
        // A run with a weight average saves the average under the plain names and its raw parameters beside it.
        var state = tensors.Any(t => t.Name.StartsWith(ModelState.RawPrefix, StringComparison.Ordinal))
            ? new ModelState(Gather(ModelState.RawPrefix, required: true), m, v, info?.Step ?? 0) { Average = weights }
            : new ModelState(weights, m, v, info?.Step ?? 0);
        return new LoadedCheckpoint(model, state, info) { ModelAssumption = assumption };
    }
}
