using FashionGpu.Runtime;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Cli.Jobs;

/// <summary>
/// The model a command's flags name: a preset (--model, seed by default) or a file (--model-file), with the seed's
/// knobs (--filters, --hidden, --dropout) and the pixel scale applied, planned (shapes checked).
/// </summary>
public sealed record ModelChoice(string? Preset, string? File, int? Filters = null, int? Hidden = null, double? Dropout = null, float? Scale = null)
{
    public ModelPlan Resolve()
    {
        if (Preset is not null && File is not null)
            throw new UsageException("give either --model NAME or --model-file FILE, not both");
        if (Preset is not null && !ModelPresets.Exists(Preset))
            throw new UsageException($"--model {Preset}: no such built-in recipe or model; use one of {string.Join(", ", Runtime.Training.Recipes.All.Select(r => r.Name).Union(ModelPresets.List.Select(m => m.Name)))} (see train --list-models) or --model-file FILE");
        var origin = File is not null ? $"model file {File}" : $"model {Preset ?? ModelPresets.Default}";
        ModelDefinition definition;
        if (File is not null)
        {
            string text;
            try
            {
                text = System.IO.File.ReadAllText(File);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FashionGpuException($"cannot read --model-file {File} ({e.Message}); give a readable JSON model definition");
            }
            definition = ModelDefinition.Parse(text, origin);
        }
        else
            definition = ModelPresets.Get(Preset ?? ModelPresets.Default);
        try
        {
            return new ModelPlan(definition.With(Filters, Hidden, Dropout is { } d ? (float)d : null, Scale));
        }
        catch (FashionGpuException e)
        {
            throw new FashionGpuException($"{origin}: {e.Message}");
        }
    }
}
