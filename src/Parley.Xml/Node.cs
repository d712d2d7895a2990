namespace Parley.Xml;

/// <summary>A child of an <see cref="Element"/>: either an <see cref="Element"/> or a <see cref="TextNode"/>.</summary>
public abstract class Node
{
    private protected Node()
    {
    }
}

/// <summary>Character data. <see cref="Value"/> is the decoded text (no entities, no CDATA markers).</summary>
public sealed class TextNode : Node
{
    public TextNode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
    }

    public string Value { get; }
}

/// <summary>An attribute as written: <see cref="Name"/> is "to", "type", "xml:lang", ...</summary>
public readonly record struct XmlAttribute(string Name, string Value);
