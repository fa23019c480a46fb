#!/bin/bash
# Stand-in for Google's add-google-cloud-ops-agent-repo.sh, which the fake curl serves as
# https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh (the installation
# page, cloud.google.com/stackdriver/docs/solutions/agents/ops-agent/installation: `curl -sSO
# ...; sudo bash add-google-cloud-ops-agent-repo.sh --also-install`). Written for the harness
# after the script served there (Apache-2.0, Google; copies of it are indexed in public
# repositories, e.g. TEAM-UGR/webapp add-google-cloud-ops-agent-repo.sh): its Debian path
# only, with the same flags, checks, messages and exit statuses:
#   flags: --also-install, --version=latest|MAJOR.*.*|MAJOR.MINOR.PATCH (else "The agent
#     version [...] is not allowed", exit 1), --uninstall, --remove-repo, --dry-run,
#     --verbose, --uninstall-standalone-*-agent (accepted, not stood in); another one:
#     "Unknown option", exit 1;
#   add_repo: lsb_release installed when missing; apt-transport-https, ca-certificates and
#     gnupg installed when missing (the real one asks `dpkg -l`, this one the fake
#     dpkg-query); the line "deb https://packages.cloud.google.com/apt
#     google-cloud-ops-agent-CODENAME-SUFFIX main" (SUFFIX "all", or the major version for
#     MAJOR.*.*) written to /etc/apt/sources.list.d/google-cloud-ops-agent.list when it
#     differs, and then the repository key piped from curl into `apt-key add -`;
#   install_agent: `apt-get update` (after a no-op `apt-get install` that waits for apt's
#     lock; 3 attempts; else "Could not refresh the google-cloud-ops-agent apt repositories",
#     exit 1), then, unless the installed version already matches, `apt-get -y
#     --allow-downgrades install google-cloud-ops-agent=MAJOR.MINOR.PATCH~*` (the Debian
#     package's versions are e.g. 2.70.0~debian12), else "... installation failed.", exit 1.
# Its commands are recorded with the caller "ops-agent-repo" (FAKE_CALLER, fake-lib.sh):
# they are this script's, not the startup script's.
export FAKE_CALLER=ops-agent-repo

fail() {
  echo >&2 "[$(date +'%Y-%m-%dT%H:%M:%S%z')] $*"
  exit 1
}

run_with_retry() {
  local count exit_code=0
  for count in 1 2 3; do
    "$@" && return 0 || exit_code=$?
    echo >&2 "Attempt ${count} of 3 failed. Command:" "$@"
  done
  return "$exit_code"
}

actions=() agent_version=""
# shellcheck disable=SC2154 # getopts sets optchar (shellcheck does not read the "--")
while getopts -- '-:' optchar; do
  case $optchar in
    -)
      case $OPTARG in
        also-install) actions+=(also-install) ;;
        version=*) agent_version=${OPTARG#*=} ;;
        uninstall) actions+=(uninstall) ;;
        remove-repo) actions+=(remove-repo) ;;
        uninstall-standalone-logging-agent | uninstall-standalone-monitoring-agent | dry-run | verbose)
          fail "add-google-cloud-ops-agent-repo.sh (stand-in): --$OPTARG is not stood in" ;;
        *) fail "Unknown option '${OPTARG}'." ;;
      esac
      ;;
  esac
done
[[ " ${actions[*]} " == *" uninstall "* ]] && fail "add-google-cloud-ops-agent-repo.sh (stand-in): --uninstall is not stood in"
[[ " ${actions[*]} " == *" remove-repo "* ]] && fail "add-google-cloud-ops-agent-repo.sh (stand-in): --remove-repo is not stood in"

readonly AGENT_PACKAGE=google-cloud-ops-agent REPO_HOST=packages.cloud.google.com
repo_suffix=${REPO_SUFFIX:-}
if [[ -f /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
fi
[[ ${ID:-} == debian ]] || fail "add-google-cloud-ops-agent-repo.sh (stand-in): only Debian is stood in, not ${ID:-unknown}"

if [[ ${agent_version:-latest} == latest ]]; then
  agent_version=""
elif [[ $agent_version =~ ^[0-9]+\.\*\.\*$ ]]; then
  repo_suffix=${repo_suffix:-${agent_version%%.*}}
elif [[ ! $agent_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  fail "The agent version [${agent_version}] is not allowed. Expected values: [latest],
or anything in the format of [MAJOR_VERSION.MINOR_VERSION.PATCH_VERSION] or [MAJOR_VERSION.*.*]."
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_get_update() {
  apt-get -o DPkg::Lock::Timeout=-1 install || return 1
  apt-get update
}

add_repo() {
  lsb_release -v >/dev/null 2>&1 || {
    run_with_retry apt_get_update || fail "Failed to run apt-get update"
    run_with_retry apt-get -y install lsb-release
  }
  local pkg
  for pkg in apt-transport-https ca-certificates gnupg; do
    installed "$pkg" || {
      run_with_retry apt_get_update || fail "Failed to run apt-get update"
      apt-get -y install "$pkg"
    }
  done
  local codename repo_data
  codename=${REPO_CODENAME:-$(lsb_release -sc)}
  repo_data="deb https://${REPO_HOST}/apt google-cloud-ops-agent-${codename}-${repo_suffix:-all} main"
  if ! cmp -s <<<"$repo_data" - /etc/apt/sources.list.d/google-cloud-ops-agent.list; then
    echo "Adding agent repository for ${ID}."
    tee <<<"$repo_data" /etc/apt/sources.list.d/google-cloud-ops-agent.list
    curl --connect-timeout 5 --silent --fail "https://${REPO_HOST}/apt/doc/apt-key.gpg" | apt-key add -
  fi
}

expected_version_installed() {
  installed "$AGENT_PACKAGE" || return
  [[ -n $agent_version && ! $agent_version =~ \* ]] || return 1 # latest or MAJOR.*.*: not stood in
  [[ $(dpkg-query -W -f='${Version}' "$AGENT_PACKAGE") == "$agent_version"~* ]]
}

install_agent() {
  run_with_retry apt_get_update || fail "Could not refresh the google-cloud-ops-agent apt repositories.
Please check your network connectivity and make sure you are running a supported
${ID} distribution. See https://cloud.google.com/stackdriver/docs/solutions/ops-agent/#supported_operating_systems
for a list of supported platforms."
  expected_version_installed || {
    local pin=""
    if [[ $agent_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      pin="=${agent_version}~*"
    elif [[ -n $agent_version ]]; then
      pin="=${agent_version%.\*}"
    fi
    apt-get -y --allow-downgrades install "${AGENT_PACKAGE}${pin}" || fail "${AGENT_PACKAGE}  installation failed."
    echo "${AGENT_PACKAGE}  installation succeeded."
  }
}

add_repo
if [[ " ${actions[*]} " == *" also-install "* ]]; then install_agent; fi
