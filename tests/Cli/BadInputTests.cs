using System.IO.Compression;
using System.Text.RegularExpressions;
using FashionGpu.Runtime.Checkpoints;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>Broken inputs every test here shares: corrupt data files, bad checkpoints, a finished run.</summary>
public sealed class BadInputs : IDisposable
{
    private readonly TempDirectory _temp = new();

    public BadInputs()
    {
        Directory.CreateDirectory(Path.Combine(Root, "gz"));
        foreach (var file in Directory.GetFiles(RepoPaths.Sample))
            File.Copy(file, Path.Combine(Root, "gz", Path.GetFileName(file)));
        var images = Path.Combine(Root, "gz", "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(images);
        bytes[2] = 99; // the compression method byte
        File.WriteAllBytes(images, bytes);

        var lines = File.ReadAllLines(Path.Combine(RepoPaths.SampleCsv, "fashion-mnist_train.csv"));
        foreach (var (name, cell) in new[] { ("negative", "-1"), ("fraction", "12.5") })
        {
            var cells = lines[2].Split(',');
            cells[5] = cell;
            Directory.CreateDirectory(Path.Combine(Root, name));
            File.WriteAllLines(Path.Combine(Root, name, "fashion-mnist_train.csv"), [lines[0], lines[1], string.Join(",", cells), .. lines[3..]]);
        }
        Directory.CreateDirectory(Path.Combine(Root, "empty"));
        File.WriteAllText(Path.Combine(Root, "empty", "fashion-mnist_train.csv"), "");

        File.WriteAllText(Path.Combine(Root, "text.safetensors"), "just some text, not a checkpoint\n");
        var seed = new ModelPlan(ModelPresets.Get("seed"));
        var state = ModelState.Fresh(seed, 1);
        state.Parameters[seed["dense1.weight"].Offset + 5] = float.NaN;
        Checkpoint.Save(Root, "diverged", seed, state, new CheckpointInfo());
        SafeTensors.Write(Path.Combine(Root, "short.safetensors"),
            [new NamedTensor("conv1.weight", [32, 1, 3, 3], new float[288])], new Dictionary<string, string>());
        File.WriteAllText(Path.Combine(Root, "a-file"), "x");
        Run = Path.Combine(Root, "run");
        var train = CliProcess.Run(Root, "train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--run-dir", Run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Snapshot = Listing(Root);
    }

    public string Root => _temp.Path;
    public string Run { get; }
    public IReadOnlyList<string> Snapshot { get; }

    public static IReadOnlyList<string> Listing(string directory) =>
        Directory.GetFileSystemEntries(directory, "*", SearchOption.AllDirectories)
            .Select(p => $"{Path.GetRelativePath(directory, p)} {(File.Exists(p) ? new FileInfo(p).Length : -1)} {(File.Exists(p) ? File.GetLastWriteTimeUtc(p).Ticks : 0)}")
            .Order().ToArray();

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Bad input through the real process, one row each: the exit code (2 for usage and configuration, 1 for failures),
/// exactly one `error:` line naming the problem (and the fix), no stack trace and no .NET exception type name, and
/// nothing written, moved or overwritten in the working directory or beside the inputs.
/// </summary>
public sealed class BadInputTests(BadInputs inputs) : IClassFixture<BadInputs>, IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    public static TheoryData<string, string, int, string> Cases => new()
    {
        // command line, environment (KEY=VALUE or empty), exit code, what the error line says
        { "train --batch-size abc", "", 2, "--batch-size must be a whole number (got 'abc')" },
        { "train --batch-size 1.5", "", 2, "--batch-size must be a whole number (got '1.5')" },
        { "train --epochs 1.5", "", 2, "--epochs must be a whole number (got '1.5')" },
        { "train --learning-rate inf", "", 2, "--learning-rate must be a finite number (got 'inf')" },
        { "train --learning-rate 0", "", 2, "--learning-rate must be a positive number (got 0)" },
        { "train --validation-split abc", "", 2, "--validation-split must be a finite number (got 'abc')" },
        { "train --limit-train abc", "", 2, "--limit-train must be a whole number (got 'abc')" },
        { "train --seed -1", "", 2, "--seed must be a whole number from 0 to 18446744073709551615 (got '-1')" },
        { "train --filters 0", "", 2, "--filters must be between 1 and 4096 (got 0)" },
        { "train --dropout 1.5", "", 2, "--dropout must be in [0, 1) (got 1.5)" },
        { "train --pixels grey", "", 2, "grey" },
        { "train --model resnet", "", 2, "--model resnet: no such built-in recipe or model" },
        { "train --augment rotate", "", 2, "--augment \"rotate\": cannot use \"rotate\"" },
        { "train --augment shift:9", "", 2, "shift:N (1 to 8 pixels)" },
        { "train --schedule linear", "", 2, "linear" },
        { "train --optimizer lamb", "", 2, "lamb" },
        { "train --label-smoothing 1", "", 2, "--label-smoothing must be in [0, 1) (got 1)" },
        { "train --momentum 1", "", 2, "--momentum must be in [0, 1) (got 1)" },
        { "train --weight-decay -0.1", "", 2, "--weight-decay must be 0 or more (got -0.1)" },
        { "train --patience 0", "", 2, "--patience must be at least 1 (got 0)" },
        { "train --patience 2 --validation-split 0 --data-dir {sample} --device simd", "", 2, "--patience stops on validation accuracy, and --validation-split 0 leaves no validation set" },
        { "train", "FASHIONGPU__Train__Augment=blur", 2, "configuration value Train:Augment must be none, or a comma-separated list" },
        { "evaluate --run {run} --tta mirror", "", 2, "mirror" },
        { "bench --to-accuracy 1.5", "", 2, "--to-accuracy must be in (0, 1] (got 1.5)" },
        { "bench --steps abc", "", 2, "--steps must be a whole number (got 'abc')" },
        { "bench --batch-size 4096 --device simd --data-dir {sample}", "", 2, "--batch-size 4096 is larger than the 2,000 images" },
        { "export --opset 99 --run {run}", "", 2, "--opset must be between 13 and 21 (got 99)" },
        { "trian", "", 2, "unknown command 'trian'; did you mean 'train'?" },
        { "evaluate", "", 2, "give exactly one of --run DIR or --checkpoint FILE" },
        { "train", "FASHIONGPU__Train__Epochs=abc", 2, "configuration value Train:Epochs is 'abc', it must be a whole number; fix FASHIONGPU__Train__Epochs" },
        { "train", "FASHIONGPU__Train__BatchSize=0", 2, "configuration value Train:BatchSize must be between 1 and 4096 (got 0)" },
        { "train --data-dir {root}/nowhere", "", 1, "nowhere" },
        { "train --data-dir {root}/gz --device simd", "", 1, "train-images-idx3-ubyte.gz: is not a valid gzip file" },
        { "train --data-dir {root}/negative --device simd", "", 1, "line 3: cell 6 is not a whole number from 0 to 255" },
        { "train --data-dir {root}/fraction --device simd", "", 1, "line 3: cell 6 is not a whole number from 0 to 255" },
        { "train --data-dir {root}/empty --device simd", "", 1, "fashion-mnist_train.csv: is empty" },
        { "train --resume {root}/nowhere", "", 2, "no such run directory" },
        { "train --resume {run} --epochs 2 --batch-size 64", "", 2, "--resume continues" },
        { "train --run-dir {run} --data-dir {sample}", "", 2, "already holds a run" },
        { "train --run-dir {root}/a-file/run --data-dir {sample}", "", 2, "is a file" },
        { "train --run-dir /proc/fashiongpu-run --data-dir {sample}", "", 2, "cannot create the run directory /proc/fashiongpu-run" },
        { "evaluate --checkpoint {root}/text.safetensors --data-dir {sample}", "", 1, "it is not a checkpoint" },
        { "evaluate --checkpoint {root}/short.safetensors --data-dir {sample}", "", 1, "has no tensor conv1.bias" },
        { "evaluate --checkpoint {root}/diverged.safetensors --data-dir {sample}", "", 1, "holds NaN or infinite values in dense1.weight" },
        { "evaluate --checkpoint {root}/nowhere.safetensors", "", 2, "does not exist" },
        { "evaluate --checkpoint {root}", "", 2, "is a directory" },
        { "evaluate --run {run} --output {root} --data-dir {sample}", "", 2, "is a directory" },
        { "predict --run {run} {root}", "", 1, "is a directory; give image files" },
        { "export --checkpoint {root}/text.safetensors", "", 1, "it is not a checkpoint" },
        { "export --run {run} --output {root}/a-file/model.onnx", "", 2, "--output {root}/a-file/model.onnx: {root}/a-file is a file, not a directory" },
        { "compare {run}", "", 2, "Required argument missing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_gets_one_error_line_and_changes_nothing(string commandLine, string environment, int exitCode, string message)
    {
        string Fill(string text) => text.Replace("{root}", inputs.Root, StringComparison.Ordinal).Replace("{run}", inputs.Run, StringComparison.Ordinal)
            .Replace("{sample}", RepoPaths.Sample, StringComparison.Ordinal);
        var args = Fill(commandLine).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        message = Fill(message);
        var env = environment.Length == 0 ? null : new Dictionary<string, string?> { [environment[..environment.IndexOf('=')]] = environment[(environment.IndexOf('=') + 1)..] };

        var (code, stdout, stderr) = CliProcess.Run(_work.Path, env, args);

        Assert.True(code == exitCode, $"exit {code}, want {exitCode}\n{stderr}");
        var errors = (stdout + stderr).Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 1, $"want exactly one error line:\n{stderr}");
        Assert.Contains(message, errors[0]);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Regex.IsMatch(stderr, @"\b[A-Z]\w*Exception\b|System\.\w+"), $"a .NET name in the message:\n{stderr}");
        Assert.Empty(Directory.GetFileSystemEntries(_work.Path));
        Assert.Equal(inputs.Snapshot, BadInputs.Listing(inputs.Root));
    }
}
