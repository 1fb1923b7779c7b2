using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>The argument checks every engine makes, with one wording.</summary>
internal static class EngineChecks
{
    public static void BatchSize(TrainingSettings settings)
    {
        if (settings.BatchSize < 1)
            throw new FashionGpuException($"batch size must be at least 1 (got {settings.BatchSize})");
        settings.Validate();
    }

    public static void State(ModelState state, ModelPlan model)
    {
        var n = model.ParameterCount;
        if (state.Parameters.Length != n || state.FirstMoment.Length != n || state.SecondMoment.Length != n)
            throw new FashionGpuException($"model state has {state.Parameters.Length} parameters, the model needs {n}");
    }

    public static void Order(int[] order, int datasetCount)
    {
        foreach (var i in order)
            if ((uint)i >= (uint)datasetCount)
                throw new ArgumentOutOfRangeException(nameof(order), $"index {i} outside a dataset of {datasetCount}");
    }

    public static void Step(bool epochBegun, int start, int count, int batchSize, int epochLength)
    {
        if (!epochBegun)
            throw new InvalidOperationException("BeginEpoch must come before TrainStep");
        if (count < 1 || count > batchSize || start < 0 || start + count > epochLength)
            throw new ArgumentOutOfRangeException(nameof(count), $"batch [{start}, {start + count}) does not fit the epoch");
    }
}
