namespace FashionGpu.Runtime.Model;

/// <summary>What every model here sees and answers: 28x28 grey images, ten classes.</summary>
public static class FashionMnistShape
{
    public const int ImageSide = 28;
    public const int ImagePixels = ImageSide * ImageSide;
    public const int Classes = 10;

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
}
