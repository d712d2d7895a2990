using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace Parley.Admin.Pages;

/// <summary>Signing out is a form (POST, with its anti-forgery token), so no other site can sign an administrator out.</summary>
public sealed class SignOutModel : ConsolePage
{
    public IActionResult OnGet() => Redirect(AdminConsole.Path);

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(AdminConsole.Scheme);
        return Redirect(AdminConsole.Path + "/sign-in");
    }
}
