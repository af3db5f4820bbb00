#!/usr/bin/env bash
# From a fresh clone on Debian 12 or 13 / Raspberry Pi OS (bookworm or trixie), as root: install what the demo needs, build,
# and run `sftp-setup demo`. Arguments are passed to the demo (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "try-demo: run it as root: sudo bash test/try-demo.sh" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
packages=(openssh-server openssh-client lftp iproute2 util-linux procps ca-certificates)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)'; then
  echo "try-demo: sftp-setup needs Node.js 18.19 or newer; this machine has $(node --version)." >&2
  echo "          Install your distribution's nodejs package (Debian 12 and 13 have one that fits) and run this again." >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build
exec node bin/sftp-setup demo "$@"
