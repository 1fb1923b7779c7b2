using System.CommandLine;
using FashionGpu.Cli;
using FashionGpu.Runtime.Model;
using FashionGpu.Tests.Support;

namespace FashionGpu.Tests.Cli;

/// <summary>The manual keeps up with the program: every flag and every layer kind is documented.</summary>
public sealed class DocsTests
{
    private static string Reference => File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "cli.md"));

    private static IEnumerable<(string Command, Option Option)> Options(Command command, string path) =>
        command.Options.Select(o => (path, o)).Concat(command.Subcommands.SelectMany(c => Options(c, $"{path} {c.Name}".Trim())));

    [Fact]
    public void Every_flag_of_every_command_is_in_the_reference()
    {
        var reference = Reference;
        var missing = Options(CliApplication.Build(), "").Where(o => !reference.Contains($"`{o.Option.Name}", StringComparison.Ordinal))
            .Select(o => $"{o.Command}: {o.Option.Name}").Distinct().ToArray();
        Assert.True(missing.Length == 0, $"flags missing from docs/cli.md: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_command_is_in_the_reference_and_every_layer_kind_in_its_table()
    {
        var reference = Reference;
        foreach (var command in CliApplication.Build().Subcommands)
            Assert.Contains($"`{command.Name}", reference);
        foreach (var kind in LayerKinds.All)
            Assert.Contains($"| `{kind.Name}` |", reference);
    }
}
