#!/usr/bin/env bash
# From a fresh clone on Debian 12 / Raspberry Pi OS (bookworm), as root: install what the demo needs, build,
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

if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "try-demo: sftp-setup needs Node.js 20 or newer; this machine has $(node --version)." >&2
  echo "          Install Node.js 20 and run this again." >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build
exec node bin/sftp-setup demo "$@"
