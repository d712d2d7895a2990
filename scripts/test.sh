#!/usr/bin/env bash
# Runs Parley's whole test suite on a Debian machine with the .NET SDK.
# First installs the Debian packages that the interop tests drive (real third-party clients),
# skipping what is already installed, so it is safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-slixmpp python3-prometheus-client python3-aioxmpp go-sendxmpp postgresql chromium slapd ldap-utils nats-server openssl)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages the tests need: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # env, not a prefix: sudo would drop the variable, and slapd's debconf questions would wait for an answer.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# One closing line for all test projects, in the plain "N passed, N failed" form CI reads.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Parley.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/(Passed|Failed)! +- +Failed:/ {
       for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) }
     }
     END { gsub(",", "", p); printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
