using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.StreamManagement;

/// <summary>
/// XEP-0198 stream management: acknowledgements and resumption. The counters live with the stream
/// (<see cref="Streams.IManagedStream"/>), in step with its writer; the stream negotiator resumes.
/// </summary>
public sealed class StreamManagementModule : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("sm", Ns.StreamManagement));
        registry.HandleStreamElement(Ns.StreamManagement, HandleAsync);
    }

    private static ValueTask HandleAsync(StreamElement request)
    {
        var stream = request.Stream;
        switch (request.Element.Name)
        {
            case "enable":
                stream.EnableManagement(resume: request.Element.GetAttribute("resume") is "true" or "1");
                return ValueTask.CompletedTask;
            case "r":
                return stream.AnswerAckRequestAsync();
            case "a":
                return stream.AcknowledgeAsync(request.Element.GetAttribute("h"));
            default:
                stream.RefuseManagementRequest();
                return ValueTask.CompletedTask;
        }
    }
}
