namespace Parley.Xml;

/// <summary>Limits the reader enforces; exceeding one is a <see cref="XmlStreamError.PolicyViolation"/>.</summary>
public sealed record XmlLimits
{
    /// <summary>Bytes of one top-level element including its children, from its '&lt;' to its final '&gt;'.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>Element nesting inside a stanza; the stanza itself is depth 1.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Attributes per element, not counting namespace declarations.</summary>
    public int MaxAttributes { get; init; } = 64;

    /// <summary>Namespace declarations (xmlns, xmlns:p) per element.</summary>
    public int MaxNamespaceDeclarations { get; init; } = 16;
}

public enum XmlStreamEventKind
{
    /// <summary>The stream header; the event's element is the &lt;stream:stream&gt; element without children.</summary>
    StreamStart,

    /// <summary>One complete top-level element (a stanza, stream:features, starttls, ...).</summary>
    Element,

    /// <summary>&lt;/stream:stream&gt; (or a self-closed header). The event carries no element.</summary>
    StreamEnd,
}

public readonly record struct XmlStreamEvent(XmlStreamEventKind Kind, Element? Element);

/// <summary>What went wrong, mapped one-to-one onto RFC 6120 stream error conditions.</summary>
public enum XmlStreamError
{
    /// <summary>&lt;not-well-formed/&gt;</summary>
    NotWellFormed,

    /// <summary>&lt;restricted-xml/&gt;: DTD, comment, processing instruction or entity reference (RFC 6120 §11.1).</summary>
    RestrictedXml,

    /// <summary>&lt;policy-violation/&gt;: a <see cref="XmlLimits"/> limit was exceeded.</summary>
    PolicyViolation,

    /// <summary>&lt;unsupported-encoding/&gt;: invalid UTF-8 or an encoding declaration other than UTF-8.</summary>
    UnsupportedEncoding,

    /// <summary>&lt;invalid-namespace/&gt;: the root element is not in the streams namespace.</summary>
    InvalidNamespace,
}

public sealed class XmlStreamException : Exception
{
    public XmlStreamException(XmlStreamError error, string message)
        : base(message)
    {
        Error = error;
    }

    public XmlStreamError Error { get; }
}
