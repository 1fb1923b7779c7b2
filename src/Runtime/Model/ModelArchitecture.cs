using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>One parameter tensor inside the single parameter buffer, in PyTorch's naming and layout.</summary>
public sealed record ParameterTensor(string Name, int[] Shape, int Offset, int FanIn, int FanOut)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
    public bool IsBias => Shape.Length == 1;
}

/// <summary>A row of the model summary.</summary>
public sealed record LayerSummary(string Name, string OutputShape, int Parameters);

/// <summary>
/// The reference network: 28x28x1 → Conv2D 32@3x3 + ReLU → MaxPool 2x2 → Flatten (5408, C,H,W order) → Dropout 0.2 →
/// Dense 128 + ReLU → Dense 10 (logits; softmax lives in the loss). Activations are NCHW.
/// </summary>
public sealed class ModelArchitecture
{
    public const int ImageSide = 28;
    public const int ImagePixels = ImageSide * ImageSide;
    public const int Classes = 10;
    public const int Filters = 32;
    public const int KernelSize = 3;
    public const int Hidden = 128;
    public const float DropoutRate = 0.2f;

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private ModelArchitecture()
    {
        var tensors = new List<ParameterTensor>();
        var offset = 0;
        void Add(string name, int[] shape, int fanIn, int fanOut)
        {
            var t = new ParameterTensor(name, shape, offset, fanIn, fanOut);
            tensors.Add(t);
            offset += t.Length;
        }
        // Keras's Glorot fans for a convolution: fan_in = in·k·k, fan_out = filters·k·k.
        Add("conv1.weight", [Filters, 1, KernelSize, KernelSize], KernelSize * KernelSize, Filters * KernelSize * KernelSize);
        Add("conv1.bias", [Filters], 0, 0);
        Add("dense1.weight", [Hidden, Flattened], Flattened, Hidden);
        Add("dense1.bias", [Hidden], 0, 0);
        Add("dense2.weight", [Classes, Hidden], Hidden, Classes);
        Add("dense2.bias", [Classes], 0, 0);
        Parameters = tensors;
        ParameterCount = offset;
    }

    public static ModelArchitecture Reference { get; } = new();

    public const int ConvSide = ImageSide - KernelSize + 1;
    public const int PoolSide = ConvSide / 2;
    public const int Flattened = Filters * PoolSide * PoolSide;

    /// <summary>Multiply-adds ×2 of one image's forward pass: conv, dense1, dense2 (1.776 MFLOP).</summary>
    public const long ForwardFlopsPerImage = 2L * (ConvSide * ConvSide * Filters * KernelSize * KernelSize + Flattened * Hidden + Hidden * Classes);

    /// <summary>A training step costs about three forward passes (forward, input and weight gradients): 5.33 MFLOP.</summary>
    public const long TrainingFlopsPerImage = 3 * ForwardFlopsPerImage;

    public IReadOnlyList<ParameterTensor> Parameters { get; }
    public int ParameterCount { get; }

    public ParameterTensor this[string name] => Parameters.Single(p => p.Name == name);

    public ConvShape Conv(int batch) => new(batch, 1, Filters, ImageSide, ImageSide, KernelSize);
    public PoolShape Pool(int batch) => new(batch, Filters, ConvSide, ConvSide);
    public DenseShape Dense1(int batch) => new(batch, Flattened, Hidden);
    public DenseShape Dense2(int batch) => new(batch, Hidden, Classes);

    public IReadOnlyList<LayerSummary> Summary { get; } =
    [
        new("input", $"({ImageSide}, {ImageSide}, 1)", 0),
        new("conv1 (Conv2D 3x3, ReLU)", $"({ConvSide}, {ConvSide}, {Filters})", Filters * KernelSize * KernelSize + Filters),
        new("pool1 (MaxPool 2x2)", $"({PoolSide}, {PoolSide}, {Filters})", 0),
        new("flatten", $"({Flattened})", 0),
        new($"dropout ({DropoutRate})", $"({Flattened})", 0),
        new("dense1 (Dense, ReLU)", $"({Hidden})", Flattened * Hidden + Hidden),
        new("dense2 (Dense, softmax in loss)", $"({Classes})", Hidden * Classes + Classes),
    ];
}
