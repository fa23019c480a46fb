# Shared by the fakes in bin/ and venv/ (sourced, not run). Inside the fake VM the harness
# lives at /harness: /harness/src is this directory (read-only), /harness/state the test's
# state (call log, control files, the fake Secret Manager and database).
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

# record NAME ARGS...: appends {"caller","cmd","argv"} as one JSON line to the call log.
# caller: "boot" (vm-init.sh), "systemd" (the fake service manager itself), "service" (a
# process of a unit: systemd sets INVOCATION_ID) or "script" (the startup script).
record() {
  local name=$1 caller=${FAKE_CALLER:-} line arg sep=""
  [[ -n $caller ]] || caller=${INVOCATION_ID:+service}
  line="{\"caller\":$(json_str "${caller:-script}"),\"cmd\":$(json_str "$name"),\"argv\":["
  shift
  for arg; do
    line+=$sep$(json_str "$arg")
    sep=,
  done
  printf '%s]}\n' "$line" >>"$CALLS_LOG"
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
