using System.Buffers;
using System.Text;

namespace Parley.Xml;

/// <summary>
/// An XML element: a local name, a namespace, attributes as written and child nodes.
/// <see cref="Namespace"/> null means "the namespace of whatever contains me"; the reader always sets it.
/// </summary>
public sealed class Element : Node
{
    // Arrays with counts rather than List<T>: two objects fewer per element, and every stanza is a tree of elements.
    private XmlAttribute[]? _attributes;
    private int _attributeCount;
    private Node[]? _nodes;
    private int _nodeCount;

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

    /// <summary>For the reader: the name is already validated; the first <paramref name="attributeCount"/> are the attributes.</summary>
    internal Element(string name, string? ns, XmlAttribute[]? attributes, int attributeCount)
    {
        Name = name;
        Namespace = ns;
        _attributes = attributes;
        _attributeCount = attributeCount;
    }

    public string Name { get; }

    public string? Namespace { get; set; }

    public XmlList<XmlAttribute> Attributes => new(_attributes, _attributeCount);

    public XmlList<Node> Nodes => new(_nodes, _nodeCount);

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
            string? single = null;
            StringBuilder? builder = null;
            foreach (Node node in Nodes)
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
        foreach (XmlAttribute attribute in Attributes)
        {
            if (attribute.Name == name)
            {
                return attribute.Value;
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
                RemoveAt(_attributes!, ref _attributeCount, index);
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
        Append(ref _attributes, ref _attributeCount, new XmlAttribute(name, value));
        return this;
    }

    public Element Add(Node child)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (ReferenceEquals(child, this))
        {
            throw new ArgumentException("An element cannot contain itself.", nameof(child));
        }
        Append(ref _nodes, ref _nodeCount, child);
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

    public bool Remove(Node child)
    {
        int index = _nodes is null ? -1 : Array.IndexOf(_nodes, child, 0, _nodeCount);
        if (index < 0)
        {
            return false;
        }
        RemoveAt(_nodes!, ref _nodeCount, index);
        return true;
    }

    public void RemoveAll()
    {
        if (_nodes is not null)
        {
            Array.Clear(_nodes, 0, _nodeCount);
        }
        _nodeCount = 0;
    }

    /// <summary>The first child element with this name, in <paramref name="ns"/> or (when null) in any namespace.</summary>
    public Element? Child(string name, string? ns = null)
    {
        foreach (Node node in Nodes)
        {
            if (node is Element element && element.Name == name && (ns is null || element.Namespace == ns))
            {
                return element;
            }
        }
        return null;
    }

    public IEnumerable<Element> Children()
    {
        foreach (Node node in Nodes)
        {
            if (node is Element element)
            {
                yield return element;
            }
        }
    }

    public IEnumerable<Element> Children(string name, string? ns = null)
    {
        foreach (Node node in Nodes)
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
        var copy = new Element(Name, Namespace, _attributeCount == 0 ? null : _attributes.AsSpan(0, _attributeCount).ToArray(), _attributeCount);
        if (_nodeCount > 0)
        {
            copy._nodes = new Node[_nodeCount];
            copy._nodeCount = _nodeCount;
            for (int i = 0; i < _nodeCount; i++)
            {
                copy._nodes[i] = _nodes![i] is Element element ? element.Clone() : _nodes[i];
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
        for (int i = 0; i < _attributeCount; i++)
        {
            if (_attributes![i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }

    private static void Append<T>(ref T[]? items, ref int count, T item)
    {
        if (items is null || count == items.Length)
        {
            Array.Resize(ref items, Math.Max(4, count * 2));
        }
        items[count++] = item;
    }

    private static void RemoveAt<T>(T[] items, ref int count, int index)
    {
        count--;
        Array.Copy(items, index + 1, items, index, count - index);
        items[count] = default!;
    }
}
