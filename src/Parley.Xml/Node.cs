using System.Text;

namespace Parley.Xml;

/// <summary>A child of an <see cref="Element"/>: either an <see cref="Element"/> or a <see cref="TextNode"/>.</summary>
public abstract class Node
{
    private protected Node()
    {
    }
}

/// <summary>Character data. <see cref="Value"/> is the decoded text (no entities, no CDATA markers).</summary>
/// <remarks>
/// Text read off a stream is kept as the UTF-8 it arrived in (half the memory of a string for most text) and decoded
/// only if something asks for <see cref="Value"/>: a message body that is only routed is written out as it came.
/// </remarks>
public sealed class TextNode : Node
{
    private readonly byte[]? _utf8;
    private string? _value;

    public TextNode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>For the reader: valid UTF-8 of characters XML allows, entities resolved.</summary>
    internal TextNode(byte[] utf8)
    {
        _utf8 = utf8;
    }

    // A benign race: two threads may both decode it; either result is equal.
    public string Value => _value ??= Encoding.UTF8.GetString(_utf8!);

    /// <summary>The text as read, when it was read off a stream and not made from a string.</summary>
    internal byte[]? Utf8 => _utf8;
}

/// <summary>An attribute as written: <see cref="Name"/> is "to", "type", "xml:lang", ...</summary>
public readonly record struct XmlAttribute(string Name, string Value);
