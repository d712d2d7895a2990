using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>A runtime setting's new value, as text: a whole number, or on/off.</summary>
public sealed class SettingValue
{
    public required string Value { get; init; }
}

/// <summary>A runtime setting: what it means, its value in effect, and whether that was set at runtime (else it is the configuration's).</summary>
public sealed record SettingInfo(string Name, string Description, string Value, bool Stored);

/// <summary>/api/v1/settings: the runtime settings, as <c>parley settings</c> and the console change them, through <see cref="SettingsAdministration"/>.</summary>
internal static class SettingsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var settings = api.MapGroup("/settings").WithTags("Runtime settings");
        settings.MapGet("/", ListAsync)
            .WithSummary("Every runtime setting with its value in effect and whether it was set at runtime (stored) or comes from the configuration.")
            .Produces<IReadOnlyList<SettingInfo>>();
        settings.MapPut("/{name}", SetAsync)
            .WithSummary("Set a runtime setting on every node (max-contacts and archive-retention-days: a whole number; registration: on or off).")
            .Accepts<SettingValue>("application/json")
            .Produces<SettingInfo>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        settings.MapDelete("/{name}", ResetAsync)
            .WithSummary("Go back to the configured value on every node.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(SettingsAdministration settings, CancellationToken cancellationToken) =>
        TypedResults.Ok((await settings.ListAsync(cancellationToken).ConfigureAwait(false)).Select(Info).ToList());

    private static async Task<IResult> SetAsync(string name, HttpContext context, SettingsAdministration settings)
    {
        var (body, problem) = await ApiProblems.ReadAsync<SettingValue>(context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        var result = await settings.By(ApiCaller.Actor(context)).SetAsync(name, body!.Value, context.RequestAborted).ConfigureAwait(false);
        if (result.Outcome != AdministrationOutcome.Done)
        {
            return result.Outcome == AdministrationOutcome.NotFound ? NoSuchSetting(name) : ApiProblems.From(result, name);
        }
        var all = await settings.ListAsync(context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(Info(all.Single(setting => setting.Setting.Name == name)));
    }

    private static async Task<IResult> ResetAsync(string name, HttpContext context, SettingsAdministration settings)
    {
        if (RuntimeSettings.Find(name) is null)
        {
            return NoSuchSetting(name);
        }
        var result = await settings.By(ApiCaller.Actor(context)).ResetAsync(name, context.RequestAborted).ConfigureAwait(false);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.NoContent() : ApiProblems.NotFound($"{name} was not set at runtime: it is as configured.");
    }

    private static IResult NoSuchSetting(string name) =>
        ApiProblems.NotFound($"There is no setting '{name}'; the settings are {string.Join(", ", RuntimeSettings.All.Select(setting => setting.Name))}.");

    private static SettingInfo Info((RuntimeSetting Setting, string Value, bool Stored) setting) =>
        new(setting.Setting.Name, setting.Setting.Description, setting.Value, setting.Stored);
}
