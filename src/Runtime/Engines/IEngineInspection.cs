namespace FashionGpu.Runtime.Engines;

/// <summary>
/// Tests read an engine's last step by name: pool (the conv block's output), hidden, logits, d_logits, d_hidden,
/// d_dropout (gradient of the conv block's output) and grad.PARAMETER, each as its first <c>length</c> elements.
/// </summary>
internal interface IEngineInspection
{
    float[] Inspect(string name, int length);
}
