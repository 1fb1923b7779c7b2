using FashionGpu.Kernels;
using FashionGpu.Runtime.Training;

namespace FashionGpu.Runtime.Evaluation;

/// <summary>
/// Test-time augmentation (--tta): each image's probabilities averaged over views of it. flip: the image and its
/// mirror, equally; shift: the image (weight 1/2) and its one-pixel translations down-right and up-left (1/4 each), as
/// the CIFAR-10 speed records weigh them; flip,shift: both, six views. Its accuracy is a figure of its own, never the
/// model's.
/// </summary>
public sealed record TestTimeAugmentation(bool Flip, bool Shift)
{
    public static readonly TestTimeAugmentation None = new(false, false);
    public static readonly string[] Choices = ["none", "flip", "shift", "flip,shift"];
    public const string Syntax = "none, flip, shift or flip,shift";

    public static bool TryParse(string? text, out TestTimeAugmentation tta)
    {
        tta = None;
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (parts is ["none"])
            return true;
        var (flip, shift) = (parts.Contains("flip"), parts.Contains("shift"));
        if (parts.Length == 0 || parts.Length != (flip ? 1 : 0) + (shift ? 1 : 0))
            return false;
        tta = new(flip, shift);
        return true;
    }

    public static TestTimeAugmentation Parse(string text) => TryParse(text, out var tta) ? tta
        : throw new FashionGpuException($"--tta \"{text}\": use {Syntax}");

    public bool IsNone => !Flip && !Shift;

    public override string ToString() => IsNone ? "none" : Flip && Shift ? "flip,shift" : Flip ? "flip" : "shift";

    /// <summary>The views besides the image, for messages: "mirrors", "one-pixel translations", or both.</summary>
    public string Extra => Flip && Shift ? "mirrors and one-pixel translations (and theirs)" : Flip ? "mirrors" : Shift ? "one-pixel translations" : "";

    /// <summary>How the views are merged, for reports: "each image averaged with its mirror", ….</summary>
    public string Merge => Flip && !Shift ? "each image averaged with its mirror" : $"each image's probabilities averaged with its {Extra}";

    /// <summary>The views and their weights (summing to 1), the plain image first.</summary>
    public IReadOnlyList<(Augmentation View, double Weight)> Views
    {
        get
        {
            (int Dx, int Dy, double Weight)[] places = Shift ? [(0, 0, 0.5), (1, 1, 0.25), (-1, -1, 0.25)] : [(0, 0, 1.0)];
            bool[] mirrors = Flip ? [false, true] : [false];
            return places.SelectMany(p => mirrors.Select(m => (Augmentation.View(m, p.Dx, p.Dy), p.Weight / mirrors.Length))).ToArray();
        }
    }

    /// <summary>
    /// <paramref name="plain"/> without TTA; else the log of each image's probabilities averaged over the views, each
    /// view's logits from <paramref name="logitsOf"/> (the plain view's are <paramref name="plain"/>).
    /// </summary>
    public float[] Average(float[] plain, Func<Augmentation, float[]> logitsOf, CancellationToken cancellation = default)
    {
        if (IsNone)
            return plain;
        var views = new List<(float[], double)>();
        foreach (var (view, weight) in Views)
        {
            cancellation.ThrowIfCancellationRequested();
            views.Add((view.IsIdentity ? plain : logitsOf(view), weight));
        }
        return LogitMetrics.AverageProbabilities(views);
    }
}
