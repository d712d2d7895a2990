using System.Diagnostics;
using Parley.Server.Modules.Version;
using Parley.Server.Transport;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>What this node runs: version, uptime, storage, and the certificates it serves with their expiry.</summary>
public sealed class StatusModel(IParleyStorage storage, CertificateStore certificates) : ConsolePage
{
    public sealed record CertificateRow(string Domain, string Subject, string Issuer, DateTimeOffset Expires, bool ExpiresSoon);

    public string Version => VersionModule.ProductVersion;
    public DateTimeOffset StartedAt { get; } = new(Process.GetCurrentProcess().StartTime);
    public string Uptime => (DateTimeOffset.Now - StartedAt).ToString(@"d\d\ hh\h\ mm\m");
    public IReadOnlyList<string> Domains => Options.EffectiveDomains;
    public string StorageProvider => Options.Storage.Provider;
    public string StorageLocation => storage.Location;
    public string StorageDescription => storage.Description;
    public IReadOnlyList<CertificateRow> Certificates { get; private set; } = [];

    public void OnGet()
    {
        Certificates = [.. Options.EffectiveDomains.Select(domain =>
        {
            var certificate = certificates.CertificateFor(domain);
            var expires = new DateTimeOffset(certificate.NotAfter);
            return new CertificateRow(domain, certificate.Subject, certificate.Issuer, expires, expires - DateTimeOffset.Now < TimeSpan.FromDays(30));
        })];
    }
}
