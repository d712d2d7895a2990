using Parley.Server.ModuleContract;
namespace Parley.Server.Modules.Version;

/// <summary>Parley:ServerInfo, the software version module's options (XEP-0092).</summary>
public sealed class ServerInfoOptions : IModuleOptions
{
    /// <summary>Answer XEP-0092 with the operating system too; off by default, as it helps attackers.</summary>
    public bool RevealOperatingSystem { get; set; }

    public IEnumerable<string> Validate(string section) => [];
}
