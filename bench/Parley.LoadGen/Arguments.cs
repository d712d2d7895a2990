using System.Globalization;

namespace Parley.LoadGen;

/// <summary>A command's "--name value" options and "--flag" switches; every mistake is a <see cref="UsageException"/>.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <param name="flagNames">The options that take no value, e.g. "--direct-tls".</param>
    public Arguments(IEnumerable<string> args, IReadOnlySet<string> valueNames, IReadOnlySet<string> flagNames)
    {
        using var arg = args.GetEnumerator();
        while (arg.MoveNext())
        {
            var name = arg.Current;
            if (flagNames.Contains(name))
            {
                _flags.Add(name);
            }
            else if (valueNames.Contains(name))
            {
                if (!arg.MoveNext())
                {
                    throw new UsageException($"{name} needs a value.");
                }
                _values[name] = arg.Current;
            }
            else
            {
                throw new UsageException($"Unknown option '{name}'.");
            }
        }
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string Text(string name) =>
        _values.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new UsageException($"{name} is required.");

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int Number(string name, int min, int max, int? fallback = null)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback ?? throw new UsageException($"{name} is required.");
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"{name} must be a whole number from {min} to {max}, not '{text}'.");
        }
        return value;
    }
}

internal sealed class UsageException(string message) : Exception(message);
