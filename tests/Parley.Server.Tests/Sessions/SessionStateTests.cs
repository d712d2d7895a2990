using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Tests.Sessions;

public sealed class SessionStateTests
{
    [Fact]
    public void Each_session_has_its_own_state_made_once_until_it_is_removed()
    {
        var state = new SessionState<List<string>>(static _ => []);
        var balcony = Session("juliet@localhost/balcony");
        var garden = Session("romeo@localhost/garden");

        Assert.Null(state.Find(balcony));
        state.Of(balcony).Add("one");
        state.Of(balcony).Add("two");

        Assert.Equal(["one", "two"], state.Find(balcony));
        Assert.Null(state.Find(garden));
        Assert.Equal(["one", "two"], state.Remove(balcony));
        Assert.Null(state.Find(balcony));
        Assert.Null(state.Remove(balcony));
    }

    [Fact]
    public async Task A_state_is_forgotten_when_its_session_ends()
    {
        var registry = new ModuleRegistry();
        var flags = new SessionFlags();
        flags.ForgetWhenEnded(registry);
        var balcony = Session("juliet@localhost/balcony");
        var chamber = Session("juliet@localhost/chamber");
        flags.Set(balcony);
        flags.Set(chamber);

        await registry.SessionEnded.RaiseAsync(balcony);

        Assert.False(flags.IsSet(balcony));
        Assert.True(flags.IsSet(chamber));
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
