using Microsoft.AspNetCore.Mvc;
using Parley.Admin.Dashboard;

namespace Parley.Admin.Pages;

/// <summary>The dashboard: this node's figures now, and (for its script) the samples of the last hour as JSON.</summary>
public sealed class DashboardModel(DashboardSamples samples) : ConsolePage
{
    public static int IntervalSeconds => (int)DashboardSamples.Interval.TotalSeconds;

    public string NodeName => Environment.MachineName;

    public DashboardSample Latest { get; private set; }

    public void OnGet() => Latest = samples.Since(0) is { Count: > 0 } all ? all[^1] : default;

    /// <summary>The samples after <paramref name="after"/> (Unix seconds), which the page's script polls for.</summary>
    public JsonResult OnGetSamples(long after) => new(samples.Since(after));
}
