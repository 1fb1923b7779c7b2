using FashionGpu.Runtime;
using FashionGpu.Runtime.Export;
using FashionGpu.Runtime.Model;
using Microsoft.ML.OnnxRuntime;

namespace FashionGpu.Cli.Prediction;

/// <summary>Runs an exported model through ONNX Runtime on the CPU, as a deployment would.</summary>
public static class OnnxPredictor
{
    /// <summary>Logits [count, 10] of <paramref name="count"/> images of raw pixels (0..255).</summary>
    public static float[] Logits(string path, byte[] pixels, int count)
    {
        try
        {
            using var session = new InferenceSession(path);
            var input = Array.ConvertAll(pixels, p => (float)p);
            using var tensor = OrtValue.CreateTensorValueFromMemory(input, [count, 1, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide]);
            using var options = new RunOptions();
            using var outputs = session.Run(options, [OnnxExport.Input], [tensor], [OnnxExport.Logits]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            throw new FashionGpuException($"ONNX Runtime cannot run {path} ({e.Message.Split('\n')[0]}); export it again with '{CommandName.Value} export'");
        }
    }
}
