# shellcheck shell=bash
# A Debian 13 "Trixie" root under build/ and how commands run in it, for scripts/test-trixie and
# scripts/home-assistant (sourced once `root` names the root's directory). Nothing is ever mounted in the
# checkout outside a namespace: debootstrap runs in a mount namespace of its own, the device nodes
# programs expect are made with mknod, and a command's /proc lives and dies with its namespaces.
# shellcheck disable=SC2154  # root: set by the script that sources this
: "${root:?the script that sources this names the root first}"

# Makes a minimal Debian 13 root in $root with these extra packages (comma-separated), unless there is one.
make_root() {
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf --one-file-system "$root" && mkdir -p "$root"
  unshare --mount debootstrap --variant=minbase --include="$1" trixie "$root" >"$root.debootstrap.log" 2>&1 \
    || { echo "debootstrap failed: see $root.debootstrap.log" >&2; return 1; }
}

# The few device nodes programs expect, made in place (a bind mount of /dev could outlive the run).
make_devices() {
  local name major minor
  while read -r name major minor; do
    [ -c "$root/dev/$name" ] || { rm -f "$root/dev/$name"; mknod -m 666 "$root/dev/$name" c "$major" "$minor"; }
  done <<'NODES'
null 1 3
zero 1 5
full 1 7
random 1 8
urandom 1 9
tty 5 0
NODES
  mkdir -p "$root/dev/shm" "$root/dev/pts"
}

# This machine's resolver, trust store and package-index settings (without its constraints or local
# wheel folders).
copy_network_settings() {
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  local conf
  for conf in /etc/pip.conf /etc/xdg/pip/pip.conf; do
    if [ -f "$conf" ]; then
      mkdir -p "$root$(dirname "$conf")"
      grep -v -E '^\s*(constraint|find-links|extra-index-url)' "$conf" > "$root$conf" || true
    fi
  done
}

# CMD... in the root, with a clean environment: its /proc is mounted in a mount namespace of its own,
# its processes live in a PID namespace of their own; both end with it, and it ends with the script
# that runs it (--kill-child). `exec "${INSIDE[@]}" CMD...` hands the script's process over to it.
INSIDE=(unshare --mount --pid --fork --kill-child --mount-proc="$root/proc"
  chroot "$root" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1
  DEBIAN_FRONTEND=noninteractive)
inside() { "${INSIDE[@]}" "$@"; }
