#!/bin/sh
# Builds the parley command once and puts it on PATH, so that each call costs a start, not a build:
# the published app goes to PREFIX/share/parley and a small wrapper to PREFIX/bin/parley.
# PREFIX defaults to ~/.local (Debian puts ~/.local/bin on PATH at login once it exists).
set -eu

prefix="${PREFIX:-$HOME/.local}"
root="$(cd "$(dirname "$0")/.." && pwd)"
app="$prefix/share/parley"

echo "Building parley into $app (the first build takes about a minute)..."
dotnet publish "$root/src/Parley.Cli" -c Release -o "$app" --nologo -v quiet

# A wrapper rather than a link to the apphost: it runs on whichever dotnet is on PATH, also one installed
# outside the places the apphost looks (~/.dotnet without DOTNET_ROOT).
mkdir -p "$prefix/bin"
cat > "$prefix/bin/parley" <<WRAPPER
#!/bin/sh
exec dotnet "$app/parley.dll" "\$@"
WRAPPER
chmod +x "$prefix/bin/parley"

echo "Installed $prefix/bin/parley ($("$prefix/bin/parley" --version))."
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "$prefix/bin is not on your PATH yet; add it with: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
