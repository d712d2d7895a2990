using Parley.Storage.Postgres;

namespace Parley.Storage.Tests;

/// <summary>
/// The lexemes a PostgreSQL archive indexes: folded as SQLite's unicode61 folds its tokens, each behind the archive's
/// key. ASCII words and other scripts take different paths in <see cref="PostgresSearchText"/>; both must give these.
/// </summary>
public sealed class PostgresSearchTextTests
{
    private const string Archive = "juliet@localhost";

    [Theory]
    [InlineData("Hello WORLD 123 meet-up", "'b0e3ea32hello':1 'b0e3ea32world':2 'b0e3ea32123':3 'b0e3ea32meet':4 'b0e3ea32up':5")]
    [InlineData("Café Müller ÅNGSTRÖM naïve", "'b0e3ea32cafe':1 'b0e3ea32muller':2 'b0e3ea32angstrom':3 'b0e3ea32naive':4")]
    [InlineData("日本語 テスト 😀 ok", "'b0e3ea32日本語':1 'b0e3ea32テスト':2 'b0e3ea32ok':3")]
    [InlineData("MiXeD ascii and ÉLAN", "'b0e3ea32mixed':1 'b0e3ea32ascii':2 'b0e3ea32and':3 'b0e3ea32elan':4")]
    [InlineData("", "")]
    public void A_body_is_indexed_as_its_folded_words_behind_the_archives_key(string body, string vector)
    {
        Assert.Equal(vector, PostgresSearchText.VectorOf(Archive, body));
    }

    [Fact]
    public void A_word_too_long_to_index_is_left_out_and_the_next_one_takes_its_position()
    {
        Assert.Equal("'b0e3ea32b':1", PostgresSearchText.VectorOf(Archive, new string('a', 3000) + " b"));
        Assert.Equal("'b0e3ea32b':1", PostgresSearchText.VectorOf(Archive, new string('ж', 1100) + " b"));
    }

    [Theory]
    [InlineData("Hello WORLD 123 meet-up", "('b0e3ea32hello':*) & ('b0e3ea32world':*) & ('b0e3ea32123':*) & ('b0e3ea32meet' <-> 'b0e3ea32up':*)")]
    [InlineData("Café Müller", "('b0e3ea32cafe':*) & ('b0e3ea32muller':*)")]
    [InlineData("日本語 ok", "('b0e3ea32日本語':*) & ('b0e3ea32ok')")]
    public void A_search_is_folded_the_same_way(string search, string query)
    {
        Assert.Equal(query, PostgresSearchText.QueryOf(Archive, search));
    }
}
