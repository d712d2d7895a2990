using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Parley.Server.Hosting;
using Parley.Server.Modules;

namespace Parley.Server.Tests.ModuleContract;

/// <summary>
/// docs/configuration.md is checked against the options the node and its modules declare: every key
/// with its default, no key that does not exist, and every module with the modules it needs.
/// </summary>
public sealed partial class ConfigurationReferenceTests
{
    private static readonly string Reference = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));

    /// <summary>Rows of the key table: | `Key` | flag | `default` | meaning |</summary>
    private static readonly Dictionary<string, string> Documented = KeyRow().Matches(Reference)
        .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["default"].Value, StringComparer.Ordinal);

    [Fact]
    public void Every_declared_key_is_documented_with_its_default()
    {
        var problems = new List<string>();
        foreach (var (key, defaultValue) in DeclaredKeys())
        {
            if (!Documented.TryGetValue(key, out var documented))
            {
                problems.Add($"{key} is not documented");
            }
            else if (defaultValue is not null && !documented.Contains($"`{defaultValue}`", StringComparison.Ordinal))
            {
                problems.Add($"{key}: the default is `{defaultValue}`, the reference says {documented}");
            }
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void Every_documented_key_exists()
    {
        var declared = DeclaredKeys().Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
        var stale = Documented.Keys.Where(key => !declared.Contains(key) && !key.StartsWith("Modules:", StringComparison.Ordinal)).ToList();
        Assert.True(stale.Count == 0, $"documented but not declared: {string.Join(", ", stale)}");
    }

    [Fact]
    public void Every_module_is_documented_with_the_modules_it_needs()
    {
        var rows = ModuleRow().Matches(Reference).Where(m => m.Groups["name"].Value != "Module").ToDictionary(m => m.Groups["name"].Value, m => m.Groups["needs"].Value, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var module in BuiltInModules.All)
        {
            if (!rows.TryGetValue(module.Name, out var needs))
            {
                problems.Add($"the module {module.Name} is not in the modules table");
                continue;
            }
            var documentedNeeds = needs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.Trim('`')).Order();
            if (!documentedNeeds.SequenceEqual(module.Dependencies.Order()))
            {
                problems.Add($"the module {module.Name} needs {string.Join(", ", module.Dependencies)}; the reference says '{needs}'");
            }
        }
        problems.AddRange(rows.Keys.Where(name => !BuiltInModules.All.Any(m => m.Name == name)).Select(name => $"the reference lists a module {name} that does not exist"));
        Assert.Empty(problems);
    }

    /// <summary>Section:Key and its default as the reference writes it (null where it has no one spelling: lists, computed values).</summary>
    private static IEnumerable<(string Key, string? Default)> DeclaredKeys()
    {
        var core = new ParleyOptions();
        foreach (var property in Settable(typeof(ParleyOptions)))
        {
            var value = property.GetValue(core);
            if (property.Name == nameof(ParleyOptions.Modules))
            {
                continue;
            }
            if (IsScalar(property.PropertyType) || value is System.Collections.IEnumerable and not string)
            {
                yield return (property.Name, null);
                continue;
            }
            foreach (var key in Leaves(property.Name, value!))
            {
                yield return key;
            }
        }
        foreach (var module in BuiltInModules.All.Where(m => m.OptionsType is not null))
        {
            foreach (var key in Leaves(module.OptionsSection!, Activator.CreateInstance(module.OptionsType!)!))
            {
                yield return key;
            }
        }
    }

    private static IEnumerable<(string Key, string? Default)> Leaves(string section, object options)
    {
        foreach (var property in Settable(options.GetType()))
        {
            var value = property.GetValue(options);
            yield return ($"{section}:{property.Name}", value switch
            {
                bool b => b ? "true" : "false",
                int or long => Convert.ToString(value, CultureInfo.InvariantCulture),
                string s => s,
                System.Collections.IList { Count: 0 } => "[]",
                _ => null,
            });
        }
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    private static bool IsScalar(Type type) => type.IsPrimitive || type == typeof(string);

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Parley.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (with Parley.sln) is not above the test's directory.");
    }

    [GeneratedRegex(@"^\| `(?<key>[A-Za-z0-9]+(:[A-Za-z0-9<>]+)*)` \|[^|\n]*\| (?<default>[^|\n]*) \|", RegexOptions.Multiline)]
    private static partial Regex KeyRow();

    [GeneratedRegex(@"^\| (?<name>[A-Za-z]+) \|(?<needs>[^|\n]*)\|[^|\n]*\|$", RegexOptions.Multiline)]
    private static partial Regex ModuleRow();
}
