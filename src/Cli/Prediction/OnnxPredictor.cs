using FashionGpu.Kernels;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Data;
using FashionGpu.Runtime.Engines.Simd;
using FashionGpu.Runtime.Evaluation;
using FashionGpu.Runtime.Export;
using FashionGpu.Runtime.Model;
using Microsoft.ML.OnnxRuntime;

namespace FashionGpu.Cli.Prediction;

/// <summary>Runs an exported model through ONNX Runtime on the CPU, as a deployment would.</summary>
public static class OnnxPredictor
{
    /// <summary>
    /// Logits [Count, 10] of raw-pixel (0..255) images, under a <paramref name="tta"/> averaged over their views: one
    /// session for every view, each view drawn by the engines' own gather rule.
    /// </summary>
    public static float[] Logits(string path, LabeledImages images, TestTimeAugmentation tta)
    {
        try
        {
            using var session = new InferenceSession(path);
            var indices = Enumerable.Range(0, images.Count).ToArray();
            float[] Answer(Augmentation view)
            {
                var input = new float[images.Pixels.Length];
                SimdGather.Gather(images, indices, 1f, view, input, new int[images.Count]);
                using var tensor = OrtValue.CreateTensorValueFromMemory(input, [images.Count, 1, FashionMnistShape.ImageSide, FashionMnistShape.ImageSide]);
                using var options = new RunOptions();
                using var outputs = session.Run(options, [OnnxExport.Input], [tensor], [OnnxExport.Logits]);
                return outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }
            return tta.Average(Answer(Augmentation.None), Answer);
        }
        catch (OnnxRuntimeException e)
        {
            throw new FashionGpuException($"ONNX Runtime cannot run {path} ({e.Message.Split('\n')[0]}); export it again with '{CommandName.Value} export'");
        }
    }
}
