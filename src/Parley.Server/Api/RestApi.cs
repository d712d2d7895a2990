using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Parley.Server.Http;
using Scalar.AspNetCore;

namespace Parley.Server.Api;

/// <summary>
/// The REST API under /api/v1 for API tokens (<c>parley admin token create</c>), its OpenAPI document at
/// /openapi/v1.json and the Scalar reference page at /scalar — both readable without a token, as the API's manual.
/// Every change goes through the application services as done by the token, so it is audited.
/// </summary>
public sealed class RestApi : IHttpEndpoints
{
    public const string Prefix = "/api/v1";
    /// <summary>Where the OpenAPI document is; Scalar's page finds it there by default.</summary>
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/scalar";
    private const string BearerScheme = "Bearer";

    public static void AddToNode(IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddOpenApi(options =>
        {
            // The document describes the API, not the web clients' endpoints on the same listeners.
            options.ShouldInclude = description => description.RelativePath?.StartsWith(Prefix[1..], StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Parley REST API",
                    Version = "v1",
                    Description = "Administration of a Parley node. Authenticate with an API token: Authorization: Bearer TOKEN.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API token from 'parley admin token create NAME'.",
                };
                document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }];
                return Task.CompletedTask;
            });
        });
        services.AddSingleton<IHttpEndpoints, RestApi>();
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix).AddEndpointFilter<ApiTokenFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        UsersApi.Map(api);
        SessionsApi.Map(api);
        RoomsApi.Map(api);
        AuditApi.Map(api);
        BannerApi.Map(api);
        AdminsApi.Map(api);
        SettingsApi.Map(api);
        ClusterApi.Map(api);
        NodesApi.Map(api);
        endpoints.MapOpenApi(DocumentPath);
        endpoints.MapScalarApiReference(ReferencePath, options => options.WithTitle("Parley REST API"));
    }
}
