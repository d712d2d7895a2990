using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Parley.Xml;

/// <summary>
/// Incremental XMPP stream reader: bytes in (any split, any number of segments), stream events out.
/// It is a byte-level state machine that builds each top-level element while its bytes arrive, so every byte is
/// looked at once however the stanza is chunked. The only buffer is the pending token (a name, an attribute value
/// or a run of text), rented from <see cref="ArrayPool{T}"/> and returned after each top-level element.
/// <para>
/// RFC 6120 §11 restrictions: DTDs, comments, processing instructions (except a leading XML declaration) and
/// entity references other than the five predefined ones are <see cref="XmlStreamError.RestrictedXml"/>.
/// CDATA sections are accepted and decoded as text (RFC 6120 does not forbid them).
/// </para>
/// </summary>
public sealed class XmlStreamReader
{
    /// <summary>The XML declaration plus the stream header may not exceed this many bytes.</summary>
    private const int MaxStreamHeaderBytes = 4096;
    private const int MaxReferenceLength = 32;
    private const int InitialTokenCapacity = 256;

    private static readonly SearchValues<byte> TextSpecials = SearchValues.Create("<&\r>"u8);
    private static readonly SearchValues<byte> CDataSpecials = SearchValues.Create("]\r"u8);
    private static readonly SearchValues<byte> DoubleQuotedSpecials = SearchValues.Create("\"<&\t\n\r"u8);
    private static readonly SearchValues<byte> SingleQuotedSpecials = SearchValues.Create("'<&\t\n\r"u8);
    private static readonly SearchValues<byte> WhitespaceBytes = SearchValues.Create(" \t\r\n"u8);
    private static readonly byte[] NonCharacterPrefix = [0xEF, 0xBF];
    private static readonly SearchValues<byte> ForbiddenControlBytes = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 0xB, 0xC, 0xE, 0xF, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F]);

    private enum State
    {
        Prolog,
        Lt,
        XmlDeclaration,
        Bang,
        CDataOpen,
        CData,
        Content,
        Reference,
        StartName,
        InTag,
        EmptyTagEnd,
        AttributeName,
        AfterAttributeName,
        BeforeAttributeValue,
        AttributeValue,
        EndName,
        AfterEndName,
        Ended,
        TextOutsideElements,
    }

    private readonly record struct OpenElement(Element Element, string QualifiedName, int NamespaceBindingStart);

    private readonly record struct NamespaceBinding(string Prefix, string Uri);

    private readonly List<OpenElement> _open = [];
    private readonly List<NamespaceBinding> _namespaceBindings = [];
    private readonly List<XmlAttribute> _pendingAttributes = [];

    private State _state;
    private State _referenceReturnState;
    private byte _quote;
    private bool _afterCarriageReturn;
    private bool _sawSpaceInTag;
    private bool _prologStarted;
    private bool _streamOpen;
    private bool _streamEndPending;
    private int _cdataOpenMatched;
    private int _cdataBrackets;

    // The pending token. _literalTextStart: bytes before it came from a reference or CDATA and cannot form a literal "]]>".
    private byte[]? _token;
    private int _tokenLength;
    private int _referenceStart;
    private int _literalTextStart;

    private string _pendingQualifiedName = "";
    private string _pendingAttributeName = "";
    private int _pendingAttributeCount;
    private int _pendingBindingStart;
    private string _streamQualifiedName = "";

    // The current top-level element (or the stream header) may use at most _boundedLimit bytes.
    private bool _bounded;
    private long _boundedBytes;
    private int _boundedLimit;

    private bool _returnNow;
    private bool _eventReady;
    private XmlStreamEvent _event;

    public XmlStreamReader(XmlLimits? limits = null)
    {
        Limits = limits ?? new XmlLimits();
        Reset();
    }

    public XmlLimits Limits { get; }

    /// <summary>The default namespace declared by the stream header (e.g. "jabber:client"), or null before the header or if it has none.</summary>
    public string? StreamDefaultNamespace { get; private set; }

    /// <summary>
    /// Reads the next event from the bytes that arrived so far. Advances <paramref name="buffer"/> past what it consumed
    /// and returns true with an event; or consumes everything, keeps its state and returns false when it needs more bytes.
    /// It never consumes past an event, so after STARTTLS's &lt;proceed/&gt; the remaining bytes are untouched.
    /// </summary>
    /// <exception cref="XmlStreamException">The stream is bad; the reader is unusable until <see cref="Reset"/>.</exception>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out XmlStreamEvent ev)
    {
        if (_streamEndPending)
        {
            _streamEndPending = false;
            _state = State.Ended;
            ev = new XmlStreamEvent(XmlStreamEventKind.StreamEnd, null);
            return true;
        }
        try
        {
            long consumed = 0;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                ReadOnlySpan<byte> span = segment.Span;
                while (!span.IsEmpty)
                {
                    int used = ConsumeWithinLimit(span);
                    span = span[used..];
                    consumed += used;
                    if (_eventReady)
                    {
                        _eventReady = false;
                        buffer = buffer.Slice(consumed);
                        ev = _event;
                        _event = default;
                        return true;
                    }
                }
            }
            buffer = buffer.Slice(buffer.End);
            ev = default;
            return false;
        }
        catch (XmlStreamException)
        {
            ReleaseToken();
            throw;
        }
    }

    /// <summary>Forgets everything: a new stream starts (after STARTTLS and after SASL success).</summary>
    public void Reset()
    {
        ReleaseToken();
        _open.Clear();
        _namespaceBindings.Clear();
        _pendingAttributes.Clear();
        _state = State.Prolog;
        _afterCarriageReturn = false;
        _prologStarted = false;
        _streamOpen = false;
        _streamEndPending = false;
        _returnNow = false;
        _eventReady = false;
        _event = default;
        StreamDefaultNamespace = null;
        _streamQualifiedName = "";
        StartBoundedRegion(MaxStreamHeaderBytes, alreadyConsumed: 0);
    }

    private int ConsumeWithinLimit(ReadOnlySpan<byte> span)
    {
        bool wasBounded = _bounded;
        if (wasBounded)
        {
            long remaining = _boundedLimit - _boundedBytes;
            if (remaining <= 0)
            {
                throw LimitExceeded();
            }
            if (span.Length > remaining)
            {
                span = span[..(int)remaining];
            }
        }
        int used = Consume(span);
        if (wasBounded && _bounded)
        {
            _boundedBytes += used;
            // Still inside the element with the whole budget used: it needs at least one more byte, so it is too big.
            if (_boundedBytes >= _boundedLimit)
            {
                throw LimitExceeded();
            }
        }
        return used;
    }

    private XmlStreamException LimitExceeded() => _streamOpen
        ? Error(XmlStreamError.PolicyViolation, $"A top-level element is larger than {_boundedLimit} bytes.")
        : Error(XmlStreamError.PolicyViolation, $"The stream header is larger than {_boundedLimit} bytes.");

    private void StartBoundedRegion(int limit, int alreadyConsumed)
    {
        _bounded = true;
        _boundedLimit = limit;
        _boundedBytes = alreadyConsumed;
    }

    /// <summary>Runs the state machine over <paramref name="data"/>; stops after an event or when a bounded region begins.</summary>
    private int Consume(ReadOnlySpan<byte> data)
    {
        int index = 0;
        while (index < data.Length)
        {
            ReadOnlySpan<byte> rest = data[index..];
            // Every step either consumes bytes or moves to a state whose step will.
            index += _state switch
            {
                State.Prolog => ConsumeProlog(rest),
                State.Lt => ConsumeLt(rest[0]),
                State.XmlDeclaration => ConsumeXmlDeclaration(rest),
                State.Bang => ConsumeBang(rest[0]),
                State.CDataOpen => ConsumeCDataOpen(rest[0]),
                State.CData => ConsumeCData(rest),
                State.Content => ConsumeContent(rest),
                State.Reference => ConsumeReference(rest[0]),
                State.StartName => ConsumeStartName(rest),
                State.InTag => ConsumeInTag(rest[0]),
                State.EmptyTagEnd => ConsumeEmptyTagEnd(rest[0]),
                State.AttributeName => ConsumeAttributeName(rest),
                State.AfterAttributeName => ConsumeAfterAttributeName(rest[0]),
                State.BeforeAttributeValue => ConsumeBeforeAttributeValue(rest[0]),
                State.AttributeValue => ConsumeAttributeValue(rest),
                State.EndName => ConsumeEndName(rest),
                State.AfterEndName => ConsumeAfterEndName(rest[0]),
                State.TextOutsideElements => ConsumeTextOutsideElements(rest[0]),
                _ => ConsumeAfterStreamEnd(rest),
            };
            if (_returnNow)
            {
                _returnNow = false;
                break;
            }
        }
        return index;
    }

    private int ConsumeProlog(ReadOnlySpan<byte> rest)
    {
        int nonWhitespace = rest.IndexOfAnyExcept(WhitespaceBytes);
        if (nonWhitespace != 0)
        {
            // Whitespace before the XML declaration is a keepalive, or left over from the previous stream at a
            // restart ("</auth>\n" from go-xmpp); RFC 6120 §11.7 allows it, so it does not push the declaration off the start.
            return nonWhitespace < 0 ? rest.Length : nonWhitespace;
        }
        if (rest[0] == (byte)'<')
        {
            _state = State.Lt;
            return 1;
        }
        return BeginTextOutsideElements(rest[0]);
    }

    private int ConsumeLt(byte b)
    {
        switch (b)
        {
            case (byte)'/':
                if (!_streamOpen)
                {
                    throw Error(XmlStreamError.NotWellFormed, "An end tag before the stream header.");
                }
                FlushText();
                _state = State.EndName;
                return 1;
            case (byte)'!':
                _state = State.Bang;
                return 1;
            case (byte)'?':
                if (_streamOpen || _prologStarted)
                {
                    throw Error(XmlStreamError.RestrictedXml, "Processing instructions are not allowed in XMPP (RFC 6120 §11.1); only an XML declaration at the very start.");
                }
                ResetToken();
                _state = State.XmlDeclaration;
                return 1;
        }
        if (!XmlNames.IsNameStartByte(b))
        {
            throw Error(XmlStreamError.NotWellFormed, $"'<' followed by {Describe(b)} does not start a tag.");
        }
        if (_streamOpen && _open.Count >= Limits.MaxDepth)
        {
            throw Error(XmlStreamError.PolicyViolation, $"Elements are nested deeper than {Limits.MaxDepth} levels.");
        }
        FlushText();
        _state = State.StartName;
        return 0;
    }

    private int ConsumeXmlDeclaration(ReadOnlySpan<byte> rest)
    {
        int end = rest.IndexOf((byte)'>');
        if (end < 0)
        {
            Append(rest);
            return rest.Length;
        }
        Append(rest[..end]);
        if (_tokenLength > 0 && _token![_tokenLength - 1] == (byte)'?')
        {
            CheckXmlDeclaration(_token.AsSpan(0, _tokenLength - 1));
            ResetToken();
            _prologStarted = true;
            _state = State.Prolog;
        }
        else
        {
            Append((byte)'>');
        }
        return end + 1;
    }

    private int ConsumeBang(byte b)
    {
        if (b == (byte)'[')
        {
            if (_open.Count == 0)
            {
                throw Error(XmlStreamError.NotWellFormed, "A CDATA section outside an element.");
            }
            _cdataOpenMatched = 0;
            _state = State.CDataOpen;
            return 1;
        }
        if (b == (byte)'-')
        {
            throw Error(XmlStreamError.RestrictedXml, "Comments are not allowed in XMPP (RFC 6120 §11.1).");
        }
        if (b is >= (byte)'A' and <= (byte)'Z')
        {
            throw Error(XmlStreamError.RestrictedXml, "Document type and markup declarations are not allowed in XMPP (RFC 6120 §11.1).");
        }
        throw Error(XmlStreamError.NotWellFormed, $"'<!' followed by {Describe(b)}.");
    }

    private int ConsumeCDataOpen(byte b)
    {
        ReadOnlySpan<byte> expected = "CDATA["u8;
        if (b != expected[_cdataOpenMatched])
        {
            throw Error(XmlStreamError.NotWellFormed, "'<![' must start '<![CDATA['.");
        }
        if (++_cdataOpenMatched == expected.Length)
        {
            _cdataBrackets = 0;
            _state = State.CData;
        }
        return 1;
    }

    private int ConsumeCData(ReadOnlySpan<byte> rest)
    {
        if (SkipLineFeedAfterCarriageReturn(rest[0]))
        {
            return 1;
        }
        byte b = rest[0];
        if (b == (byte)']')
        {
            _cdataBrackets++;
            return 1;
        }
        if (b == (byte)'>' && _cdataBrackets >= 2)
        {
            AppendBrackets(_cdataBrackets - 2);
            _literalTextStart = _tokenLength;
            _state = State.Content;
            return 1;
        }
        AppendBrackets(_cdataBrackets);
        _cdataBrackets = 0;
        int special = rest.IndexOfAny(CDataSpecials);
        if (special != 0)
        {
            int length = special < 0 ? rest.Length : special;
            Append(rest[..length]);
            return length;
        }
        Append((byte)'\n');
        _afterCarriageReturn = true;
        return 1;
    }

    private int ConsumeContent(ReadOnlySpan<byte> rest)
    {
        if (_open.Count == 0)
        {
            return ConsumeBetweenTopLevelElements(rest);
        }
        if (SkipLineFeedAfterCarriageReturn(rest[0]))
        {
            return 1;
        }
        int special = rest.IndexOfAny(TextSpecials);
        if (special != 0)
        {
            int length = special < 0 ? rest.Length : special;
            Append(rest[..length]);
            return length;
        }
        switch (rest[0])
        {
            case (byte)'<':
                _state = State.Lt;
                break;
            case (byte)'&':
                BeginReference(State.Content);
                break;
            case (byte)'\r':
                Append((byte)'\n');
                _afterCarriageReturn = true;
                break;
            default: // '>'
                if (_tokenLength - _literalTextStart >= 2 && _token![_tokenLength - 1] == (byte)']' && _token[_tokenLength - 2] == (byte)']')
                {
                    throw Error(XmlStreamError.NotWellFormed, "']]>' is not allowed in text.");
                }
                Append((byte)'>');
                break;
        }
        return 1;
    }

    private int ConsumeBetweenTopLevelElements(ReadOnlySpan<byte> rest)
    {
        int nonWhitespace = rest.IndexOfAnyExcept(WhitespaceBytes);
        if (nonWhitespace != 0)
        {
            return nonWhitespace < 0 ? rest.Length : nonWhitespace;
        }
        if (rest[0] != (byte)'<')
        {
            return BeginTextOutsideElements(rest[0]);
        }
        _state = State.Lt;
        StartBoundedRegion(Limits.MaxStanzaBytes, alreadyConsumed: 1);
        _returnNow = true;
        return 1;
    }

    private void BeginReference(State returnState)
    {
        _referenceReturnState = returnState;
        _referenceStart = _tokenLength;
        _state = State.Reference;
    }

    private int ConsumeReference(byte b)
    {
        if (b == (byte)';')
        {
            ResolveReference();
            _state = _referenceReturnState;
            return 1;
        }
        bool first = _tokenLength == _referenceStart;
        if (!(b >= 0x80 || (first ? XmlNames.IsAsciiNameStart(b) || b == (byte)'#' : XmlNames.NameBytes.Contains(b))))
        {
            throw Error(XmlStreamError.NotWellFormed, "'&' must start a reference such as '&amp;' or '&#60;'; escape a literal '&' as '&amp;'.");
        }
        if (_tokenLength - _referenceStart >= MaxReferenceLength)
        {
            throw _token![_referenceStart] == (byte)'#'
                ? Error(XmlStreamError.NotWellFormed, "A character reference is too long.")
                : UndefinedEntity();
        }
        Append(b);
        return 1;
    }

    private void ResolveReference()
    {
        ReadOnlySpan<byte> name = _token.AsSpan(_referenceStart, _tokenLength - _referenceStart);
        byte predefined =
            name.SequenceEqual("lt"u8) ? (byte)'<' :
            name.SequenceEqual("gt"u8) ? (byte)'>' :
            name.SequenceEqual("amp"u8) ? (byte)'&' :
            name.SequenceEqual("quot"u8) ? (byte)'"' :
            name.SequenceEqual("apos"u8) ? (byte)'\'' : (byte)0;
        if (predefined != 0)
        {
            _tokenLength = _referenceStart;
            Append(predefined);
            return;
        }
        if (name.IsEmpty)
        {
            throw Error(XmlStreamError.NotWellFormed, "An empty reference '&;'.");
        }
        if (name[0] != (byte)'#')
        {
            throw UndefinedEntity();
        }
        Rune character = ParseCharacterReference(name[1..]);
        _tokenLength = _referenceStart;
        Span<byte> utf8 = stackalloc byte[4];
        Append(utf8[..character.EncodeToUtf8(utf8)]);
        _literalTextStart = _tokenLength;
    }

    private static XmlStreamException UndefinedEntity() => Error(XmlStreamError.RestrictedXml,
        "Entity references other than &lt; &gt; &amp; &quot; &apos; are not allowed in XMPP (RFC 6120 §11.1).");

    private static Rune ParseCharacterReference(ReadOnlySpan<byte> digits)
    {
        bool hex = !digits.IsEmpty && digits[0] == (byte)'x';
        if (hex)
        {
            digits = digits[1..];
        }
        if (digits.IsEmpty)
        {
            throw Error(XmlStreamError.NotWellFormed, "A character reference without digits.");
        }
        long value = 0;
        foreach (byte digit in digits)
        {
            int digitValue = digit switch
            {
                >= (byte)'0' and <= (byte)'9' => digit - '0',
                >= (byte)'a' and <= (byte)'f' when hex => digit - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' when hex => digit - 'A' + 10,
                _ => throw Error(XmlStreamError.NotWellFormed, "A character reference with a non-digit."),
            };
            value = Math.Min(value * (hex ? 16 : 10) + digitValue, int.MaxValue);
        }
        if (!IsXmlChar(value))
        {
            throw Error(XmlStreamError.NotWellFormed, $"Character reference to U+{value:X4}, which is not an XML character.");
        }
        return new Rune((int)value);
    }

    private static bool IsXmlChar(long c) =>
        c is 0x9 or 0xA or 0xD or (>= 0x20 and <= 0xD7FF) or (>= 0xE000 and <= 0xFFFD) or (>= 0x10000 and <= 0x10FFFF);

    private int ConsumeStartName(ReadOnlySpan<byte> rest)
    {
        int end = rest.IndexOfAnyExcept(XmlNames.NameBytes);
        if (end < 0)
        {
            Append(rest);
            return rest.Length;
        }
        Append(rest[..end]);
        _pendingQualifiedName = TakeName("element");
        _pendingAttributes.Clear();
        _pendingAttributeCount = 0;
        _pendingBindingStart = _namespaceBindings.Count;
        switch (rest[end])
        {
            case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                _sawSpaceInTag = true;
                _state = State.InTag;
                break;
            case (byte)'/':
                _state = State.EmptyTagEnd;
                break;
            case (byte)'>':
                FinishStartTag(empty: false);
                break;
            default:
                throw Error(XmlStreamError.NotWellFormed, $"{Describe(rest[end])} in an element name.");
        }
        return end + 1;
    }

    private int ConsumeInTag(byte b)
    {
        switch (b)
        {
            case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                _sawSpaceInTag = true;
                return 1;
            case (byte)'>':
                FinishStartTag(empty: false);
                return 1;
            case (byte)'/':
                _state = State.EmptyTagEnd;
                return 1;
        }
        if (!XmlNames.IsNameStartByte(b))
        {
            throw Error(XmlStreamError.NotWellFormed, $"{Describe(b)} inside a start tag.");
        }
        if (!_sawSpaceInTag)
        {
            throw Error(XmlStreamError.NotWellFormed, "Attributes must be separated by whitespace.");
        }
        _state = State.AttributeName;
        return 0;
    }

    private int ConsumeEmptyTagEnd(byte b)
    {
        if (b != (byte)'>')
        {
            throw Error(XmlStreamError.NotWellFormed, "'/' in a start tag must be followed by '>'.");
        }
        FinishStartTag(empty: true);
        return 1;
    }

    private int ConsumeAttributeName(ReadOnlySpan<byte> rest)
    {
        int end = rest.IndexOfAnyExcept(XmlNames.NameBytes);
        if (end < 0)
        {
            Append(rest);
            return rest.Length;
        }
        Append(rest[..end]);
        _pendingAttributeName = TakeName("attribute");
        _state = rest[end] switch
        {
            (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' => State.AfterAttributeName,
            (byte)'=' => State.BeforeAttributeValue,
            _ => throw Error(XmlStreamError.NotWellFormed, $"{Describe(rest[end])} in an attribute name."),
        };
        return end + 1;
    }

    private int ConsumeAfterAttributeName(byte b)
    {
        if (b == (byte)'=')
        {
            _state = State.BeforeAttributeValue;
        }
        else if (!IsWhitespace(b))
        {
            throw Error(XmlStreamError.NotWellFormed, $"Expected '=' after attribute '{_pendingAttributeName}'.");
        }
        return 1;
    }

    private int ConsumeBeforeAttributeValue(byte b)
    {
        if (b is (byte)'"' or (byte)'\'')
        {
            _quote = b;
            _state = State.AttributeValue;
        }
        else if (!IsWhitespace(b))
        {
            throw Error(XmlStreamError.NotWellFormed, $"The value of attribute '{_pendingAttributeName}' must be quoted.");
        }
        return 1;
    }

    private int ConsumeAttributeValue(ReadOnlySpan<byte> rest)
    {
        if (SkipLineFeedAfterCarriageReturn(rest[0]))
        {
            return 1;
        }
        int special = rest.IndexOfAny(_quote == (byte)'"' ? DoubleQuotedSpecials : SingleQuotedSpecials);
        if (special != 0)
        {
            int length = special < 0 ? rest.Length : special;
            Append(rest[..length]);
            return length;
        }
        switch (rest[0])
        {
            case (byte)'<':
                throw Error(XmlStreamError.NotWellFormed, $"'<' in the value of attribute '{_pendingAttributeName}'.");
            case (byte)'&':
                BeginReference(State.AttributeValue);
                break;
            case (byte)'\r':
                // Attribute-value normalization (XML 1.0 §3.3.3): CRLF, CR, LF and tab each become one space.
                Append((byte)' ');
                _afterCarriageReturn = true;
                break;
            case (byte)'\t' or (byte)'\n':
                Append((byte)' ');
                break;
            default: // the closing quote
                AddPendingAttribute(TakeText(cache: true));
                _sawSpaceInTag = false;
                _state = State.InTag;
                break;
        }
        return 1;
    }

    private int ConsumeEndName(ReadOnlySpan<byte> rest)
    {
        int end = rest.IndexOfAnyExcept(XmlNames.NameBytes);
        if (end < 0)
        {
            Append(rest);
            return rest.Length;
        }
        Append(rest[..end]);
        switch (rest[end])
        {
            case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                _state = State.AfterEndName;
                break;
            case (byte)'>':
                FinishEndTag();
                break;
            default:
                throw Error(XmlStreamError.NotWellFormed, $"{Describe(rest[end])} in an end tag.");
        }
        return end + 1;
    }

    private int ConsumeAfterEndName(byte b)
    {
        if (b == (byte)'>')
        {
            FinishEndTag();
        }
        else if (!IsWhitespace(b))
        {
            throw Error(XmlStreamError.NotWellFormed, $"{Describe(b)} after the name in an end tag.");
        }
        return 1;
    }

    private static int ConsumeAfterStreamEnd(ReadOnlySpan<byte> rest)
    {
        int nonWhitespace = rest.IndexOfAnyExcept(WhitespaceBytes);
        if (nonWhitespace >= 0)
        {
            throw Error(XmlStreamError.NotWellFormed, "Data after the end of the stream.");
        }
        return rest.Length;
    }

    /// <summary>
    /// Text where only whitespace may be: an error either way, but invalid UTF-8 must be reported as such, so a
    /// non-ASCII character is collected (it may be split across reads) before deciding which error it is.
    /// </summary>
    private int BeginTextOutsideElements(byte b)
    {
        if (b < 0x80)
        {
            throw Error(XmlStreamError.NotWellFormed, _streamOpen ? "Text is not allowed between top-level elements." : "Text is not allowed before the stream header.");
        }
        ResetToken();
        _state = State.TextOutsideElements;
        return 0;
    }

    private int ConsumeTextOutsideElements(byte b)
    {
        Append(b);
        OperationStatus status = Rune.DecodeFromUtf8(_token.AsSpan(0, _tokenLength), out _, out _);
        if (status == OperationStatus.NeedMoreData)
        {
            return 1;
        }
        throw status == OperationStatus.Done
            ? Error(XmlStreamError.NotWellFormed, _streamOpen ? "Text is not allowed between top-level elements." : "Text is not allowed before the stream header.")
            : InvalidUtf8();
    }

    private void AddPendingAttribute(string value)
    {
        string name = _pendingAttributeName;
        if (name == "xmlns" || name.StartsWith("xmlns:", StringComparison.Ordinal))
        {
            Declare(name.Length == 5 ? "" : name[6..], value);
            if (!_streamOpen)
            {
                // The stream header reports its declarations as attributes (the server echoes and checks them).
                _pendingAttributes.Add(new XmlAttribute(name, value));
            }
            return;
        }
        if (++_pendingAttributeCount > Limits.MaxAttributes)
        {
            throw Error(XmlStreamError.PolicyViolation, $"More than {Limits.MaxAttributes} attributes on one element.");
        }
        foreach (XmlAttribute existing in _pendingAttributes)
        {
            if (existing.Name == name)
            {
                throw Error(XmlStreamError.NotWellFormed, $"Attribute '{name}' appears twice.");
            }
        }
        _pendingAttributes.Add(new XmlAttribute(name, value));
    }

    private void Declare(string prefix, string uri)
    {
        if (_namespaceBindings.Count - _pendingBindingStart >= Limits.MaxNamespaceDeclarations)
        {
            throw Error(XmlStreamError.PolicyViolation, $"More than {Limits.MaxNamespaceDeclarations} namespace declarations on one element.");
        }
        for (int i = _pendingBindingStart; i < _namespaceBindings.Count; i++)
        {
            if (_namespaceBindings[i].Prefix == prefix)
            {
                throw Error(XmlStreamError.NotWellFormed, $"Namespace declaration '{(prefix.Length == 0 ? "xmlns" : "xmlns:" + prefix)}' appears twice.");
            }
        }
        bool badBinding = prefix switch
        {
            "" => false,
            "xmlns" => true,
            "xml" => uri != XmlNamespaces.Xml,
            _ => uri.Length == 0 || uri == XmlNamespaces.Xml,
        };
        if (badBinding)
        {
            throw Error(XmlStreamError.NotWellFormed, $"Prefix '{prefix}' cannot be bound to '{uri}'.");
        }
        _namespaceBindings.Add(new NamespaceBinding(prefix, uri));
    }

    private string? LookupNamespace(ReadOnlySpan<char> prefix)
    {
        for (int i = _namespaceBindings.Count - 1; i >= 0; i--)
        {
            if (prefix.SequenceEqual(_namespaceBindings[i].Prefix))
            {
                return _namespaceBindings[i].Uri;
            }
        }
        return prefix.SequenceEqual("xml") ? XmlNamespaces.Xml : null;
    }

    private void FinishStartTag(bool empty)
    {
        string qualifiedName = _pendingQualifiedName;
        int colon = qualifiedName.IndexOf(':');
        ReadOnlySpan<char> prefix = colon < 0 ? default : qualifiedName.AsSpan(0, colon);
        string localName = colon < 0 ? qualifiedName : XmlStringCache.GetString(qualifiedName.AsSpan(colon + 1));
        string ns = LookupNamespace(prefix) ?? (colon < 0 ? "" : throw Error(XmlStreamError.NotWellFormed, $"Element <{qualifiedName}> uses an undeclared prefix."));
        if (prefix.SequenceEqual("xmlns"))
        {
            throw Error(XmlStreamError.NotWellFormed, "The prefix 'xmlns' cannot name an element.");
        }
        foreach (XmlAttribute attribute in _pendingAttributes)
        {
            int attributeColon = attribute.Name.IndexOf(':');
            if (attributeColon > 0 && !attribute.Name.StartsWith("xmlns:", StringComparison.Ordinal)
                && LookupNamespace(attribute.Name.AsSpan(0, attributeColon)) is null)
            {
                throw Error(XmlStreamError.NotWellFormed, $"Attribute '{attribute.Name}' uses an undeclared prefix.");
            }
        }
        XmlAttribute[]? attributes = null;
        if (_pendingAttributes.Count > 0)
        {
            // A stanza gets room for the 'from' and 'xml:lang' a server stamps on it, instead of a copy to twice the size then.
            attributes = new XmlAttribute[_pendingAttributes.Count + (_streamOpen && _open.Count == 0 ? 2 : 0)];
            _pendingAttributes.CopyTo(attributes);
        }
        var element = new Element(localName, ns, attributes, _pendingAttributes.Count);
        _pendingAttributes.Clear();
        ResetToken();
        _state = State.Content;

        if (!_streamOpen)
        {
            OpenStream(element, qualifiedName, empty);
            return;
        }
        if (_open.Count > 0)
        {
            _open[^1].Element.Add(element);
        }
        if (!empty)
        {
            _open.Add(new OpenElement(element, qualifiedName, _pendingBindingStart));
            return;
        }
        _namespaceBindings.RemoveRange(_pendingBindingStart, _namespaceBindings.Count - _pendingBindingStart);
        if (_open.Count == 0)
        {
            CompleteTopLevelElement(element);
        }
    }

    private void OpenStream(Element header, string qualifiedName, bool empty)
    {
        if (header.Namespace != XmlNamespaces.Streams)
        {
            throw Error(XmlStreamError.InvalidNamespace, $"The stream root element must be in namespace '{XmlNamespaces.Streams}', not '{header.Namespace}'.");
        }
        if (header.Name != "stream")
        {
            throw Error(XmlStreamError.NotWellFormed, $"The stream root element must be <stream:stream>, not <{qualifiedName}>.");
        }
        _streamOpen = true;
        _streamQualifiedName = qualifiedName;
        StreamDefaultNamespace = LookupNamespace(default);
        _bounded = false;
        ReleaseToken();
        Emit(XmlStreamEventKind.StreamStart, header);
        _streamEndPending = empty;
    }

    private void FinishEndTag()
    {
        ReadOnlySpan<byte> name = _token.AsSpan(0, _tokenLength);
        if (_open.Count == 0)
        {
            if (!Utf8Equals(name, _streamQualifiedName))
            {
                throw Error(XmlStreamError.NotWellFormed, $"End tag </{Encoding.UTF8.GetString(name)}> does not close <{_streamQualifiedName}>.");
            }
            _bounded = false;
            _state = State.Ended;
            ReleaseToken();
            Emit(XmlStreamEventKind.StreamEnd, null);
            return;
        }
        OpenElement closed = _open[^1];
        if (!Utf8Equals(name, closed.QualifiedName))
        {
            throw Error(XmlStreamError.NotWellFormed, $"End tag </{Encoding.UTF8.GetString(name)}> does not close <{closed.QualifiedName}>.");
        }
        _open.RemoveAt(_open.Count - 1);
        _namespaceBindings.RemoveRange(closed.NamespaceBindingStart, _namespaceBindings.Count - closed.NamespaceBindingStart);
        ResetToken();
        _state = State.Content;
        if (_open.Count == 0)
        {
            CompleteTopLevelElement(closed.Element);
        }
    }

    private void CompleteTopLevelElement(Element element)
    {
        _bounded = false;
        // An idle connection holds no buffer.
        ReleaseToken();
        Emit(XmlStreamEventKind.Element, element);
    }

    private void Emit(XmlStreamEventKind kind, Element? element)
    {
        _event = new XmlStreamEvent(kind, element);
        _eventReady = true;
        _returnNow = true;
    }

    private void FlushText()
    {
        if (_open.Count > 0 && _tokenLength > 0)
        {
            _open[^1].Element.Add(new TextNode(TakeTextUtf8()));
        }
        ResetToken();
    }

    private bool SkipLineFeedAfterCarriageReturn(byte b)
    {
        if (!_afterCarriageReturn)
        {
            return false;
        }
        _afterCarriageReturn = false;
        return b == (byte)'\n';
    }

    /// <summary>The pending token as a validated name (QName rules); the token is reset.</summary>
    private string TakeName(string what)
    {
        ReadOnlySpan<byte> bytes = _token.AsSpan(0, _tokenLength);
        if (!Utf8.IsValid(bytes))
        {
            throw InvalidUtf8();
        }
        string name = XmlStringCache.GetString(bytes);
        if (!XmlNames.IsQualifiedName(name))
        {
            throw Error(XmlStreamError.NotWellFormed, $"'{name}' is not a valid {what} name.");
        }
        ResetToken();
        return name;
    }

    /// <summary>The pending token as validated character data; the token is reset.</summary>
    private string TakeText(bool cache)
    {
        ReadOnlySpan<byte> bytes = CheckedText();
        string text = cache ? XmlStringCache.GetString(bytes) : Encoding.UTF8.GetString(bytes);
        ResetToken();
        return text;
    }

    /// <summary>The pending character data as the UTF-8 a <see cref="TextNode"/> keeps; the token is reset.</summary>
    private byte[] TakeTextUtf8()
    {
        byte[] text = CheckedText().ToArray();
        ResetToken();
        return text;
    }

    private ReadOnlySpan<byte> CheckedText()
    {
        ReadOnlySpan<byte> bytes = _token.AsSpan(0, _tokenLength);
        if (!Utf8.IsValid(bytes))
        {
            throw InvalidUtf8();
        }
        if (bytes.ContainsAny(ForbiddenControlBytes) || ContainsNonCharacter(bytes))
        {
            throw Error(XmlStreamError.NotWellFormed, "A character that XML 1.0 does not allow (a control character, U+FFFE or U+FFFF).");
        }
        return bytes;
    }

    /// <summary>U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.</summary>
    private static bool ContainsNonCharacter(ReadOnlySpan<byte> utf8)
    {
        while (true)
        {
            int at = utf8.IndexOf(NonCharacterPrefix);
            if (at < 0 || at + 2 >= utf8.Length)
            {
                return false;
            }
            if (utf8[at + 2] >= 0xBE)
            {
                return true;
            }
            utf8 = utf8[(at + 2)..];
        }
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
    {
        if (Ascii.IsValid(utf8))
        {
            return Ascii.Equals(utf8, text);
        }
        return Utf8.IsValid(utf8) && Encoding.UTF8.GetString(utf8) == text;
    }

    private void AppendBrackets(int count)
    {
        for (int i = 0; i < count; i++)
        {
            Append((byte)']');
        }
    }

    private void Append(byte b)
    {
        EnsureCapacity(1);
        _token![_tokenLength++] = b;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        EnsureCapacity(bytes.Length);
        bytes.CopyTo(_token.AsSpan(_tokenLength));
        _tokenLength += bytes.Length;
    }

    private void EnsureCapacity(int extra)
    {
        int needed = _tokenLength + extra;
        if (_token is null)
        {
            _token = ArrayPool<byte>.Shared.Rent(Math.Max(InitialTokenCapacity, needed));
        }
        else if (needed > _token.Length)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_token.Length * 2, needed));
            _token.AsSpan(0, _tokenLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_token);
            _token = larger;
        }
    }

    private void ResetToken()
    {
        _tokenLength = 0;
        _literalTextStart = 0;
    }

    private void ReleaseToken()
    {
        ResetToken();
        if (_token is not null)
        {
            ArrayPool<byte>.Shared.Return(_token);
            _token = null;
        }
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static XmlStreamException InvalidUtf8() => Error(XmlStreamError.UnsupportedEncoding, "The stream is not valid UTF-8.");

    private static string Describe(byte b) => b is >= 0x20 and < 0x7F ? $"'{(char)b}'" : $"byte 0x{b:X2}";

    private static XmlStreamException Error(XmlStreamError error, string message) => new(error, message);

    /// <summary>
    /// Checks the pseudo-attributes of &lt;?xml ...?&gt;: version first, then optionally encoding (must be UTF-8) and standalone.
    /// A processing instruction with any other target is restricted XML.
    /// </summary>
    private static void CheckXmlDeclaration(ReadOnlySpan<byte> declaration)
    {
        int targetEnd = declaration.IndexOfAny(WhitespaceBytes);
        ReadOnlySpan<byte> target = targetEnd < 0 ? declaration : declaration[..targetEnd];
        if (!target.SequenceEqual("xml"u8))
        {
            throw Ascii.EqualsIgnoreCase(target, "xml"u8)
                ? Error(XmlStreamError.NotWellFormed, "A malformed XML declaration.")
                : Error(XmlStreamError.RestrictedXml, "Processing instructions are not allowed in XMPP (RFC 6120 §11.1).");
        }
        ReadOnlySpan<byte> rest = targetEnd < 0 ? default : declaration[targetEnd..];
        int position = 0; // 0: expect version, 1: encoding or standalone, 2: standalone, 3: nothing
        while (true)
        {
            rest = rest.TrimStart(" \t\r\n"u8);
            if (rest.IsEmpty)
            {
                break;
            }
            int equals = rest.IndexOf((byte)'=');
            if (equals <= 0)
            {
                throw Error(XmlStreamError.NotWellFormed, "A malformed XML declaration.");
            }
            ReadOnlySpan<byte> name = rest[..equals].TrimEnd(" \t\r\n"u8);
            rest = rest[(equals + 1)..].TrimStart(" \t\r\n"u8);
            int close = rest.Length > 1 && rest[0] is (byte)'"' or (byte)'\'' ? rest[1..].IndexOf(rest[0]) : -1;
            if (close < 0)
            {
                throw Error(XmlStreamError.NotWellFormed, "A malformed XML declaration.");
            }
            ReadOnlySpan<byte> value = rest.Slice(1, close);
            rest = rest[(close + 2)..];
            if (position == 0 && name.SequenceEqual("version"u8) && value.StartsWith("1."u8))
            {
                position = 1;
            }
            else if (position == 1 && name.SequenceEqual("encoding"u8))
            {
                if (!Ascii.EqualsIgnoreCase(value, "UTF-8"u8))
                {
                    throw Error(XmlStreamError.UnsupportedEncoding, "XMPP streams must be UTF-8 (RFC 6120 §11.6).");
                }
                position = 2;
            }
            else if (position is 1 or 2 && name.SequenceEqual("standalone"u8) && (value.SequenceEqual("yes"u8) || value.SequenceEqual("no"u8)))
            {
                position = 3;
            }
            else
            {
                throw Error(XmlStreamError.NotWellFormed, "A malformed XML declaration.");
            }
        }
        if (position == 0)
        {
            throw Error(XmlStreamError.NotWellFormed, "The XML declaration has no version.");
        }
    }
}
