using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Tests.Sessions;

public sealed class SessionRegistryTests
{
    [Fact]
    public void A_session_and_its_account_are_found_by_their_exact_canonical_text_only()
    {
        var sessions = new SessionRegistry();
        var balcony = Session("juliet@localhost/balcony");
        var chamber = Session("juliet@localhost/chamber");
        sessions.Add(balcony, maxSessionsPerAccount: 0);
        sessions.Add(chamber, maxSessionsPerAccount: 0);

        Assert.Same(chamber.Jid, sessions.FindJid("juliet@localhost/chamber"));
        Assert.Equal(Jid.Parse("juliet@localhost"), sessions.FindJid("juliet@localhost"));
        // Not canonical, or no such session: the caller parses the text as it would without the registry.
        Assert.Null(sessions.FindJid("JULIET@localhost/chamber"));
        Assert.Null(sessions.FindJid("juliet@localhost/garden"));
        Assert.Null(sessions.FindJid("juliet@localhost/chamber/"));
        Assert.Null(sessions.FindJid("romeo@localhost/balcony"));
        Assert.Null(sessions.FindJid("localhost"));

        sessions.Remove(balcony);
        sessions.Remove(chamber);

        Assert.Null(sessions.FindJid("juliet@localhost/chamber"));
        Assert.Null(sessions.FindJid("juliet@localhost"));
        Assert.Empty(sessions.SessionsOf(Jid.Parse("juliet@localhost/chamber")));
    }

    private static ClientSession Session(string jid) => new(Jid.Parse(jid), new NullSink(), "127.0.0.1");

    private sealed class NullSink : IStanzaSink
    {
        public bool Send(Element stanza) => true;

        public void CloseWithError(string condition, string? text = null, string? conditionContent = null)
        {
        }
    }
}
