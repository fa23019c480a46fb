#!/bin/bash
# First process of the fake VM (started by vm.ts inside bubblewrap). It "boots" as far as
# the startup script cares:
#  - the network: the database's private address on the loopback interface, the fake Cloud
#    SQL instance (a real PostgreSQL, ./fake-cloudsql) on it, and the fake Google APIs
#    (./google-apis.py: metadata token, Cloud SQL Admin API) on 127.0.0.1:8089;
#  - /etc/fstab: entries whose UUID is one of the attached disks are mounted (as
#    systemd-fstab-generator does before local-fs.target; nofail entries may fail);
#  - systemd loads the unit files and starts the enabled units: the services
#    multi-user.target wants and the timers timers.target wants (on a reboot, mlflow.service
#    and mlflow-gc.timer start before and alongside the startup script, as on GCE).
# Then it acts as the guest agent: it runs every job the test drops into
# /harness/state/agent (N.sh; output to N.out, exit status to N.rc), with the clean
# environment the GCE guest agent gives a startup script, plus the fakes first on PATH.
set -u
readonly AGENT=/harness/state/agent
export PATH=/harness/src/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# pause: 10 ms without starting a process (a read that times out on a FIFO nobody writes
# to): the agent loop below polls all the VM's life, and a `sleep` 100 times a second would
# cost a few percent of a core per VM.
mkfifo /run/vm-init.pause
pause() { read -r -t 0.01 _ <>/run/vm-init.pause || true; }

if [[ -f /harness/cloudsql/address ]]; then
  read -r db_host _ </harness/cloudsql/address
  /usr/sbin/ip addr add "$db_host/32" dev lo
  # A database that cannot start fails the boot (FakeVm.boot throws with its log).
  /harness/src/fake-cloudsql boot || echo "the fake Cloud SQL instance did not start" >>"$AGENT/boot-failed"
fi
/usr/bin/python3 /harness/src/google-apis.py 2>>/harness/state/log/google-apis.log &
for ((i = 0; i < 1000; i++)); do
  [[ -e /run/fake-google-apis.ready ]] && break
  pause
done
[[ -e /run/fake-google-apis.ready ]] || echo "the fake Google APIs did not start" >>"$AGENT/boot-failed"

while read -r spec mountpoint _; do
  [[ $spec == UUID=* ]] || continue
  for image in /harness/disks/*/image; do
    if [[ -e $image && $(/usr/sbin/blkid -s UUID -o value "$image" 2>/dev/null) == "${spec#UUID=}" ]]; then
      FAKE_CALLER=boot mount "$mountpoint" || echo "vm-init: cannot mount $mountpoint" >&2
    fi
  done
done < <(grep -v '^[[:space:]]*#' /etc/fstab 2>/dev/null)

FAKE_CALLER=boot systemctl daemon-reload
for wanted in /etc/systemd/system/multi-user.target.wants/*.service /etc/systemd/system/timers.target.wants/*.timer; do
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
    pause
  fi
done
