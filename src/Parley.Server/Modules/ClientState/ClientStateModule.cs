using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.ClientState;

/// <summary>
/// XEP-0352 client state indication: while inactive, a session holds and collapses what is not urgent
/// (<see cref="HeldStanzas"/>, the session's send gate meanwhile; an active session sends with no gate at all).
/// </summary>
public sealed class ClientStateModule : IModule
{
    private readonly SessionState<HeldStanzas> _sessions = new(static _ => new HeldStanzas());

    /// <summary>Kept while the client is inactive, so that a resumption on another node holds as before.</summary>
    private static readonly Element s_inactive = new("inactive", Ns.ClientState);

    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("csi", Ns.ClientState));
        registry.HandleStreamElement(Ns.ClientState, request =>
        {
            switch (request.Element.Name)
            {
                case "inactive":
                    _sessions.Of(request.Session).SetActive(request.Session, active: false);
                    request.Session.Keep(s_inactive.Name, s_inactive);
                    break;
                case "active":
                    // A session that was never inactive has nothing to flush.
                    _sessions.Find(request.Session)?.SetActive(request.Session, active: true);
                    request.Session.Keep(s_inactive.Name, null);
                    break;
            }
            return ValueTask.CompletedTask;
        });
        registry.RestoreOnResumption(s_inactive.Name, (session, _) => _sessions.Of(session).SetActive(session, active: false));
        _sessions.ForgetWhenEnded(registry);
    }
}
