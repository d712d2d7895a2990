namespace Parley.Server.Tests.Api;

/// <summary>
/// Tests that read a node's exported metrics run alone. Every node in the test process creates a meter of the same
/// name, and OpenTelemetry's SDK stops a metric for all meters of a name once one of them is disposed
/// (open-telemetry/opentelemetry-dotnet#6412): another test's node ending would stop this node's counters. A node
/// runs alone in its own process in production.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NodeMetricsCollection
{
    public const string Name = "Node metrics";
}
