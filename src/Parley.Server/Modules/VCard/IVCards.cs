using Parley.Xml;

namespace Parley.Server.Modules.VCard;

/// <summary>The vCards (XEP-0054) as other modules set them: the directory sync keeps its people's from the directory.</summary>
public interface IVCards
{
    /// <summary>Stores <paramref name="vCard"/> as the account's, and the photo hash its next presence carries (XEP-0153).</summary>
    ValueTask SetAsync(string account, Element vCard, CancellationToken cancellationToken = default);
}
