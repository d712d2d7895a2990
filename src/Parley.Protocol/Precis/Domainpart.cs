using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Parley.Protocol.Precis;

/// <summary>The domainpart rules of RFC 7622 §3.2.</summary>
internal static class Domainpart
{
    private const int MaxLabelOctets = 63;

    public static bool TryPrepare(ReadOnlySpan<char> input, string? original, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        prepared = null;
        // RFC 7622 §3.2: a final label separator is stripped; only one.
        if (!input.IsEmpty && IsLabelSeparator(input[^1]))
        {
            input = input[..^1];
            original = null;
        }

        if (input.IsEmpty)
        {
            error = "domainpart is empty";
            return false;
        }

        if (input[0] == '[')
        {
            return TryPrepareIPv6Literal(input, original, out prepared, out error);
        }

        if (IsDottedQuad(input))
        {
            prepared = original ?? input.ToString();
        }
        else if (IsLowercaseOrUppercaseHostname(input, out bool hasUppercase))
        {
            // ASCII fast path: a hostname of letters, digits and hyphens is its own A-label and U-label.
            prepared = hasUppercase
                ? string.Create(input.Length, input, static (destination, source) => source.ToLowerInvariant(destination))
                : original ?? input.ToString();
        }
        else if (!TryPrepareInternationalized(input, out prepared, out error))
        {
            return false;
        }

        int bytes = Encoding.UTF8.GetByteCount(prepared);
        if (bytes > Precis.MaxJidPartBytes)
        {
            error = $"domainpart is {bytes} bytes long; the limit is {Precis.MaxJidPartBytes}";
            prepared = null;
            return false;
        }

        error = null;
        return true;
    }

    // The separators UTS-46 treats as a full stop.
    private static bool IsLabelSeparator(char c) => c is '.' or '\u3002' or '\uFF0E' or '\uFF61';

    private static bool TryPrepareIPv6Literal(ReadOnlySpan<char> input, string? original, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        prepared = null;
        ReadOnlySpan<char> address = input.Length >= 2 && input[^1] == ']' ? input[1..^1] : [];
        // IPAddress also accepts a zone index ("%eth0"), which has no place in a JID.
        if (address.IsEmpty || address.ContainsAnyExcept("0123456789abcdefABCDEF:.")
            || !IPAddress.TryParse(address, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = $"domainpart '{input}' is not a valid IPv6 address literal";
            return false;
        }

        prepared = input.ContainsAnyInRange('A', 'F') ? input.ToString().ToLowerInvariant() : original ?? input.ToString();
        error = null;
        return true;
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> input)
    {
        int octets = 0;
        foreach (Range range in input.Split('.'))
        {
            ReadOnlySpan<char> octet = input[range];
            if (++octets > 4 || octet.Length is 0 or > 3 || octet.ContainsAnyExceptInRange('0', '9') || int.Parse(octet) > 255)
            {
                return false;
            }
        }

        return octets == 4;
    }

    private static bool IsLowercaseOrUppercaseHostname(ReadOnlySpan<char> input, out bool hasUppercase)
    {
        hasUppercase = false;
        foreach (Range range in input.Split('.'))
        {
            ReadOnlySpan<char> label = input[range];
            // A hyphen in the third and fourth position marks an A-label ("xn--"), which IDNA must check.
            if (label.Length is 0 or > MaxLabelOctets || label[0] == '-' || label[^1] == '-'
                || (label.Length >= 4 && label[2] == '-' && label[3] == '-'))
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }

                hasUppercase |= char.IsAsciiLetterUpper(c);
            }
        }

        return true;
    }

    // UTS-46 mapping and IDNA2008 validation, one label at a time: IdnMapping refuses names longer
    // than DNS allows (253 octets), while a JID domainpart may be up to 1023 octets.
    private static bool TryPrepareInternationalized(ReadOnlySpan<char> input, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        prepared = null;
        var idn = new IdnMapping { UseStd3AsciiRules = true, AllowUnassigned = false };
        var builder = new StringBuilder(input.Length);
        bool rightToLeft = false;
        int labelStart = 0;
        for (int index = 0; index <= input.Length; index++)
        {
            if (index < input.Length && !IsLabelSeparator(input[index]))
            {
                continue;
            }

            string label = input[labelStart..index].ToString();
            labelStart = index + 1;
            if (label.Length == 0)
            {
                error = "domainpart contains an empty label";
                return false;
            }

            string aLabel;
            string uLabel;
            try
            {
                aLabel = idn.GetAscii(label);
                uLabel = idn.GetUnicode(aLabel).ToLowerInvariant();
            }
            catch (ArgumentException)
            {
                error = $"domainpart label '{label}' is not a valid IDNA2008 label";
                return false;
            }

            if (aLabel.Length > MaxLabelOctets || aLabel.Contains('.'))
            {
                error = $"domainpart label '{label}' is not a valid IDNA2008 label";
                return false;
            }

            rightToLeft |= BidiRule.ContainsRightToLeft(uLabel);
            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            builder.Append(uLabel);
        }

        string domain = builder.ToString();
        // RFC 5893 §2: once any label is right-to-left, every label must satisfy the Bidi Rule.
        if (rightToLeft)
        {
            foreach (Range range in domain.AsSpan().Split('.'))
            {
                if (!BidiRule.IsSatisfiedBy(domain.AsSpan()[range], out string? bidiError))
                {
                    error = "domainpart " + bidiError;
                    return false;
                }
            }
        }

        prepared = domain;
        error = null;
        return true;
    }
}
