using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.Time;

/// <summary>Entity time (XEP-0202) of the server, in UTC as XEP-0082 writes it.</summary>
public sealed class TimeModule(TimeProvider time) : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Time);
        registry.HandleIq(Ns.Time, IqTarget.Server, request =>
        {
            if (!request.IsGet)
            {
                return ValueTask.FromResult(request.Error(StanzaError.BadRequest()));
            }
            var now = time.GetUtcNow();
            var reply = new Element("time", Ns.Time);
            reply.AddChild("tzo").AddText("+00:00");
            reply.AddChild("utc").AddText(XmppDateTime.Format(now));
            return ValueTask.FromResult(request.Result(reply));
        });
    }
}
