#!/usr/bin/env bash
# Inside a fresh Debian root filesystem (test/platform/run-in-rootfs.sh DIST bash test/platform/deb-demo.sh),
# the two ways the README installs the command, each followed by the installed command's demo:
# 1. the Debian package: `npm run package`, then `apt-get install ./pkg/sftp-setup_*.deb`;
# 2. npm: `npm pack`, then `npm install -g` of that tarball (npm's symlink in /usr/local/bin).
# Each demo must pass and leave the installed files exactly as they were: it never writes through the install.
set -euo pipefail
cd "$(dirname "$0")/../.."
clone=$PWD
export DEBIAN_FRONTEND=noninteractive

# Paths, modes, owners, link targets and checksums of everything under the given paths.
listing() { find "$@" \( -type f -o -type l \) -printf '%p %m %u:%g %l\n' | sort; find "$@" -type f -exec sha256sum {} + | sort; }

# demo NAME PATHS...: run the installed command's demo from / and check that PATHS did not change.
demo() {
  local name=$1
  shift
  local before after
  before=$(listing "$@")
  echo "deb-demo: $name: $(command -v sftp-setup) $(sftp-setup --version), node $(node --version), $(ssh -V 2>&1)"
  (cd / && sftp-setup demo </dev/null)
  after=$(listing "$@")
  if [ "$before" != "$after" ]; then
    echo "deb-demo: $name: the demo changed the installed files:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    return 1
  fi
}

npm run package </dev/null
deb=$(ls "$clone"/pkg/sftp-setup_*_all.deb)
apt-get update -qq
apt-get install -y -qq "$deb" >/dev/null
# The postinst's V8 code caches (scripts/package-deb.mjs): one beside each file of the bundle but the loader,
# accepted by this Node; the trigger on /usr/bin/node makes them again; the prerm removes them with the package.
lib=/usr/lib/sftp-setup/dist
packs=$(ls "$lib"/cli*.cjs | grep -vx "$lib/cli-load.cjs")
used=$(node -e 'const l = require(process.argv[1]); for (const f of process.argv.slice(2)) l.load(f); console.log([...new Set(Object.values(l.outcome))].join())' "$lib/cli-load.cjs" $packs)
[ "$used" = used ] || { echo "deb-demo: the package's code caches are not all used: $used" >&2; exit 1; }
made=$(for f in $packs; do stat -c '%n %y' "$f.v8"; done)
dpkg-trigger --no-await /usr/bin/node
dpkg --triggers-only --pending
[ "$(for f in $packs; do stat -c '%n %y' "$f.v8"; done)" != "$made" ] || { echo "deb-demo: the nodejs trigger did not make the code caches again" >&2; exit 1; }
demo 'Debian package' /usr/lib/sftp-setup /usr/bin/sftp-setup /usr/share/man/man1/sftp-setup.1.gz /usr/share/bash-completion/completions/sftp-setup
apt-get remove -y -qq sftp-setup >/dev/null
[ ! -e /usr/bin/sftp-setup ] || { echo "deb-demo: apt remove left /usr/bin/sftp-setup" >&2; exit 1; }
[ ! -e /usr/lib/sftp-setup ] || { echo "deb-demo: apt remove left /usr/lib/sftp-setup: $(find /usr/lib/sftp-setup | head -5)" >&2; exit 1; }

tarball=$(cd /tmp && npm pack --silent "$clone" </dev/null | tail -n 1)
npm install -g --no-audit --no-fund "/tmp/$tarball" </dev/null >/dev/null
prefix=$(npm prefix -g)
demo 'npm install -g' "$prefix/lib/node_modules/sftp-setup" "$prefix/bin/sftp-setup"

echo "deb-demo: 2 passed, 0 failed"
