#!/usr/bin/env bash
# Install the Debian packages that bindep.txt lists for this platform (compile
# headers for gssapi/krb5, Kerberos client tools, and the lab's Samba AD DC),
# skipping those already installed. Needs root; does nothing when all are there.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
mapfile -t wanted < <(awk '!/^#/ && NF && /platform:dpkg/ {print $1}' "$here/bindep.txt")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run as root: apt-get update && apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged daemons; the lab runs its own on its own addresses.
for unit in samba-ad-dc smbd nmbd winbind haproxy; do
  systemctl stop "$unit" >/dev/null 2>&1 || service "$unit" stop >/dev/null 2>&1 || true
done
