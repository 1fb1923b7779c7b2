using System.Security.Cryptography;

namespace FashionGpu.Runtime.Data;

/// <summary>One split as loaded, with the checksums of its content and what they prove.</summary>
public sealed record LoadedSplit(Split Split, LabeledImages Data, string PixelsSha256, string LabelsSha256, string Verification)
{
    public bool IsOfficial => Verification.StartsWith("official", StringComparison.Ordinal);
}

/// <summary>
/// Loads a split from a <see cref="DataSource"/> and checks it against the official release by the SHA-256 of the
/// decoded pixels and labels (taken from the official files), which holds whatever the files' form: Zalando's .gz
/// files, recompressed (Debian's package), uncompressed or the Kaggle CSV. The run records these sums, so they are
/// taken anyway; the MD5s Zalando publishes for the .gz files would add a second read of them and nothing else.
/// </summary>
public static class FashionMnist
{
    private static readonly Dictionary<Split, (string Pixels, string Labels)> OfficialContent = new()
    {
        [Split.Train] = ("2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
            "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"),
        [Split.Test] = ("c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
            "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"),
    };

    public static LoadedSplit Load(DataSource source, Split split)
    {
        LabeledImages data;
        if (source.Format == DataFormat.Csv)
            data = CsvReader.Read(source.CsvPath(split));
        else
        {
            var (imagesPath, labelsPath) = (source.ImagesPath(split), source.LabelsPath(split));
            var pixels = IdxReader.ReadImages(imagesPath);
            var labels = IdxReader.ReadLabels(labelsPath);
            if (pixels.Length / 784 != labels.Length)
                throw new DataFormatException(imagesPath, $"holds {pixels.Length / 784} images but {Path.GetFileName(labelsPath)} holds {labels.Length} labels");
            data = new LabeledImages(pixels, labels, source.Directory);
        }
        var pixelsSha = Convert.ToHexStringLower(SHA256.HashData(data.Pixels));
        var labelsSha = Convert.ToHexStringLower(SHA256.HashData(data.Labels));
        var verification = source.IsSample
            ? "the bundled sample, cut from the official files by data/make_sample.py"
            : OfficialContent[split] == (pixelsSha, labelsSha)
                ? "official (SHA-256 of the decoded images and labels)"
                : "not the official release (checksums differ)";
        return new LoadedSplit(split, data, pixelsSha, labelsSha, verification);
    }
}
