using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Modules.Muc;

namespace Parley.Server.Api;

/// <summary>A new persistent room: its JID, its owners (bare JIDs) and, if wanted, its name.</summary>
public sealed class RoomCreation
{
    public required string Jid { get; init; }
    public required IReadOnlyList<string> Owners { get; init; }
    public string? Name { get; init; }
}

public sealed record RoomSummary(string Jid, string Name, string Subject, DateTimeOffset CreatedAt);

/// <summary>A persistent room's settings (its password is never shown, only whether it has one) and subject.</summary>
public sealed record RoomDetails(
    string Jid, string Name, string Description, bool Public, bool MembersOnly, bool Moderated, int MaxUsers, bool PasswordProtected, string Subject, DateTimeOffset CreatedAt)
{
    public static RoomDetails From(RoomListing room) => new(room.Jid, room.Settings.Name, room.Settings.Description, room.Settings.Public,
        room.Settings.MembersOnly, room.Settings.Moderated, room.Settings.MaxUsers, room.Settings.Password.Length > 0, room.Subject, room.CreatedAt);
}

/// <summary>
/// Changes to a persistent room, as the console's room page makes them: a field left out keeps its setting; an empty
/// password removes it; owners are added.
/// </summary>
public sealed class RoomChange
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public bool? Public { get; init; }
    public bool? MembersOnly { get; init; }
    public bool? Moderated { get; init; }
    /// <summary>The most occupants; 0 for the service's limit.</summary>
    public int? MaxUsers { get; init; }
    public string? Password { get; init; }
    /// <summary>Bare JIDs made owners.</summary>
    public IReadOnlyList<string>? Owners { get; init; }
}

/// <summary>Someone in a room now: nickname, account (bare JID), role and affiliation (XEP-0045 names).</summary>
public sealed record RoomOccupantInfo(string Nick, string Jid, string Role, string Affiliation);

/// <summary>/api/v1/rooms: the persistent rooms of the node's chat service, through <see cref="RoomAdministration"/>.</summary>
internal static class RoomsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var rooms = api.MapGroup("/rooms").WithTags("Rooms");
        rooms.MapGet("/", ListAsync)
            .WithSummary("The persistent rooms of every served domain's chat service, ordered by JID; q: those whose JID or name contains the text (any case, plain text).")
            .Produces<IReadOnlyList<RoomSummary>>();
        rooms.MapGet("/{jid}", GetAsync)
            .WithSummary("A persistent room's settings and subject (whether it has a password, never the password).")
            .Produces<RoomDetails>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPatch("/{jid}", ConfigureAsync)
            .WithSummary("Change a persistent room's settings (fields left out stay as they are; an empty password removes it) and add owners; its occupants see the change at once.")
            .Accepts<RoomChange>("application/json")
            .Produces<RoomDetails>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapGet("/{jid}/occupants", OccupantsAsync)
            .WithSummary("Who is in a persistent room now on this node's chat service, by nickname.")
            .Produces<IReadOnlyList<RoomOccupantInfo>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPost("/", CreateAsync)
            .WithSummary("Create a persistent room with its owners.")
            .Accepts<RoomCreation>("application/json")
            .Produces<RoomSummary>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        rooms.MapDelete("/{jid}", DestroyAsync)
            .WithSummary("Destroy a persistent room; its occupants are told, its archive stays.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(string? q, RoomAdministration rooms, CancellationToken cancellationToken) =>
        TypedResults.Ok((await rooms.ListAsync(q, cancellationToken).ConfigureAwait(false))
            .Select(room => new RoomSummary(room.Jid, room.Settings.Name, room.Subject, room.CreatedAt)).ToList());

    private static async Task<IResult> GetAsync(string jid, RoomAdministration rooms, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(jid, out var room))
        {
            return ApiProblems.BadRequest($"'{jid}' is not a valid JID.");
        }
        return await rooms.GetAsync(room, cancellationToken).ConfigureAwait(false) is { } found
            ? TypedResults.Ok(RoomDetails.From(found))
            : ApiProblems.NotFound($"There is no persistent room {room}.");
    }

    private static async Task<IResult> ConfigureAsync(string jid, HttpContext context, RoomAdministration rooms)
    {
        if (!Jid.TryParse(jid, out var room))
        {
            return ApiProblems.BadRequest($"'{jid}' is not a valid JID.");
        }
        var (body, problem) = await ApiProblems.ReadAsync<RoomChange>(context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        if (ParseOwners(body!.Owners ?? [], out var owners) is { } ownerProblem)
        {
            return ownerProblem;
        }
        var change = new RoomSettingsChange(body.Name, body.Description, body.Public, body.MembersOnly, body.Moderated, body.MaxUsers, body.Password);
        var service = rooms.By(ApiCaller.Actor(context));
        var (result, _) = await service.ConfigureAsync(room, change, owners, context.RequestAborted).ConfigureAwait(false);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Ok(RoomDetails.From((await service.GetAsync(room, context.RequestAborted).ConfigureAwait(false))!))
            : ApiProblems.From(result, $"The room {room}");
    }

    private static async Task<IResult> OccupantsAsync(string jid, HttpContext context, RoomAdministration rooms, RoomOccupants roomOccupants)
    {
        if (!Jid.TryParse(jid, out var room))
        {
            return ApiProblems.BadRequest($"'{jid}' is not a valid JID.");
        }
        if (await rooms.GetAsync(room, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return ApiProblems.NotFound($"There is no persistent room {room}.");
        }
        var occupants = await roomOccupants.ListAsync(room, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(occupants.Select(o => new RoomOccupantInfo(o.Nick, o.Account, o.Role.ToString().ToLowerInvariant(), o.Affiliation.ToString().ToLowerInvariant())).ToList());
    }

    /// <summary>The owners as JIDs; the problem names the first that is not a JID.</summary>
    private static IResult? ParseOwners(IReadOnlyList<string> texts, out List<Jid> owners)
    {
        owners = [];
        foreach (var text in texts)
        {
            if (!Jid.TryParse(text, out var owner))
            {
                return ApiProblems.BadRequest($"The owner '{text}' is not a valid JID.");
            }
            owners.Add(owner);
        }
        return null;
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
        if (ParseOwners(body.Owners, out var owners) is { } ownerProblem)
        {
            return ownerProblem;
        }
        var settings = new RoomConfiguration { Name = body.Name ?? "" };
        var result = await rooms.By(ApiCaller.Actor(context)).CreateAsync(room, settings, owners, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Created($"/api/v1/rooms/{Uri.EscapeDataString(room.ToString())}", new RoomSummary(room.ToString(), settings.Name, "", DateTimeOffset.UtcNow))
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
