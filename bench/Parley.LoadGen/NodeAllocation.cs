using System.Globalization;

namespace Parley.LoadGen;

/// <summary>
/// What the node allocates per message in the steady state: its total allocated bytes, as its startup hook writes them
/// each second with the node's clock, read twice while the generator sends at a fixed rate. Bytes over time, divided by
/// the rate, leaves out start-up, logins and warm-up, and does not depend on when the hook last wrote. It is per message
/// offered: while the node falls behind, per message it carries is more.
/// </summary>
internal static class NodeAllocation
{
    public readonly record struct Reading(long TotalAllocated, long AtMilliseconds);

    /// <summary>Reads the figures <paramref name="after"/> seconds from now and again <paramref name="span"/> seconds later.</summary>
    public static async Task<(Reading First, Reading Last)?> MeasureAsync(string gcFile, int after, int span, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(after), cancellationToken).ConfigureAwait(false);
        var first = Read(gcFile);
        await Task.Delay(TimeSpan.FromSeconds(span), cancellationToken).ConfigureAwait(false);
        var last = Read(gcFile);
        return first is { } f && last is { } l && l.AtMilliseconds > f.AtMilliseconds ? (f, l) : null;
    }

    public static string Summary((Reading First, Reading Last)? readings, int rate)
    {
        if (readings is not { } r)
        {
            return "not measured (start the node with DOTNET_STARTUP_HOOKS=<parley-loadgen.dll> and PARLEY_LOADGEN_GC_FILE)";
        }
        var seconds = (r.Last.AtMilliseconds - r.First.AtMilliseconds) / 1000.0;
        var bytes = r.Last.TotalAllocated - r.First.TotalAllocated;
        return $"{bytes / (rate * seconds):0} bytes per message ({bytes / 1e6:0.0} MB in {seconds:0.0} s at {rate} msg/s)";
    }

    private static Reading? Read(string gcFile)
    {
        if (!File.Exists(gcFile))
        {
            return null;
        }
        long? total = null, at = null;
        foreach (var field in File.ReadAllText(gcFile).Split(' '))
        {
            switch (field.Split('=', 2))
            {
                case ["totalAllocated", var value]:
                    total = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case ["at", var value]:
                    at = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
            }
        }
        return total is { } t && at is { } a ? new Reading(t, a) : null;
    }
}
