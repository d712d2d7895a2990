using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using Parley.Server.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Api;

/// <summary>
/// /metrics in Prometheus text format: OpenTelemetry's exporter over the node's instruments
/// (<see cref="ParleyMetrics.MeterNames"/>), so the exposition format is never written by hand. Open unless
/// Parley:Metrics:RequireToken asks for an API token; pushed over OTLP as well when Parley:Metrics:OtlpEndpoint is set.
/// </summary>
public sealed class MetricsEndpoint(ParleyOptions options) : IHttpEndpoints
{
    public const string Path = "/metrics";

    public static void AddToNode(IServiceCollection services, ParleyOptions options)
    {
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter([.. ParleyMetrics.MeterNames]).AddPrometheusExporter();
            if (options.Metrics.OtlpEndpoint is { Length: > 0 } collector)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    // The exporter appends /v1/metrics only to an endpoint it was not given; a site names the collector.
                    exporter.Endpoint = new Uri(new Uri(collector), "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.Metrics.OtlpIntervalSeconds * 1000;
                });
            }
        });
        services.AddSingleton<IHttpEndpoints, MetricsEndpoint>();
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        if (!options.Metrics.RequireToken)
        {
            endpoints.MapPrometheusScrapingEndpoint(Path);
            return;
        }
        endpoints.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: pipeline => pipeline.Use(async (context, next) =>
        {
            if (await ApiCaller.RefusalAsync(context, change: false) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }
            await next(context);
        }), optionsName: null);
    }
}
