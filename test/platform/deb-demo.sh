#!/usr/bin/env bash
# Inside a fresh Debian root filesystem (test/platform/run-in-rootfs.sh DIST bash test/platform/deb-demo.sh):
# build the Debian package, install it with apt as a user would, and run the installed command's demo. The
# demo must pass and leave the installed files exactly as they were (it never writes through the install).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run package </dev/null
deb=$(ls pkg/sftp-setup_*_all.deb)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "./$deb" >/dev/null
installed() { find /usr/lib/sftp-setup /usr/bin/sftp-setup /usr/share/man/man1/sftp-setup.1.gz /usr/share/bash-completion/completions/sftp-setup \( -type f -o -type l \) -printf '%p %m %u:%g %l\n' | sort; find /usr/lib/sftp-setup -type f -exec sha256sum {} + | sort; }
before=$(installed)
echo "deb-demo: $(command -v sftp-setup) $(sftp-setup --version), node $(node --version), $(ssh -V 2>&1)"
# From a directory that is not the clone: the installed command must not need it.
(cd / && sftp-setup demo </dev/null)
after=$(installed)
if [ "$before" != "$after" ]; then
  echo "deb-demo: the demo changed the installed package:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "deb-demo: 1 passed, 0 failed"
