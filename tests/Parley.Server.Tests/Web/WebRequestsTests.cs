using System.Net;
using Microsoft.AspNetCore.Http;
using Parley.Server.Hosting;
using Parley.Server.Web;

namespace Parley.Server.Tests.Web;

/// <summary>Which web requests count as secure (sign-in offered) and whom they come from: only a trusted proxy's headers are believed.</summary>
public sealed class WebRequestsTests
{
    private const string Remote = "203.0.113.9";

    private static HttpContext Request(string remote, string? forwardedProto = null, string? forwardedFor = null, bool https = false)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        context.Request.Scheme = https ? "https" : "http";
        if (forwardedProto is not null)
        {
            context.Request.Headers["X-Forwarded-Proto"] = forwardedProto;
        }
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }
        return context;
    }

    [Fact]
    public void Plain_http_from_an_untrusted_address_is_not_secure_even_when_it_claims_https_in_x_forwarded_proto()
    {
        var options = new WebOptions();
        Assert.False(WebRequests.IsSecure(Request(Remote), options));
        Assert.False(WebRequests.IsSecure(Request(Remote, forwardedProto: "https"), options));
        Assert.Equal(Remote, WebRequests.RemoteAddress(Request(Remote, forwardedFor: "198.51.100.1"), options));
    }

    [Fact]
    public void A_trusted_proxy_that_says_https_makes_the_request_secure_and_names_the_client()
    {
        var options = new WebOptions { TrustedProxies = [Remote] };
        Assert.True(WebRequests.IsSecure(Request(Remote, forwardedProto: "https"), options));
        Assert.True(WebRequests.IsSecure(Request(Remote, forwardedProto: "HTTPS"), options));
        Assert.False(WebRequests.IsSecure(Request(Remote, forwardedProto: "http"), options));
        Assert.False(WebRequests.IsSecure(Request(Remote), options));
        Assert.Equal("198.51.100.1", WebRequests.RemoteAddress(Request(Remote, forwardedFor: "192.0.2.50, 198.51.100.1"), options));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void Loopback_is_secure_unless_a_proxy_there_says_the_client_came_over_http(string loopback)
    {
        var options = new WebOptions();
        Assert.True(WebRequests.IsSecure(Request(loopback), options));
        Assert.True(WebRequests.IsSecure(Request(loopback, forwardedProto: "https"), options));
        Assert.False(WebRequests.IsSecure(Request(loopback, forwardedProto: "http"), options));
    }

    [Fact]
    public void Https_is_secure_from_anywhere()
    {
        Assert.True(WebRequests.IsSecure(Request(Remote, https: true), new WebOptions()));
    }
}
