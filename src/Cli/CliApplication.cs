namespace FashionGpu.Cli;

public static class CliApplication
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("fashiongpu: commands arrive with the train/evaluate issue");
        return args.Length == 0 ? 0 : 2;
    }
}
