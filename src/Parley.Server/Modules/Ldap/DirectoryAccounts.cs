using Parley.Ldap;
using Parley.Protocol;
using Parley.Protocol.Precis;

namespace Parley.Server.Modules.Ldap;

/// <summary>How a directory person maps to an account: the JID scheme, and why some people map to none.</summary>
public static class DirectoryAccounts
{
    /// <summary>
    /// The person's JID under the configured scheme in <paramref name="domain"/>: user id @ domain, or the mail
    /// address when it is in that domain. A value that is no valid localpart is reported, not changed.
    /// </summary>
    public static bool TryGetJid(DirectoryUser person, DirectoryOptions options, string domain, out Jid jid, out string problem)
    {
        jid = null!;
        if (options.UsesMailAsJid)
        {
            if (person.Mail is not { } mail || !mail.EndsWith("@" + domain, StringComparison.OrdinalIgnoreCase))
            {
                problem = $"no mail address in {domain} ({person.Mail ?? "none"})";
                return false;
            }
        }
        var source = person.LocalpartSource(options);
        if (source is null)
        {
            problem = $"no {(options.UsesMailAsJid ? "mail address" : "user id")}";
            return false;
        }
        if (!Precis.TryPrepareLocalpart(source, out var local, out var error))
        {
            problem = $"'{source}' is not a valid JID localpart ({error})";
            return false;
        }
        jid = Jid.Create(local, domain);
        problem = "";
        return true;
    }
}
