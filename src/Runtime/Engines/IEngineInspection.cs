namespace FashionGpu.Runtime.Engines;

/// <summary>
/// What the tests read of an engine's last step, each as its first <c>length</c> elements. Internal: production code
/// never reads activations; only the test project (InternalsVisibleTo) does. Outputs inside a fused op are not kept.
/// </summary>
internal interface IEngineInspection
{
    /// <summary>The output of layer <paramref name="layer"/> (0-based; a flatten's is its input's), or the gathered batch for -1.</summary>
    float[] LayerOutput(int layer, int length);

    /// <summary>The loss's gradient with respect to layer <paramref name="layer"/>'s output.</summary>
    float[] LayerOutputGradient(int layer, int length);

    /// <summary>The gradient of the parameter tensor <paramref name="name"/> (conv1.weight, bn2.bias, …).</summary>
    float[] ParameterGradient(string name);
}
