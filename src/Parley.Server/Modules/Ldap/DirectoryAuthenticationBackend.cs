using Parley.Ldap;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Storage;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// Sign-in while a directory is configured. A directory password can only be checked by a bind, so PLAIN (inside
/// TLS) is offered, and SCRAM only when <see cref="DirectoryOptions.OfferScram"/> says so (clients pick the
/// strongest mechanism, and a directory user cannot do SCRAM). A local account (administrators, bots: an account
/// that is not a directory person's) is checked against its SCRAM credentials without asking the directory, so a
/// slow or unreachable directory delays no one else; any other name is looked up in the directory and checked by
/// binding as that person. While the directory cannot be reached, its people get a temporary failure
/// (<see cref="DirectoryUnavailableException"/>), never a wrong-password answer.
/// </summary>
public sealed class DirectoryAuthenticationBackend(LocalAccountBackend local, LdapDirectory directory, IParleyStorage storage, DirectoryOptions options, DirectorySyncService sync) : IAuthenticationBackend
{
    public IReadOnlyList<string> Mechanisms(AuthenticationContext context)
    {
        var offered = new List<string>(5);
        if (options.OfferScram)
        {
            offered.AddRange(local.Mechanisms(context).Where(m => m != "PLAIN"));
        }
        if (context.IsSecure)
        {
            offered.Add("PLAIN");
        }
        return offered;
    }

    public ISaslServerMechanism Start(string mechanism, AuthenticationContext context) =>
        mechanism == "PLAIN"
            ? new PlainServer((username, prepared, password, cancellationToken) => CheckAsync(context, username, prepared, password, cancellationToken))
            : local.Start(mechanism, context);

    private async ValueTask<bool> CheckAsync(AuthenticationContext context, string username, string? preparedUsername, string password, CancellationToken cancellationToken)
    {
        if (preparedUsername is null)
        {
            return false;
        }
        var account = $"{preparedUsername}@{context.Domain}";
        context.AttemptedAccount = account;
        // Local accounts never wait for the directory, which may be slow or down.
        if (await IsLocalAccountAsync(account, cancellationToken).ConfigureAwait(false))
        {
            return await CheckLocalAsync(context, username, preparedUsername, password, cancellationToken).ConfigureAwait(false);
        }
        if (context.Domain != sync.Domain)
        {
            // Directory people have their accounts in the node's first domain only.
            return false;
        }
        var person = await directory.FindUserAsync(options.UsesMailAsJid ? account : preparedUsername, cancellationToken).ConfigureAwait(false);
        if (person is null || !BelongsTo(person, preparedUsername, context.Domain))
        {
            return false;
        }
        context.AccountDisabled = person.Disabled;
        if (!await directory.CheckPasswordAsync(person.Dn, password, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        if (!person.Disabled)
        {
            await sync.ProvisionAsync(person, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Whether the person's directory entry maps to exactly this account (a uid that is no valid localpart maps to none).</summary>
    private bool BelongsTo(DirectoryUser person, string preparedUsername, string domain) =>
        DirectoryAccounts.TryGetJid(person, options, domain, out var jid, out _) && jid.Local == preparedUsername;

    private async Task<bool> IsLocalAccountAsync(string account, CancellationToken cancellationToken) =>
        await storage.DirectoryUsers.GetAsync(account, cancellationToken).ConfigureAwait(false) is null
        && await storage.Accounts.ExistsAsync(account, cancellationToken).ConfigureAwait(false);

    private ValueTask<bool> CheckLocalAsync(AuthenticationContext context, string username, string preparedUsername, string password, CancellationToken cancellationToken) =>
        PlainServer.ScramCheck(async (name, hash, token) =>
        {
            var credentials = await storage.Accounts.GetCredentialsAsync($"{name}@{context.Domain}", token).ConfigureAwait(false);
            context.AccountDisabled = credentials?.Disabled ?? false;
            return hash == ScramHash.Sha1 ? credentials?.Sha1 : credentials?.Sha256;
        })(username, preparedUsername, password, cancellationToken);
}
