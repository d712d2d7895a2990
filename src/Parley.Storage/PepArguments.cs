using System.Runtime.CompilerServices;

namespace Parley.Storage;

/// <summary>Argument checks every <see cref="IPepStore"/> shares, so that all engines refuse the same input the same way.</summary>
internal static class PepArguments
{
    public static void CheckNode(string node, [CallerArgumentExpression(nameof(node))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(node, parameterName);
        if (node.Length == 0)
        {
            throw new ArgumentException("The node name is empty.", parameterName);
        }
    }

    public static void CheckItem(PepItem item, [CallerArgumentExpression(nameof(item))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(item, parameterName);
        CheckItemId(item.Id, parameterName);
        UserDataArguments.CheckXml(item.Xml, parameterName);
    }

    public static void CheckItemId(string itemId, [CallerArgumentExpression(nameof(itemId))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(itemId, parameterName);
        if (itemId.Length == 0)
        {
            throw new ArgumentException("The item id is empty.", parameterName);
        }
    }
}
