using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>The SASL SCRAM-SHA-256 exchange of the web transports, whose stanzas carry their namespace (RFC 7395, XEP-0206).</summary>
internal static class ScramSignIn
{
    /// <summary>auth, challenge, response, success over <paramref name="send"/> and <paramref name="expect"/>.</summary>
    public static async Task RunAsync(
        Func<string, CancellationToken, Task> send, Func<string, CancellationToken, Task<Element>> expect,
        string user, SaltedPasswordCache password, CancellationToken cancellationToken)
    {
        var scram = new ScramClient(ScramHash.Sha256, user, password.Source);
        await send($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>", cancellationToken).ConfigureAwait(false);
        var challenge = await expect("challenge", cancellationToken).ConfigureAwait(false);
        await send($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>", cancellationToken).ConfigureAwait(false);
        await expect("success", cancellationToken).ConfigureAwait(false);
    }
}
