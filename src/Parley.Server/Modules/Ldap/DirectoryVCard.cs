using Parley.Ldap;
using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Ldap;

/// <summary>A directory person's vCard (XEP-0054): FN, N, EMAIL, TEL, TITLE, ORG/ORGUNIT and PHOTO from the mapped attributes.</summary>
public static class DirectoryVCard
{
    /// <summary>The person's name as others see it (the vCard's FN, the account's display name, shared roster items), or null when the directory has none.</summary>
    public static string? FullName(DirectoryUser person) =>
        person.DisplayName ?? ($"{person.GivenName} {person.Surname}".Trim() is { Length: > 0 } name ? name : null);

    public static Element For(DirectoryUser person)
    {
        var vCard = new Element("vCard", Ns.VCard);
        Text(vCard, "FN", FullName(person));
        if (person.GivenName is not null || person.Surname is not null)
        {
            var n = vCard.AddChild("N", Ns.VCard);
            Text(n, "FAMILY", person.Surname);
            Text(n, "GIVEN", person.GivenName);
        }
        if (person.Mail is not null)
        {
            var email = vCard.AddChild("EMAIL", Ns.VCard);
            email.AddChild("INTERNET", Ns.VCard);
            Text(email, "USERID", person.Mail);
        }
        if (person.Phone is not null)
        {
            var tel = vCard.AddChild("TEL", Ns.VCard);
            tel.AddChild("WORK", Ns.VCard);
            tel.AddChild("VOICE", Ns.VCard);
            Text(tel, "NUMBER", person.Phone);
        }
        Text(vCard, "TITLE", person.Title);
        if (person.Department is not null)
        {
            Text(vCard.AddChild("ORG", Ns.VCard), "ORGUNIT", person.Department);
        }
        if (person.Photo is { Length: > 0 } photo)
        {
            var element = vCard.AddChild("PHOTO", Ns.VCard);
            Text(element, "TYPE", ImageType(photo));
            Text(element, "BINVAL", Convert.ToBase64String(photo));
        }
        return vCard;
    }

    /// <summary>The photo's media type from its first bytes: directories store JPEG mostly, PNG sometimes.</summary>
    private static string ImageType(byte[] photo) => photo switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => "image/png",
        [0x47, 0x49, 0x46, ..] => "image/gif",
        _ => "image/jpeg",
    };

    private static void Text(Element parent, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            parent.AddChild(name, Ns.VCard).AddText(value);
        }
    }
}
