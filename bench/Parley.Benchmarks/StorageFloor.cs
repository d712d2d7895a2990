using System.Diagnostics;

namespace Parley.Benchmarks;

/// <summary>
/// What a durable write costs this machine's file system at the least, with no database: the fsync that a SQLite
/// checkpoint makes after copying its WAL pages into the database file. <c>--pages</c> random 4 KiB pages (a
/// checkpoint's worth: SQLite's default is 1,000) are written into a 200 MiB file and synced, <c>--rounds</c> times;
/// then one page at a time. The file is in <c>--dir</c> (default: the temporary folder) and is deleted afterwards.
/// </summary>
internal static class StorageFloor
{
    private const int PageSize = 4096;
    private const int FilePages = 51_200;

    public static async Task RunAsync(string[] args)
    {
        var pages = ArchiveWrites.Option(args, "--pages", 1_000);
        var rounds = ArchiveWrites.Option(args, "--rounds", 60);
        var at = Array.IndexOf(args, "--dir");
        var directory = at >= 0 && at + 1 < args.Length ? args[at + 1] : Path.GetTempPath();
        var path = Path.Combine(directory, $"parley-storage-floor-{Environment.ProcessId}");
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            var page = new byte[PageSize];
            Random.Shared.NextBytes(page);
            // A database file has its blocks: fill it first, so the measured syncs allocate nothing.
            for (var i = 0; i < FilePages; i++)
            {
                RandomAccess.Write(file.SafeFileHandle, page, (long)i * PageSize);
            }
            file.Flush(flushToDisk: true);

            var many = new double[rounds];
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < pages; i++)
                {
                    RandomAccess.Write(file.SafeFileHandle, page, (long)Random.Shared.Next(FilePages) * PageSize);
                }
                many[round] = Sync(file);
            }
            var one = new double[rounds * 4];
            for (var round = 0; round < one.Length; round++)
            {
                RandomAccess.Write(file.SafeFileHandle, page, (long)Random.Shared.Next(FilePages) * PageSize);
                one[round] = Sync(file);
            }
            Console.WriteLine($"storage-floor in {directory}: fsync after {pages:N0} random 4 KiB pages: {Summary(many)}; after one page: {Summary(one)}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double Sync(FileStream file)
    {
        var started = Stopwatch.GetTimestamp();
        file.Flush(flushToDisk: true);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static string Summary(double[] milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        return $"p50 {sorted[sorted.Length / 2]:0.00} ms, p90 {sorted[sorted.Length * 9 / 10]:0.00} ms, max {sorted[^1]:0.00} ms ({sorted.Length} syncs)";
    }
}
