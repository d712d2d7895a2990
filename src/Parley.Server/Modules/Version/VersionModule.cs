using System.Reflection;
using System.Runtime.InteropServices;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.Version;

/// <summary>Software version (XEP-0092) of the server; the operating system only when configured.</summary>
public sealed class VersionModule(ServerInfoOptions options) : IModule
{
    public static string ProductVersion { get; } =
        typeof(VersionModule).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Version);
        registry.HandleIq(Ns.Version, IqTarget.Server, request =>
        {
            if (!request.IsGet)
            {
                return ValueTask.FromResult(request.Error(StanzaError.BadRequest()));
            }
            var query = new Element("query", Ns.Version);
            query.AddChild("name").AddText("Parley");
            query.AddChild("version").AddText(ProductVersion);
            if (options.RevealOperatingSystem)
            {
                query.AddChild("os").AddText(RuntimeInformation.OSDescription);
            }
            return ValueTask.FromResult(request.Result(query));
        });
    }
}
