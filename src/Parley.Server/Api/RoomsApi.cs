using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.Muc;
using Parley.Storage;

namespace Parley.Server.Api;

/// <summary>A new persistent room: its JID, its owners (bare JIDs) and, if wanted, its name.</summary>
public sealed class RoomCreation
{
    public required string Jid { get; init; }
    public required IReadOnlyList<string> Owners { get; init; }
    public string? Name { get; init; }
}

public sealed record RoomSummary(string Jid, string Name, DateTimeOffset CreatedAt);

/// <summary>/api/v1/rooms: the persistent rooms of the node's chat service, through <see cref="RoomAdministration"/>.</summary>
internal static class RoomsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var rooms = api.MapGroup("/rooms").WithTags("Rooms");
        rooms.MapGet("/", ListAsync)
            .WithSummary("The persistent rooms of every served domain's chat service, ordered by JID.")
            .Produces<IReadOnlyList<RoomSummary>>();
        rooms.MapPost("/", CreateAsync)
            .WithSummary("Create a persistent room with its owners.")
            .Accepts<RoomCreation>("application/json")
            .Produces<RoomSummary>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        rooms.MapDelete("/{jid}", DestroyAsync)
            .WithSummary("Destroy a persistent room; its occupants are told, its archive stays.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(IParleyStorage storage, ParleyOptions options, CancellationToken cancellationToken)
    {
        var subdomain = options.Module<MucOptions>().Subdomain;
        var found = new List<RoomSummary>();
        foreach (var domain in options.EffectiveDomains)
        {
            foreach (var room in await storage.Rooms.ListAsync($"{subdomain}.{domain}", cancellationToken))
            {
                found.Add(new RoomSummary(room.Jid, RoomConfiguration.FromStoredXml(room.ConfigXml).Name, room.CreatedAt));
            }
        }
        return TypedResults.Ok(found.OrderBy(r => r.Jid, StringComparer.Ordinal).ToList());
    }

    private static async Task<IResult> CreateAsync(HttpContext context, RoomAdministration rooms)
    {
        var (body, problem) = await ApiProblems.ReadAsync<RoomCreation>(context);
        if (problem is not null)
        {
            return problem;
        }
        if (!Jid.TryParse(body!.Jid, out var room))
        {
            return ApiProblems.BadRequest($"'{body.Jid}' is not a valid JID.");
        }
        var owners = new List<Jid>();
        foreach (var text in body.Owners)
        {
            if (!Jid.TryParse(text, out var owner))
            {
                return ApiProblems.BadRequest($"The owner '{text}' is not a valid JID.");
            }
            owners.Add(owner);
        }
        var settings = new RoomConfiguration { Name = body.Name ?? "" };
        var result = await rooms.By(ApiCaller.Actor(context)).CreateAsync(room, settings, owners, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Created($"/api/v1/rooms/{Uri.EscapeDataString(room.ToString())}", new RoomSummary(room.ToString(), settings.Name, DateTimeOffset.UtcNow))
            : ApiProblems.From(result, $"The room {room}");
    }

    private static async Task<IResult> DestroyAsync(string jid, HttpContext context, RoomAdministration rooms)
    {
        if (!Jid.TryParse(jid, out var room))
        {
            return ApiProblems.BadRequest($"'{jid}' is not a valid JID.");
        }
        var result = await rooms.By(ApiCaller.Actor(context)).DestroyAsync(room, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.NoContent() : ApiProblems.From(result, $"The room {room}");
    }
}
