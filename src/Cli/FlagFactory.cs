using System.CommandLine;
using System.Globalization;

namespace FashionGpu.Cli;

/// <summary>How every flag of the command line is made: parsed, range-checked and named in --help the same way.</summary>
public static class FlagFactory
{
    /// <summary>
    /// A flag; numbers are parsed here (invariant culture, finite) so a value that is not one is a usage error naming
    /// the flag, and <paramref name="check"/> (a range, say) turns a bad value into one.
    /// </summary>
    public static Option<T> Create<T>(string name, string description, Func<T, string?>? check = null)
    {
        var option = new Option<T>(name) { Description = description, HelpName = HelpNameOf(name, typeof(T)) };
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (type == typeof(int) || type == typeof(double) || type == typeof(ulong))
        {
            option.CustomParser = result =>
            {
                var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                object? value = type == typeof(int) ? int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null
                    : type == typeof(ulong) ? ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : null
                    : double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
                if (value is null)
                {
                    result.AddError(type == typeof(int) ? $"{name} must be a whole number (got '{token}')"
                        : type == typeof(ulong) ? $"{name} must be a whole number from 0 to {ulong.MaxValue} (got '{token}')"
                        : $"{name} must be a finite number (got '{token}')");
                    return default;
                }
                if (check?.Invoke((T)value) is { } error)
                    result.AddError(error);
                return (T)value;
            };
        }
        else if (type == typeof(string) && option.HelpName is "DIR" or "FILE")
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<T>() is string { Length: 0 })
                    result.AddError($"{name} is empty; give a {(option.HelpName == "DIR" ? "directory" : "file")}");
                else if (result.GetValueOrDefault<T>() is { } value && check?.Invoke(value) is { } error)
                    result.AddError(error);
            });
        }
        else if (check is not null)
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<T>() is { } value && check(value) is { } error)
                    result.AddError(error);
            });
        }
        return option;
    }

    /// <summary>What --help shows after a flag: DIR, FILE, NAME, N or X rather than the option's own name.</summary>
    private static string? HelpNameOf(string name, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(bool))
            return null;
        if (t == typeof(int) || t == typeof(ulong))
            return "N";
        if (t == typeof(double))
            return "X";
        return name switch
        {
            "--run" or "--resume" or "--data-dir" or "--run-dir" => "DIR",
            "--checkpoint" or "--output" or "--model-file" or "--onnx" => "FILE",
            "--model" => "NAME",
            "--device" => "DEVICE",
            _ => null,
        };
    }

}
