using System.Globalization;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// The training augmentation --augment names: a comma-separated list of flip, shift:N (N from 1 to 8 pixels) and
/// erase, or none.
/// </summary>
public sealed record AugmentationSpec(bool Flip, int Shift, bool Erase)
{
    public const string NoneText = "none";
    public const int MaxShift = 8;
    public const string Syntax = "none, or a comma-separated list of flip, shift:N (1 to 8 pixels) and erase";

    public static AugmentationSpec Parse(string text)
    {
        var (flip, shift, erase) = (false, 0, false);
        if (text.Trim() == NoneText)
            return new(false, 0, false);
        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            if (part == "flip" && !flip)
                flip = true;
            else if (part == "erase" && !erase)
                erase = true;
            else if (part.StartsWith("shift:", StringComparison.Ordinal) && shift == 0
                && int.TryParse(part.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxShift)
                shift = n;
            else
                throw new FashionGpuException($"--augment \"{text}\": cannot use \"{part}\"; give {Syntax} (for example flip,shift:2)");
        }
        return new(flip, shift, erase);
    }

    public bool IsNone => !Flip && Shift == 0 && !Erase;

    public override string ToString() => IsNone ? NoneText
        : string.Join(",", new[] { Flip ? "flip" : null, Shift > 0 ? $"shift:{Shift}" : null, Erase ? "erase" : null }.OfType<string>());

    /// <summary>The gather's parameters under <paramref name="key"/> (one key per epoch).</summary>
    public Augmentation For(ulong key) => IsNone ? Augmentation.None : new(key, Shift, Flip ? Augmentation.FlipRandom : 0, Erase ? 1 : 0);
}
