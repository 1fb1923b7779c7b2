using System.Buffers.Binary;
using System.IO.Compression;
using FashionGpu.Runtime;
using FashionGpu.Runtime.Data;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Runtime;

public sealed class DataTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static byte[] Idx(int magic, params int[] dimensions) =>
        [.. BigEndian(magic), .. dimensions.SelectMany(BigEndian)];

    private static byte[] BigEndian(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return b;
    }

    private string Write(string name, byte[] bytes, bool gzip = false)
    {
        var path = _temp.File(name);
        if (gzip)
        {
            using var file = File.Create(path);
            using var zip = new GZipStream(file, CompressionLevel.Fastest);
            zip.Write(bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }
        return path;
    }

    private static void Fails(Action read, params string[] expected)
    {
        var e = Assert.ThrowsAny<FashionGpuException>(read);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var part in expected)
            Assert.Contains(part, e.Message);
    }

    [Fact]
    public void The_bundled_sample_reads_as_2000_training_and_500_test_images()
    {
        var source = DataLocator.Locate(RepoPaths.Sample, [Split.Train, Split.Test]);
        var train = FashionMnist.Load(source, Split.Train);
        var test = FashionMnist.Load(source, Split.Test);
        Assert.Equal((2000, 500), (train.Data.Count, test.Data.Count));
        Assert.Equal(Enumerable.Range(0, 10), train.Data.Labels.Distinct().Order().Select(l => (int)l));
        Assert.False(train.IsOfficial);
        Assert.Equal(64, train.PixelsSha256.Length);
    }

    [Fact]
    public void The_CSV_reader_and_the_IDX_reader_agree_on_the_same_images()
    {
        var csvTrain = CsvReader.Read(Path.Combine(RepoPaths.SampleCsv, "fashion-mnist_train.csv"));
        var idxPixels = IdxReader.ReadImages(Path.Combine(RepoPaths.Sample, "train-images-idx3-ubyte.gz"));
        var idxLabels = IdxReader.ReadLabels(Path.Combine(RepoPaths.Sample, "train-labels-idx1-ubyte.gz"));
        Assert.Equal(100, csvTrain.Count);
        Assert.Equal(idxLabels[..100], csvTrain.Labels);
        Assert.Equal(idxPixels[..(100 * 784)], csvTrain.Pixels);
        var source = DataLocator.Locate(RepoPaths.SampleCsv, [Split.Train, Split.Test]);
        Assert.Equal(DataFormat.Csv, source.Format);
    }

    [Fact]
    public void Raw_and_gzip_IDX_files_read_the_same()
    {
        var images = Idx(IdxReader.ImagesMagic, 2, 28, 28).Concat(Enumerable.Range(0, 2 * 784).Select(i => (byte)(i % 256))).ToArray();
        Assert.Equal(IdxReader.ReadImages(Write("a-images", images)), IdxReader.ReadImages(Write("a-images.gz", images, gzip: true)));
    }

    [SkippableFact]
    public void Official_files_are_recognised_by_their_checksums()
    {
        if (!Directory.Exists(RepoPaths.SystemData))
            Assert.NotEqual("true", Environment.GetEnvironmentVariable("CI"));
        Skip.IfNot(Directory.Exists(RepoPaths.SystemData), $"{RepoPaths.SystemData} is not installed (apt-get install dataset-fashion-mnist)");
        var source = DataLocator.Locate(RepoPaths.SystemData, [Split.Test]);
        var test = FashionMnist.Load(source, Split.Test);
        Assert.Equal(10000, test.Data.Count);
        Assert.True(test.IsOfficial, test.Verification);

        // The same files recompressed still are; one pixel changed is not.
        var labels = Idx(IdxReader.LabelsMagic, 10000).Concat(test.Data.Labels).ToArray();
        var pixels = Idx(IdxReader.ImagesMagic, 10000, 28, 28).Concat(test.Data.Pixels).ToArray();
        Write("t10k-labels-idx1-ubyte.gz", labels, gzip: true);
        Write("t10k-images-idx3-ubyte.gz", pixels, gzip: true);
        Assert.Equal(test.Verification, FashionMnist.Load(DataLocator.Locate(_temp.Path, [Split.Test]), Split.Test).Verification);
        pixels[^1] ^= 1;
        Write("t10k-images-idx3-ubyte.gz", pixels, gzip: true);
        Assert.Equal("not the official release (checksums differ)", FashionMnist.Load(DataLocator.Locate(_temp.Path, [Split.Test]), Split.Test).Verification);
    }

    [Fact]
    public void IDX_errors_name_the_file_and_the_problem()
    {
        var images = Idx(IdxReader.ImagesMagic, 3, 28, 28).Concat(new byte[3 * 784]).ToArray();
        Fails(() => IdxReader.ReadImages(Write("magic", Idx(IdxReader.LabelsMagic, 3).Concat(new byte[3]).ToArray())),
            "magic", "magic number 0x00000801 is not an IDX image file's 0x00000803");
        Fails(() => IdxReader.ReadImages(Write("short.gz", images[..^100], gzip: true)), "short.gz", "truncated", "3 items");
        Fails(() => IdxReader.ReadImages(Write("header", images[..10])), "header", "truncated", "ends inside its header");
        Fails(() => IdxReader.ReadImages(Write("trailing", [.. images, 7])), "trailing", "bytes after the 3 items");
        Fails(() => IdxReader.ReadImages(Write("size", Idx(IdxReader.ImagesMagic, 1, 32, 32).Concat(new byte[1024]).ToArray())), "size", "32x32");
        Fails(() => IdxReader.ReadLabels(Write("labels", Idx(IdxReader.LabelsMagic, 3).Concat(new byte[] { 1, 12, 3 }).ToArray())),
            "labels", "label 12 at index 1 is outside 0..9");
        Fails(() => IdxReader.ReadImages(Write("bad.gz", [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7])), "bad.gz", "not a valid gzip file");
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        Write("t10k-images-idx3-ubyte", Idx(IdxReader.ImagesMagic, 3, 28, 28).Concat(new byte[3 * 784]).ToArray());
        Write("t10k-labels-idx1-ubyte", Idx(IdxReader.LabelsMagic, 2).Concat(new byte[2]).ToArray());
        var source = DataLocator.Locate(_temp.Path, [Split.Test]);
        Fails(() => FashionMnist.Load(source, Split.Test), "t10k-images-idx3-ubyte", "holds 3 images but t10k-labels-idx1-ubyte holds 2 labels");
    }

    [Fact]
    public void CSV_errors_name_the_file_and_line()
    {
        var header = "label," + string.Join(",", Enumerable.Range(1, 784).Select(i => $"pixel{i}")) + "\n";
        var row = "3," + string.Join(",", Enumerable.Repeat("0", 784)) + "\n";
        string Csv(string name, string text) => Write(name, System.Text.Encoding.ASCII.GetBytes(text));

        Assert.Equal(2, CsvReader.Read(Csv("ok.csv", header + row + row.TrimEnd('\n'))).Count);
        Fails(() => CsvReader.Read(Csv("short.csv", header + row + "3,0,0\n")), "short.csv", "line 3", "3 cells, expected 785");
        Fails(() => CsvReader.Read(Csv("word.csv", header + row.Replace("3,0,0", "3,0,x"))), "word.csv", "line 2", "cell 3 is not a whole number from 0 to 255");
        Fails(() => CsvReader.Read(Csv("label.csv", header + "11" + row[1..])), "label.csv", "line 2", "label 11 is outside 0..9");
        Fails(() => CsvReader.Read(Csv("pixel.csv", header + row.Replace("3,0,", "3,256,"))), "pixel.csv", "line 2", "pixel1 = 256");
        Fails(() => CsvReader.Read(Csv("header.csv", "a,b,c\n" + row)), "header.csv", "line 1", "label,pixel1");
        Fails(() => CsvReader.Read(Csv("empty.csv", header)), "empty.csv", "no rows");
        Fails(() => CsvReader.Read(Csv("blank.csv", header + row.Replace("3,0,0,", "3,0,,"))), "blank.csv", "line 2", "cell 3 is empty");
    }

    [Fact]
    public void A_named_directory_without_data_is_an_error_never_a_fallback()
    {
        Fails(() => DataLocator.Locate(_temp.Path, [Split.Train]), "--data-dir", _temp.Path, "train-images-idx3-ubyte[.gz]", "fashion-mnist_train.csv");
        Fails(() => DataLocator.Locate(null, [Split.Train], environmentValue: _temp.Path), "$FASHIONGPU_DATA", _temp.Path);
        Fails(() => DataLocator.Locate(_temp.File("nowhere"), [Split.Test]), "does not exist");
    }

    [Fact]
    public void The_search_falls_back_in_order_and_ends_at_the_sample()
    {
        var empty = _temp.File("empty");
        Directory.CreateDirectory(empty);
        var found = DataLocator.Locate(null, [Split.Train, Split.Test], null,
            [(empty, DataOrigin.WorkingDirectory), (_temp.File("missing"), DataOrigin.System), (RepoPaths.Sample, DataOrigin.Sample)]);
        Assert.Equal(DataOrigin.Sample, found.Origin);
        Assert.True(found.IsSample);
        Assert.Equal(RepoPaths.Sample, found.Directory);
        var first = DataLocator.Locate(null, [Split.Train], null,
            [(RepoPaths.SampleCsv, DataOrigin.WorkingDirectory), (RepoPaths.Sample, DataOrigin.Sample)]);
        Assert.Equal(DataOrigin.WorkingDirectory, first.Origin);
        Fails(() => DataLocator.Locate(null, [Split.Train], null, [(empty, DataOrigin.Sample)]), "no Fashion-MNIST data found", "apt-get install dataset-fashion-mnist");
    }
}
