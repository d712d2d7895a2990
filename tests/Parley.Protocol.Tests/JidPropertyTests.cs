using FsCheck;
using FsCheck.Fluent;

namespace Parley.Protocol.Tests;

public class JidPropertyTests
{
    // Characters that exercise every rule: separators, case, width, compatibility, marks, RTL, spaces, controls.
    private static readonly char[] s_interestingCharacters =
    [
        'a', 'Z', '0', '-', '.', '@', '/', ' ', '"', '[', ']', ':', 'ß', 'Σ', 'ς', 'Ａ', 'ａ', '．', '。', 'ﬁ', 'İ',
        '\u212A', '\u01C5', '\u0301', '\u00A0', '\u3000', '\u200C', '\u200D', '\u00B7', 'l', 'א', 'ب', '\u0661',
        '\u06F1', '1', '\u0007', '\u2163', '♚', 'é', '\uFF9E', '\uFF76', '\u1100', '\uD800', '\uDC00', 'x', 'n',
    ];

    [Fact]
    public void TryParse_never_throws_and_reparsing_the_canonical_form_gives_the_same_jid()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll(ArbMap.Default.ArbFor<string>(), AssertParsingIsIdempotent));
    }

    [Fact]
    public void Idempotence_holds_for_strings_made_of_characters_that_trigger_mappings()
    {
        Arbitrary<string> jidLike = Gen.ArrayOf(Gen.Elements(s_interestingCharacters))
            .Select(characters => new string(characters))
            .ToArbitrary();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll(jidLike, AssertParsingIsIdempotent));
    }

    [Fact]
    public void Fast_paths_agree_with_the_full_preparation()
    {
        // Upper- and lowercase hostnames take the ASCII fast path; the same name written with a
        // fullwidth dot takes the IDNA path. Both must give one canonical form.
        Arbitrary<string> hostnames = Gen.NonEmptyListOf(Gen.Elements("aB0-xY9".ToCharArray()))
            .Select(characters => "a" + new string([.. characters]) + "z")
            .ToArbitrary();

        Prop.ForAll(hostnames, label =>
        {
            Jid.TryParse($"{label}.example", out Jid? viaFastPath);
            Jid.TryParse($"{label}．example", out Jid? viaIdna);
            return viaFastPath == viaIdna;
        }).QuickCheckThrowOnFailure();
    }

    private static bool AssertParsingIsIdempotent(string? text)
    {
        if (!Jid.TryParse(text, out Jid? jid))
        {
            return true;
        }

        return Jid.Parse(jid.ToString()) == jid && Jid.Parse(jid.ToString()).ToString() == jid.ToString();
    }
}
