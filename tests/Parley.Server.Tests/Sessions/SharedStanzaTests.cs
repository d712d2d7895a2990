using System.Text;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Tests.Sessions;

public sealed class SharedStanzaTests
{
    [Fact]
    public void A_shared_stanza_is_serialized_once_as_the_writer_would_write_it()
    {
        var message = new Element("message", Ns.Client).SetAttribute("type", "groupchat").SetAttribute("from", "room@conference.localhost/nick");
        message.AddChild("body").AddText("a < b & c");

        SharedStanza.Share(message);

        Assert.True(SharedStanza.TryGetBytes(message, out var bytes));
        Assert.Equal(message.ToXml(Ns.Client), Encoding.UTF8.GetString(bytes));
        Assert.False(SharedStanza.TryGetBytes(message.Clone(), out _));
    }
}
