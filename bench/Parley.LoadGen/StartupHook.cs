using System.Globalization;

/// <summary>
/// Lets the load generator see the node's managed heap without changing the node: run the node with
/// DOTNET_STARTUP_HOOKS=/path/to/parley-loadgen.dll and PARLEY_LOADGEN_GC_FILE=/some/file, and this writes the
/// node's GC figures to that file every second; `logins --node-gc-file /some/file` reads them. When the file
/// "/some/file.collect" appears, it runs a full blocking GC, writes the figures (now the live managed heap) and
/// deletes that file.
/// .NET finds a startup hook only as a type named StartupHook outside any namespace.
/// </summary>
internal static class StartupHook
{
    public const string FileVariable = "PARLEY_LOADGEN_GC_FILE";

    private static Timer? s_timer;

    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable(FileVariable);
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        s_timer = new Timer(_ => Write(path), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
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
            $"totalAllocated={GC.GetTotalAllocatedBytes()} heap={info.HeapSizeBytes} committed={info.TotalCommittedBytes} fragmented={info.FragmentedBytes} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} server={System.Runtime.GCSettings.IsServerGC}");
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
