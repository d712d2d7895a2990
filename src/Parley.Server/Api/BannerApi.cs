using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>The login banner's text.</summary>
public sealed class BannerText
{
    public required string Text { get; init; }
}

/// <summary>/api/v1/banner: the login banner, through <see cref="LoginBanner"/>.</summary>
internal static class BannerApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var banner = api.MapGroup("/banner").WithTags("Login banner");
        banner.MapGet("/", GetAsync)
            .WithSummary("The login banner, sent to XMPP clients at login as the message of the day.")
            .Produces<BannerText>().ProducesProblem(StatusCodes.Status404NotFound);
        banner.MapPut("/", SetAsync)
            .WithSummary("Set the login banner.")
            .Accepts<BannerText>("application/json")
            .Produces<BannerText>().ProducesProblem(StatusCodes.Status400BadRequest);
        banner.MapDelete("/", ClearAsync)
            .WithSummary("Clear the login banner.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> GetAsync(LoginBanner banner, CancellationToken cancellationToken) =>
        await banner.GetAsync(cancellationToken) is { } text ? TypedResults.Ok(new BannerText { Text = text }) : ApiProblems.NotFound("No login banner is set.");

    private static async Task<IResult> SetAsync(HttpContext context, LoginBanner banner)
    {
        var (body, problem) = await ApiProblems.ReadAsync<BannerText>(context);
        if (problem is not null)
        {
            return problem;
        }
        var service = banner.By(ApiCaller.Actor(context));
        var result = await service.SetAsync(body!.Text, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Ok(new BannerText { Text = (await service.GetAsync(context.RequestAborted))! })
            : ApiProblems.From(result, "The banner");
    }

    private static async Task<IResult> ClearAsync(HttpContext context, LoginBanner banner) =>
        await banner.By(ApiCaller.Actor(context)).ClearAsync(context.RequestAborted) is { Outcome: AdministrationOutcome.Done }
            ? TypedResults.NoContent()
            : ApiProblems.NotFound("No login banner is set.");
}
