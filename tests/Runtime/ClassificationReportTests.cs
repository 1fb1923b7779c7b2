using FashionGpu.Runtime.Evaluation;

namespace FashionGpu.Tests.Runtime;

public sealed class ClassificationReportTests
{
    [Fact]
    public void Metrics_match_a_hand_computed_confusion_matrix()
    {
        // true:      0 0 1 1 1 2 2 2
        // predicted: 0 1 1 1 0 2 2 1
        // confusion: [[1,1,0],[1,2,0],[0,1,2]]
        // class 0: tp 1, predicted 2, support 2 → P 1/2, R 1/2, F1 1/2
        // class 1: tp 2, predicted 4, support 3 → P 1/2, R 2/3, F1 4/7
        // class 2: tp 2, predicted 2, support 3 → P 1,   R 2/3, F1 4/5
        byte[] labels = [0, 0, 1, 1, 1, 2, 2, 2];
        int[] predictions = [0, 1, 1, 1, 0, 2, 2, 1];

        var r = ClassificationReport.From(labels, predictions, ["a", "b", "c"]);

        Assert.Equal(new[] { new[] { 1, 1, 0 }, new[] { 1, 2, 0 }, new[] { 0, 1, 2 } }, r.Confusion);
        Assert.Equal(5.0 / 8, r.Accuracy, 12);
        Assert.Equal((0.5 + 0.5 + 1) / 3, r.MacroPrecision, 12);
        Assert.Equal((0.5 + 2.0 / 3 + 2.0 / 3) / 3, r.MacroRecall, 12);
        Assert.Equal((0.5 + 4.0 / 7 + 0.8) / 3, r.MacroF1, 12);
        Assert.Equal([2, 3, 3], r.Classes.Select(c => c.Support));
        Assert.Equal(4.0 / 7, r.Classes[1].F1, 12);
        var text = r.ToText();
        Assert.Contains("Accuracy: 0.625", text);
        Assert.Contains("Precision: 0.667", text);
        Assert.Contains("Recall: 0.611", text);
    }

    [Fact]
    public void A_class_never_predicted_has_zero_precision_not_NaN()
    {
        var r = ClassificationReport.From([0, 1], [0, 0], ["a", "b"]);
        Assert.Equal(0, r.Classes[1].Precision);
        Assert.Equal(0, r.Classes[1].F1);
        Assert.Equal(0.25, r.MacroPrecision, 12);
    }
}
