using Microsoft.AspNetCore.Routing;

namespace Parley.Server.Http;

/// <summary>
/// A part of the node that serves HTTP on its HTTP and HTTPS listeners: the web clients' endpoints, and an admin
/// console, REST API or /metrics alike. Register an implementation as a service
/// (<c>services.AddSingleton&lt;IHttpEndpoints, MyEndpoints&gt;()</c>); the node maps every one once, at start-up.
/// </summary>
public interface IHttpEndpoints
{
    void Map(IEndpointRouteBuilder endpoints);
}
