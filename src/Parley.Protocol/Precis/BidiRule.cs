using System.Buffers;
using System.Globalization;
using System.Text;

namespace Parley.Protocol.Precis;

/// <summary>
/// The Bidi Rule of RFC 5893 §2, applied to a label (or PRECIS string) that contains
/// right-to-left characters.
/// </summary>
/// <remarks>
/// .NET does not expose the Unicode Bidi_Class property, so <see cref="GetBidiClass"/> derives
/// it from the general category and the default right-to-left blocks of DerivedBidiClass.txt.
/// That is exact for letters, digits and marks of the scripts in use and close enough for
/// punctuation, which the Bidi Rule treats alike (ES, CS, ET, ON) apart from where a label ends.
/// </remarks>
internal static class BidiRule
{
    private enum BidiClass
    {
        L,
        R,
        AL,
        EN,
        AN,
        ES,
        CS,
        ET,
        ON,
        BN,
        NSM,
        WS,
        Other,
    }

    /// <summary>True when the text contains a character of class R, AL or AN (RFC 5893 §1.4).</summary>
    public static bool ContainsRightToLeft(ReadOnlySpan<char> text)
    {
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (GetBidiClass(rune) is BidiClass.R or BidiClass.AL or BidiClass.AN)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks the six conditions of RFC 5893 §2 on one label.</summary>
    public static bool IsSatisfiedBy(ReadOnlySpan<char> label, out string? error)
    {
        error = null;
        if (label.IsEmpty)
        {
            return true;
        }

        Rune.DecodeFromUtf16(label, out Rune first, out _);
        BidiClass firstClass = GetBidiClass(first);
        bool rightToLeft = firstClass is BidiClass.R or BidiClass.AL;
        if (!rightToLeft && firstClass != BidiClass.L)
        {
            error = "violates the bidi rule: it must start with a left-to-right or right-to-left letter";
            return false;
        }

        bool hasEuropeanNumber = false;
        bool hasArabicNumber = false;
        BidiClass lastNonMark = firstClass;
        foreach (Rune rune in label.EnumerateRunes())
        {
            BidiClass bidiClass = GetBidiClass(rune);
            bool allowed = rightToLeft
                ? bidiClass is BidiClass.R or BidiClass.AL or BidiClass.AN or BidiClass.EN or BidiClass.ES
                    or BidiClass.CS or BidiClass.ET or BidiClass.ON or BidiClass.BN or BidiClass.NSM
                : bidiClass is BidiClass.L or BidiClass.EN or BidiClass.ES or BidiClass.CS or BidiClass.ET
                    or BidiClass.ON or BidiClass.BN or BidiClass.NSM;
            if (!allowed)
            {
                error = $"violates the bidi rule: U+{rune.Value:X4} cannot appear in a {(rightToLeft ? "right-to-left" : "left-to-right")} string";
                return false;
            }

            hasEuropeanNumber |= bidiClass == BidiClass.EN;
            hasArabicNumber |= bidiClass == BidiClass.AN;
            if (bidiClass != BidiClass.NSM)
            {
                lastNonMark = bidiClass;
            }
        }

        bool endsWell = rightToLeft
            ? lastNonMark is BidiClass.R or BidiClass.AL or BidiClass.EN or BidiClass.AN
            : lastNonMark is BidiClass.L or BidiClass.EN;
        if (!endsWell)
        {
            error = "violates the bidi rule: it ends with a character of the wrong direction";
            return false;
        }

        if (rightToLeft && hasEuropeanNumber && hasArabicNumber)
        {
            error = "violates the bidi rule: it mixes European and Arabic-Indic digits";
            return false;
        }

        return true;
    }

    private static BidiClass GetBidiClass(Rune rune)
    {
        int value = rune.Value;
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        switch (category)
        {
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark:
                return BidiClass.NSM;
            case UnicodeCategory.Format or UnicodeCategory.Control:
                return value switch
                {
                    0x200E => BidiClass.L,
                    0x200F => BidiClass.R,
                    0x061C => BidiClass.AL,
                    _ => BidiClass.BN,
                };
            case UnicodeCategory.DecimalDigitNumber:
                return value switch
                {
                    (>= 0x0030 and <= 0x0039) or (>= 0x06F0 and <= 0x06F9) or (>= 0xFF10 and <= 0xFF19) => BidiClass.EN,
                    (>= 0x0660 and <= 0x0669) or (>= 0x10D30 and <= 0x10D39) => BidiClass.AN,
                    (>= 0x07C0 and <= 0x07C9) => BidiClass.R,
                    _ => BidiClass.L,
                };
            case UnicodeCategory.SpaceSeparator:
                return value is 0x00A0 or 0x202F ? BidiClass.CS : BidiClass.WS;
        }

        if (IsArabicLetterBlock(value))
        {
            return BidiClass.AL;
        }

        if (IsRightToLeftBlock(value))
        {
            return BidiClass.R;
        }

        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.LetterNumber)
        {
            return BidiClass.L;
        }

        return value switch
        {
            0x002B or 0x002D or 0x207A or 0x207B or 0x208A or 0x208B or 0x2212 or 0xFB29 or 0xFE62 or 0xFE63 or 0xFF0B or 0xFF0D => BidiClass.ES,
            0x002C or 0x002E or 0x002F or 0x003A or 0x2044 or 0xFE50 or 0xFE52 or 0xFE55 or 0xFF0C or 0xFF0E or 0xFF0F or 0xFF1A => BidiClass.CS,
            0x0023 or 0x0024 or 0x0025 or 0x00B0 or 0x00B1 or (>= 0x2030 and <= 0x2034) or 0x212E or 0x2213 => BidiClass.ET,
            0x00B2 or 0x00B3 or 0x00B9 or (>= 0x2070 and <= 0x2079) or (>= 0x2080 and <= 0x2089) => BidiClass.EN,
            _ when category == UnicodeCategory.CurrencySymbol => BidiClass.ET,
            _ when category == UnicodeCategory.OtherNumber => BidiClass.ON,
            _ when category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
                or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
                or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol
                or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol => BidiClass.ON,
            _ => BidiClass.Other,
        };
    }

    // Blocks whose characters default to Bidi_Class AL (Arabic, Syriac, Thaana and their extensions).
    private static bool IsArabicLetterBlock(int value) =>
        value is (>= 0x0600 and <= 0x07BF) or (>= 0x0860 and <= 0x08FF) or (>= 0xFB50 and <= 0xFDCF)
            or (>= 0xFDF0 and <= 0xFDFF) or (>= 0xFE70 and <= 0xFEFF) or (>= 0x10D00 and <= 0x10D3F)
            or (>= 0x10EC0 and <= 0x10EFF) or (>= 0x10F30 and <= 0x10F6F) or (>= 0x1EC70 and <= 0x1ECBF)
            or (>= 0x1ED00 and <= 0x1ED4F) or (>= 0x1EE00 and <= 0x1EEFF);

    // Blocks whose characters default to Bidi_Class R (Hebrew, N'Ko, Samaritan, Mandaic, historic scripts).
    private static bool IsRightToLeftBlock(int value) =>
        value is (>= 0x0590 and <= 0x05FF) or (>= 0x07C0 and <= 0x085F) or (>= 0xFB1D and <= 0xFB4F)
            or (>= 0x10800 and <= 0x10FFF) or (>= 0x1E800 and <= 0x1EFFF);
}
