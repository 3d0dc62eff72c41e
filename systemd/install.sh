#!/usr/bin/env bash
# Installs hygrocast on this device as systemd services. Run as root. Idempotent: running it
# again upgrades the app in place and never touches an existing /etc/hygrocast/gateway.yaml.
#
#   sudo systemd/install.sh                 # install the checkout this script is in
#   sudo systemd/install.sh --from <dir>    # install another checkout
#   systemd/install.sh --dry-run            # print what it would do, change nothing
#
# Steps: system user `hygrocast` (groups dialout, i2c), app copied to /opt/hygrocast with
# `npm ci --omit=dev`, /etc/hygrocast/gateway.yaml from the example if missing, units in
# /etc/systemd/system, daemon-reload, enable and (re)start. See docs/operations-systemd.md.
set -euo pipefail

readonly INSTALL_DIR=/opt/hygrocast
readonly CONFIG_DIR=/etc/hygrocast
readonly UNIT_DIR=/etc/systemd/system
readonly SERVICE_USER=hygrocast
readonly CENTRAL_USER=hygrocast-central

usage() {
  cat <<USAGE
usage: install.sh [--from <dir>] [--central] [--no-start] [--dry-run]
  --from <dir>  the hygrocast checkout to install (default: the one containing this script)
  --central     also install hygrocast-central.service (user ${CENTRAL_USER})
  --no-start    install and enable, but do not (re)start (e.g. when building an image)
  --dry-run     print every command instead of running it
USAGE
}

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dry_run=0
central=0
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --from)
      [ $# -ge 2 ] || { echo "install.sh: --from needs a directory" >&2; exit 2; }
      src="$2"
      shift 2
      ;;
    --central) central=1; shift ;;
    --no-start) start=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# Validate the source before touching anything.
src="$(cd "$src" 2>/dev/null && pwd)" || { echo "install.sh: --from: no such directory" >&2; exit 2; }
for required in package.json package-lock.json gateway/main.ts systemd/hygrocast-gateway.service systemd/gateway.example.yaml; do
  if [ ! -f "$src/$required" ]; then
    echo "install.sh: $src is not a hygrocast checkout (missing $required)" >&2
    exit 2
  fi
done
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or pass --dry-run to see what it would do" >&2
  exit 1
fi
if [ "$src" = "$INSTALL_DIR" ]; then
  echo "install.sh: --from must not be $INSTALL_DIR itself" >&2
  exit 2
fi

# run CMD...: runs it, or prints it under --dry-run.
run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}
note() { printf 'install.sh: %s\n' "$*"; }

for tool in node npm systemctl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install.sh: '$tool' is not installed" >&2; exit 1; }
done
if [ ! -x /usr/bin/node ]; then
  # The units run /usr/bin/node (systemd needs an absolute path); Debian's nodejs or NodeSource put it there.
  echo "install.sh: the units run /usr/bin/node, which does not exist (node is at $(command -v node))" >&2
  exit 1
fi

# 1. Users and groups. The unit's SupplementaryGroups=dialout i2c fails the start (216/GROUP)
#    when a group is missing, so a missing i2c group (non-Pi Debian) is created empty.
ensure_group() {
  getent group "$1" >/dev/null || run groupadd --system "$1"
}
ensure_user() { # ensure_user NAME HOME
  ensure_group "$1"
  if ! getent passwd "$1" >/dev/null; then
    run useradd --system --gid "$1" --home-dir "$2" --no-create-home --shell /usr/sbin/nologin --comment "hygrocast service" "$1"
  fi
}
ensure_user "$SERVICE_USER" /var/lib/hygrocast
ensure_group dialout
ensure_group i2c
run usermod --append --groups dialout,i2c "$SERVICE_USER"
if [ "$central" -eq 1 ]; then ensure_user "$CENTRAL_USER" /var/lib/hygrocast-central; fi

# 2. The app: copied to a staging folder, dependencies installed there, then swapped in, so a
#    failed npm ci leaves the running install untouched. node_modules is reused when
#    package-lock.json did not change (npm ci on a Pi takes minutes).
stage="${INSTALL_DIR}.new"
# The stamp includes node's version: native modules (better-sqlite3, onnxruntime-node...) are
# built for one Node ABI and must be reinstalled after a Node upgrade.
lock_sum="$( { cat "$src/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1)"
old_sum="$(cat "$INSTALL_DIR/.package-lock.sha256" 2>/dev/null || true)"
run rm -rf "$stage"
run mkdir -p "$stage"
# Not copied: dependencies (installed below), git metadata, a development database.
excludes=(--exclude=./node_modules --exclude=./.git --exclude=./data)
if [ "$dry_run" -eq 1 ]; then
  echo "+ tar -C $(printf '%q' "$src") ${excludes[*]} -cf - . | tar -C $stage --no-same-owner -xf -"
else
  tar -C "$src" "${excludes[@]}" -cf - . | tar -C "$stage" --no-same-owner -xf -
fi
if [ "$lock_sum" = "$old_sum" ] && [ -d "$INSTALL_DIR/node_modules" ]; then
  note "package-lock.json unchanged: reusing $INSTALL_DIR/node_modules"
  run cp -a "$INSTALL_DIR/node_modules" "$stage/node_modules"
else
  run env -C "$stage" npm ci --omit=dev --no-audit --no-fund
fi
if [ "$dry_run" -eq 1 ]; then
  echo "+ echo $lock_sum > $stage/.package-lock.sha256"
else
  echo "$lock_sum" >"$stage/.package-lock.sha256"
fi
# Root owns the code; the service can read it but never modify what it runs.
run chown -R root:root "$stage"
run chmod -R u=rwX,go=rX "$stage"
if [ -e "$INSTALL_DIR" ] || [ -L "$INSTALL_DIR" ]; then run rm -rf "${INSTALL_DIR}.old"; run mv "$INSTALL_DIR" "${INSTALL_DIR}.old"; fi
run mv "$stage" "$INSTALL_DIR"
run rm -rf "${INSTALL_DIR}.old"

# 3. Configuration: written once, never overwritten (the admin owns it from then on).
#    root:hygrocast 0640: the service reads it, other users do not.
run install -d -m 0755 "$CONFIG_DIR"
if [ -e "$CONFIG_DIR/gateway.yaml" ]; then
  note "keeping existing $CONFIG_DIR/gateway.yaml"
else
  run install -m 0640 -o root -g "$SERVICE_USER" "$src/systemd/gateway.example.yaml" "$CONFIG_DIR/gateway.yaml"
  note "wrote $CONFIG_DIR/gateway.yaml from the example: set your sensor's path under sources"
fi

# 4. Units.
units=(hygrocast-gateway.service)
if [ "$central" -eq 1 ]; then units+=(hygrocast-central.service); fi
for unit in "${units[@]}"; do
  run install -m 0644 "$src/systemd/$unit" "$UNIT_DIR/$unit"
done
run systemctl daemon-reload

# 5. Enable, and (re)start so an upgrade takes effect. The central server starts only once
#    its configuration exists (there is no safe default for its database).
to_start=(hygrocast-gateway.service)
if [ "$central" -eq 1 ]; then
  if [ -e "$CONFIG_DIR/central.yaml" ]; then
    to_start+=(hygrocast-central.service)
  else
    note "$CONFIG_DIR/central.yaml is missing: hygrocast-central is installed but not enabled"
  fi
fi
run systemctl enable "${to_start[@]}"
if [ "$start" -eq 1 ]; then
  run systemctl restart "${to_start[@]}"
  note "started; follow it with: journalctl -u hygrocast-gateway -f -o cat"
fi
