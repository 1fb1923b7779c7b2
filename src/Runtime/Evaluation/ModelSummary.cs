using System.Globalization;
using System.Text;
using FashionGpu.Runtime.Model;

namespace FashionGpu.Runtime.Evaluation;

public static class ModelSummary
{
    public static string ToText(ModelArchitecture model)
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"{"Layer",-34}{"Output shape",-16}{"Param #",12}");
        foreach (var layer in model.Summary)
            text.AppendLine(inv, $"{layer.Name,-34}{layer.OutputShape,-16}{layer.Parameters,12:N0}");
        text.AppendLine(inv, $"Total params: {model.ParameterCount:N0}");
        return text.ToString();
    }
}
