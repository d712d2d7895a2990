using System.Collections;

namespace Parley.Xml;

/// <summary>
/// An element's attributes or child nodes, read-only. A struct with a struct enumerator, so that <c>foreach</c> over
/// <see cref="Element.Nodes"/> on the path of every stanza allocates nothing (the interfaces would box an enumerator).
/// </summary>
public readonly struct XmlList<T>(List<T>? items) : IReadOnlyList<T>
{
    private static readonly List<T> s_none = [];

    public int Count => items?.Count ?? 0;

    public T this[int index] => (items ?? s_none)[index];

    public List<T>.Enumerator GetEnumerator() => (items ?? s_none).GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
