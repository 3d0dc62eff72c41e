#!/usr/bin/env bash
# Installs the Debian packages that hygrocast's tests and benchmarks drive for real:
#   socat              pseudo-terminal pairs for the serial link tests
#   mosquitto-clients  mosquitto_sub / mosquitto_pub interop tests
#   mosquitto          the peer broker in `npm run bench -- broker`
#   openssl            self-signed certificates for the MQTT TLS listener test
#   prometheus         promtool, which checks the gateway's /metrics output (about 100 MB installed)
#   chromium           the dashboard's browser test, driven by playwright-core (no browser download)
#   udev               serialport's port listing (`hygrocast ports`) reads udev's device database
#   postgresql         a real PostgreSQL for the central server's storage contract suite (test/postgres.ts)
#   g++                compiles the reference firmware's protocol code on the host (firmware-bridge/firmware)
#   systemd            systemd-analyze verify / security on the unit files (systemd/)
#   gcc-avr, avr-libc, arduino-core-avr, arduino-mk
#                      build the reference firmware for an Arduino Uno (firmware-bridge/firmware/Makefile)
# Idempotent: does nothing when every tool is already on PATH.
# Under CI=true a package that cannot be installed fails the run (never a silent skip).
set -euo pipefail

declare -A want=(
  [socat]=socat
  [mosquitto_sub]=mosquitto-clients
  [mosquitto_pub]=mosquitto-clients
  [mosquitto]=mosquitto
  [openssl]=openssl
  [promtool]=prometheus
  [chromium]=chromium
  [udevadm]=udev
  [pg_ctlcluster]=postgresql
  [g++]=g++
  [systemd-analyze]=systemd
  [avr-gcc]=gcc-avr
  [ard-reset-arduino]=arduino-mk
)
# Packages without a command of their own: checked with dpkg.
extra=(avr-libc arduino-core-avr "$@")

missing=()
for tool in "${!want[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || command -v "/usr/sbin/$tool" >/dev/null 2>&1 || missing+=("${want[$tool]}")
done
for pkg in "${extra[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "system-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "system-deps: could not install ${missing[*]} (apt-get failed)" >&2
  exit 1
fi
