using System.Globalization;
using FashionGpu.Runtime.Model;
using Spectre.Console;

namespace FashionGpu.Cli.Output;

/// <summary>The model summary as a terminal table: layer, output shape, parameters, MFLOP of one image's forward pass.</summary>
public static class ModelTable
{
    public static Table Of(ModelPlan model)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title("Model").AddColumns("#", "Layer", "Output shape").AddColumn("Param #", c => c.RightAligned())
            .AddColumn("MFLOP", c => c.RightAligned());
        table.AddRow("", "input", model.Input.ToString(), "", "");
        foreach (var l in model.Layers)
            table.AddRow((l.Index + 1).ToString(inv), Markup.Escape((l.Name is null ? "" : l.Name + " ") + l.Definition.Describe()), l.Output.ToString(),
                l.ParameterCount.ToString("N0", inv), (l.ForwardFlops / 1e6).ToString("F3", inv));
        table.Caption(string.Create(inv, $"{model.ParameterLine}; {model.ForwardFlopsPerImage / 1e6:F3} MFLOP per image forward; pixels × {model.PixelScale:0.#########}"));
        return table;
    }
}
