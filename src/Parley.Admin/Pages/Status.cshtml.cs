using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Administration;
using Parley.Server.Modules.Ldap;
using Parley.Server.Modules.Version;
using Parley.Server.Transport;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>What this node runs: version, uptime, storage, the directory sync, and the certificates it serves with their expiry.</summary>
public sealed class StatusModel(IParleyStorage storage, CertificateStore certificates, ClusterAdministration cluster) : ConsolePage
{
    public sealed record CertificateRow(string Domain, string Subject, string Issuer, DateTimeOffset Expires, bool ExpiresSoon);

    /// <summary>A node's data monitor: "ready", or "waiting"/"down" with the reason its cluster state gives.</summary>
    public sealed record ReadinessRow(string Node, string State, string? Reason);

    public string Version => VersionModule.ProductVersion;
    public DateTimeOffset StartedAt { get; } = new(Process.GetCurrentProcess().StartTime);
    public string Uptime => (DateTimeOffset.Now - StartedAt).ToString(@"d\d\ hh\h\ mm\m");
    public IReadOnlyList<string> Domains => Options.EffectiveDomains;
    public string StorageProvider => Options.Storage.Provider;
    public string StorageLocation => storage.Location;
    public string StorageDescription => storage.Description;
    public IReadOnlyList<CertificateRow> Certificates { get; private set; } = [];

    /// <summary>"not configured", "not run yet", or when the last sync ended and what it did or why it failed.</summary>
    public string DirectorySync { get; private set; } = "not configured";

    /// <summary>Whether the last directory sync failed.</summary>
    public bool DirectorySyncFailed { get; private set; }

    /// <summary>Every node of the cluster, or this node alone, which serves once it runs.</summary>
    public IReadOnlyList<ReadinessRow> Readiness { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Readiness = await cluster.StatusAsync(cancellationToken) is { } status
            ? [.. status.Nodes.Select(n => new ReadinessRow(n.Name, n.State == "up" ? "ready" : n.State, n.Reason))]
            : [new ReadinessRow(Environment.MachineName, "ready", null)];
        if (HttpContext.RequestServices.GetService<DirectorySyncService>() is { IsConfigured: true } sync)
        {
            DirectorySync = sync.LastSync is { } last
                ? $"{last.At:u}: {last.Summary}"
                : "not run yet";
            DirectorySyncFailed = sync.LastSync?.Summary.Failure is not null;
        }
        Certificates = [.. Options.EffectiveDomains.Select(domain =>
        {
            var certificate = certificates.CertificateFor(domain);
            var expires = new DateTimeOffset(certificate.NotAfter);
            return new CertificateRow(domain, certificate.Subject, certificate.Issuer, expires, expires - DateTimeOffset.Now < TimeSpan.FromDays(30));
        })];
    }
}
