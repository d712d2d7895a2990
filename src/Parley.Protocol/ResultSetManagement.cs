using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Parley.Xml;

namespace Parley.Protocol;

/// <summary>
/// What a requester's &lt;set/&gt; asks for (XEP-0059 §2): at most <see cref="Max"/> items, after or before an item's id,
/// or from an <see cref="Index"/>. Each is null when not asked; <see cref="Before"/> is "" for an empty &lt;before/&gt;.
/// </summary>
public sealed record ResultSetRequest(int? Max, string? After, string? Before, int? Index)
{
    /// <summary>An empty &lt;before/&gt;: the last page (§2.5).</summary>
    public bool LastPage => Before is "";
}

/// <summary>XEP-0059 result set management: reading a request's &lt;set/&gt; and writing the &lt;set/&gt; of the answer.</summary>
public static class ResultSetManagement
{
    /// <summary>The &lt;set/&gt; among the element's children, or null.</summary>
    public static Element? Find(Element parent) => parent.Child("set", Ns.Rsm);

    /// <summary>
    /// Reads a request's &lt;set/&gt;; false with the reason when a value is not valid. A &lt;max/&gt; of more digits than an
    /// int holds is still a valid "as many as you allow", read as <see cref="int.MaxValue"/>.
    /// </summary>
    public static bool TryParse(Element set, out ResultSetRequest request, [NotNullWhen(false)] out string? error)
    {
        request = new ResultSetRequest(null, null, null, null);
        int? index = null, max = null;
        if (set.Child("index", Ns.Rsm) is { } indexElement)
        {
            if (!TryParseCount(indexElement.Text, out var value))
            {
                error = $"<index/> must be the number of an item, not '{indexElement.Text}'.";
                return false;
            }
            index = value;
        }
        if (set.Child("max", Ns.Rsm) is { } maxElement)
        {
            if (!TryParseCount(maxElement.Text, out var value))
            {
                error = $"<max/> must be a number of messages, not '{maxElement.Text}'.";
                return false;
            }
            max = value;
        }
        var after = set.Child("after", Ns.Rsm)?.Text;
        if (after is "")
        {
            error = "<after/> needs the id of a message.";
            return false;
        }
        request = new ResultSetRequest(max, after, set.Child("before", Ns.Rsm)?.Text, index);
        error = null;
        return true;
    }

    /// <summary>
    /// The &lt;set/&gt; of an answer: the first item's id (with its index when known), the last item's id, and how many
    /// items there are in all. Each is left out when null; an empty page has no first or last.
    /// </summary>
    public static Element Answer(string? first, string? last, int? count, int? firstIndex = null)
    {
        var set = new Element("set", Ns.Rsm);
        if (first is not null)
        {
            set.AddChild("first", Ns.Rsm).SetAttribute("index", firstIndex?.ToString(CultureInfo.InvariantCulture)).AddText(first);
        }
        if (last is not null)
        {
            set.AddChild("last", Ns.Rsm).AddText(last);
        }
        if (count is not null)
        {
            set.AddChild("count", Ns.Rsm).AddText(count.Value.ToString(CultureInfo.InvariantCulture));
        }
        return set;
    }

    /// <summary>A non-negative number in ASCII digits; more digits than an int holds saturate.</summary>
    private static bool TryParseCount(string text, out int value)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }
        value = int.MaxValue;
        return text.Length > 0 && text.All(char.IsAsciiDigit);
    }
}
