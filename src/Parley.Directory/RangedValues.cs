namespace Parley.Ldap;

/// <summary>
/// Active Directory's ranged retrieval of a many-valued attribute: a group of more members than the directory's
/// MaxValRange (1,500 by default) comes back with <c>member;range=0-1499</c> and no <c>member</c>. The rest is asked
/// for as <c>member;range=1500-*</c>, one range a request, until the range that ends in <c>*</c>. OpenLDAP never
/// answers this way; its values all come under the attribute's own name.
/// </summary>
public static class RangedValues
{
    /// <summary>
    /// Whether <paramref name="returned"/> (an attribute description as the directory returned it) is
    /// <paramref name="attribute"/> with a range option; <paramref name="end"/> is null for the last range (<c>*</c>).
    /// </summary>
    public static bool TryParse(string returned, string attribute, out int start, out int? end)
    {
        start = 0;
        end = null;
        var options = returned.Split(';');
        if (!string.Equals(options[0], attribute, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        foreach (var option in options.Skip(1))
        {
            if (!option.StartsWith("range=", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var bounds = option["range=".Length..].Split('-');
            if (bounds.Length != 2 || !int.TryParse(bounds[0], out start) || start < 0)
            {
                return false;
            }
            if (bounds[1] == "*")
            {
                return true;
            }
            if (!int.TryParse(bounds[1], out var last) || last < start)
            {
                return false;
            }
            end = last;
            return true;
        }
        return false;
    }

    /// <summary>Every value of <paramref name="attribute"/> of one entry, the further ranges read with <paramref name="readRange"/>.</summary>
    /// <param name="returned">The entry's attributes as the directory returned them: description → values.</param>
    /// <param name="readRange">Reads the entry again asking for one attribute description (<c>member;range=1500-*</c>); its attributes as returned.</param>
    /// <param name="incomplete">Why not every value could be read; null when they were.</param>
    public static List<string> ReadAll(
        string attribute,
        IReadOnlyDictionary<string, List<string>> returned,
        Func<string, IReadOnlyDictionary<string, List<string>>> readRange,
        out string? incomplete)
    {
        incomplete = null;
        var values = new List<string>(returned.FirstOrDefault(a => string.Equals(a.Key, attribute, StringComparison.OrdinalIgnoreCase)).Value ?? []);
        var attributes = returned;
        var next = 0;
        while (true)
        {
            if (Range(attributes, attribute) is not { } range)
            {
                if (next > 0)
                {
                    incomplete = $"the directory returned {values.Count} values of {attribute} and no range from {next} on";
                }
                return values;
            }
            var (description, start, end, rangeValues) = range;
            if (start != next)
            {
                incomplete = $"the directory returned {description} when asked for the values of {attribute} from {next} on";
                return values;
            }
            values.AddRange(rangeValues);
            if (end is null)
            {
                return values;
            }
            next = end.Value + 1;
            attributes = readRange($"{attribute};range={next}-*");
        }
    }

    private static (string Description, int Start, int? End, List<string> Values)? Range(IReadOnlyDictionary<string, List<string>> attributes, string attribute)
    {
        foreach (var (description, values) in attributes)
        {
            if (TryParse(description, attribute, out var start, out var end))
            {
                return (description, start, end, values);
            }
        }
        return null;
    }
}
