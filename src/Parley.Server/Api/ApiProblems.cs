using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>Errors as RFC 9457 problem details, and request bodies read strictly (an unknown field is an error).</summary>
public static class ApiProblems
{
    /// <summary>The largest request body the API reads: its bodies are a JID, a password or a banner.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions s_strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    public static IResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    public static IResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "Bad request", detail);

    /// <summary>An application service's refusal or conflict, as the problem an API client gets.</summary>
    public static IResult From(AdministrationResult result, string subject) => result.Outcome switch
    {
        AdministrationOutcome.Refused => BadRequest(result.Problem!),
        AdministrationOutcome.AlreadyExists => Problem(StatusCodes.Status409Conflict, "Already exists", $"{subject} exists already."),
        AdministrationOutcome.NotFound => NotFound($"{subject} was not found."),
        _ => throw new ArgumentOutOfRangeException(nameof(result), result.Outcome, null),
    };

    /// <summary>
    /// Reads the JSON body as <typeparamref name="T"/> (routing answers 415 to another media type, by the route's
    /// Accepts metadata): a body over <see cref="MaxBodyBytes"/> gets 413, one that is not
    /// JSON, is not the shape of <typeparamref name="T"/>, lacks a required field or has an unknown one gets 400.
    /// </summary>
    public static async Task<(T? Body, IResult? Problem)> ReadAsync<T>(HttpContext context) where T : class
    {
        var request = context.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge());
        }
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }
        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, s_strict, context.RequestAborted);
            return body is null ? (null, BadRequest("The body is null; send a JSON object.")) : (body, null);
        }
        catch (JsonException e)
        {
            return (null, BadRequest(e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? $"Unknown field at {e.Path}: this request takes no such field."
                : e.Message.Contains("missing required properties", StringComparison.Ordinal)
                    ? $"A required field is missing: {RequiredFields<T>()}."
                    : $"The body is not valid JSON for this request (at {e.Path ?? "$"}, line {e.LineNumber + 1})."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }
    }

    private static IResult TooLarge() =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"The body is larger than {MaxBodyBytes} bytes.");

    private static string RequiredFields<T>() => string.Join(", ", typeof(T).GetProperties()
        .Where(p => p.IsDefined(typeof(System.Runtime.CompilerServices.RequiredMemberAttribute), inherit: false))
        .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)));
}
