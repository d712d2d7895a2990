using System.Buffers;
using System.Text;

namespace Parley.Xml.Tests;

public class ElementTests
{
    [Fact]
    public void Builds_and_queries_a_stanza()
    {
        var message = new Element("message", "jabber:client").SetAttribute("to", "romeo@example.net").SetAttribute("type", "chat");
        message.AddChild("body").AddText("Hi ").AddText("there");
        message.AddChild("active", "http://jabber.org/protocol/chatstates");
        message["id"] = "m1";

        Assert.Equal("romeo@example.net", message["to"]);
        Assert.Equal("Hi there", message.ChildText("body"));
        Assert.NotNull(message.Child("active", "http://jabber.org/protocol/chatstates"));
        Assert.Null(message.Child("active", "jabber:client"));
        Assert.Equal(["body", "active"], message.Children().Select(c => c.Name));
        Assert.Single(message.Children("body"));
        Assert.Equal("", message.Text);
        Assert.Null(message.ChildText("subject"));
    }

    [Fact]
    public void Setting_an_attribute_to_null_removes_it_and_setting_again_replaces_it()
    {
        var presence = new Element("presence").SetAttribute("type", "unavailable").SetAttribute("to", "a@b");

        presence["type"] = null;
        presence.SetAttribute("to", "c@d");

        Assert.Equal([new XmlAttribute("to", "c@d")], presence.Attributes);
    }

    [Fact]
    public void Removes_children()
    {
        var iq = new Element("iq");
        Element query = iq.AddChild("query", "jabber:iq:roster");
        iq.AddText("x");

        Assert.True(iq.Remove(query));
        Assert.False(iq.Remove(query));
        Assert.Single(iq.Nodes);
        iq.RemoveAll();
        Assert.Empty(iq.Nodes);
    }

    [Fact]
    public void Children_and_attributes_keep_their_order_as_they_grow_and_shrink()
    {
        var element = new Element("x");
        var children = Enumerable.Range(0, 9).Select(i => element.AddChild("c" + i)).ToList();
        for (var i = 0; i < 9; i++)
        {
            element.SetAttribute("a" + i, i.ToString());
        }

        Assert.True(element.Remove(children[4]));
        Assert.True(element.Remove(children[8]));
        element.SetAttribute("a0", null);
        element.SetAttribute("a5", null);
        element.AddChild("c9");
        element.SetAttribute("a9", "9");

        Assert.Equal(["c0", "c1", "c2", "c3", "c5", "c6", "c7", "c9"], element.Children().Select(c => c.Name));
        Assert.Equal(["a1", "a2", "a3", "a4", "a6", "a7", "a8", "a9"], element.Attributes.Select(a => a.Name));
        Assert.Equal("c9", ((Element)element.Nodes[^1]).Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => element.Nodes[8]);
        Assert.Throws<ArgumentOutOfRangeException>(() => element.Attributes[-1]);
    }

    [Fact]
    public void Clone_is_deep()
    {
        var original = new Element("message").SetAttribute("to", "a@b");
        original.AddChild("body").AddText("hello");

        Element copy = original.Clone();
        copy["to"] = "c@d";
        copy.Child("body")!.AddText(" world");

        Assert.Equal("<message to=\"a@b\"><body>hello</body></message>", original.ToXml());
        Assert.Equal("<message to=\"c@d\"><body>hello world</body></message>", copy.ToXml());
    }

    [Theory]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("a b")]
    [InlineData("stream:features")]
    [InlineData("a<b")]
    public void Rejects_an_invalid_element_name(string name)
    {
        Assert.Throws<ArgumentException>(() => new Element(name));
    }

    [Fact]
    public void Rejects_an_invalid_attribute_name()
    {
        Assert.Throws<ArgumentException>(() => new Element("x").SetAttribute("a b", "v"));
    }

    [Fact]
    public void Escapes_text_and_attribute_values()
    {
        var element = new Element("body").SetAttribute("a", "<&>\"'\t\n\r").AddText("<&>\"'\r\n]]>");

        Assert.Equal("<body a=\"&lt;&amp;&gt;&quot;&apos;&#x9;&#xA;&#xD;\">&lt;&amp;&gt;\"'&#xD;\n]]&gt;</body>", element.ToXml());
    }

    [Fact]
    public void Text_read_off_a_stream_is_written_back_escaped_and_reads_as_the_same_text()
    {
        var read = ElementParser.Parse("<body xmlns='jabber:client'>&lt;&amp;&gt;\"'&#xD;\n]]&gt; é 😀 <![CDATA[<x>&]]></body>", "jabber:client");

        Assert.Equal("<&>\"'\r\n]]> é 😀 <x>&", read.Text);
        Assert.Equal("<body xmlns=\"jabber:client\">&lt;&amp;&gt;\"'&#xD;\n]]&gt; é 😀 &lt;x&gt;&amp;</body>", read.ToXml());
        Assert.Equal(read.Text, ElementParser.Parse(read.ToXml(), "jabber:client").Text);
    }

    [Fact]
    public void Characters_xml_cannot_carry_are_written_as_replacement_characters()
    {
        var element = new Element("body").SetAttribute("a", "x\u0001").AddText("\u0000\uFFFF\uD800!");

        Assert.Equal("<body a=\"x\uFFFD\">\uFFFD\uFFFD\uFFFD!</body>", element.ToXml());
    }

    [Fact]
    public void Writes_xmlns_only_where_the_namespace_changes()
    {
        var message = new Element("message", "jabber:client");
        message.AddChild("body", "jabber:client").AddText("hi");
        message.AddChild("thread");
        Element forwarded = message.AddChild("forwarded", "urn:xmpp:forward:0");
        forwarded.AddChild("message", "jabber:client");

        Assert.Equal(
            "<message><body>hi</body><thread/><forwarded xmlns=\"urn:xmpp:forward:0\"><message xmlns=\"jabber:client\"/></forwarded></message>",
            message.ToXml("jabber:client"));
        Assert.Equal(
            "<message xmlns=\"jabber:client\"><body>hi</body><thread/><forwarded xmlns=\"urn:xmpp:forward:0\"><message xmlns=\"jabber:client\"/></forwarded></message>",
            message.ToXml());
    }

    [Fact]
    public void A_client_stanza_is_written_to_a_server_stream_without_xmlns()
    {
        var message = new Element("message", "jabber:client");
        message.AddChild("body", "jabber:client").AddText("hi");

        Assert.Equal("<message><body>hi</body></message>", message.ToXml("jabber:server"));
        Assert.Equal("<message xmlns=\"jabber:client\"><body>hi</body></message>", message.ToXml("urn:other"));
    }

    [Fact]
    public void Stream_namespace_elements_use_the_stream_prefix()
    {
        var features = new Element("features", XmlNamespaces.Streams);
        features.AddChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls").AddChild("required");
        features.AddChild("bind", "urn:ietf:params:xml:ns:xmpp-bind");

        Assert.Equal(
            "<stream:features><starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"><required/></starttls><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"/></stream:features>",
            features.ToXml("jabber:client"));
    }

    [Fact]
    public void WriteTo_appends_utf8_to_the_buffer_writer()
    {
        var output = new ArrayBufferWriter<byte>(1);
        new Element("body").AddText("\u00e9\U0001F600" + new string('x', 10_000)).WriteTo(output);

        Assert.Equal("<body>\u00e9\U0001F600" + new string('x', 10_000) + "</body>", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Parse_write_parse_gives_the_same_elements()
    {
        string stream = StreamFeeder.Header +
            "<message to='a@b' type='chat' xml:lang='en' x='&lt;&amp;&quot;&apos;&#9;'><body>1 &lt; 2 &amp;&amp; 3 &gt; 2 \u00e9 &#13;<![CDATA[<x>]]></body>" +
            "<x:data xmlns:x='urn:x'><x:field/></x:data><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hi</p></body></html></message>" +
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
        List<Element> first = ReadElements(stream);

        string written = StreamFeeder.Header + string.Concat(first.Select(e => e.ToXml("jabber:client")));
        List<Element> second = ReadElements(written);

        Assert.Equal(first.Select(StreamFeeder.Describe), second.Select(StreamFeeder.Describe));
        Assert.Equal("<mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\"><mechanism>PLAIN</mechanism></mechanisms>", first[1].Child("mechanisms")!.ToXml("jabber:client"));
    }

    [Fact]
    public void XmlEscaping_escapes_strings_for_a_hand_written_stream_header()
    {
        Assert.Equal("a&amp;b&lt;c&gt;", XmlEscaping.EscapeText("a&b<c>"));
        Assert.Equal("&apos;x&quot;", XmlEscaping.EscapeAttributeValue("'x\""));
        Assert.Same("plain", XmlEscaping.EscapeAttributeValue("plain"));
    }

    private static List<Element> ReadElements(string stream)
    {
        var reader = new XmlStreamReader();
        var elements = new List<Element>();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(stream));
        while (reader.TryRead(ref buffer, out XmlStreamEvent ev))
        {
            if (ev.Kind == XmlStreamEventKind.Element)
            {
                elements.Add(ev.Element!);
            }
        }
        return elements;
    }
}

public sealed class ElementParserTests
{
    [Fact]
    public void Parses_one_element_with_the_default_namespace()
    {
        var element = ElementParser.Parse("<message to='a@b'><body>hi &amp; bye</body></message>", "jabber:client");

        Assert.Equal("message", element.Name);
        Assert.Equal("jabber:client", element.Namespace);
        Assert.Equal("hi & bye", element.ChildText("body"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("just text")]
    [InlineData("<a/><b/>")]
    [InlineData("<a>")]
    [InlineData("<!-- c --><a/>")]
    public void Refuses_text_that_is_not_exactly_one_element(string xml) =>
        Assert.Throws<XmlStreamException>(() => ElementParser.Parse(xml, "jabber:client"));
}
