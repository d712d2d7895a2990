using System.Security.Cryptography;
using System.Text;

namespace Parley.Server.Modules.Disco;

/// <summary>The verification string of XEP-0115 §5.1 for an entity with one identity and no extended info.</summary>
public static class EntityCapabilities
{
    public const string Node = "https://parley.chat/caps";

    public static string Ver(string category, string type, string name, IEnumerable<string> features)
    {
        var text = new StringBuilder();
        text.Append(category).Append('/').Append(type).Append("//").Append(name).Append('<');
        foreach (var feature in features.Order(StringComparer.Ordinal))
        {
            text.Append(feature).Append('<');
        }
        return Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
