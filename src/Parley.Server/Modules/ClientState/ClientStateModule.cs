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

    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("csi", Ns.ClientState));
        registry.HandleStreamElement(Ns.ClientState, request =>
        {
            switch (request.Element.Name)
            {
                case "inactive":
                    _sessions.Of(request.Session).SetActive(request.Session, active: false);
                    break;
                case "active":
                    // A session that was never inactive has nothing to flush.
                    _sessions.Find(request.Session)?.SetActive(request.Session, active: true);
                    break;
            }
            return ValueTask.CompletedTask;
        });
        _sessions.ForgetWhenEnded(registry);
    }
}
