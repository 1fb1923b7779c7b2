namespace FashionGpu.Cli;

public static class Program
{
    public static int Main(string[] args) => CliApplication.Run(args);
}
