using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Runtime.InteropServices;

/// <summary>
/// Lets the load generator see the node's managed heap without changing the node: run the node with
/// DOTNET_STARTUP_HOOKS=/path/to/parley-loadgen.dll and PARLEY_LOADGEN_GC_FILE=/some/file, and this writes the
/// node's GC figures (and glibc's count of native memory in use) to that file every second; `logins` and `chat` read them with `--node-gc-file /some/file`. When the file
/// "/some/file.collect" appears, it runs a full blocking GC, writes the figures (now the live managed heap) and
/// deletes that file.
/// With PARLEY_LOADGEN_ALLOC_FILE=/other/file as well, it samples the runtime's allocation events (one per ≈100 KB
/// allocated, naming the type allocated then) and writes the types that took most, so an allocation profile needs no
/// tool that this machine lacks.
/// .NET finds a startup hook only as a type named StartupHook outside any namespace.
/// </summary>
internal static class StartupHook
{
    public const string FileVariable = "PARLEY_LOADGEN_GC_FILE";
    public const string AllocationFileVariable = "PARLEY_LOADGEN_ALLOC_FILE";

    private static Timer? s_timer;
    private static Timer? s_allocationTimer;
    private static AllocationSampler? s_sampler;

    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable(FileVariable);
        if (!string.IsNullOrEmpty(path))
        {
            s_timer = new Timer(_ => Write(path), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        }
        var allocations = Environment.GetEnvironmentVariable(AllocationFileVariable);
        if (!string.IsNullOrEmpty(allocations))
        {
            s_sampler = new AllocationSampler();
            s_allocationTimer = new Timer(_ => s_sampler.Write(allocations), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Bytes allocated per type, from the runtime's GCAllocationTick events (a sample every ≈100 KB).</summary>
    private sealed class AllocationSampler : EventListener
    {
        private const int GCAllocationTick = 10;
        private readonly ConcurrentDictionary<string, long> _bytes = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventId != GCAllocationTick || e.Payload is null)
            {
                return;
            }
            var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
            var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], CultureInfo.InvariantCulture) : 100_000;
            _bytes.AddOrUpdate(type, amount, (_, sum) => sum + amount);
        }

        public void Write(string path)
        {
            // A timer callback may start before the last one ended, on a busy node; one writer at a time.
            if (!Monitor.TryEnter(_bytes))
            {
                return;
            }
            try
            {
                WriteNow(path);
            }
            finally
            {
                Monitor.Exit(_bytes);
            }
        }

        private void WriteNow(string path)
        {
            var lines = _bytes.OrderByDescending(pair => pair.Value).Take(60)
                .Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Value,14} {pair.Key}"));
            var temporary = path + ".tmp";
            File.WriteAllLines(temporary, lines);
            File.Move(temporary, path, overwrite: true);
        }
    }

    /// <summary>
    /// Bytes of native memory the node has from glibc's malloc and not freed (OpenSSL, SQLite, the runtime): mallinfo2's
    /// in-use small chunks plus its mmapped ones. -1 where there is no glibc 2.33 or later.
    /// </summary>
    private static long MallocInUse()
    {
        try
        {
            var info = mallinfo2();
            return (long)(info.uordblks + info.hblkhd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return -1;
        }
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern MallInfo2 mallinfo2();

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    private static void Write(string path)
    {
        var collectRequest = path + ".collect";
        var collect = File.Exists(collectRequest);
        if (collect)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        var info = GC.GetGCMemoryInfo();
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"totalAllocated={GC.GetTotalAllocatedBytes()} heap={info.HeapSizeBytes} committed={info.TotalCommittedBytes} fragmented={info.FragmentedBytes} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} server={System.Runtime.GCSettings.IsServerGC} mallocInUse={MallocInUse()} at={Environment.TickCount64}");
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, line);
        File.Move(temporary, path, overwrite: true);
        if (collect)
        {
            // Deleted only after the figures are written: its absence tells the generator they are ready.
            File.Delete(collectRequest);
        }
    }
}
