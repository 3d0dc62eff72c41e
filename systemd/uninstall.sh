#!/usr/bin/env bash
# Removes what install.sh installed. Run as root. Idempotent.
# Keeps the data (/var/lib/hygrocast*), the configuration (/etc/hygrocast) and the users
# unless --purge is given: uninstalling the code must never lose measurements by accident.
#
#   sudo systemd/uninstall.sh [--purge] [--dry-run]
set -euo pipefail

readonly INSTALL_DIR=/opt/hygrocast
readonly UNIT_DIR=/etc/systemd/system
readonly UNITS=(hygrocast-gateway.service hygrocast-central.service)

dry_run=0
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --purge) purge=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) echo "usage: uninstall.sh [--purge] [--dry-run]"; exit 0 ;;
    *) echo "uninstall.sh: unknown option '$1' (usage: uninstall.sh [--purge] [--dry-run])" >&2; exit 2 ;;
  esac
done
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: run as root (sudo), or pass --dry-run to see what it would do" >&2
  exit 1
fi

run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

for unit in "${UNITS[@]}"; do
  if [ -e "$UNIT_DIR/$unit" ]; then
    # disable --now stops it; a failure here (already stopped) is not an error.
    run systemctl disable --now "$unit" || true
    run rm -f "$UNIT_DIR/$unit"
  fi
done
run systemctl daemon-reload
run systemctl reset-failed "${UNITS[@]}" 2>/dev/null || true
run rm -rf "$INSTALL_DIR" "${INSTALL_DIR}.new" "${INSTALL_DIR}.old"

if [ "$purge" -eq 1 ]; then
  run rm -rf /var/lib/hygrocast /var/lib/hygrocast-central /etc/hygrocast
  for user in hygrocast hygrocast-central; do
    if getent passwd "$user" >/dev/null; then run userdel "$user"; fi
    if getent group "$user" >/dev/null; then run groupdel "$user"; fi
  done
  echo "uninstall.sh: removed hygrocast, its data, configuration and users"
else
  echo "uninstall.sh: removed hygrocast; kept /var/lib/hygrocast (data), /etc/hygrocast (configuration) and the users (--purge removes them)"
fi
