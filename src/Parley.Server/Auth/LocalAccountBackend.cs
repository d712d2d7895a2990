using Parley.Protocol.Precis;
using Parley.Protocol.Sasl;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Auth;

/// <summary>
/// Sign-in against the node's own account store, which keeps only SCRAM credentials: SCRAM-SHA-256
/// and SCRAM-SHA-1 (with channel binding once TLS is up), and PLAIN inside TLS when allowed.
/// </summary>
public sealed class LocalAccountBackend(IParleyStorage storage, AuthOptions options) : IAuthenticationBackend
{
    public IReadOnlyList<string> Mechanisms(AuthenticationContext context)
    {
        var offered = new List<string>(5);
        if (context.IsSecure && context.ChannelBindingTypes.Count > 0)
        {
            offered.Add("SCRAM-SHA-256-PLUS");
            offered.Add("SCRAM-SHA-1-PLUS");
        }
        offered.Add("SCRAM-SHA-256");
        offered.Add("SCRAM-SHA-1");
        if (context.IsSecure && options.AllowPlain)
        {
            offered.Add("PLAIN");
        }
        return offered;
    }

    public ISaslServerMechanism Start(string mechanism, AuthenticationContext context)
    {
        var offersPlus = options.StrictChannelBindingDowngrade && context.ChannelBindingTypes.Count > 0;
        ScramCredentialLookup lookup = (username, hash, cancellationToken) => LookupAsync(context, username, hash, cancellationToken);
        return mechanism switch
        {
            "SCRAM-SHA-256-PLUS" => new ScramServer(ScramHash.Sha256, plus: true, lookup, context.ChannelBinding, offersPlus),
            "SCRAM-SHA-1-PLUS" => new ScramServer(ScramHash.Sha1, plus: true, lookup, context.ChannelBinding, offersPlus),
            "SCRAM-SHA-256" => new ScramServer(ScramHash.Sha256, plus: false, lookup, context.ChannelBinding, offersPlus),
            "SCRAM-SHA-1" => new ScramServer(ScramHash.Sha1, plus: false, lookup, context.ChannelBinding, offersPlus),
            "PLAIN" => new PlainServer(lookup),
            _ => throw new ArgumentException($"{mechanism} is not a mechanism of the local accounts.", nameof(mechanism)),
        };
    }

    private async ValueTask<ScramCredentials?> LookupAsync(AuthenticationContext context, string username, ScramHash hash, CancellationToken cancellationToken)
    {
        if (!Precis.TryPrepareLocalpart(username, out var local, out _))
        {
            return null;
        }
        context.AttemptedAccount = $"{local}@{context.Domain}";
        var credentials = await storage.Accounts.GetCredentialsAsync(context.AttemptedAccount, cancellationToken).ConfigureAwait(false);
        context.AccountDisabled = credentials?.Disabled ?? false;
        return hash == ScramHash.Sha1 ? credentials?.Sha1 : credentials?.Sha256;
    }
}
