using Parley.Protocol;
using Parley.Server.ModuleContract;

namespace Parley.Server.Modules.Ping;

/// <summary>XMPP Ping (XEP-0199): the server answers pings to itself and to accounts' bare JIDs.</summary>
public sealed class PingModule : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Ping);
        registry.HandleIq(Ns.Ping, IqTarget.Server | IqTarget.Account, request =>
            ValueTask.FromResult(request.IsGet ? request.Result() : request.Error(StanzaError.BadRequest())));
    }
}
