namespace Parley.Server.Modules.Registration;

/// <summary>
/// Counts the accounts each IP address created in-band over the last hour, so that one host cannot
/// fill the server with accounts.
/// </summary>
internal sealed class RegistrationThrottle(int maxPerHour, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<DateTimeOffset>> _byAddress = new(StringComparer.Ordinal);

    /// <summary>Counts a registration for <paramref name="address"/>, or returns false when it has used up its hour's allowance.</summary>
    public bool TryReserve(string address)
    {
        if (maxPerHour <= 0)
        {
            return true;
        }
        var now = time.GetUtcNow();
        lock (_lock)
        {
            // Registrations are rare, so sweeping every address here keeps the table small without a timer.
            foreach (var (key, times) in _byAddress)
            {
                times.RemoveAll(t => now - t >= Window);
                if (times.Count == 0)
                {
                    _byAddress.Remove(key);
                }
            }
            if (!_byAddress.TryGetValue(address, out var recent))
            {
                _byAddress[address] = recent = [];
            }
            if (recent.Count >= maxPerHour)
            {
                return false;
            }
            recent.Add(now);
            return true;
        }
    }

    /// <summary>Gives back a reservation whose registration did not happen (the name was taken, storage failed).</summary>
    public void Release(string address)
    {
        if (maxPerHour <= 0)
        {
            return;
        }
        lock (_lock)
        {
            if (_byAddress.TryGetValue(address, out var recent) && recent.Count > 0)
            {
                recent.RemoveAt(recent.Count - 1);
            }
        }
    }
}
