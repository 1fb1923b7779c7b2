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

        // Models whose numbers are valid as doubles but not as the floats the engines use, or too large to hold.
        foreach (var (name, layers, scale) in new[]
                 {
                     ("rate-rounds-to-1", """{"type": "flatten"}, {"type": "dropout", "rate": 0.99999999999}, {"type": "dense", "units": 10}""", "0.003921569"),
                     ("scale-underflows", """{"type": "flatten"}, {"type": "dense", "units": 10}""", "1e-50"),
                     ("scale-overflows", """{"type": "flatten"}, {"type": "dense", "units": 10}""", "1e39"),
                     ("dense-past-int32", """{"type": "flatten"}, {"type": "dense", "units": 40000}, {"type": "dense", "units": 40000}, {"type": "dense", "units": 10}""", "1"),
                     ("conv-then-huge-dense", """{"type": "conv2d", "filters": 4096, "kernel": 3, "padding": "same"}, {"type": "flatten"}, {"type": "dense", "units": 65536}, {"type": "dense", "units": 10}""", "1"),
                     ("wide-maps", """{"type": "conv2d", "filters": 4096, "kernel": 5, "padding": "same"}, {"type": "conv2d", "filters": 4096, "kernel": 5, "padding": "same"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}""", "1"),
                     // About 210 GB of activations at batch 4096: more than any machine these tests run on.
                     ("past-memory", string.Join(", ", Enumerable.Repeat("""{"type": "conv2d", "filters": 512, "kernel": 5, "padding": "same"}""", 8)) + """, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}""", "1"),
                 })
            File.WriteAllText(Path.Combine(Root, name + ".json"), $$"""{"input": [1, 28, 28], "scale": {{scale}}, "layers": [{{layers}}]}""");

        // Data: a test set of 0 images, and an image file whose header claims 2^31 - 1 images.
        Directory.CreateDirectory(Path.Combine(Root, "no-test-images"));
        File.WriteAllBytes(Path.Combine(Root, "no-test-images", "t10k-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]);
        File.WriteAllBytes(Path.Combine(Root, "no-test-images", "t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 0]);
        Directory.CreateDirectory(Path.Combine(Root, "huge-header"));
        File.WriteAllBytes(Path.Combine(Root, "huge-header", "train-images-idx3-ubyte"), [0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]);
        File.Copy(Path.Combine(RepoPaths.Sample, "train-labels-idx1-ubyte.gz"), Path.Combine(Root, "huge-header", "train-labels-idx1-ubyte.gz"));

        // Outputs that are not regular files: a named pipe, and a symbolic link to a directory.
        Assert.Equal(0, ExternalTool.Run("mkfifo", Path.Combine(Root, "fifo")).ExitCode);
        File.CreateSymbolicLink(Path.Combine(Root, "link-to-dir"), Path.Combine(Root, "gz"));

        // Sweep files with every kind of mistake the planner must catch before anything runs.
        foreach (var (name, sweep) in new[]
                 {
                     ("seed-fraction", """{"grid": {"epochs": [1]}, "seeds": [1.5]}"""),
                     ("seed-negative", """{"grid": {"epochs": [1]}, "seeds": [-1]}"""),
                     ("seed-null", """{"grid": {"epochs": [1]}, "seeds": [null]}"""),
                     ("trials-string", """{"random": {"dropout": {"uniform": [0.1, 0.2]}}, "trials": "5"}"""),
                     ("trials-fraction", """{"random": {"dropout": {"uniform": [0.1, 0.2]}}, "trials": 2.5}"""),
                     ("bound-string", """{"random": {"dropout": {"uniform": ["a", 0.2]}}, "trials": 5}"""),
                     ("grid-null", """{"grid": {"epochs": [null]}}"""),
                     ("test-string", """{"grid": {"epochs": [1]}, "test": "yes"}"""),
                     ("grid-too-big", """{"grid": {"epochs": [1,2,3,4,5,6,7,8,9,10], "batch_size": [1,2,3,4,5,6,7,8,9,10], "hidden": [1,2,3,4,5,6,7,8,9,10], "filters": [1,2,3,4,5,6,7,8,9,10], "dropout": [0.1, 0.2]}}"""),
                     ("missing-model-file", """{"grid": {"model_file": ["no-such-model.json"]}}"""),
                     ("dropout-rounds-to-1", """{"grid": {"dropout": [0.99999999]}}"""),
                     ("tta-unknown", """{"grid": {"epochs": [1]}, "tta": "rotate"}"""),
                     ("tta-metric-without-tta", """{"grid": {"epochs": [1]}, "metric": "tta_accuracy"}"""),
                     ("ema-one", """{"grid": {"ema": [1]}}"""),
                 })
            File.WriteAllText(Path.Combine(Root, "sweep-" + name + ".json"), sweep);
        Run = Path.Combine(Root, "run");
        var train = CliProcess.Run(Root, "train", "--data-dir", RepoPaths.Sample, "--limit-train", "100", "--epochs", "1", "--run-dir", Run, "--device", "simd");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Snapshot = Listing(Root);
        RunSnapshot = Listing(Run);
    }

    public string Root => _temp.Path;
    public string Run { get; }
    public IReadOnlyList<string> Snapshot { get; }
    public IReadOnlyList<string> RunSnapshot { get; }

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
        { "train --ema 1", "", 2, "--ema must be in [0, 1) (got 1)" },
        { "train --ema 0.999999999", "", 2, "--ema must be in [0, 1) (got 0.999999999, which is 1 as a 32-bit float)" },
        { "train --augment flip,flip-alternate", "", 2, "cannot use \"flip-alternate\"" },
        { "evaluate --run {run} --tta rotate", "", 2, "rotate" },
        { "bench --tta flip --data-dir {sample}", "", 2, "--tta, --seed and --peer-seconds belong to --to-accuracy" },
        { "bench --to-accuracy 0.5 --peer-seconds 0", "", 2, "--peer-seconds must be a positive number of seconds (got 0)" },
        { "train --momentum 1", "", 2, "--momentum must be in [0, 1) (got 1)" },
        { "train --weight-decay -0.1", "", 2, "--weight-decay must be 0 or more (got -0.1)" },
        { "train --patience 0", "", 2, "--patience must be at least 1 (got 0)" },
        { "train --checkpoint-every 0", "", 2, "--checkpoint-every must be at least 1 (got 0)" },
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

        // Values valid as doubles that the 32-bit floats of the engines cannot hold: refused before anything runs.
        { "train --dropout 0.99999999", "", 2, "--dropout must be in [0, 1) (got 0.99999999, which is 1 as a 32-bit float)" },
        { "train --momentum 0.999999999", "", 2, "--momentum must be in [0, 1) (got 0.999999999, which is 1 as a 32-bit float)" },
        { "train --label-smoothing 0.99999999", "", 2, "--label-smoothing must be in [0, 1) (got 0.99999999, which is 1 as a 32-bit float)" },
        { "train --learning-rate 1e-50", "", 2, "--learning-rate must be a positive number (got 1E-50, which is 0 as a 32-bit float)" },
        { "train --weight-decay 1e39", "", 2, "--weight-decay must be 0 or more (got 1E+39, which is infinite as a 32-bit float)" },
        { "train --warmup-epochs 1e39", "", 2, "--warmup-epochs must be 0 or more (got 1E+39, which is infinite as a 32-bit float)" },
        { "train", "FASHIONGPU__Train__Dropout=0.99999999", 2, "configuration value Train:Dropout must be in [0, 1) (got 0.99999999, which is 1 as a 32-bit float)" },
        { "train --model-file {root}/rate-rounds-to-1.json --data-dir {sample}", "", 1, "\"rate\" must be in [0, 1) (got 0.99999999999, which is 1 as a 32-bit float)" },
        { "train --model-file {root}/scale-underflows.json --data-dir {sample}", "", 1, "\"scale\" must be a positive number with 255 × scale below 3.4e38 (got 1E-50, which is 0 as a 32-bit float)" },
        { "train --model-file {root}/scale-overflows.json --data-dir {sample}", "", 1, "(got 1E+39, which is infinite as a 32-bit float)" },
        // Sizes at and past 32 bits.
        { "train --epochs 2147483648", "", 2, "--epochs must be a whole number (got '2147483648')" },
        { "train --batch-size 4097", "", 2, "--batch-size must be between 1 and 4096 (got 4097)" },
        { "train --hidden 65537", "", 2, "--hidden must be between 1 and 65536 (got 65537)" },
        { "train --model-file {root}/dense-past-int32.json --data-dir {sample}", "", 1, "layer 3 (dense): its weight alone has 1,600,000,000 parameters (1,631,400,000 with the layers before it), and a model holds at most 536,870,911" },
        { "train --model-file {root}/conv-then-huge-dense.json --data-dir {sample}", "", 1, "layer 3 (dense): its weight alone has 210,453,397,504 parameters" },
        { "train --model-file {root}/past-memory.json --data-dir {sample} --device simd --batch-size 4096", "", 1, "the model needs about" },
        { "bench --model-file {root}/past-memory.json --data-dir {sample} --device cpu --batch-size 4096", "", 1, "GiB; use a smaller --batch-size or a smaller model" },
        { "train --model-file {root}/wide-maps.json --data-dir {sample} --device simd --batch-size 4096", "", 1, "layer 1 (conv2d 4096@5x5 same): its output for a batch of 4,096 has 13,153,337,344 values" },
        { "train --data-dir {root}/huge-header --device simd", "", 1, "its header claims 2,147,483,647 images" },
        { "evaluate --run {run} --data-dir {root}/no-test-images", "", 1, "holds no images (its header says 0)" },
        { "predict --run {run} {root}/no-test-images/t10k-images-idx3-ubyte", "", 1, "holds no images" },
        // Empty paths and configuration values that are not flags.
        { "train --run-dir {empty}", "", 2, "--run-dir is empty; give a directory" },
        { "train --data-dir {empty}", "", 2, "--data-dir is empty; give a directory" },
        { "evaluate --checkpoint {empty}", "", 2, "--checkpoint is empty; give a file" },
        { "sweep local {root}", "FASHIONGPU__Sweep__Parallel=0", 2, "configuration value Sweep:Parallel must be at least 1 (got 0)" },
        { "bench --data-dir {sample}", "FASHIONGPU__Bench__Steps=0", 2, "configuration value Bench:Steps must be at least 1 (got 0)" },
        // Outputs that are not regular files, or in a directory that does not exist: refused before any work.
        { "evaluate --run {run} --output {root}/fifo --data-dir {sample}", "", 2, "--output {root}/fifo is a named pipe, not a regular file" },
        { "evaluate --run {run} --output /dev/null --data-dir {sample}", "", 2, "--output /dev/null is a device, not a regular file" },
        { "export --run {run} --output /dev/null", "", 2, "--output /dev/null is a device, not a regular file" },
        { "export --run {run} --output {root}/fifo", "", 2, "is a named pipe, not a regular file" },
        { "export --run {run} --output {root}/link-to-dir", "", 2, "--output {root}/link-to-dir is a directory" },
        { "export --run {run} --output {root}/no-such-dir/model.onnx", "", 2, "the directory {root}/no-such-dir does not exist" },
        { "evaluate --run {run} --output {root}/no-such-dir/report.txt --data-dir {sample}", "", 2, "the directory {root}/no-such-dir does not exist" },
        // Sweep files: every mistake named before anything is planned.
        { "sweep plan {root}/sweep-seed-fraction.json --dir {root}/planned", "", 1, "seeds[0] is 1.5; it must be a whole number" },
        { "sweep plan {root}/sweep-seed-negative.json --dir {root}/planned", "", 1, "seeds[0] is -1; it must be a whole number" },
        { "sweep plan {root}/sweep-seed-null.json --dir {root}/planned", "", 1, "seeds[0] is null; it must be a whole number" },
        { "sweep plan {root}/sweep-trials-string.json --dir {root}/planned", "", 1, "\"trials\" is \"5\"; it must be a whole number from 1 to 10000" },
        { "sweep plan {root}/sweep-trials-fraction.json --dir {root}/planned", "", 1, "\"trials\" is 2.5; it must be a whole number from 1 to 10000" },
        { "sweep plan {root}/sweep-bound-string.json --dir {root}/planned", "", 1, "random dropout: uniform is [\"a\",0.2]; it needs two numbers [low, high]" },
        { "sweep plan {root}/sweep-grid-null.json --dir {root}/planned", "", 1, "grid epochs: null is not a whole number" },
        { "sweep plan {root}/sweep-test-string.json --dir {root}/planned", "", 1, "\"test\" is \"yes\"; use true or false" },
        { "sweep plan {root}/sweep-grid-too-big.json --dir {root}/planned", "", 1, "the grid times the seeds makes more than 10,000 trials" },
        { "sweep plan {root}/sweep-missing-model-file.json --dir {root}/planned", "", 1, "no-such-model.json does not exist" },
        { "sweep plan {root}/sweep-dropout-rounds-to-1.json --dir {root}/planned", "", 1, "grid dropout: --dropout must be in [0, 1) (got 0.99999999, which is 1 as a 32-bit float)" },
        { "sweep plan {root}/sweep-tta-unknown.json --dir {root}/planned", "", 1, "\"tta\" is \"rotate\"; use \"none\", \"flip\", \"shift\", \"flip,shift\"" },
        { "sweep plan {root}/sweep-tta-metric-without-tta.json --dir {root}/planned", "", 1, "\"metric\" is \"tta_accuracy\" but no \"tta\" is given" },
        { "sweep plan {root}/sweep-ema-one.json --dir {root}/planned", "", 1, "grid ema: --ema must be in [0, 1) (got 1)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_gets_one_error_line_and_changes_nothing(string commandLine, string environment, int exitCode, string message)
    {
        string Fill(string text) => text.Replace("{root}", inputs.Root, StringComparison.Ordinal).Replace("{run}", inputs.Run, StringComparison.Ordinal)
            .Replace("{sample}", RepoPaths.Sample, StringComparison.Ordinal);
        var args = Fill(commandLine).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "{empty}" ? "" : a).ToArray();
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
        Assert.Equal(inputs.RunSnapshot, BadInputs.Listing(inputs.Run));
    }
}
