using System.Net;
using System.Text.RegularExpressions;

namespace Parley.Interop.Tests.Web;

/// <summary>An administrator's browser as plain HTTP requests: cookies kept, redirects not followed, forms posted with their anti-forgery token.</summary>
internal sealed partial class ConsoleBrowser(string console, bool https = false) : IDisposable
{
    private readonly HttpClientHandler _handler = new()
    {
        AllowAutoRedirect = false,
        CookieContainer = new CookieContainer(),
        // The node's own self-signed certificate, as an administrator's browser accepts it once.
        ServerCertificateCustomValidationCallback = https ? HttpClientHandler.DangerousAcceptAnyServerCertificateValidator : null,
    };

    private HttpClient? _http;

    public string Console { get; } = console;

    /// <summary>The cookies this browser holds, as the node set them.</summary>
    public CookieContainer Cookies => _handler.CookieContainer;

    public HttpClient Client => _http ??= new HttpClient(_handler) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The anti-forgery token of the form on <paramref name="path"/>.</summary>
    public async Task<string> FormTokenAsync(string path)
    {
        var html = await Client.GetStringAsync(Console + path);
        return TokenPattern().Match(html).Groups[1].Value;
    }

    public async Task<HttpResponseMessage> PostAsync(string path, Dictionary<string, string> fields) =>
        await Client.PostAsync(Console + path, new FormUrlEncodedContent(fields));

    public async Task<HttpResponseMessage> SignInAsync(string name, string password) =>
        await PostAsync("/sign-in", new() { ["name"] = name, ["password"] = password, ["__RequestVerificationToken"] = await FormTokenAsync("/sign-in") });

    public void Dispose()
    {
        _http?.Dispose();
        _handler.Dispose();
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
