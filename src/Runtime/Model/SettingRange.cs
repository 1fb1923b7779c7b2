using System.Globalization;

namespace FashionGpu.Runtime.Model;

/// <summary>
/// The values a numeric setting may take, checked in the type the engines use: every rate, decay, momentum,
/// smoothing and scale reaches the kernels as a 32-bit float, so 0.99999999 (which rounds to 1) is not below 1 and
/// 1e-50 (which rounds to 0) is not positive. One range serves the flag, the configuration key, the model file and
/// the checkpoint that is read back, so whatever one of them accepts, every command can read.
/// </summary>
public sealed record SettingRange(string Rule, Func<double, bool> Contains)
{
    /// <summary>[0, 1) as a float: dropout, momentum, label smoothing.</summary>
    public static readonly SettingRange Fraction = new("in [0, 1)", v => v >= 0 && (float)v < 1f);

    /// <summary>Above 0 and finite as a float: the learning rate.</summary>
    public static readonly SettingRange Positive = new("a positive number", v => (float)v > 0f && float.IsFinite((float)v));

    /// <summary>0 or more and finite as a float: weight decay, warmup epochs.</summary>
    public static readonly SettingRange NonNegative = new("0 or more", v => v >= 0 && float.IsFinite((float)v));

    /// <summary>[0, 1) in double: the validation split, which only ever counts images.</summary>
    public static readonly SettingRange SplitFraction = new("in [0, 1)", v => v >= 0 && v < 1);

    /// <summary>A pixel scale: positive as a float, with 255 × scale finite.</summary>
    public static readonly SettingRange PixelScale = new("a positive number with 255 × scale below 3.4e38",
        v => (float)v > 0f && float.IsFinite(255f * (float)v));

    /// <summary>
    /// "must be in [0, 1) (got 0.99999999, which is 1 as a 32-bit float)", or null when <paramref name="value"/> is in
    /// range. <paramref name="name"/> is the flag or key the value came from.
    /// </summary>
    public string? Check(string name, double value)
    {
        if (Contains(value))
            return null;
        // Said only where rounding to a float is what put the value out of range: onto 0, onto 1 or past the largest float.
        var asFloat = (float)value;
        var rounded = double.IsFinite(value) && asFloat != value && (asFloat is 0f or 1f || float.IsInfinity(asFloat))
            ? string.Create(CultureInfo.InvariantCulture, $", which is {(float.IsInfinity(asFloat) ? "infinite" : asFloat)} as a 32-bit float")
            : "";
        return string.Create(CultureInfo.InvariantCulture, $"{name} must be {Rule} (got {value}{rounded})");
    }
}
