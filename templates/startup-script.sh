#!/bin/bash
# MLflow tracking server bootstrap, rendered by cdktf-mlflow-gcp from
# templates/startup-script.sh.
#
# Compute Engine runs this script on every boot, so every step is idempotent: OS packages
# and the Python environment are installed only when missing or when the pinned set changed,
# configuration is rewritten from Secret Manager, and the server is restarted only when
# something it reads has changed. No secret value is in this script: secrets are fetched at
# boot into root-only files. The VM holds no state of its own (Cloud SQL and GCS do), except
# Caddy's certificates, which live on a persistent disk of their own.
set -Eeuo pipefail
umask 022

# ---- settings, filled in by the renderer (every value shell-quoted) ---------------------
PROJECT_ID={{PROJECT_ID}}
PYTHON_REQUIREMENTS=({{PYTHON_REQUIREMENTS}})
# Every dependency below the pinned requirements is resolved as of this instant (uv
# --exclude-newer): a replaced VM installs what was reviewed, not what was published since.
DEPENDENCY_CUTOFF={{DEPENDENCY_CUTOFF}}
UV_VERSION={{UV_VERSION}}
DB_HOST={{DB_HOST}}
DB_PORT={{DB_PORT}}
DB_NAME={{DB_NAME}}
DB_USER={{DB_USER}}
DB_PASSWORD_SECRET={{DB_PASSWORD_SECRET}}
# The CA of the Cloud SQL instance's server certificate (PEM): the server is verified with
# it (sslmode=verify-ca), not merely asked for TLS.
DB_CA_CERT={{DB_CA_CERT}}
BASIC_AUTH={{BASIC_AUTH}}
ADMIN_PASSWORD_SECRET={{ADMIN_PASSWORD_SECRET}}
FLASK_SECRET_KEY_SECRET={{FLASK_SECRET_KEY_SECRET}}
MLFLOW_PORT={{MLFLOW_PORT}}
# Public mode with a domain: Caddy terminates HTTPS in front of MLflow ('' otherwise).
DOMAIN={{DOMAIN}}
CADDYFILE={{CADDYFILE}}
# Caddy's certificates survive a VM replacement on this persistent disk (device name).
CADDY_DATA_DEVICE={{CADDY_DATA_DEVICE}}
# The systemd unit and the basic-auth INI, with @MARKERS@ for what is only known at boot.
MLFLOW_UNIT={{MLFLOW_UNIT}}
BASIC_AUTH_INI_TEMPLATE={{BASIC_AUTH_INI}}
DB_UPGRADE_SCRIPT={{DB_UPGRADE_SCRIPT}}
# `mlflow gc` on a schedule: the helper, its unit and its timer.
GC_SCRIPT={{GC_SCRIPT}}
GC_UNIT={{GC_UNIT}}
GC_TIMER={{GC_TIMER}}
# Google's Ops Agent (logs and metrics), pinned, and its configuration.
OPS_AGENT_VERSION={{OPS_AGENT_VERSION}}
OPS_AGENT_REPO_SCRIPT_URL={{OPS_AGENT_REPO_SCRIPT_URL}}
OPS_AGENT_CONFIG={{OPS_AGENT_CONFIG}}
OPS_AGENT_PASSWORD_FILE={{OPS_AGENT_PASSWORD_FILE}}

# ---- fixed layout on the VM --------------------------------------------------------------
readonly MLFLOW_HOME=/opt/mlflow
readonly VENV_LINK=$MLFLOW_HOME/venv
readonly UV_DIR=$MLFLOW_HOME/uv-$UV_VERSION
readonly CONFIG_DIR=/etc/mlflow
readonly ENV_FILE=$CONFIG_DIR/mlflow.env
readonly AUTH_INI=$CONFIG_DIR/basic_auth.ini
readonly DB_CA_FILE=$CONFIG_DIR/cloudsql-server-ca.pem
readonly UNIT_FILE=/etc/systemd/system/mlflow.service
readonly DB_UPGRADE_FILE=$MLFLOW_HOME/bin/mlflow-db-upgrade.py
readonly GC_FILE=$MLFLOW_HOME/bin/mlflow-gc.py
readonly GC_UNIT_FILE=/etc/systemd/system/mlflow-gc.service
readonly GC_TIMER_FILE=/etc/systemd/system/mlflow-gc.timer
readonly OPS_AGENT_CONFIG_FILE=/etc/google-cloud-ops-agent/config.yaml
# Where Google's repository script writes the agent's apt source (add-google-cloud-ops-agent-repo.sh,
# handle_debian add_repo).
readonly OPS_AGENT_SOURCES_FILE=/etc/apt/sources.list.d/google-cloud-ops-agent.list
readonly CADDY_DATA_DIR=/var/lib/caddy
readonly METADATA_URL=http://metadata.google.internal/computeMetadata/v1
readonly SECRET_MANAGER_URL=https://secretmanager.googleapis.com/v1
# Caddy's own apt repository (caddyserver.com/docs/install, "Debian, Ubuntu, Raspbian"):
# Debian 12's caddy is 2.6.2, built with Go 1.19, older than the HTTP/2 rapid-reset fixes
# (bookworm caddy 2.6.2-5: Built-Using golang-1.19 (= 1.19.8-2)).
# The key is kept ASCII-armored (apt reads a .asc signed-by file; no gpg needed), and apt
# prefers this repository's 2.11 series over Debian's package (apt_preferences(5)).
readonly CADDY_REPO_URL=https://dl.cloudsmith.io/public/caddy/stable
readonly CADDY_KEY_FILE=/etc/apt/keyrings/caddy-stable.asc
readonly CADDY_SOURCES_FILE=/etc/apt/sources.list.d/caddy-stable.list
readonly CADDY_PREFERENCES_FILE=/etc/apt/preferences.d/caddy-stable
readonly CADDY_SERIES=2.11
OS_PACKAGES=(python3-venv curl ca-certificates)
if [[ -n $DOMAIN ]]; then OS_PACKAGES+=(caddy); fi
readonly OS_PACKAGES
# Compute Engine runs this script once per boot and never retries it (guest-agent
# google_metadata_script_runner logs a failure and moves on), so every step that needs the
# network retries on its own: at first boot Cloud NAT, the package mirrors and a new service
# account's IAM grants (usually 2 minutes, at times 7 or more:
# cloud.google.com/iam/docs/access-change-propagation) may not be ready yet.
# Attempts, first delay in seconds (it doubles up to 60): about 9 minutes for secrets,
# 5 for apt and the Python packages.
readonly SECRET_ATTEMPTS=12 SECRET_RETRY_SECONDS=10
readonly INSTALL_ATTEMPTS=7 INSTALL_RETRY_SECONDS=10
# First boot creates the schema, and a version bump backs it up and migrates it first; wait
# up to 10 minutes for /health here (systemd goes on retrying the unit after that).
readonly HEALTH_ATTEMPTS=120 HEALTH_RETRY_SECONDS=5
# A new persistent disk shows up under /dev/disk/by-id once udev has seen it (as
# google-<device name>: GoogleCloudPlatform/guest-configs 65-gce-disk-naming.rules).
readonly DEVICE_ATTEMPTS=30 DEVICE_RETRY_SECONDS=2
# Seconds caddy.service must stay active after its start for Caddy to count as serving.
readonly CADDY_SETTLE_SECONDS=5

log() { echo "mlflow-startup: $*"; }
die() {
  log "ERROR: $*"
  exit 1
}
on_error() {
  local rc=$?
  log "ERROR: line $1: command failed with exit code $rc: $BASH_COMMAND"
}
trap 'on_error "$LINENO"' ERR

# fill TEXT MARKER VALUE: prints TEXT with every MARKER replaced by VALUE, literally
# (no glob or & handling, unlike ${var//pattern/replacement} in bash 5.2).
fill() {
  local text=$1 marker=$2 value=$3 out=""
  while [[ $text == *"$marker"* ]]; do
    out+=${text%%"$marker"*}$value
    text=${text#*"$marker"}
  done
  printf '%s' "$out$text"
}

# retry ATTEMPTS DELAY WHAT COMMAND...: runs COMMAND until it succeeds, at most ATTEMPTS
# times, waiting DELAY seconds (doubled each time, at most 60) in between.
retry() {
  local attempts=$1 delay=$2 what=$3 attempt
  shift 3
  for ((attempt = 1; ; attempt++)); do
    if "$@"; then return 0; fi
    ((attempt < attempts)) || return 1
    log "$what failed (attempt $attempt of $attempts); retrying in $delay s"
    sleep "$delay"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

CONFIG_CHANGED=0
# write_file PATH MODE CONTENT [FLAG]: replaces PATH atomically with CONTENT (plus a newline),
# only if it differs, and then sets the variable named FLAG to 1: CONFIG_CHANGED (restart the
# server) by default; another name for a file the server does not read, or '' for none.
# CONTENT is an argument, not standard input: a `... | write_file` pipeline would run it in a
# subshell and lose the flag. printf is a builtin, so a secret in CONTENT never shows on a
# command line. New files start as 0600 (mktemp), so a secret is never readable by others,
# not even for a moment.
write_file() {
  local path=$1 mode=$2 content=$3 flag=${4-CONFIG_CHANGED} tmp
  tmp=$(mktemp "$path.XXXXXX")
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$path"
  if [[ -n $flag ]]; then printf -v "$flag" 1; fi
  log "wrote $path"
}

# The Caddy repository, written before the first `apt-get update` that must see it.
add_caddy_repository() {
  [[ -n $DOMAIN ]] || return 0
  install -d -m 0755 /etc/apt/keyrings
  if [[ ! -s $CADDY_KEY_FILE ]]; then
    retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "download of Caddy's repository key" \
      curl -fsSL -o "$CADDY_KEY_FILE.tmp" "$CADDY_REPO_URL/gpg.key" ||
      die "cannot download Caddy's repository key from $CADDY_REPO_URL: is the internet reachable (Cloud NAT or an external IP)?"
    chmod 0644 "$CADDY_KEY_FILE.tmp"
    mv -f "$CADDY_KEY_FILE.tmp" "$CADDY_KEY_FILE"
  fi
  # Repository files are not MLflow configuration: they must not restart the server.
  write_file "$CADDY_SOURCES_FILE" 0644 "deb [signed-by=$CADDY_KEY_FILE] $CADDY_REPO_URL/deb/debian any-version main" ''
  write_file "$CADDY_PREFERENCES_FILE" 0644 "Package: caddy"$'\n'"Pin: version $CADDY_SERIES.*"$'\n'"Pin-Priority: 1001" ''
}

install_os_packages() {
  local pkg missing=()
  for pkg in "${OS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "OS packages present"
    return 0
  fi
  log "installing OS packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # DPkg::Lock::Timeout: wait for apt-daily or unattended-upgrades instead of failing.
  retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "apt-get update" apt-get update -q -oDPkg::Lock::Timeout=300 ||
    die "apt-get update failed: are the Debian mirrors reachable (Cloud NAT or an external IP)?"
  retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "apt-get install" \
    apt-get install -y -q --no-install-recommends -oDPkg::Lock::Timeout=300 "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
}

ensure_user() {
  if ! id -u mlflow >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /var/lib/mlflow --shell /usr/sbin/nologin mlflow
    log "created system user mlflow"
  fi
}

# uv in a virtualenv of its own, from its PyPI wheel (a single binary), pinned exactly.
install_uv() {
  if [[ -x $UV_DIR/bin/uv && -f $UV_DIR/.complete ]]; then return 0; fi
  log "installing uv $UV_VERSION into $UV_DIR"
  rm -rf "$UV_DIR"
  python3 -m venv "$UV_DIR" || die "python3 -m venv $UV_DIR failed"
  if ! retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "pip install uv" \
    "$UV_DIR/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check "uv==$UV_VERSION"; then
    rm -rf "$UV_DIR"
    die "pip install uv==$UV_VERSION failed: is PyPI reachable (Cloud NAT or an external IP)?"
  fi
  touch "$UV_DIR/.complete"
}

VENV_DIR="" VENV_CHANGED=0
# One virtualenv per pinned requirement set and cutoff (venv-<hash>), switched in by an
# atomic symlink (switch_venv) only while the server is stopped: the running server
# resolves its imports through the link, so it must never see the new environment.
# `uv pip install --python <venv>/bin/python` installs into that interpreter's environment
# (uv docs/pip/environments.md, "Using arbitrary Python environments").
install_mlflow() {
  local wanted hash
  wanted=$(printf '%s\n' "${PYTHON_REQUIREMENTS[@]}" "exclude-newer $DEPENDENCY_CUTOFF" "uv $UV_VERSION")
  hash=$(printf '%s' "$wanted" | sha256sum | cut -c1-16)
  VENV_DIR=$MLFLOW_HOME/venv-$hash
  mkdir -p "$MLFLOW_HOME/bin"
  if [[ -f $VENV_DIR/.complete ]]; then
    log "Python environment up to date: ${PYTHON_REQUIREMENTS[*]} (as of $DEPENDENCY_CUTOFF)"
  else
    install_uv
    log "installing ${PYTHON_REQUIREMENTS[*]} into $VENV_DIR, resolved as of $DEPENDENCY_CUTOFF"
    rm -rf "$VENV_DIR"
    python3 -m venv "$VENV_DIR" || die "python3 -m venv $VENV_DIR failed"
    if ! retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "uv pip install" \
      "$UV_DIR/bin/uv" pip install --quiet --no-cache --python "$VENV_DIR/bin/python" \
      --exclude-newer "$DEPENDENCY_CUTOFF" "${PYTHON_REQUIREMENTS[@]}"; then
      rm -rf "$VENV_DIR"
      die "uv pip install ${PYTHON_REQUIREMENTS[*]} failed: is PyPI reachable (Cloud NAT or an external IP)? A version released after the dependency cutoff $DEPENDENCY_CUTOFF cannot be resolved: move dependencyCutoff past its release"
    fi
    printf '%s\n' "$wanted" >"$VENV_DIR/requirements.txt"
    touch "$VENV_DIR/.complete"
  fi
  if [[ $(readlink "$VENV_LINK" 2>/dev/null || true) != "$VENV_DIR" ]]; then
    VENV_CHANGED=1
  fi
}

switch_venv() {
  ln -sfn "$VENV_DIR" "$VENV_LINK.new"
  mv -fT "$VENV_LINK.new" "$VENV_LINK"
  log "switched $VENV_LINK to $VENV_DIR"
}

# Environments of earlier pins; removed only once the new server is healthy.
remove_old_venvs() {
  local current old
  current=$(readlink "$VENV_LINK")
  for old in "$MLFLOW_HOME"/venv-* "$MLFLOW_HOME"/uv-*; do
    if [[ -d $old && $old != "$current" && $old != "$UV_DIR" ]]; then
      rm -rf "$old"
      log "removed old environment $old"
    fi
  done
}

metadata() {
  curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "$METADATA_URL/$1"
}

# fetch_secret NAME: prints the latest version of a Secret Manager secret. The access token
# reaches curl on standard input (--config -), never on a command line.
fetch_secret() {
  local name=$1 token body
  # Two steps, so an unreachable metadata server is named as such (and python3 does not
  # print a JSON traceback for the empty input).
  token=$(metadata instance/service-accounts/default/token) || {
    log "metadata server: cannot get the service account's access token" >&2
    return 1
  }
  token=$(printf '%s' "$token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') || return 1
  body=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl -fsS --config - "$SECRET_MANAGER_URL/projects/$PROJECT_ID/secrets/$name/versions/latest:access") || return 1
  printf '%s' "$body" |
    python3 -c 'import base64, json, sys; sys.stdout.write(base64.b64decode(json.load(sys.stdin)["payload"]["data"]).decode())'
}

# read_secret VAR NAME: sets VAR to the secret's value, retrying while IAM grants settle.
# Stops the script (before the server is touched) when the secret cannot be read.
read_secret() {
  local var=$1 name=$2 value="" attempt delay=$SECRET_RETRY_SECONDS
  for ((attempt = 1; attempt <= SECRET_ATTEMPTS; attempt++)); do
    if value=$(fetch_secret "$name") && [[ -n $value ]]; then
      break
    fi
    value=""
    log "Secret Manager: cannot read secret $name yet (attempt $attempt of $SECRET_ATTEMPTS)"
    if ((attempt < SECRET_ATTEMPTS)); then
      sleep "$delay"
      delay=$((delay * 2 > 60 ? 60 : delay * 2))
    fi
  done
  [[ -n $value ]] || die "cannot read secret $name from Secret Manager in project $PROJECT_ID (is the Secret Manager API reachable, and does the server's service account have roles/secretmanager.secretAccessor on it?)"
  # Values go into a systemd EnvironmentFile and an INI file: one line, no quotes or backslashes.
  [[ $value != *[$'\n\r\'"\\']* ]] || die "secret $name holds a newline, a quote or a backslash; use a single-line value without them"
  printf -v "$var" '%s' "$value"
}

url_encode() {
  python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(sys.stdin.read(), safe=""))'
}

# Caddy's state (ACME account, certificates) on the persistent disk, mounted at
# /var/lib/caddy before Caddy is installed or started. A replaced VM finds the certificate
# there and does not ask Let's Encrypt again (5 certificates per exact set of names per 7
# days; letsencrypt.org/docs/rate-limits). A blank disk is formatted; a disk that holds a
# file system never is.
mount_caddy_data() {
  local device=/dev/disk/by-id/google-$CADDY_DATA_DEVICE attempt rc uuid
  # udev links the disk under /dev/disk/by-id once it has seen it.
  for ((attempt = 1; attempt <= DEVICE_ATTEMPTS; attempt++)); do
    [[ -e $device ]] && break
    sleep "$DEVICE_RETRY_SECONDS"
  done
  [[ -e $device ]] || die "the persistent disk for Caddy's certificates ($device) is not attached"
  # blkid -p exits 2 when it detects nothing on the device (blkid(8), EXIT STATUS), but also
  # when it cannot open or read it (util-linux 2.38.1 misc-utils/blkid.c lowprobe_device):
  # the disk must read first, so a disk that cannot be read is never formatted.
  head -c 1048576 "$device" >/dev/null || die "cannot read the disk $device: not formatting it"
  rc=0
  blkid -p "$device" >/dev/null 2>&1 || rc=$?
  if ((rc == 2)); then # blkid: no file system found
    log "formatting the blank disk $device for Caddy's certificates"
    mkfs.ext4 -q -L caddy-data -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard "$device"
  elif ((rc != 0)); then
    die "cannot read the disk $device (blkid exit status $rc)"
  fi
  uuid=$(blkid -s UUID -o value "$device")
  install -d -m 0755 "$CADDY_DATA_DIR"
  # fstab: mounted at every later boot before caddy.service starts; nofail, so a missing
  # disk never stops the boot.
  local entry="UUID=$uuid $CADDY_DATA_DIR ext4 discard,defaults,nofail 0 2" fstab
  fstab=$(grep -v "[[:space:]]${CADDY_DATA_DIR}[[:space:]]" /etc/fstab || true)
  if ! grep -qxF "$entry" /etc/fstab; then
    # Not MLflow configuration: no server restart.
    write_file /etc/fstab 0644 "${fstab:+$fstab$'\n'}$entry" ''
  fi
  if ! mountpoint -q "$CADDY_DATA_DIR"; then
    mount "$CADDY_DATA_DIR" || die "cannot mount $device at $CADDY_DATA_DIR"
    log "mounted $device at $CADDY_DATA_DIR"
  fi
}

# HTTPS in front of MLflow (public mode with a domain). The caddy package runs caddy.service
# as the user caddy with /etc/caddy/Caddyfile and its data in /var/lib/caddy. A Caddy that
# does not serve is reported (CADDY_FAILED=1) rather than fatal here: the rest of the boot
# (the Ops Agent, MLflow's health) still runs, and main exits non-zero at the end.
CADDY_FAILED=0
configure_caddy() {
  local changed=0 version
  version=$(caddy version 2>/dev/null | awk '{print $1}')
  version=${version#v}
  # At least the pinned series (apt falls back to a newer one if the repository drops it),
  # never Debian's 2.6.
  [[ $(printf '%s\n' "$CADDY_SERIES" "$version" | sort -V | head -n 1) == "$CADDY_SERIES" ]] ||
    die "caddy ${version:-(none)} is installed, older than the $CADDY_SERIES series of Caddy's repository"
  # The disk outlives VMs, and a new VM's caddy user may have another uid.
  chown -R caddy:caddy "$CADDY_DATA_DIR"
  install -d -m 0755 /etc/caddy
  printf '%s\n' "$CADDYFILE" | cmp -s - /etc/caddy/Caddyfile 2>/dev/null || changed=1
  write_file /etc/caddy/Caddyfile 0644 "$CADDYFILE"
  systemctl enable caddy.service
  local started=1 second
  if ((changed)); then
    log "Caddy configuration changed: restarting caddy.service for https://$DOMAIN"
    systemctl restart caddy.service || started=0
  else
    systemctl start caddy.service || started=0
  fi
  # caddy.service is Type=notify, so a failed start (a Caddyfile Caddy cannot adapt) fails
  # systemctl. But since Caddy 2.11.3, when loading the adapted configuration fails (a port
  # in use, unreadable storage), Caddy reports readiness and then exits 1 (caddyserver/caddy
  # PR #7597, caddy.go Load()), so systemctl succeeds: the unit must also stay active.
  for ((second = 1; started && second <= CADDY_SETTLE_SECONDS; second++)); do
    sleep 1
    systemctl is-active --quiet caddy.service || started=0
  done
  if ((!started)); then
    log "ERROR: caddy.service is not running, so https://$DOMAIN is down (see: journalctl -u caddy.service)"
    CADDY_FAILED=1
  fi
}

# Google's Ops Agent, at the pinned version, from Google's repository (the script adds the
# repository and installs the agent: --also-install --version=X.Y.Z). Returns non-zero when
# it cannot be installed; OPS_AGENT_INSTALLED=1 when it was installed now.
OPS_AGENT_INSTALLED=0
install_ops_agent() {
  local installed script
  installed=$(dpkg-query -W -f='${Version}' google-cloud-ops-agent 2>/dev/null || true)
  # Debian package versions carry a suffix after the upstream version (2.70.0~debian12:
  # ops-agent pkg/deb/build.sh, $PKG_VERSION~<distro><release>).
  case $installed in
    "$OPS_AGENT_VERSION" | "$OPS_AGENT_VERSION"[!0-9]*) return 0 ;;
  esac
  log "installing Google Cloud Ops Agent $OPS_AGENT_VERSION${installed:+ (replacing $installed)}"
  script=$(mktemp --suffix=.sh /tmp/add-google-cloud-ops-agent-repo.XXXXXX)
  if ! retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "download of the Ops Agent's repository script" \
    curl -fsSL -o "$script" "$OPS_AGENT_REPO_SCRIPT_URL"; then
    rm -f "$script"
    log "ERROR: cannot download $OPS_AGENT_REPO_SCRIPT_URL: is the internet reachable (Cloud NAT or an external IP)?"
    return 1
  fi
  if ! retry "$INSTALL_ATTEMPTS" "$INSTALL_RETRY_SECONDS" "Ops Agent installation" \
    bash "$script" --also-install --version="$OPS_AGENT_VERSION"; then
    rm -f "$script"
    log "ERROR: the Ops Agent $OPS_AGENT_VERSION could not be installed"
    # The repository script has already added Google's repository; left in place, an
    # unreachable repository would fail every later `apt-get update` (apt exits non-zero
    # when an index cannot be fetched) and so the OS packages of a later boot.
    rm -f "$OPS_AGENT_SOURCES_FILE"
    return 1
  fi
  rm -f "$script"
  OPS_AGENT_INSTALLED=1
}

# Logs and metrics: the agent, then its configuration (written after the package, which
# owns the file), with the admin password for the /metrics scrape in a root-only file. A
# failure here never stops the server: it is logged, and the missing metrics raise the
# health alert.
configure_ops_agent() {
  local admin_password=$1 changed=0
  install_ops_agent || return 1
  install -d -m 0755 "$(dirname "$OPS_AGENT_CONFIG_FILE")"
  # The agent's files are not MLflow's configuration: they restart the agent, not the server.
  if [[ $BASIC_AUTH == true ]]; then
    write_file "$OPS_AGENT_PASSWORD_FILE" 0600 "$admin_password" changed
  elif [[ -f $OPS_AGENT_PASSWORD_FILE ]]; then
    rm -f "$OPS_AGENT_PASSWORD_FILE"
  fi
  write_file "$OPS_AGENT_CONFIG_FILE" 0644 "$OPS_AGENT_CONFIG" changed
  if ((changed || OPS_AGENT_INSTALLED)); then
    log "restarting the Ops Agent with the MLflow configuration"
    systemctl restart google-cloud-ops-agent || return 1
  fi
}

main() {
  log "starting (MLflow ${PYTHON_REQUIREMENTS[0]})"
  if [[ -n $DOMAIN ]]; then
    mount_caddy_data
    add_caddy_repository
  fi
  install_os_packages
  ensure_user
  install_mlflow

  local db_password backend_uri admin_password="" flask_secret_key=""
  read_secret db_password "$DB_PASSWORD_SECRET"
  if [[ $BASIC_AUTH == true ]]; then
    read_secret admin_password "$ADMIN_PASSWORD_SECRET"
    read_secret flask_secret_key "$FLASK_SECRET_KEY_SECRET"
  fi

  # 0711: the mlflow user may open the CA certificate by name; everything else in here is
  # root-only (0600) and reaches the service through systemd.
  install -d -m 0711 -o root -g root "$CONFIG_DIR"
  chmod 0711 "$CONFIG_DIR"
  write_file "$DB_CA_FILE" 0644 "$DB_CA_CERT"
  # The driver is named (SQLAlchemy 2.1 maps a bare postgresql URI to psycopg 3), and libpq
  # checks the server's certificate against the instance's CA (verify-ca; the certificate
  # names the instance, not the private IP, so not verify-full).
  backend_uri="{{DATABASE_DRIVER}}://$(printf '%s' "$DB_USER" | url_encode):$(printf '%s' "$db_password" | url_encode)@$DB_HOST:$DB_PORT/$DB_NAME?sslmode=verify-ca&sslrootcert=$DB_CA_FILE&connect_timeout=10"

  local env_file="MLFLOW_BACKEND_STORE_URI='$backend_uri'"
  if [[ $BASIC_AUTH == true ]]; then
    env_file+=$'\n'"MLFLOW_FLASK_SERVER_SECRET_KEY='$flask_secret_key'"
  fi
  write_file "$ENV_FILE" 0600 "$env_file"
  if [[ $BASIC_AUTH == true ]]; then
    # configparser reads the INI: a literal % must be written %%.
    local ini
    ini=$(fill "$BASIC_AUTH_INI_TEMPLATE" @DATABASE_URI@ "${backend_uri//%/%%}")
    ini=$(fill "$ini" @ADMIN_PASSWORD@ "${admin_password//%/%%}")
    write_file "$AUTH_INI" 0600 "$ini"
  elif [[ -f $AUTH_INI ]]; then
    rm -f "$AUTH_INI"
    CONFIG_CHANGED=1
  fi
  write_file "$DB_UPGRADE_FILE" 0644 "$DB_UPGRADE_SCRIPT"
  write_file "$UNIT_FILE" 0644 "$MLFLOW_UNIT"
  # gc's files are not the server's configuration: a change restarts the timer, not the server.
  local server_changed=$CONFIG_CHANGED gc_changed
  CONFIG_CHANGED=0
  write_file "$GC_FILE" 0644 "$GC_SCRIPT"
  write_file "$GC_UNIT_FILE" 0644 "$GC_UNIT"
  write_file "$GC_TIMER_FILE" 0644 "$GC_TIMER"
  gc_changed=$CONFIG_CHANGED
  CONFIG_CHANGED=$server_changed

  systemctl daemon-reload
  systemctl enable mlflow.service
  if ((CONFIG_CHANGED || VENV_CHANGED)); then
    # Stop first (waits for the old process to exit), then start without waiting: the
    # unit's ExecStartPre backs up and migrates the schema when it is behind, and retries
    # until the database answers.
    log "configuration or MLflow version changed: restarting mlflow.service"
    # A gc of the old version must not run while the schema is migrated: the timer first,
    # so it cannot start one between the two stops (it is started again below).
    if ((VENV_CHANGED)); then
      systemctl stop mlflow-gc.timer
      systemctl stop mlflow-gc.service
    fi
    systemctl stop mlflow.service
    if ((VENV_CHANGED)); then switch_venv; fi
  fi
  systemctl start --no-block mlflow.service
  # gc runs from its timer, independently of the server: a failing run never stops it.
  systemctl enable mlflow-gc.timer
  if ((gc_changed)); then
    systemctl restart mlflow-gc.timer
  else
    systemctl start mlflow-gc.timer
  fi
  if [[ -n $DOMAIN ]]; then
    configure_caddy
  fi
  configure_ops_agent "$admin_password" ||
    log "WARNING: the Ops Agent is not running with MLflow's configuration: no logs or metrics reach Cloud Monitoring (the health alert fires); the server itself is unaffected"

  local attempt
  for ((attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++)); do
    # -s: no error line per attempt while MLflow starts (it may take minutes).
    if curl -fs -o /dev/null --max-time 5 "http://127.0.0.1:$MLFLOW_PORT/health"; then
      log "MLflow is healthy on port $MLFLOW_PORT"
      remove_old_venvs
      if ((CADDY_FAILED)); then
        log "ERROR: MLflow is healthy on 127.0.0.1, but Caddy does not serve https://$DOMAIN (see: journalctl -u caddy.service)"
        exit 3
      fi
      log "done"
      return 0
    fi
    sleep "$HEALTH_RETRY_SECONDS"
  done
  log "ERROR: MLflow did not answer /health after $((HEALTH_ATTEMPTS * HEALTH_RETRY_SECONDS)) s; systemd keeps restarting it (see: journalctl -u mlflow.service)"
  exit 2
}

main "$@"
