using System.Globalization;
using FashionGpu.Kernels;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// The training augmentation --augment names: a comma-separated list of flip (each image mirrored with probability 1/2
/// each epoch) or flip-alternate (half of the images mirrored in even epochs, the other half in odd ones), shift:N (N
/// from 1 to 8 pixels) and erase, or none.
/// </summary>
public sealed record AugmentationSpec(bool Flip, int Shift, bool Erase, bool FlipAlternate = false)
{
    public const string NoneText = "none";
    public const int MaxShift = 8;
    public const string Syntax = "none, or a comma-separated list of flip or flip-alternate, shift:N (1 to 8 pixels) and erase";

    public static AugmentationSpec Parse(string text)
    {
        var (flip, alternate, shift, erase) = (false, false, 0, false);
        if (text.Trim() == NoneText)
            return new(false, 0, false);
        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            if (part == "flip" && !flip && !alternate)
                flip = true;
            else if (part == "flip-alternate" && !flip && !alternate)
                alternate = true;
            else if (part == "erase" && !erase)
                erase = true;
            else if (part.StartsWith("shift:", StringComparison.Ordinal) && shift == 0
                && int.TryParse(part.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxShift)
                shift = n;
            else
                throw new FashionGpuException($"--augment \"{text}\": cannot use \"{part}\"; give {Syntax} (for example flip,shift:2)");
        }
        return new(flip, shift, erase, alternate);
    }

    public bool IsNone => !Flip && !FlipAlternate && Shift == 0 && !Erase;

    public override string ToString() => IsNone ? NoneText
        : string.Join(",", new[] { Flip ? "flip" : FlipAlternate ? "flip-alternate" : null, Shift > 0 ? $"shift:{Shift}" : null, Erase ? "erase" : null }.OfType<string>());

    /// <summary>
    /// The gather's parameters in epoch <paramref name="epoch"/> (0-based): its draws under <paramref name="key"/> (one
    /// key per epoch), each image's own flip bit under <paramref name="flipKey"/> (one key per run).
    /// </summary>
    public Augmentation For(ulong key, ulong flipKey, int epoch)
    {
        if (IsNone)
            return Augmentation.None;
        var flip = Flip ? Augmentation.FlipRandom : !FlipAlternate ? 0 : epoch % 2 == 0 ? Augmentation.FlipByImage : Augmentation.FlipByImageInverted;
        return new(key, Shift, flip, Erase ? 1 : 0, FlipAlternate ? flipKey : 0);
    }
}
