using System.Collections;

namespace Parley.Xml;

/// <summary>
/// An element's attributes or child nodes, read-only: the first <paramref name="count"/> items of the element's own array.
/// A struct with a struct enumerator, so that <c>foreach</c> over <see cref="Element.Nodes"/> on the path of every stanza
/// allocates nothing (the interfaces would box an enumerator).
/// </summary>
public readonly struct XmlList<T>(T[]? items, int count) : IReadOnlyList<T>
{
    public int Count => count;

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)count, nameof(index));
            return items![index];
        }
    }

    public Enumerator GetEnumerator() => new(items, count);

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public struct Enumerator(T[]? items, int count) : IEnumerator<T>
    {
        private int _index = -1;

        public readonly T Current => items![_index];

        readonly object? IEnumerator.Current => Current;

        public bool MoveNext() => ++_index < count;

        public void Reset() => _index = -1;

        public readonly void Dispose()
        {
        }
    }
}
