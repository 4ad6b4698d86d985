#!/bin/bash
# Runs inside the booted container (tests/systemd/run.sh) as a oneshot unit: install
# Sentrycam with `sentrycam install`, prove it starts, streams, records, stops, and that
# the watchdog restarts a hung process, under the hardened unit with systemd as init.
set -u
RESULTS=/results
exec >"$RESULTS/proof.log" 2>&1
SENTRYCAM=/opt/sentrycam/bin/sentrycam
step() { echo; echo "== $*"; }
fail() {
  echo "FAIL: $*"
  journalctl -u sentrycam -o short-monotonic --no-pager >"$RESULTS/journal.txt"
  echo 1 >"$RESULTS/status"
  systemctl poweroff
  exit 1
}
show() {
  systemctl show sentrycam -p Type -p ActiveState -p SubState -p Result -p NRestarts \
    -p ExecMainStatus -p WatchdogUSec -p StatusText
}
wait_for() { # seconds, description, command...
  local limit=$1 what=$2
  shift 2
  for _ in $(seq $((limit * 2))); do "$@" && return 0; sleep 0.5; done
  fail "$what within ${limit}s"
}

step "config (before install: install keeps it)"
mkdir -p /etc/sentrycam
cat >/etc/sentrycam/config.yaml <<'YAML'
server: {host: 127.0.0.1, port: 8080}
webrtc: {ice_addresses: ["127.0.0.1"]}
cameras:
  - id: demo
    source: demo
    audio: demo
    width: 640
    height: 360
    fps: 15
    recording: {pre_roll_seconds: 2, post_roll_seconds: 1}
    # Short events (the demo object crosses this strip every 7 s) so clips close.
    motion:
      zones: [{name: left-edge, points: [[0, 0.1], [0.05, 0.1], [0.05, 0.8], [0, 0.8]]}]
      quiet_seconds: 0.5
YAML

step "sentrycam install"
$SENTRYCAM install || fail "sentrycam install"
systemctl is-active --quiet sentrycam || fail "the service is not active after install"
show
step "sentrycam install, again (idempotent)"
$SENTRYCAM install || fail "second install"
[ "$(systemctl show -p NRestarts --value sentrycam)" = 0 ] || fail "second install restarted"

step "an admin and a token, as the service user"
echo proof-password-1234 | runuser -u sentrycam -- $SENTRYCAM user add admin --role admin \
  --data-dir /var/lib/sentrycam || fail "user add"
TOKEN=$(runuser -u sentrycam -- $SENTRYCAM token create proof --user admin \
  --data-dir /var/lib/sentrycam) || fail "token create"

step "stream, status while watching, a recorded clip, /api/system"
/opt/sentrycam/bin/python /proof/client.py --token "$TOKEN" || fail "the viewer client"
show

step "systemctl stop: a clean exit"
systemctl stop sentrycam
show
[ "$(systemctl show -p Result --value sentrycam)" = success ] || fail "stop result"
[ "$(systemctl show -p ExecMainStatus --value sentrycam)" = 0 ] || fail "exit status"
journalctl -u sentrycam -o cat --no-pager >"$RESULTS/journal-first-run.txt"
if grep -iE "Traceback|Permission denied|Operation not permitted|SIGSYS|bad system call" \
  "$RESULTS/journal-first-run.txt"; then
  fail "the hardened service hit a denial (journal-first-run.txt)"
fi
grep -E "WARNING|ERROR" "$RESULTS/journal-first-run.txt" || echo "(no warnings or errors logged)"

step "the watchdog: a frozen process is restarted"
systemctl start sentrycam || fail "start again"
PID=$(systemctl show -p MainPID --value sentrycam)
kill -STOP "$PID"
echo "froze PID $PID at $(date +%T); WatchdogSec=30"
restarted() { [ "$(systemctl show -p NRestarts --value sentrycam)" -ge 1 ]; }
wait_for 90 "a watchdog restart" restarted
echo "restarted at $(date +%T)"
journalctl -u sentrycam -o cat --no-pager | grep -i watchdog || fail "no watchdog line"
wait_for 60 "active again" systemctl is-active --quiet sentrycam
show

step "systemd-analyze security (online)"
systemd-analyze security sentrycam --no-pager | tail -1

step "sentrycam uninstall"
$SENTRYCAM uninstall || fail uninstall
[ ! -e /etc/systemd/system/sentrycam.service ] || fail "unit still there"
id sentrycam && [ -d /var/lib/sentrycam ] || fail "user or data gone without --purge"

journalctl -u sentrycam -o short-monotonic --no-pager >"$RESULTS/journal.txt"
echo; echo "PROOF PASSED"
echo 0 >"$RESULTS/status"
systemctl poweroff
