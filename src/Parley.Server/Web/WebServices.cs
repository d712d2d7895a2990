using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Http;
using Parley.Server.Web.Bosh;

namespace Parley.Server.Web;

/// <summary>The web clients' endpoints, behind the node's <see cref="IHttpEndpoints"/> seam.</summary>
public static class WebServices
{
    public static void AddToNode(IServiceCollection services)
    {
        services.AddSingleton<IHttpEndpoints, WebSocketEndpoint>();
        services.AddSingleton<IHttpEndpoints, HostMetaEndpoint>();
        services.AddSingleton(sp => new WebClientEndpoint(sp.GetRequiredService<Hosting.ParleyOptions>(), sp.GetRequiredService<Administration.LoginBanner>()));
        services.AddSingleton<IHttpEndpoints>(sp => sp.GetRequiredService<WebClientEndpoint>());
        services.AddSingleton<BoshSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<BoshSessions>());
        services.AddSingleton<IHttpEndpoints, BoshEndpoint>();
    }
}
