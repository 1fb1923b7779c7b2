using System.Text.Json;
using FashionGpu.Kernels;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Layers;

/// <summary>
/// The training recipe's arithmetic on both engines against PyTorch in float64 (Fixtures/recipe_reference.json, made by
/// make_recipe_reference.py): AdamW and SGD-Nesterov over three steps at changing learning rates, with weight decay on
/// one run of parameters and none on the other; the label-smoothed loss and its gradient. Tolerances: parameters
/// 2e-6 relative + 1e-7 absolute (float arithmetic over three steps); loss and gradient 2e-6 relative + 1e-7.
/// </summary>
public abstract class RecipeTests(LayerBackend layers)
{
    public static JsonElement Fixture { get; } =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "recipe_reference.json"))).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void Optimizer_matches_torch_optim_over_three_steps_with_and_without_weight_decay(string optimizer)
    {
        var f = Fixture.GetProperty(optimizer);
        var settings = optimizer == "adamw"
            ? new TrainingSettings { Optimizer = "adamw", WeightDecay = f.GetProperty("weight_decay").GetDouble(), Beta1 = f.GetProperty("beta1").GetDouble(),
                Beta2 = f.GetProperty("beta2").GetDouble(), Epsilon = f.GetProperty("epsilon").GetDouble() }
            : new TrainingSettings { Optimizer = "sgd", WeightDecay = f.GetProperty("weight_decay").GetDouble(), Momentum = f.GetProperty("momentum").GetDouble() };
        var p = Floats(f.GetProperty("initial"));
        var (m, v) = (new float[p.Length], new float[p.Length]);
        var decayed = f.GetProperty("decayed").GetInt32();
        var rates = Doubles(f.GetProperty("rates"));
        for (var step = 1; step <= rates.Length; step++)
        {
            var g = Floats(f.GetProperty("gradients")[step - 1]);
            var a = settings.OptimizerAt(step, rates[step - 1]);
            layers.Optimizer(p, g, m, v, a, 0, decayed);
            layers.Optimizer(p, g, m, v, a.WithoutDecay(), decayed, p.Length);
            Close.All($"{optimizer} parameters after step {step}", Doubles(f.GetProperty("after")[step - 1]), p, 2e-6, 1e-7);
        }
    }

    [Fact]
    public void Weight_decay_changes_the_decayed_run_only()
    {
        // The fixture's check in reverse: with decay on both runs the undecayed part would differ from torch's.
        var f = Fixture.GetProperty("adamw");
        var settings = new TrainingSettings { Optimizer = "adamw", WeightDecay = 0.5 };
        var p = Floats(f.GetProperty("initial"));
        var plain = (float[])p.Clone();
        var g = Floats(f.GetProperty("gradients")[0]);
        layers.Optimizer(p, g, new float[p.Length], new float[p.Length], settings.OptimizerAt(1, 1e-2));
        layers.Optimizer(plain, g, new float[p.Length], new float[p.Length], settings.OptimizerAt(1, 1e-2).WithoutDecay());
        var initial = Floats(f.GetProperty("initial"));
        for (var i = 0; i < p.Length; i++)
            Assert.Equal((double)plain[i] - initial[i] * 1e-2 * 0.5, p[i], 1e-6);
    }

    [Fact]
    public void Label_smoothed_loss_and_gradient_match_torch_cross_entropy()
    {
        var f = Fixture.GetProperty("label_smoothing");
        var logits = Floats(f.GetProperty("logits"));
        var labels = f.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var (loss, dz, _) = layers.SoftmaxCrossEntropy(logits, labels, new LossShape(labels.Length, 10, (float)f.GetProperty("smoothing").GetDouble()));
        Close.All("smoothed loss", Doubles(f.GetProperty("loss")), loss, 2e-6, 1e-7);
        Close.All("smoothed gradient", Doubles(f.GetProperty("gradient")), dz, 2e-6, 1e-7);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public sealed class IlgpuRecipeTests(CpuDeviceFixture gpu) : RecipeTests(new IlgpuLayers(gpu));

public sealed class SimdRecipeTests() : RecipeTests(new SimdLayers());
