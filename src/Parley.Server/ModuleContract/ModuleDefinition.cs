using Microsoft.Extensions.DependencyInjection;

namespace Parley.Server.ModuleContract;

/// <summary>
/// A module's own configuration section (Parley:&lt;Section&gt;), declared by the module with its
/// defaults as property initializers. <see cref="Validate"/> says what is wrong, each problem
/// naming its full key, so that `parley config check` and `parley serve` refuse it in the same words.
/// </summary>
public interface IModuleOptions
{
    IEnumerable<string> Validate(string section);
}

/// <summary>
/// What the node knows of a module before it runs it, in the manner of ejabberd's gen_mod: the name
/// operators switch it with (<c>Parley:Modules:&lt;Name&gt;:Enabled</c>), the modules it needs, the
/// configuration section it owns, and the services it brings. One definition per module folder; the
/// node's list of them is <see cref="BuiltInModules"/>.
/// </summary>
public sealed class ModuleDefinition
{
    private readonly List<Action<IServiceCollection>> _services = [];

    private ModuleDefinition(string name, Type moduleType)
    {
        Name = name;
        ModuleType = moduleType;
    }

    public string Name { get; }
    public Type ModuleType { get; }
    public IReadOnlyList<string> Dependencies { get; private set; } = [];

    /// <summary>Parley:&lt;OptionsSection&gt;, bound to <see cref="OptionsType"/>; null for a module without options.</summary>
    public string? OptionsSection { get; private set; }
    public Type? OptionsType { get; private set; }

    /// <summary>The module <typeparamref name="TModule"/>, known to operators as <paramref name="name"/>.</summary>
    public static ModuleDefinition For<TModule>(string name) where TModule : class, IModule
    {
        var definition = new ModuleDefinition(name, typeof(TModule));
        definition._services.Add(services =>
        {
            services.AddSingleton<TModule>();
            services.AddSingleton<IModule>(sp => sp.GetRequiredService<TModule>());
        });
        return definition;
    }

    /// <summary>Modules that must be enabled for this one to run (it uses their services or events).</summary>
    public ModuleDefinition DependsOn(params string[] names)
    {
        Dependencies = [.. Dependencies, .. names];
        return this;
    }

    /// <summary>The section Parley:<paramref name="section"/>, bound to <typeparamref name="TOptions"/>, which the module's services receive.</summary>
    public ModuleDefinition WithOptions<TOptions>(string section) where TOptions : class, IModuleOptions, new()
    {
        OptionsSection = section;
        OptionsType = typeof(TOptions);
        return this;
    }

    /// <summary>Services of the module's own that it and the modules depending on it use.</summary>
    public ModuleDefinition WithServices(Action<IServiceCollection> add)
    {
        _services.Add(add);
        return this;
    }

    internal void AddServices(IServiceCollection services)
    {
        foreach (var add in _services)
        {
            add(services);
        }
    }
}
