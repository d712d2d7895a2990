using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// Multi-user chat (XEP-0045) at Parley:Muc:Subdomain of every served domain: ad hoc and persistent rooms,
/// moderation, invitations (mediated; direct XEP-0249 invitations pass between clients untouched), self-ping
/// (XEP-0410), room info (XEP-0128), the room archive (XEP-0313), occupant ids (XEP-0421) and moderated message
/// retraction (XEP-0425). The server's disco#items lists the service.
/// </summary>
public sealed class MucModule(MucOptions options, MucService service) : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddService(options.Subdomain, "Chatrooms", service.HandleAsync);
        // XEP-0249 §3: a server that lets its users send direct invitations says so.
        registry.AddFeature(Ns.DirectInvitation, server: false, account: true);
        registry.OnAccountRemoved(service.ForgetAccountAsync);
        registry.OnRoomChanged(service.RoomChangedByAdministratorAsync);
    }
}
