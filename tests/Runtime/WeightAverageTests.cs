using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

/// <summary>
/// --ema: the average after each step against a double-precision recurrence over the parameters the engine reports,
/// the same float operations on both engines, inference on the average, and checkpoints that keep the average under the
/// parameters' names with the raw parameters beside it.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class WeightAverageTests(CpuDeviceFixture gpu) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly TrainingSettings Settings = new() { BatchSize = 32, Seed = 3, LearningRate = 3e-3, Optimizer = "adamw", WeightDecay = 0.05, Ema = 0.9 };
    private static readonly ModelPlan Model = Models.Parse("""
        {"input": [1, 28, 28], "scale": 0.003921569, "layers": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
         {"type": "maxpool", "size": 2}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 10}]}
        """);

    /// <summary>Three steps; the states before the first and after each.</summary>
    private static List<ModelState> Steps(IEngine engine)
    {
        using var data = engine.Upload(SampleData.Train.Take(96));
        engine.BeginEpoch(data, Enumerable.Range(0, 96).ToArray(), 0);
        var states = new List<ModelState> { engine.ReadState() };
        for (var start = 0; start < 96; start += 32)
        {
            engine.TrainStep(start, 32, 3e-3);
            states.Add(engine.ReadState());
        }
        return states;
    }

    [Fact]
    public void Each_step_moves_the_average_toward_the_parameters_by_its_scheduled_weight()
    {
        using var engine = new SimdEngine(Model, Settings);
        var states = Steps(engine);
        Assert.True(states[0].Average.AsSpan().SequenceEqual(states[0].Parameters), "a fresh average is not the initial parameters");
        var reference = TestData.ToDouble(states[0].Parameters);
        for (var t = 1; t < states.Count; t++)
        {
            // TensorFlow's num_updates rule: decay min(0.9, (1 + t) / (10 + t)), so 2/11 at the first step.
            var weight = 1 - Math.Min(0.9, (1.0 + t) / (10.0 + t));
            var parameters = states[t].Parameters;
            for (var i = 0; i < reference.Length; i++)
                reference[i] += weight * (parameters[i] - reference[i]);
            Close.All($"the average after step {t}", reference, states[t].Average!, relative: 1e-5, absolute: 1e-7);
            Assert.False(states[t].Average.AsSpan().SequenceEqual(parameters), $"step {t}: the average is just the parameters");
        }
        Assert.Equal(1 - 2 / 11.0, Settings.AverageWeightAt(1), 6);
        Assert.Equal(0.1f, Settings.AverageWeightAt(1000), 6);
    }

    /// <summary>Training differs in the last bits between engines, so each is held to the same float rule on its own parameters.</summary>
    [Fact]
    public void Both_engines_keep_the_average_by_the_same_float_operations()
    {
        using var simd = new SimdEngine(Model, Settings);
        using var ilgpu = new IlgpuEngine(gpu.Device, Model, Settings);
        foreach (var (name, states) in new[] { ("simd", Steps(simd)), ("ilgpu", Steps(ilgpu)) })
            for (var t = 1; t < states.Count; t++)
            {
                var weight = Settings.AverageWeightAt(t);
                var (before, parameters) = (states[t - 1].Average!, states[t].Parameters);
                var want = before.Select((a, i) => a + weight * (parameters[i] - a)).ToArray();
                Assert.True(want.AsSpan().SequenceEqual(states[t].Average), $"{name}: the average after step {t} is not a + w·(p − a) in float");
            }
    }

    [Fact]
    public void Inference_answers_with_the_average_and_a_checkpoint_keeps_both_weights()
    {
        using var engine = new SimdEngine(Model, Settings);
        var state = Steps(engine)[^1];
        var test = SampleData.Test.Take(64);
        var indices = Enumerable.Range(0, 64).ToArray();
        float[] Answer(IEngine e)
        {
            using var data = e.Upload(test);
            return e.Logits(data, indices);
        }
        using var plain = new SimdEngine(Model, Settings with { Ema = 0 });
        plain.LoadState(state.ForInference());
        Assert.True(Answer(engine).AsSpan().SequenceEqual(Answer(plain)), "the engine under --ema does not answer with the average");
        plain.LoadState(state);
        Assert.False(Answer(engine).AsSpan().SequenceEqual(Answer(plain)), "the raw parameters answer the same as the average");
        Assert.True(engine.ReadState().Parameters.AsSpan().SequenceEqual(state.Parameters), "answering disturbed the raw parameters");

        Checkpoint.Save(_temp.Path, "last", Model, state, new CheckpointInfo { Step = state.Step, Config = new() { Settings = Settings } });
        var path = Checkpoint.PathOf(_temp.Path, "last");
        var tensors = SafeTensors.Read(path).Tensors.ToDictionary(t => t.Name);
        var conv = Model["conv1.weight"];
        Assert.True(tensors["conv1.weight"].Data.Span.SequenceEqual(state.Average.AsSpan(conv.Offset, conv.Length)), "the plain names do not hold the average");
        Assert.True(tensors["optimizer.w.conv1.weight"].Data.Span.SequenceEqual(state.Parameters.AsSpan(conv.Offset, conv.Length)), "the raw parameters are not beside it");
        var loaded = Checkpoint.Load(path).State;
        Assert.True(loaded.Parameters.AsSpan().SequenceEqual(state.Parameters));
        Assert.True(loaded.Average.AsSpan().SequenceEqual(state.Average));
        Assert.True(loaded.ForInference().Parameters.AsSpan().SequenceEqual(state.Average));
    }
}
