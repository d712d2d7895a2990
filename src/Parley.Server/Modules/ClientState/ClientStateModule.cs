using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.ClientState;

/// <summary>XEP-0352 client state indication: while inactive, a session holds and collapses what is not urgent.</summary>
public sealed class ClientStateModule : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("csi", Ns.ClientState));
        registry.HandleStreamElement(Ns.ClientState, request =>
        {
            if (request.Element.Name is "active" or "inactive")
            {
                request.Session.SetActive(request.Element.Name == "active");
            }
            return ValueTask.CompletedTask;
        });
    }
}
