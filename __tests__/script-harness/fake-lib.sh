# Shared by the fakes in bin/ and venv/ (sourced, not run). Inside the fake VM the harness
# lives at /harness: /harness/src is this directory (read-only), /harness/state the test's
# state (call log, control files, the fake Secret Manager, the fake Google APIs' instance).
readonly STATE=/harness/state
readonly CONTROL=$STATE/control
readonly CALLS_LOG=$STATE/log/calls.jsonl

# json_str TEXT: TEXT as a JSON string.
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# record NAME ARGS...: appends {"caller","cmd","argv","t"} as one JSON line to the call log
# (t: the time, for reading a slow test's log).
# caller: "boot" (vm-init.sh), "systemd" (the fake service manager itself), "service" (a
# process of a unit: systemd sets INVOCATION_ID), "dpkg" (a package's maintainer scripts,
# run by the fake apt-get), "ops-agent-repo" (the Ops Agent's repository script, which the
# startup script downloads and runs: ops-agent/add-google-cloud-ops-agent-repo.sh), "test"
# (what a test runs on the VM to look, e.g. `systemctl is-active`) or "script" (the startup
# script). (google-apis.py records as "google".)
record() {
  local name=$1 caller=${FAKE_CALLER:-} line arg sep=""
  [[ -n $caller ]] || caller=${INVOCATION_ID:+service}
  line="{\"caller\":$(json_str "${caller:-script}"),\"cmd\":$(json_str "$name"),\"argv\":["
  shift
  for arg; do
    line+=$sep$(json_str "$arg")
    sep=,
  done
  printf '%s],"t":%s}\n' "$line" "$EPOCHREALTIME" >>"$CALLS_LOG"
}

# control NAME: true while the test has switched NAME on (a file in control/).
control() { [[ -e $CONTROL/$1 ]]; }

# fail_on_demand NAME: while control/fail-NAME exists, exits with the status written in it
# (default 1). Every fake calls it right after recording its arguments.
fail_on_demand() {
  if control "fail-$1"; then
    echo "$1 (fake): failing on demand" >&2
    exit "$(cat "$CONTROL/fail-$1" 2>/dev/null | grep -E '^[0-9]+$' || echo 1)"
  fi
}

# What the fake curl serves as https://dl.cloudsmith.io/public/caddy/stable/gpg.key, and
# the key the fake apt-get expects in the signed-by file of Caddy's repository: an
# ASCII-armored OpenPGP key block (not a usable key; nothing verifies signatures here).
# shellcheck disable=SC2034 # used by the fakes that source this file
readonly CADDY_REPO_URL=https://dl.cloudsmith.io/public/caddy/stable
# shellcheck disable=SC2034
readonly CADDY_REPO_KEY="-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEZfakeFakeFakeCaddyStableRepositoryKeyForTheHarnessOnly0000000
=fake
-----END PGP PUBLIC KEY BLOCK-----"

# The Ops Agent's repository script (cloud.google.com/stackdriver/docs/solutions/agents/
# ops-agent/installation) and the key of Google's package repository it adds
# (https://packages.cloud.google.com/apt/doc/apt-key.gpg): the fake curl serves both, the
# fake apt-key stores the key and the fake apt-get wants it for that repository.
# shellcheck disable=SC2034
readonly OPS_AGENT_REPO_SCRIPT_URL=https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh
# shellcheck disable=SC2034
readonly GOOGLE_APT_URL=https://packages.cloud.google.com/apt
# shellcheck disable=SC2034
readonly GOOGLE_APT_KEY="-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEZfakeFakeFakeGooglePackagesRepositoryKeyForTheHarnessOnly00
=fake
-----END PGP PUBLIC KEY BLOCK-----"
