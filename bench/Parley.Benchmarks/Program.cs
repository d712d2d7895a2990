using BenchmarkDotNet.Running;

namespace Parley.Benchmarks;

public static class Program
{
    public static async Task Main(string[] args)
    {
        // Filling ten million messages per store is no job for BenchmarkDotNet's process per benchmark.
        if (args is ["storage", .. var options])
        {
            await StorageSideBySide.RunAsync(options);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
