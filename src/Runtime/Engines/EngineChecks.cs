using System.Globalization;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Engines;

/// <summary>The argument checks every engine makes, with one wording.</summary>
internal static class EngineChecks
{
    public static void BatchSize(TrainingSettings settings) => settings.Validate();

    /// <summary>
    /// Refuses, before anything is allocated, a model whose buffers at this batch size cannot be held: an activation
    /// buffer past 32-bit indexing (what the kernels and the SIMD engine's arrays take), or more memory than the device
    /// has. The estimate counts the parameters with their gradients and Adam's moments, and every op's output,
    /// gradient, pooling indices and scratch at the larger of the training and evaluation batches.
    /// </summary>
    public static void Fits(EngineProgram program, int maxBatch, int trainBatch, long deviceBytes, string device)
    {
        var inv = CultureInfo.InvariantCulture;
        var parameters = 16L * program.Plan.ParameterCount;
        var activations = 4L * maxBatch * program.Plan.Input.Size;
        foreach (var op in program.Ops)
        {
            var widest = Math.Max(op.Output.Size, op.Layer.Output.Size);
            if ((long)maxBatch * widest > Array.MaxLength)
                throw new FashionGpuException(string.Create(inv,
                    $"layer {op.First + 1} ({op.Layer.Definition.Describe()}): its output for a batch of {maxBatch:N0} has {(long)maxBatch * widest:N0} values, past the {Array.MaxLength:N0} one buffer can index; use a smaller --batch-size, fewer filters, or pool earlier"));
            activations += 4L * widest * (3L * maxBatch + trainBatch);
        }
        // A device that reports no memory size (0) is not judged by it.
        if (deviceBytes > 0 && parameters + activations > deviceBytes)
            throw new FashionGpuException(string.Create(inv,
                $"the model needs about {Gib(parameters + activations)} at batch {trainBatch} (parameters with gradients and Adam's moments {Gib(parameters)}, activations {Gib(activations)}), but {device} has {Gib(deviceBytes)}; use a smaller --batch-size or a smaller model"));
    }

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F1} GiB");

    public static void State(ModelState state, ModelPlan model)
    {
        var n = model.ParameterCount;
        if (state.Parameters.Length != n || state.FirstMoment.Length != n || state.SecondMoment.Length != n || state.Average is { Length: var a } && a != n)
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
