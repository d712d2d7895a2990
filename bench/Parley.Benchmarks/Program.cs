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

        // The archive's writer under a chat load: a fresh database filled through the store, no BenchmarkDotNet.
        if (args is ["archive-writes", .. var writeOptions])
        {
            await ArchiveWrites.RunAsync(writeOptions);
            return;
        }

        // The least a delivered stanza costs on this machine: one thread, one TLS record and one send each, no node.
        // (getrusage per thread is Linux's.)
        if (args is ["transport-floor", .. var floorOptions] && OperatingSystem.IsLinux())
        {
            await TransportFloor.RunAsync(floorOptions);
            return;
        }

        // What a checkpoint's fsync costs this file system, with no database around it.
        if (args is ["storage-floor", .. var storageOptions])
        {
            await StorageFloor.RunAsync(storageOptions);
            return;
        }

        // A throwaway slapd of tens of thousands of people, filled once: as little for BenchmarkDotNet as the above.
        if (args is ["directory", .. var directoryOptions])
        {
            await DirectorySyncBenchmark.RunAsync(directoryOptions);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
