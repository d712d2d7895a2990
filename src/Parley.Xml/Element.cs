using System.Buffers;
using System.Text;

namespace Parley.Xml;

/// <summary>
/// An XML element: a local name, a namespace, attributes as written and child nodes.
/// <see cref="Namespace"/> null means "the namespace of whatever contains me"; the reader always sets it.
/// </summary>
public sealed class Element : Node
{
    private List<XmlAttribute>? _attributes;
    private List<Node>? _nodes;

    public Element(string name, string? ns = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!XmlNames.IsLocalName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid XML element name (no prefix allowed).", nameof(name));
        }
        Name = name;
        Namespace = ns;
    }

    /// <summary>For the reader: the name is already validated and the attribute list is built to size.</summary>
    internal Element(string name, string? ns, List<XmlAttribute>? attributes)
    {
        Name = name;
        Namespace = ns;
        _attributes = attributes;
    }

    public string Name { get; }

    public string? Namespace { get; set; }

    public XmlList<XmlAttribute> Attributes => new(_attributes);

    public XmlList<Node> Nodes => new(_nodes);

    public string? this[string attributeName]
    {
        get => GetAttribute(attributeName);
        set => SetAttribute(attributeName, value);
    }

    /// <summary>All direct text children concatenated; "" when there are none.</summary>
    public string Text
    {
        get
        {
            if (_nodes is null)
            {
                return "";
            }
            string? single = null;
            StringBuilder? builder = null;
            foreach (Node node in _nodes)
            {
                if (node is not TextNode text)
                {
                    continue;
                }
                if (single is null)
                {
                    single = text.Value;
                }
                else
                {
                    builder ??= new StringBuilder(single);
                    builder.Append(text.Value);
                }
            }
            return builder?.ToString() ?? single ?? "";
        }
    }

    public string? GetAttribute(string name)
    {
        if (_attributes is not null)
        {
            foreach (XmlAttribute attribute in _attributes)
            {
                if (attribute.Name == name)
                {
                    return attribute.Value;
                }
            }
        }
        return null;
    }

    /// <summary>Sets, replaces or (with a null value) removes an attribute. Returns this element.</summary>
    public Element SetAttribute(string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        int index = IndexOfAttribute(name);
        if (value is null)
        {
            if (index >= 0)
            {
                _attributes!.RemoveAt(index);
            }
            return this;
        }
        if (index >= 0)
        {
            _attributes![index] = new XmlAttribute(name, value);
            return this;
        }
        if (!XmlNames.IsQualifiedName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid XML attribute name.", nameof(name));
        }
        (_attributes ??= []).Add(new XmlAttribute(name, value));
        return this;
    }

    public Element Add(Node child)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (ReferenceEquals(child, this))
        {
            throw new ArgumentException("An element cannot contain itself.", nameof(child));
        }
        (_nodes ??= []).Add(child);
        return this;
    }

    public Element AddText(string text) => Add(new TextNode(text));

    /// <summary>Creates a child element, appends it and returns the new child.</summary>
    public Element AddChild(string name, string? ns = null)
    {
        var child = new Element(name, ns);
        Add(child);
        return child;
    }

    public bool Remove(Node child) => _nodes is not null && _nodes.Remove(child);

    public void RemoveAll() => _nodes?.Clear();

    /// <summary>The first child element with this name, in <paramref name="ns"/> or (when null) in any namespace.</summary>
    public Element? Child(string name, string? ns = null)
    {
        if (_nodes is not null)
        {
            foreach (Node node in _nodes)
            {
                if (node is Element element && element.Name == name && (ns is null || element.Namespace == ns))
                {
                    return element;
                }
            }
        }
        return null;
    }

    public IEnumerable<Element> Children()
    {
        if (_nodes is null)
        {
            yield break;
        }
        foreach (Node node in _nodes)
        {
            if (node is Element element)
            {
                yield return element;
            }
        }
    }

    public IEnumerable<Element> Children(string name, string? ns = null)
    {
        if (_nodes is null)
        {
            yield break;
        }
        foreach (Node node in _nodes)
        {
            if (node is Element element && element.Name == name && (ns is null || element.Namespace == ns))
            {
                yield return element;
            }
        }
    }

    public string? ChildText(string name, string? ns = null) => Child(name, ns)?.Text;

    public Element Clone()
    {
        var copy = new Element(Name, Namespace, _attributes is null ? null : new List<XmlAttribute>(_attributes));
        if (_nodes is not null)
        {
            copy._nodes = new List<Node>(_nodes.Count);
            foreach (Node node in _nodes)
            {
                copy._nodes.Add(node is Element element ? element.Clone() : node);
            }
        }
        return copy;
    }

    /// <summary>
    /// Writes this element as UTF-8. <paramref name="defaultNamespace"/> is the namespace already in scope where the
    /// element is written (the stream's, e.g. "jabber:client"); see <see cref="XmlElementWriter"/> for the rules.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output, string? defaultNamespace = null) => XmlElementWriter.Write(output, this, defaultNamespace);

    public string ToXml(string? defaultNamespace = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteTo(buffer, defaultNamespace);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public override string ToString() => ToXml();

    private int IndexOfAttribute(string name)
    {
        if (_attributes is not null)
        {
            for (int i = 0; i < _attributes.Count; i++)
            {
                if (_attributes[i].Name == name)
                {
                    return i;
                }
            }
        }
        return -1;
    }
}
