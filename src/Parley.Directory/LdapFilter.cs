using System.Text;

namespace Parley.Ldap;

/// <summary>Builds LDAP search filters from untrusted values (RFC 4515).</summary>
public static class LdapFilter
{
    /// <summary>
    /// <paramref name="value"/> as an assertion value: <c>*</c>, <c>(</c>, <c>)</c>, <c>\</c> and NUL become
    /// \2a, \28, \29, \5c and \00, so a value can never widen or end the filter it is put in.
    /// </summary>
    public static string Escape(string value)
    {
        if (value.AsSpan().IndexOfAny("*()\\\0") < 0)
        {
            return value;
        }
        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            escaped.Append(c switch
            {
                '*' => @"\2a",
                '(' => @"\28",
                ')' => @"\29",
                '\\' => @"\5c",
                '\0' => @"\00",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    /// <summary>(&amp;<paramref name="filter"/>(<paramref name="attribute"/>=value)), the value escaped.</summary>
    public static string And(string filter, string attribute, string value) => $"(&{filter}({attribute}={Escape(value)}))";
}
