namespace FashionGpu.Runtime.Engines;

/// <summary>
/// Tests read an engine's last step by name, each as its first <c>length</c> elements: input (the gathered batch),
/// out.K (the output of layer K, 0-based; outputs inside a fused op are not kept), grad_out.K (the loss's gradient
/// with respect to it) and grad.PARAMETER.
/// </summary>
internal interface IEngineInspection
{
    float[] Inspect(string name, int length);
}
