using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Parley.Server.Diagnostics;
using Parley.Server.Http;

namespace Parley.Server.Api;

/// <summary>
/// /metrics in Prometheus text format: OpenTelemetry's exporter over the node's instruments
/// (<see cref="ParleyMetrics.MeterNames"/>), so the exposition format is never written by hand.
/// </summary>
public sealed class MetricsEndpoint : IHttpEndpoints
{
    public const string Path = "/metrics";

    public static void AddToNode(IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter([.. ParleyMetrics.MeterNames])
            .AddPrometheusExporter());
        services.AddSingleton<IHttpEndpoints, MetricsEndpoint>();
    }

    public void Map(IEndpointRouteBuilder endpoints) => endpoints.MapPrometheusScrapingEndpoint(Path);
}
