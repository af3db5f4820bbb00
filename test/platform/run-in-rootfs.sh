#!/usr/bin/env bash
# Run a command on a fresh Debian root filesystem with that distribution's own nodejs, npm and OpenSSH:
#
#   test/platform/run-in-rootfs.sh DIST COMMAND...        DIST: bookworm (Debian 12) or trixie (Debian 13)
#
# e.g.  test/platform/run-in-rootfs.sh trixie npx vitest run --config test/vitest.config.ts test/e2e/rotate.test.ts
#
# As root, non-interactively:
# 1. The first time, makes the root filesystem with `debootstrap --variant=minbase` in
#    $SFTP_SETUP_ROOTFS_CACHE/rootfs-DIST (default /var/cache/sftp-setup-ci) and installs the packages the README
#    asks for (plus nodejs, npm, git) with apt-get. Later runs reuse it; a changed package list installs the
#    difference. It uses the Debian mirror this machine's apt uses; SFTP_SETUP_DEBIAN_MIRROR (and
#    SFTP_SETUP_DEBIAN_SECURITY_MIRROR) choose others.
# 2. Enters it with its own mount and pid namespaces and pivot_root (not chroot: the throwaway hosts need `/` to
#    be a mount point, and nsenter -m would escape a chroot), on a tmpfs overlay over the cached root filesystem,
#    so the cache stays clean and every run starts fresh. proc, sys, dev, a tmpfs /run and /tmp are mounted.
# 3. Copies this clone (without .git, node_modules and dist) to /home/user/sftp-setup, owned by `user`, whose home is
#    0700 as adduser makes it, then as root: `npm ci`, `npm run build`, and COMMAND in that directory.
#    SFTP_SETUP_ROOTFS_SKIP_BUILD=1 skips npm ci and the build (for commands that do their own, like the
#    README's).
#
# Nothing stays mounted on the machine afterwards: every mount lives in the namespace, which dies with the run.
# Step times are printed on stderr as `run-in-rootfs: <step> <seconds>s`.
set -euo pipefail

die() { echo "run-in-rootfs: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, namespaces and mounts)"
[ $# -ge 2 ] || die "usage: $0 DIST COMMAND...   (DIST: bookworm or trixie)"
dist=$1
shift
case "$dist" in
  bookworm | trixie) ;;
  *) die "unknown distribution '$dist': use bookworm (Debian 12) or trixie (Debian 13)" ;;
esac

clone="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${SFTP_SETUP_ROOTFS_CACHE:-/var/cache/sftp-setup-ci}"
base="$cache/rootfs-$dist"
# The Debian mirrors this machine's own apt uses (one-line or deb822 sources), unless given.
apt_uris() { # $1: "security" for the security suite's mirror, "main" for the other one
  {
    sed -n -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] || continue
      awk '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) print u, $i } /^$/ { u = "" }' "$f"
    done
  } | awk -v want="$1" '($2 ~ /-security$/) == (want == "security") { print $1; exit }'
}
mirror="${SFTP_SETUP_DEBIAN_MIRROR:-$(apt_uris main)}"
security="${SFTP_SETUP_DEBIAN_SECURITY_MIRROR:-$(apt_uris security)}"
[ -n "$mirror" ] || die "cannot tell this machine's Debian mirror from /etc/apt: set SFTP_SETUP_DEBIAN_MIRROR"
# What the README's commands install, plus nodejs, npm and git, which the README expects to be there already.
packages="nodejs npm git openssh-server openssh-client lftp iproute2 util-linux procps ca-certificates ssh-audit mosquitto mosquitto-clients"

step_start=0
step() { step_start=$SECONDS; echo "run-in-rootfs: $1..." >&2; }
step_done() { echo "run-in-rootfs: $1 $((SECONDS - step_start))s" >&2; }

# enter ROOT MODE SCRIPT ARGS...: run SCRIPT (bash) as root in ROOT, with its own mount and pid namespaces.
# MODE: "base" changes ROOT itself (making the cache); "overlay" puts a tmpfs overlay over it.
enter() {
  local root=$1 mode=$2 script=$3
  shift 3
  # Everything below runs inside the new namespaces; mounts made there vanish with them.
  unshare --mount --pid --fork --kill-child --propagation private -- bash -euo pipefail -c '
    root=$1 mode=$2 script=$3 clone=$4
    shift 4
    mount -t tmpfs -o mode=0755 run-in-rootfs /mnt
    mkdir /mnt/new
    if [ "$mode" = overlay ]; then
      mkdir /mnt/upper /mnt/work
      mount -t overlay overlay -o "lowerdir=$root,upperdir=/mnt/upper,workdir=/mnt/work" /mnt/new
    else
      mount --bind "$root" /mnt/new
    fi
    new=/mnt/new
    mount -t proc proc "$new/proc"
    mount --rbind /sys "$new/sys"
    mount --rbind /dev "$new/dev"
    mount -t tmpfs -o mode=0755 run "$new/run"
    # As a booted Debian has it (systemd-tmpfiles makes it); the CLI keeps its lock files there.
    mkdir -m 1777 "$new/run/lock"
    mount -t tmpfs -o mode=1777 tmp "$new/tmp"
    cp /etc/resolv.conf "$new/etc/resolv.conf"
    # This machine may reach the network through its own certificate authorities: trust them inside too.
    mkdir -p "$new/usr/local/share/ca-certificates"
    for crt in /usr/local/share/ca-certificates/*.crt; do [ -e "$crt" ] && cp "$crt" "$new/usr/local/share/ca-certificates/"; done
    if [ "$mode" = overlay ]; then
      # The clone, as a user would have it: in a 0700 home of a user made by adduser.
      chroot "$new" sh -c "id user >/dev/null 2>&1 || useradd -m -s /bin/bash user; chmod 0700 /home/user"
      mkdir "$new/home/user/sftp-setup"
      tar -C "$clone" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$new/home/user/sftp-setup" -xf -
      chroot "$new" chown -R user: /home/user/sftp-setup
    fi
    mkdir -p "$new/.old-root"
    cd "$new"
    pivot_root . .old-root
    cd /
    umount -l /.old-root
    rmdir /.old-root
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM="${TERM:-dumb}" \
      LANG=C.UTF-8 CI="${CI:-}" npm_config_registry="${npm_config_registry:-}" \
      SFTP_SETUP_ROOTFS_SKIP_BUILD="${SFTP_SETUP_ROOTFS_SKIP_BUILD:-}" \
      bash -euo pipefail -c "$script" inside "$@"
  ' enter "$root" "$mode" "$script" "$clone" "$@"
}

# npm inside uses the registry this machine's npm uses (the lock records no registry addresses).
if [ -z "${npm_config_registry:-}" ] && command -v npm >/dev/null 2>&1; then
  npm_config_registry="$(npm config get registry 2>/dev/null || true)"
fi
export npm_config_registry

# 1. The cached root filesystem (one maker at a time; runs on top of it share it read-only).
mkdir -p "$cache"
exec 9>"$cache/rootfs-$dist.lock"
flock 9
if [ ! -e "$base/.sftp-setup-debootstrap-done" ]; then
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed: apt-get install debootstrap"
  step "debootstrap $dist"
  rm -rf "$base"
  # In a mount namespace of its own: the mounts debootstrap makes in the target never reach the machine.
  unshare --mount --propagation private -- debootstrap --variant=minbase "$dist" "$base" "$mirror" >"$cache/debootstrap-$dist.log" 2>&1 ||
    die "debootstrap $dist failed, see $cache/debootstrap-$dist.log"
  # A real install also has the security and point-release updates.
  cat >"$base/etc/apt/sources.list" <<EOF
deb $mirror $dist main
deb $mirror $dist-updates main
EOF
  [ -z "$security" ] || echo "deb $security $dist-security main" >>"$base/etc/apt/sources.list"
  touch "$base/.sftp-setup-debootstrap-done"
  step_done "debootstrap"
fi
if [ "$(cat "$base/.sftp-setup-packages" 2>/dev/null)" != "$packages" ]; then
  step "apt-get install in $dist"
  # shellcheck disable=SC2016
  enter "$base" base '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $1 >/dev/null
    apt-get clean
    # The sshd package starts nothing here (no init system), but leaves host keys the hosts replace anyway.
    rm -rf /var/lib/apt/lists/*
  ' "$packages" >"$cache/apt-$dist.log" 2>&1 || die "apt-get install in $dist failed, see $cache/apt-$dist.log"
  echo "$packages" >"$base/.sftp-setup-packages"
  step_done "apt-get"
fi
flock -u 9

# 2 and 3. A disposable run on top of it.
# shellcheck disable=SC2016
enter "$base" overlay '
  t() { echo "run-in-rootfs: $1 $(( $(date +%s) - $2 ))s" >&2; }
  update-ca-certificates >/dev/null 2>&1
  cd /home/user/sftp-setup
  echo "run-in-rootfs: $(. /etc/os-release; echo "$PRETTY_NAME"), node $(node --version), npm $(npm --version), $(ssh -V 2>&1)" >&2
  if [ -z "$SFTP_SETUP_ROOTFS_SKIP_BUILD" ]; then
    s=$(date +%s); npm ci --no-audit --no-fund </dev/null >&2; t "npm ci" "$s"
    s=$(date +%s); npm run build </dev/null >&2; t "npm run build" "$s"
  fi
  s=$(date +%s); rc=0; "$@" || rc=$?; t "command (exit $rc)" "$s"
  exit "$rc"
' "$@"
