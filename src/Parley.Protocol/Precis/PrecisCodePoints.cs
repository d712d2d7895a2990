using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Parley.Protocol.Precis;

/// <summary>
/// The derived property of a code point (RFC 8264 §8, computed by the algorithm of §9) and the
/// contextual rules of RFC 5892 Appendix A, from the Unicode data .NET carries.
/// </summary>
internal static class PrecisCodePoints
{
    private enum DerivedProperty
    {
        PValid,
        ContextJ,
        ContextO,
        /// <summary>Allowed in FreeformClass, disallowed in IdentifierClass.</summary>
        FreeformOnly,
        Disallowed,
        Unassigned,
    }

    /// <summary>
    /// False, with the reason, when the text has an unpaired surrogate or a U+xxFFFE/U+xxFFFF
    /// noncharacter: .NET's normalization refuses those, and PRECIS disallows them anyway.
    /// </summary>
    public static bool CanBeNormalized(ReadOnlySpan<char> text, [NotNullWhen(false)] out string? error)
    {
        for (int index = 0; index < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text[index..], out Rune rune, out int consumed) != OperationStatus.Done)
            {
                error = $"contains an unpaired surrogate at position {index}";
                return false;
            }

            if ((rune.Value & 0xFFFE) == 0xFFFE)
            {
                error = $"contains the disallowed code point U+{rune.Value:X4} at position {index}";
                return false;
            }

            index += consumed;
        }

        error = null;
        return true;
    }

    /// <summary>
    /// Checks that every code point of an already mapped and normalized string is allowed in
    /// <paramref name="stringClass"/>, including the CONTEXTJ and CONTEXTO rules.
    /// </summary>
    public static bool TryValidate(string text, PrecisStringClass stringClass, out string? error)
    {
        // Callers have checked CanBeNormalized, so every code point decodes.
        int index = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            DerivedProperty property = Classify(rune);
            bool allowed = property switch
            {
                DerivedProperty.PValid => true,
                DerivedProperty.FreeformOnly => stringClass == PrecisStringClass.Freeform,
                DerivedProperty.ContextJ => IsJoinControlAllowed(text, index),
                DerivedProperty.ContextO => IsContextOAllowed(text, index, rune),
                _ => false,
            };
            if (!allowed)
            {
                error = $"contains the {Describe(property)} code point U+{rune.Value:X4} at position {index}";
                return false;
            }

            index += rune.Utf16SequenceLength;
        }

        error = null;
        return true;
    }

    private static string Describe(DerivedProperty property) => property switch
    {
        DerivedProperty.Unassigned => "unassigned",
        DerivedProperty.ContextJ or DerivedProperty.ContextO => "out-of-context",
        _ => "disallowed",
    };

    // RFC 8264 §9: the first rule that matches decides.
    private static DerivedProperty Classify(Rune rune)
    {
        int value = rune.Value;
        if (TryGetException(value, out DerivedProperty exception))
        {
            return exception;
        }

        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category == UnicodeCategory.OtherNotAssigned && !IsNoncharacter(value))
        {
            return DerivedProperty.Unassigned;
        }

        if (value is >= 0x21 and <= 0x7E)
        {
            return DerivedProperty.PValid;
        }

        if (value is 0x200C or 0x200D)
        {
            return DerivedProperty.ContextJ;
        }

        if (IsOldHangulJamo(value) || IsDefaultIgnorable(value) || IsNoncharacter(value) || category == UnicodeCategory.Control)
        {
            return DerivedProperty.Disallowed;
        }

        if (HasCompatibilityMapping(rune))
        {
            return DerivedProperty.FreeformOnly;
        }

        switch (category)
        {
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.OtherLetter:
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.SpacingCombiningMark:
                return DerivedProperty.PValid;
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
            case UnicodeCategory.EnclosingMark:
            case UnicodeCategory.SpaceSeparator:
            case UnicodeCategory.MathSymbol:
            case UnicodeCategory.CurrencySymbol:
            case UnicodeCategory.ModifierSymbol:
            case UnicodeCategory.OtherSymbol:
            case UnicodeCategory.ConnectorPunctuation:
            case UnicodeCategory.DashPunctuation:
            case UnicodeCategory.OpenPunctuation:
            case UnicodeCategory.ClosePunctuation:
            case UnicodeCategory.InitialQuotePunctuation:
            case UnicodeCategory.FinalQuotePunctuation:
            case UnicodeCategory.OtherPunctuation:
                return DerivedProperty.FreeformOnly;
            default:
                return DerivedProperty.Disallowed;
        }
    }

    // RFC 5892 §2.6, which RFC 8264 §9.6 adopts.
    private static bool TryGetException(int value, out DerivedProperty property)
    {
        switch (value)
        {
            case 0x00DF or 0x03C2 or 0x06FD or 0x06FE or 0x0F0B or 0x3007:
                property = DerivedProperty.PValid;
                return true;
            case 0x00B7 or 0x0375 or 0x05F3 or 0x05F4 or 0x30FB or (>= 0x0660 and <= 0x0669) or (>= 0x06F0 and <= 0x06F9):
                property = DerivedProperty.ContextO;
                return true;
            case 0x0640 or 0x07FA or 0x302E or 0x302F or (>= 0x3031 and <= 0x3035) or 0x303B:
                property = DerivedProperty.Disallowed;
                return true;
            default:
                property = default;
                return false;
        }
    }

    // Hangul_Syllable_Type L, V or T (RFC 8264 §9.9).
    private static bool IsOldHangulJamo(int value) =>
        value is (>= 0x1100 and <= 0x11FF) or (>= 0xA960 and <= 0xA97C) or (>= 0xD7B0 and <= 0xD7C6) or (>= 0xD7CB and <= 0xD7FB);

    // Default_Ignorable_Code_Point (Unicode DerivedCoreProperties); .NET does not expose the property.
    private static bool IsDefaultIgnorable(int value) =>
        value is 0x00AD or 0x034F or 0x061C or (>= 0x115F and <= 0x1160) or (>= 0x17B4 and <= 0x17B5)
            or (>= 0x180B and <= 0x180F) or (>= 0x200B and <= 0x200F) or (>= 0x202A and <= 0x202E)
            or (>= 0x2060 and <= 0x206F) or 0x3164 or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF or 0xFFA0
            or (>= 0xFFF0 and <= 0xFFF8) or (>= 0x1BCA0 and <= 0x1BCA3) or (>= 0x1D173 and <= 0x1D17A)
            or (>= 0xE0000 and <= 0xE0FFF);

    private static bool IsNoncharacter(int value) => value is >= 0xFDD0 and <= 0xFDEF || (value & 0xFFFE) == 0xFFFE;

    // HasCompat (RFC 8264 §9.14): toNFKC(cp) != cp. A single code point is NFKC-stable exactly when it has none.
    private static bool HasCompatibilityMapping(Rune rune)
    {
        Span<char> buffer = stackalloc char[2];
        int length = rune.EncodeToUtf16(buffer);
        return !((ReadOnlySpan<char>)buffer[..length]).IsNormalized(NormalizationForm.FormKC);
    }

    // RFC 5892 A.1 (ZERO WIDTH NON-JOINER) and A.2 (ZERO WIDTH JOINER).
    private static bool IsJoinControlAllowed(string text, int index)
    {
        if (index > 0 && IsVirama(text[index - 1]))
        {
            return true;
        }

        // ZWJ is only allowed after a virama. For ZWNJ, A.1 also allows it between joining letters
        // (Joining_Type L/D before, R/D after, transparent marks skipped). .NET has no Joining_Type
        // data, so letters of the cursive scripts (Arabic, Syriac, N'Ko, Mongolian) stand in for
        // dual-joining letters and non-spacing marks for transparent ones.
        return text[index] == '\u200C'
            && IsJoiningLetter(text, index, step: -1)
            && IsJoiningLetter(text, index, step: +1);
    }

    private static bool IsJoiningLetter(string text, int index, int step)
    {
        for (int position = index + step; position >= 0 && position < text.Length; position += step)
        {
            char c = text[position];
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            bool cursiveScript = c is (>= '\u0620' and <= '\u074F') or (>= '\u0750' and <= '\u077F') or (>= '\u07CA' and <= '\u07EA')
                or (>= '\u0860' and <= '\u08FF') or (>= '\u1800' and <= '\u18AF');
            return cursiveScript && category == UnicodeCategory.OtherLetter;
        }

        return false;
    }

    // Canonical_Combining_Class = Virama (9), Basic Multilingual Plane; .NET does not expose the class.
    private static bool IsVirama(char c) =>
        c is '\u094D' or '\u09CD' or '\u0A4D' or '\u0ACD' or '\u0B4D' or '\u0BCD' or '\u0C4D' or '\u0CCD'
            or '\u0D3B' or '\u0D3C' or '\u0D4D' or '\u0DCA' or '\u0E3A' or '\u0EBA' or '\u0F84' or '\u1039'
            or '\u103A' or '\u1714' or '\u1715' or '\u1734' or '\u17D2' or '\u1A60' or '\u1B44' or '\u1BAA'
            or '\u1BAB' or '\u1BF2' or '\u1BF3' or '\u2D7F' or '\uA806' or '\uA82C' or '\uA8C4' or '\uA953'
            or '\uA9C0' or '\uAAF6' or '\uABED';

    // RFC 5892 A.3 to A.9.
    private static bool IsContextOAllowed(string text, int index, Rune rune)
    {
        switch (rune.Value)
        {
            case 0x00B7: // MIDDLE DOT: only between two 'l' (Catalan "l·l").
                return index > 0 && index + 1 < text.Length && text[index - 1] == 'l' && text[index + 1] == 'l';
            case 0x0375: // GREEK LOWER NUMERAL SIGN: followed by a Greek character.
                return index + 1 < text.Length && IsGreek(text[index + 1]);
            case 0x05F3 or 0x05F4: // HEBREW GERESH / GERSHAYIM: preceded by a Hebrew character.
                return index > 0 && text[index - 1] is >= '\u0590' and <= '\u05FF';
            case 0x30FB: // KATAKANA MIDDLE DOT: the string contains Hiragana, Katakana or Han.
                return ContainsJapanese(text);
            case >= 0x0660 and <= 0x0669: // ARABIC-INDIC DIGITS: not mixed with extended ones.
                return !ContainsInRange(text, '\u06F0', '\u06F9');
            case >= 0x06F0 and <= 0x06F9: // EXTENDED ARABIC-INDIC DIGITS: not mixed with plain ones.
                return !ContainsInRange(text, '\u0660', '\u0669');
            default:
                return false;
        }
    }

    private static bool IsGreek(char c) => c is (>= '\u0370' and <= '\u03FF') or (>= '\u1F00' and <= '\u1FFF');

    private static bool ContainsJapanese(string text)
    {
        foreach (char c in text)
        {
            bool japanese = c is (>= '\u3041' and <= '\u309F') or (>= '\u30A0' and <= '\u30FA') or (>= '\u30FC' and <= '\u30FF')
                or (>= '\u31F0' and <= '\u31FF') or (>= '\u3400' and <= '\u4DBF') or (>= '\u4E00' and <= '\u9FFF')
                or (>= '\uF900' and <= '\uFAFF') or '\u3005' or '\u3007' or (>= '\u3021' and <= '\u3029')
                // Han beyond the BMP (planes 2 and 3) is written with these high surrogates.
                or (>= '\uD840' and <= '\uD8BF');
            if (japanese)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsInRange(string text, char first, char last)
    {
        foreach (char c in text)
        {
            if (c >= first && c <= last)
            {
                return true;
            }
        }

        return false;
    }
}
