#!/usr/bin/env bash
# The real-systemd proof, a separate check (not in ./tests/run.sh: 2-5 minutes).
#
# Boots Debian 12 with systemd as init in systemd-nspawn (own network namespace: loopback
# only), installs this tree's wheel into /opt/sentrycam, and runs tests/systemd/proof.sh as
# a unit at boot: `sentrycam install` (twice), Type=notify start, a WHEP viewer decoding
# frames with "1 viewer" in the unit's status, a finished event clip, /api/system, a clean
# stop, a frozen process restarted by WatchdogSec, `systemd-analyze security`, uninstall.
# Results in $WORK/results (proof.log, journal*.txt). Exit status 0 when the proof passed.
#
# Usage (root): tests/systemd/run.sh      WORK=/var/tmp/sentrycam-nspawn by default; the
# Debian root file system (debootstrap, ~5 minutes once) and the wheels stay there.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/var/tmp/sentrycam-nspawn}
BASE=$WORK/root
RUN=$WORK/run-root
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
[ "$(id -u)" = 0 ] || { echo "tests/systemd/run.sh: run as root" >&2; exit 2; }

need=()
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

if [ ! -x "$BASE/usr/bin/python3" ] || [ ! -f "$BASE/usr/lib/python3.11/ensurepip/__init__.py" ]; then
  echo "== debootstrap bookworm into $BASE"
  rm -rf "$BASE"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-venv,passwd,procps \
    bookworm "$BASE" http://deb.debian.org/debian
fi

echo "== wheels (this tree and its dependencies)"
mkdir -p "$WORK/wheels"
rm -f "$WORK"/wheels/sentrycam-*.whl
"$PYTHON" -m pip wheel -q -w "$WORK/wheels" "$REPO"

echo "== a fresh copy of the root, sentrycam in /opt/sentrycam"
rm -rf "$RUN" "$WORK/results"
cp -a "$BASE" "$RUN"
mkdir -p "$WORK/results" "$RUN/proof" "$RUN/var/log/journal"
cp "$REPO/tests/systemd/proof.sh" "$REPO/tests/systemd/client.py" "$RUN/proof/"
cp -r "$WORK/wheels" "$RUN/var/tmp/wheels"
# A clean environment: the host's PIP_* settings mean nothing inside.
inside() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot "$RUN" "$@"; }
inside python3 -m venv /opt/sentrycam
inside /opt/sentrycam/bin/pip install -q --no-index --find-links /var/tmp/wheels sentrycam
cat >"$RUN/etc/systemd/system/sentrycam-proof.service" <<'UNIT'
[Unit]
Description=Sentrycam real-systemd proof
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /proof/proof.sh
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/sentrycam-proof.service \
  "$RUN/etc/systemd/system/multi-user.target.wants/sentrycam-proof.service"

echo "== boot (systemd as init), proof at boot; at most 10 minutes"
started=$(date +%s)
timeout 600 systemd-nspawn --quiet --boot --directory="$RUN" --register=no --keep-unit \
  --private-network --console=passive --bind="$WORK/results:/results" || true
echo "== booted, proved and powered off in $(($(date +%s) - started)) s"
cat "$WORK/results/proof.log" 2>/dev/null || echo "no proof.log: the proof did not run"
status=$(cat "$WORK/results/status" 2>/dev/null || echo 1)
echo "== results in $WORK/results (proof.log, journal*.txt); status $status"
exit "$status"
