using System.Buffers;
using System.Text;
using static Parley.Xml.Tests.StreamFeeder;

namespace Parley.Xml.Tests;

public class XmlStreamReaderTests
{
    private const string Sample = Header +
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\n  " +
        "<message to='juliet@example.com/balcony' type='chat' xml:lang='en' id='m1'>" +
        "<body>Wherefore art thou, Romeo? \u00e9\u4e2d\U0001F600 &lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x1F600;</body>" +
        "<body><![CDATA[<not markup> & ]] ]>]]>tail</body>" +
        "<x:data xmlns:x='urn:example:x' x:mode='a'><x:field var='v'>one\r\ntwo\rthree</x:field><plain/></x:data>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/>" +
        "</message> \t\r\n <presence/><iq type=\"get\" id=\"p\"><ping xmlns=\"urn:xmpp:ping\" /></iq ></stream:stream>";

    [Fact]
    public void Reports_stream_start_with_every_attribute_as_written_and_the_default_namespace()
    {
        var reader = new XmlStreamReader();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(Header));

        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent ev));

        Assert.Equal(XmlStreamEventKind.StreamStart, ev.Kind);
        Assert.Equal("stream", ev.Element!.Name);
        Assert.Equal(XmlNamespaces.Streams, ev.Element.Namespace);
        Assert.Equal(
            ["xmlns=jabber:client", "xmlns:stream=http://etherx.jabber.org/streams", "to=example.com", "version=1.0"],
            ev.Element.Attributes.Select(a => $"{a.Name}={a.Value}"));
        Assert.Equal("jabber:client", reader.StreamDefaultNamespace);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Reports_each_top_level_element_and_the_stream_end()
    {
        List<string> events = ReadAll(Sample);

        Assert.Equal(6, events.Count);
        Assert.StartsWith("start {http://etherx.jabber.org/streams}stream", events[0]);
        Assert.Equal("{http://etherx.jabber.org/streams}features({urn:ietf:params:xml:ns:xmpp-tls}starttls({urn:ietf:params:xml:ns:xmpp-tls}required()))", events[1]);
        Assert.Equal(
            "{jabber:client}message to=[juliet@example.com/balcony] type=[chat] xml:lang=[en] id=[m1](" +
            "{jabber:client}body(\"Wherefore art thou, Romeo? \u00e9\u4e2d\U0001F600 <>&\"' AB\U0001F600\")" +
            "{jabber:client}body(\"<not markup> & ]] ]>tail\")" +
            "{urn:example:x}data x:mode=[a]({urn:example:x}field var=[v](\"one\ntwo\nthree\"){jabber:client}plain())" +
            "{http://jabber.org/protocol/chatstates}active())",
            events[2]);
        Assert.Equal("{jabber:client}presence()", events[3]);
        Assert.Equal("{jabber:client}iq type=[get] id=[p]({urn:xmpp:ping}ping())", events[4]);
        Assert.Equal("end", events[5]);
    }

    [Fact]
    public void Byte_by_byte_and_every_split_point_give_the_same_events()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Sample);
        List<string> expected = ReadAll(bytes, [int.MaxValue]);

        Assert.Equal(expected, ReadAll(bytes, [1]));
        for (int split = 1; split < bytes.Length; split++)
        {
            Assert.Equal(expected, ReadAll(bytes, [split, int.MaxValue]));
        }
        foreach (int size in new[] { 2, 3, 5, 7, 13, 64 })
        {
            Assert.Equal(expected, ReadAll(bytes, [size]));
        }
    }

    [Fact]
    public void Stops_right_after_an_event_and_reads_a_new_stream_after_reset()
    {
        var reader = new XmlStreamReader();
        byte[] bytes = Encoding.UTF8.GetBytes(Header + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01 TLS bytes");
        ReadOnlySequence<byte> buffer = new(bytes);

        Assert.True(reader.TryRead(ref buffer, out _));
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent proceed));

        Assert.Equal("proceed", proceed.Element!.Name);
        Assert.Equal("\x16\x03\x01 TLS bytes", Encoding.UTF8.GetString(buffer.ToArray()));

        reader.Reset();
        Assert.Null(reader.StreamDefaultNamespace);
        buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'><message/>"));
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent start));
        Assert.Equal(XmlStreamEventKind.StreamStart, start.Kind);
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent message));
        Assert.Equal("jabber:server", message.Element!.Namespace);
    }

    [Fact]
    public void Whitespace_left_over_from_the_old_stream_does_not_make_the_restarted_streams_declaration_a_processing_instruction()
    {
        // go-xmpp writes "</auth>\n": the newline is read after the reset for the stream restart.
        var reader = new XmlStreamReader();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(Header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>x</auth>\n"));
        Assert.True(reader.TryRead(ref buffer, out _));
        Assert.True(reader.TryRead(ref buffer, out _));
        reader.Reset();
        Assert.False(reader.TryRead(ref buffer, out _));

        buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(" \t" + Header + "\n<message/>"));
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent start));
        Assert.Equal(XmlStreamEventKind.StreamStart, start.Kind);
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent message));
        Assert.Equal("message", message.Element!.Name);
    }

    [Fact]
    public void Returns_false_and_keeps_state_until_the_element_is_complete()
    {
        var reader = new XmlStreamReader();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(Header + "<message><bo"));
        Assert.True(reader.TryRead(ref buffer, out _));

        Assert.False(reader.TryRead(ref buffer, out _));
        Assert.True(buffer.IsEmpty);

        buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("dy>hi</body></message>"));
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent ev));
        Assert.Equal("hi", ev.Element!.ChildText("body"));
    }

    [Fact]
    public void A_self_closed_stream_header_is_a_start_then_an_end()
    {
        List<string> events = ReadAll("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>");

        Assert.Equal(2, events.Count);
        Assert.Equal("end", events[1]);
    }

    [Fact]
    public void Accepts_any_prefix_for_the_streams_namespace_and_no_prefix_at_all()
    {
        Assert.Equal("{http://etherx.jabber.org/streams}features()",
            ReadAll("<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'><s:features/></s:stream>")[1]);
        Assert.Equal("{jabber:client}message()",
            ReadAll("<stream xmlns='http://etherx.jabber.org/streams'><message xmlns='jabber:client'/></stream>")[1]);
    }

    [Fact]
    public void Namespaces_are_scoped_to_the_element_that_declares_them()
    {
        string stream = Header + "<iq><query xmlns='jabber:iq:roster' xmlns:p='urn:p'><item/><p:x/></query><after/><p:y/></iq>";

        Assert.Equal(XmlStreamError.NotWellFormed, ErrorOf(stream));
        List<string> events = ReadAll(Header + "<iq><query xmlns='jabber:iq:roster' xmlns:p='urn:p'><item/><p:x/></query><after/></iq>");
        Assert.Equal("{jabber:client}iq({jabber:iq:roster}query({jabber:iq:roster}item(){urn:p}x()){jabber:client}after())", events[1]);
    }

    [Fact]
    public void Namespace_declarations_on_stanzas_are_not_attributes()
    {
        Element message = Read(Header + "<message xmlns='jabber:client' xmlns:a='urn:a' a:b='c' to='x'/>");

        Assert.Equal(["a:b", "to"], message.Attributes.Select(a => a.Name));
        Assert.Equal("c", message.GetAttribute("a:b"));
    }

    [Fact]
    public void A_stream_without_a_default_namespace_gives_stanzas_the_empty_namespace()
    {
        Assert.Equal("{}message()", ReadAll("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><message/>")[1]);
    }

    [Fact]
    public void Attribute_values_are_normalized_but_character_references_are_kept()
    {
        Element message = Read(Header + "<message a='x\ty\r\nz\nw' b='&#9;&#10;&#13;' c=\"it's\" d='say \"hi\"'/>");

        Assert.Equal("x y z w", message["a"]);
        Assert.Equal("\t\n\r", message["b"]);
        Assert.Equal("it's", message["c"]);
        Assert.Equal("say \"hi\"", message["d"]);
    }

    [Theory]
    [InlineData("<?xml version='1.0' encoding='UTF-8'?>")]
    [InlineData("<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>")]
    [InlineData("")]
    [InlineData("\n ")]
    [InlineData(" \n<?xml version='1.0'?>")]
    public void Accepts_an_optional_xml_declaration(string prolog)
    {
        Assert.Equal(2, ReadAll(prolog + "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><message/>").Count);
    }

    [Theory]
    [InlineData("<?xml version='1.0' encoding='ISO-8859-1'?>", XmlStreamError.UnsupportedEncoding)]
    [InlineData("<?xml version='1.0' encoding='UTF-16'?>", XmlStreamError.UnsupportedEncoding)]
    [InlineData("<?xml encoding='UTF-8'?>", XmlStreamError.NotWellFormed)]
    [InlineData("<?xml version='1.0' standalone='maybe'?>", XmlStreamError.NotWellFormed)]
    [InlineData("<?XML version='1.0'?>", XmlStreamError.NotWellFormed)]
    [InlineData("<?xml-stylesheet href='a.xsl'?>", XmlStreamError.RestrictedXml)]
    [InlineData("<?xml version='1.0'?><?xml version='1.0'?>", XmlStreamError.RestrictedXml)]
    public void Rejects_a_bad_prolog(string prolog, XmlStreamError error)
    {
        Assert.Equal(error, ErrorOf(prolog + "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"));
    }

    [Theory]
    [InlineData("<!DOCTYPE stream [<!ENTITY lol 'lol'>]>")]
    [InlineData("<!-- hello -->")]
    public void Rejects_restricted_xml_before_the_header(string prolog)
    {
        Assert.Equal(XmlStreamError.RestrictedXml, ErrorOf(prolog + "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"));
    }

    [Fact]
    public void Rejects_a_billion_laughs_attempt_as_restricted_xml()
    {
        var attack = new StringBuilder("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for (int i = 1; i < 10; i++)
        {
            attack.Append($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{i - 1};", 10))}\">");
        }
        attack.Append("]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'><message><body>&lol9;</body></message>");

        Assert.Equal(XmlStreamError.RestrictedXml, ErrorOf(attack.ToString()));
        Assert.Equal(XmlStreamError.RestrictedXml, ErrorOf(Header + "<message><body>&lol9;</body></message>"));
    }

    [Theory]
    [InlineData("<message><!-- comment --></message>")]
    [InlineData("<!-- comment between stanzas -->")]
    [InlineData("<message><?php echo 1; ?></message>")]
    [InlineData("<?pi between stanzas?>")]
    [InlineData("<message><body>&nbsp;</body></message>")]
    [InlineData("<message to='&foo;'/>")]
    [InlineData("<message><!DOCTYPE x></message>")]
    [InlineData("<message><body>&averyveryveryveryveryverylongentityname;</body></message>")]
    public void Rejects_restricted_xml_inside_the_stream(string xml)
    {
        Assert.Equal(XmlStreamError.RestrictedXml, ErrorOf(Header + xml));
    }

    [Theory]
    [InlineData("<message></presence>")]
    [InlineData("<message><body></message></body>")]
    [InlineData("<message></message></stream:stream2>")]
    [InlineData("<1message/>")]
    [InlineData("<message 1to='x'/>")]
    [InlineData("<mes$sage/>")]
    [InlineData("<a:b:c xmlns:a='urn:a'/>")]
    [InlineData("<message to='a<b'/>")]
    [InlineData("<message to=x/>")]
    [InlineData("<message to='x'type='chat'/>")]
    [InlineData("<message to='x' to='y'/>")]
    [InlineData("<message xmlns:a='urn:a' xmlns:a='urn:b'/>")]
    [InlineData("<message to/>")]
    [InlineData("<message / >")]
    [InlineData("hello")]
    [InlineData("&amp;")]
    [InlineData("<message>\u0001</message>")]
    [InlineData("<message to='\u001f'/>")]
    [InlineData("<message>\uFFFE</message>")]
    [InlineData("<message>&#0;</message>")]
    [InlineData("<message>&#x1;</message>")]
    [InlineData("<message>&#xD800;</message>")]
    [InlineData("<message>&#xFFFF;</message>")]
    [InlineData("<message>&#x110000;</message>")]
    [InlineData("<message>&#99999999999999999999;</message>")]
    [InlineData("<message>&#;</message>")]
    [InlineData("<message>&#xG;</message>")]
    [InlineData("<message>&;</message>")]
    [InlineData("<message>a & b</message>")]
    [InlineData("<message>a ]]> b</message>")]
    [InlineData("<message><![CDAT[x]]></message>")]
    [InlineData("<![CDATA[x]]>")]
    [InlineData("<p:message/>")]
    [InlineData("<message p:to='x'/>")]
    [InlineData("<xmlns:message/>")]
    [InlineData("<message xmlns:p=''/>")]
    [InlineData("<message xmlns:xml='urn:not-xml'/>")]
    [InlineData("<message xmlns:xmlns='urn:x'/>")]
    [InlineData("<message><!x></message>")]
    [InlineData("</stream:stream> <message/>")]
    [InlineData("<message></ message>")]
    public void Rejects_xml_that_is_not_well_formed(string xml)
    {
        Assert.Equal(XmlStreamError.NotWellFormed, ErrorOf(Header + xml));
    }

    [Theory]
    [InlineData("text<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>")]
    [InlineData("</stream:stream>")]
    [InlineData("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'></stream:other>")]
    [InlineData("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>")]
    [InlineData("<stream:stream>")]
    public void Rejects_a_bad_stream_header_as_not_well_formed(string xml)
    {
        Assert.Equal(XmlStreamError.NotWellFormed, ErrorOf(xml));
    }

    [Theory]
    [InlineData("<stream:stream xmlns:stream='urn:wrong'>")]
    [InlineData("<stream xmlns='jabber:client'>")]
    public void Rejects_a_stream_root_outside_the_streams_namespace(string xml)
    {
        Assert.Equal(XmlStreamError.InvalidNamespace, ErrorOf(xml));
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0x80 })] // overlong NUL
    [InlineData(new byte[] { 0xC1, 0xBF })] // overlong
    [InlineData(new byte[] { 0xE0, 0x80, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // UTF-16 surrogate
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    [InlineData(new byte[] { 0xF5, 0x80, 0x80, 0x80 })]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xFE, 0xFF })]
    [InlineData(new byte[] { 0x80 })] // continuation without a lead byte
    [InlineData(new byte[] { 0xC3 })] // truncated sequence followed by markup
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public void Rejects_invalid_utf8_anywhere_as_unsupported_encoding(byte[] invalid)
    {
        foreach ((string before, string after) in new[]
        {
            (Header + "<message><body>a", "b</body></message>"),
            (Header + "<message to='a", "b'/>"),
            (Header + "<message><bo", "dy/></message>"),
            (Header + "<message a", "b='x'/>"),
            (Header + "<message>&#65;", "</message>"),
            (Header, "<message/>"),
            ("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='", "'>"),
        })
        {
            byte[] stream = [.. Encoding.UTF8.GetBytes(before), .. invalid, .. Encoding.UTF8.GetBytes(after)];
            Assert.Equal(XmlStreamError.UnsupportedEncoding, ErrorOf(stream));
        }
    }

    [Fact]
    public void An_oversized_stanza_fails_as_soon_as_it_passes_the_limit()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 1000 };
        var reader = new XmlStreamReader(limits);
        byte[] header = Encoding.UTF8.GetBytes(Header);
        ReadOnlySequence<byte> buffer = new(header);
        Assert.True(reader.TryRead(ref buffer, out _));

        byte[] stanza = Encoding.UTF8.GetBytes("<message><body>" + new string('a', 5000) + "</body></message>");
        int fed = 0;
        var error = Assert.Throws<XmlStreamException>(() =>
        {
            for (; fed < stanza.Length; fed++)
            {
                ReadOnlySequence<byte> one = new(stanza, fed, 1);
                reader.TryRead(ref one, out _);
            }
        });

        Assert.Equal(XmlStreamError.PolicyViolation, error.Error);
        Assert.Equal(999, fed); // the 1000th byte used the whole budget without completing the stanza
    }

    [Fact]
    public void An_oversized_stanza_in_one_large_buffer_is_rejected_without_reading_it_all()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 1000 };
        byte[] stream = Encoding.UTF8.GetBytes(Header + "<message><body>" + new string('a', 1_000_000) + "</body></message>");
        long before = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(XmlStreamError.PolicyViolation, Assert.Throws<XmlStreamException>(() => ReadAll(stream, [int.MaxValue], limits)).Error);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void A_stanza_exactly_at_the_limit_is_accepted()
    {
        string stanza = "<message><body>" + new string('a', 100) + "</body></message>";
        var limits = new XmlLimits { MaxStanzaBytes = Encoding.UTF8.GetByteCount(stanza) };

        Assert.Equal(2, ReadAll(Encoding.UTF8.GetBytes(Header + stanza), [1], limits).Count);
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(Header + stanza.Replace("<body>", "<body>a"), limits));
    }

    [Fact]
    public void Ten_thousand_nested_elements_fail_fast_with_bounded_memory()
    {
        byte[] stream = Encoding.UTF8.GetBytes(Header + string.Concat(Enumerable.Repeat("<a>", 10_000)));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<XmlStreamException>(() => ReadAll(stream, [int.MaxValue]));

        Assert.Equal(XmlStreamError.PolicyViolation, error.Error);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Nesting_up_to_max_depth_is_accepted()
    {
        var limits = new XmlLimits { MaxDepth = 5 };
        string Nest(int depth) => string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth));

        Assert.Equal(2, ReadAll(Header + Nest(5), limits).Count);
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(Header + Nest(6), limits));
    }

    [Fact]
    public void Too_many_attributes_or_namespace_declarations_are_a_policy_violation()
    {
        var limits = new XmlLimits { MaxAttributes = 3, MaxNamespaceDeclarations = 2 };

        Assert.Equal(2, ReadAll(Header + "<m a='1' b='2' c='3' xmlns='urn:x' xmlns:p='urn:p'/>", limits).Count);
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(Header + "<m a='1' b='2' c='3' d='4'/>", limits));
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(Header + "<m xmlns='urn:x' xmlns:p='urn:p' xmlns:q='urn:q'/>", limits));
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(Header + "<m><x " + string.Concat(Enumerable.Range(0, 1000).Select(i => $"a{i}='' ")) + "/></m>"));
    }

    [Fact]
    public void The_stream_header_is_bounded()
    {
        string header = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='" + new string('x', 5000) + "'>";

        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(header));
        Assert.Equal(XmlStreamError.PolicyViolation, ErrorOf(new string(' ', 5000) + Header));
    }

    [Fact]
    public void Whitespace_keepalives_between_stanzas_produce_no_events()
    {
        var reader = new XmlStreamReader();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(Header));
        Assert.True(reader.TryRead(ref buffer, out _));

        for (int i = 0; i < 1000; i++)
        {
            buffer = new ReadOnlySequence<byte>(" \n"u8.ToArray());
            Assert.False(reader.TryRead(ref buffer, out _));
        }
    }

    private static Element Read(string stream)
    {
        var reader = new XmlStreamReader();
        ReadOnlySequence<byte> buffer = new(Encoding.UTF8.GetBytes(stream));
        Assert.True(reader.TryRead(ref buffer, out _));
        Assert.True(reader.TryRead(ref buffer, out XmlStreamEvent ev));
        return ev.Element!;
    }
}
