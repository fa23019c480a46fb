#!/bin/bash
# First process of the fake VM (started by vm.ts inside bubblewrap). It "boots" as far as
# the startup script cares: systemd loads the unit files and starts the enabled units (on
# a reboot, mlflow.service starts before and alongside the startup script, as on GCE).
# Then it acts as the guest agent: it runs every job the test drops into
# /harness/state/agent (N.sh; output to N.out, exit status to N.rc), with the clean
# environment the GCE guest agent gives a startup script, plus the fakes first on PATH.
set -u
readonly AGENT=/harness/state/agent
export PATH=/harness/src/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

FAKE_CALLER=boot systemctl daemon-reload
for wanted in /etc/systemd/system/multi-user.target.wants/*.service; do
  [[ -e $wanted ]] && FAKE_CALLER=boot systemctl start --no-block "${wanted##*/}"
done
touch "$AGENT/booted"

n=1
while :; do
  if [[ -f $AGENT/$n.sh ]]; then
    (
      chmod 0755 "$AGENT/$n.sh"
      env -i PATH="$PATH" HOME=/root LANG=C.UTF-8 "$AGENT/$n.sh" >"$AGENT/$n.out" 2>&1 </dev/null
      echo $? >"$AGENT/$n.rc.tmp"
      mv "$AGENT/$n.rc.tmp" "$AGENT/$n.rc"
    ) &
    n=$((n + 1))
  else
    /usr/bin/sleep 0.01
  fi
done
