using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;

namespace Parley.Server.Modules.MessageOfTheDay;

/// <summary>
/// The message of the day, as Prosody's mod_motd: when a session sends its initial presence, it gets the login banner
/// (<see cref="LoginBanner"/>, set with <c>parley banner set</c> or XEP-0133) as a headline message from the server.
/// The banner is read each time, so a change reaches the next login at once.
/// </summary>
public sealed class MessageOfTheDayModule(LoginBanner banner) : IModule
{
    public void Register(ModuleRegistry registry) => registry.OnSessionAvailable(SendAsync);

    private async ValueTask SendAsync(ClientSession session)
    {
        if (await banner.GetAsync().ConfigureAwait(false) is { } text)
        {
            session.Send(Stanzas.Headline(session.Jid.Domain, session.Jid, subject: null, text));
        }
    }
}
