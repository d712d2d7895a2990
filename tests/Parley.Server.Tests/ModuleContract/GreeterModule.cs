using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Tests.ModuleContract;

/// <summary>
/// A made-up XEP, written as any new feature would be, without a line of the server changed: an IQ
/// handler, a stream feature, a disco feature, and a configuration section with a validated option.
/// </summary>
public sealed class GreeterModule(GreeterOptions options) : IModule
{
    public const string Namespace = "urn:example:greeter:0";

    public static ModuleDefinition Definition { get; } = ModuleDefinition.For<GreeterModule>("Greeter").WithOptions<GreeterOptions>("Greeter");

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Namespace);
        registry.AddStreamFeature(new Element("greeter", Namespace));
        registry.HandleIq(Namespace, IqTarget.Server, request =>
            ValueTask.FromResult(request.IsGet
                ? request.Result(new Element("greeting", Namespace).SetAttribute("times", options.Times.ToString(System.Globalization.CultureInfo.InvariantCulture)).AddText(options.Greeting))
                : request.Error(StanzaError.BadRequest("Greetings are only read."))));
    }
}

/// <summary>Parley:Greeter.</summary>
public sealed class GreeterOptions : IModuleOptions
{
    public string Greeting { get; set; } = "Hello";

    /// <summary>From 1 to 10.</summary>
    public int Times { get; set; } = 1;

    public IEnumerable<string> Validate(string section)
    {
        if (Times is < 1 or > 10)
        {
            yield return $"{section}:Times: must be from 1 to 10.";
        }
    }
}
