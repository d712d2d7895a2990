using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Parley.Protocol.Precis;

/// <summary>
/// Prepares and enforces the PRECIS profiles XMPP uses (RFC 8264, RFC 8265, RFC 7622 §3):
/// UsernameCaseMapped for localparts, OpaqueString for resourceparts and passwords, and the
/// IDNA2008 rules for domainparts. Every method returns the canonical form, or an error that
/// says what is wrong with the input.
/// </summary>
public static class Precis
{
    /// <summary>RFC 7622 §3: no part of a JID may exceed 1023 octets of UTF-8.</summary>
    public const int MaxJidPartBytes = 1023;

    /// <summary>UsernameCaseMapped (RFC 8265 §3.3) plus the localpart exclusions of RFC 7622 §3.3.1.</summary>
    public static bool TryPrepareLocalpart(string input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(input);
        return TryPrepareLocalpart(input.AsSpan(), input, out prepared, out error);
    }

    /// <summary>OpaqueString (RFC 8265 §4.2), at most 1023 octets (RFC 7622 §3.4).</summary>
    public static bool TryPrepareResourcepart(string input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(input);
        return TryPrepareResourcepart(input.AsSpan(), input, out prepared, out error);
    }

    /// <summary>
    /// RFC 7622 §3.2: an IP literal ("[v6]") or a dotted IPv4 address is kept as is (lowercased);
    /// anything else goes through UTS-46/IDNA2008 to its lowercase U-label form, with one
    /// trailing dot removed.
    /// </summary>
    public static bool TryPrepareDomainpart(string input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Domainpart.TryPrepare(input.AsSpan(), input, out prepared, out error);
    }

    /// <summary>OpaqueString (RFC 8265 §4.2), as SCRAM and PLAIN apply it to passwords.</summary>
    public static bool TryPreparePassword(string input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(input);
        return TryEnforceOpaqueString(input.AsSpan(), input, "password", out prepared, out error);
    }

    /// <param name="original">The input as a string when the caller has one, so that an input
    /// that is already canonical is returned without a copy.</param>
    internal static bool TryPrepareLocalpart(ReadOnlySpan<char> input, string? original, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        if (IsPrintableAsciiLocalpart(input, out bool hasUppercase))
        {
            // ASCII fast path: letters, digits and ASCII punctuation are PVALID and need no
            // width mapping or normalization; only case mapping can change them.
            prepared = hasUppercase ? ToLowerAscii(input) : original ?? input.ToString();
        }
        else if (!TryEnforceUsernameCaseMapped(input, out prepared, out error))
        {
            return false;
        }
        else if (prepared.AsSpan().IndexOfAny(ExcludedFromLocalpart) is int excluded and >= 0)
        {
            // Reached only when mapping produced the character, e.g. FULLWIDTH COMMERCIAL AT.
            error = $"localpart contains '{prepared[excluded]}', which RFC 7622 §3.3.1 forbids";
            prepared = null;
            return false;
        }

        return IsWithinLengthLimit("localpart", ref prepared, out error);
    }

    internal static bool TryPrepareResourcepart(ReadOnlySpan<char> input, string? original, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        return TryEnforceOpaqueString(input, original, "resourcepart", out prepared, out error)
            && IsWithinLengthLimit("resourcepart", ref prepared, out error);
    }

    private const string ExcludedFromLocalpart = "\"&'/:<>@";

    private static bool IsPrintableAsciiLocalpart(ReadOnlySpan<char> input, out bool hasUppercase)
    {
        hasUppercase = false;
        if (input.IsEmpty)
        {
            return false;
        }

        foreach (char c in input)
        {
            if (c is < '!' or > '~' or '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@')
            {
                return false;
            }

            hasUppercase |= char.IsAsciiLetterUpper(c);
        }

        return true;
    }

    // RFC 8265 §3.4: width mapping, case mapping, NFC, then the Bidi Rule, then IdentifierClass.
    private static bool TryEnforceUsernameCaseMapped(ReadOnlySpan<char> input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        prepared = null;
        if (!PrecisCodePoints.CanBeNormalized(input, out string? encodingError))
        {
            error = "localpart " + encodingError;
            return false;
        }

        // Unicode toLowerCase() is what RFC 8265 asks for. string.ToLowerInvariant applies the
        // simple (one-to-one) lowercase mappings, not the full ones of SpecialCasing.txt, and .NET
        // leaves U+0130 (I WITH DOT ABOVE) unchanged; both differ from the RFC only for a handful
        // of characters and keep the result stable when enforced again.
        string mapped = MapWidth(input).ToLowerInvariant();
        string normalized = Normalize(mapped);
        if (normalized.Length == 0)
        {
            error = "localpart is empty";
            return false;
        }

        if (!PrecisCodePoints.TryValidate(normalized, PrecisStringClass.Identifier, out string? classError))
        {
            error = "localpart " + classError;
            return false;
        }

        if (BidiRule.ContainsRightToLeft(normalized) && !BidiRule.IsSatisfiedBy(normalized, out string? bidiError))
        {
            error = "localpart " + bidiError;
            return false;
        }

        prepared = normalized;
        error = null;
        return true;
    }

    // RFC 8265 §4.2: non-ASCII spaces become U+0020, NFC, then FreeformClass; no case or width mapping.
    private static bool TryEnforceOpaqueString(ReadOnlySpan<char> input, string? original, string part, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        prepared = null;
        if (input.IsEmpty)
        {
            error = part + " is empty";
            return false;
        }

        if (!input.ContainsAnyExceptInRange(' ', '~'))
        {
            // Printable ASCII is FreeformClass as it stands and already normalized.
            prepared = original ?? input.ToString();
            error = null;
            return true;
        }

        if (!PrecisCodePoints.CanBeNormalized(input, out string? encodingError))
        {
            error = part + " " + encodingError;
            return false;
        }

        string normalized = Normalize(MapNonAsciiSpaces(input, original));
        if (!PrecisCodePoints.TryValidate(normalized, PrecisStringClass.Freeform, out string? classError))
        {
            error = part + " " + classError;
            return false;
        }

        prepared = normalized;
        error = null;
        return true;
    }

    private static string MapNonAsciiSpaces(ReadOnlySpan<char> input, string? original)
    {
        var builder = new StringBuilder(input.Length);
        bool changed = false;
        foreach (char c in input)
        {
            bool nonAsciiSpace = c > '\u007F' && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.SpaceSeparator;
            builder.Append(nonAsciiSpace ? ' ' : c);
            changed |= nonAsciiSpace;
        }

        return changed || original is null ? builder.ToString() : original;
    }

    // RFC 8264 §9.11: fullwidth and halfwidth characters map to their <wide>/<narrow> decomposition.
    private static string MapWidth(ReadOnlySpan<char> input)
    {
        var builder = new StringBuilder(input.Length);
        foreach (char c in input)
        {
            builder.Append(c is '\u3000' or (>= '\uFF01' and <= '\uFFEE') ? WidthMapping.Map(c) : c);
        }

        return builder.ToString();
    }

    private static string Normalize(string text) =>
        text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);

    private static string ToLowerAscii(ReadOnlySpan<char> input) =>
        string.Create(input.Length, input, static (destination, source) => source.ToLowerInvariant(destination));

    /// <summary>Clears <paramref name="prepared"/> and explains when it is longer than RFC 7622 allows.</summary>
    private static bool IsWithinLengthLimit(string part, [NotNullWhen(true)] ref string? prepared, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        int bytes = Encoding.UTF8.GetByteCount(prepared);
        if (bytes > MaxJidPartBytes)
        {
            error = $"{part} is {bytes} bytes long; the limit is {MaxJidPartBytes}";
            prepared = null;
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>The decomposition of each fullwidth/halfwidth form, computed once from .NET's NFKC data.</summary>
    private static class WidthMapping
    {
        private static readonly char[] s_halfAndFullwidthForms = BuildHalfAndFullwidthForms();

        public static char Map(char c) => c == '\u3000' ? ' ' : s_halfAndFullwidthForms[c - '\uFF00'];

        private static char[] BuildHalfAndFullwidthForms()
        {
            // Up to U+FFEF: U+FFFE and U+FFFF are noncharacters that Normalize refuses.
            var table = new char[0xF0];
            for (int offset = 0; offset < table.Length; offset++)
            {
                char c = (char)(0xFF00 + offset);
                string decomposed = c.ToString().Normalize(NormalizationForm.FormKC);
                table[offset] = decomposed.Length == 1 ? decomposed[0] : c;
            }

            return table;
        }
    }
}
