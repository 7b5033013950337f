#!/usr/bin/env bash
# Install the Debian packages bindep.txt lists for this platform (compile headers for gssapi/krb5,
# Kerberos client tools, the lab's Samba AD DC and its tools), then check that every file and command
# the lab uses is really there, naming the missing package in one line. Needs root to install;
# does nothing when all is there. The logic lives in tests/lab/winauth_lab/packages.py (stdlib only).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
exec "${PYTHON:-python3}" "$here/tests/lab/winauth_lab/packages.py"
