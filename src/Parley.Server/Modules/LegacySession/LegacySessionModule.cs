using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.LegacySession;

/// <summary>
/// The RFC 3921 session IQ, which RFC 6120 dropped; old clients still send it after binding, so
/// it is advertised as optional and answered with an empty result.
/// </summary>
public sealed class LegacySessionModule : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("session", Ns.Session).Add(new Element("optional", Ns.Session)));
        registry.HandleIq(Ns.Session, IqTarget.Account | IqTarget.Server, request =>
            ValueTask.FromResult(request.IsSet ? request.Result() : request.Error(StanzaError.BadRequest())));
    }
}
