namespace Parley.LoadGen;

/// <summary>
/// The rosters of the presence load: users first..first+count-1 stand in a circle, and each has the
/// <c>contacts</c> nearest users (contacts/2 on either side) as mutual ('both') contacts. Every user has the same
/// roster size, every pair is mutual, and a receiver can tell from a sender's number which contact it is.
/// </summary>
internal sealed class ContactCircle
{
    public ContactCircle(int first, int count, int contacts)
    {
        if (contacts < 2 || contacts % 2 != 0 || contacts >= count)
        {
            throw new UsageException($"--contacts must be even, at least 2 and below the number of users ({count}); it is {contacts}.");
        }
        First = first;
        Count = count;
        Contacts = contacts;
    }

    public int First { get; }
    public int Count { get; }
    public int Contacts { get; }

    /// <summary>Each mutual pair once, as (user, contact) numbers: what <c>parley roster import</c> needs.</summary>
    public IEnumerable<(int User, int Contact)> Pairs()
    {
        for (var i = 0; i < Count; i++)
        {
            for (var distance = 1; distance <= Contacts / 2; distance++)
            {
                yield return (First + i, First + (i + distance) % Count);
            }
        }
    }

    /// <summary>Which of <paramref name="receiver"/>'s contacts (0..Contacts-1) <paramref name="sender"/> is, or −1 (both 0-based positions in the circle).</summary>
    public int Slot(int receiver, int sender)
    {
        var offset = ((sender - receiver) % Count + Count) % Count;
        var half = Contacts / 2;
        if (offset is >= 1 && offset <= half)
        {
            return offset - 1;
        }
        return offset >= Count - half ? half + (Count - offset - 1) : -1;
    }
}
