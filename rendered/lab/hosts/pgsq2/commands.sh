# Commands of hosts/pgsq2, in order (gitlab-ha offline render).

# [1] postgres-pgsq2-install
#     after: lab-pgsq2
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install PostgreSQL 15 on pgsq2
# host: pgsq2
OS_FAMILY=apt
OS_RELEASE=bookworm
PG_VERSION=15
PACKAGE_SOURCE=distribution
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Installs the PostgreSQL $PG_VERSION server with contrib (pg_trgm, btree_gist) from $PACKAGE_SOURCE.
require_family
case "$OS_FAMILY" in
  apt)
    # Debian creates a default cluster on install; the program creates its own, where config says.
    cc=/etc/postgresql-common/createcluster.conf
    if ! grep -qx 'create_main_cluster = false' "$cc" 2>/dev/null; then
      mkdir -p "$(dirname "$cc")"
      if [ -f "$cc" ]; then sed -i '/^[[:space:]]*create_main_cluster[[:space:]]*=/d' "$cc"; fi
      echo 'create_main_cluster = false' >>"$cc"
      changed "$cc: create_main_cluster = false"
    fi
    if ! dpkg-query -W -f='${Status}' "postgresql-$PG_VERSION" 2>/dev/null | grep -q 'install ok installed'; then
      export DEBIAN_FRONTEND=noninteractive
      if [ "$PACKAGE_SOURCE" = pgdg ] && [ ! -f /etc/apt/sources.list.d/pgdg.list ] && [ ! -f /etc/apt/sources.list.d/pgdg.sources ]; then
        apt-get update -q >/dev/null
        apt-get install -y -q postgresql-common >/dev/null
        /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y >/dev/null
        changed "added the PGDG apt repository"
      fi
      apt-get update -q >/dev/null
      apt-get install -y -q "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION" >/dev/null
      changed "installed postgresql-$PG_VERSION"
    fi
    ;;
  dnf)
    if ! rpm -q "postgresql$PG_VERSION-server" "postgresql$PG_VERSION-contrib" >/dev/null 2>&1; then
      if ! rpm -q pgdg-redhat-repo >/dev/null 2>&1; then
        dnf install -y -q "https://download.postgresql.org/pub/repos/yum/reporpms/EL-$OS_RELEASE-$(uname -m)/pgdg-redhat-repo-latest.noarch.rpm" >/dev/null
        changed "added the PGDG dnf repository"
      fi
      # EL 8/9 ship a postgresql module whose packages would shadow PGDG's.
      if dnf -q module list postgresql >/dev/null 2>&1; then dnf -q -y module disable postgresql >/dev/null; fi
      dnf install -y -q "postgresql$PG_VERSION-server" "postgresql$PG_VERSION-contrib" >/dev/null
      changed "installed postgresql$PG_VERSION-server"
    fi
    ;;
esac
GITLAB_HA_SCRIPT
)"

# [2] postgres-pgsq2-pgpass-write
#     after: lab-pgsq2, postgres-pgsq2-install, postgres-replication-password
#     stdin: files/var/lib/postgresql/.pgpass (mode 0600, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/postgresql/.pgpass on pgsq2
# host: pgsq2
FILE_PATH=/var/lib/postgresql/.pgpass
FILE_MODE=0600
FILE_OWNER=postgres
FILE_GROUP=postgres
FILE_MKDIR=false
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"
# on delete:
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: remove /var/lib/postgresql/.pgpass from pgsq2
# host: pgsq2
FILE_PATH=/var/lib/postgresql/.pgpass
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Removes $FILE_PATH (the resource that owned it is gone).
if [ -e "$FILE_PATH" ]; then
  rm -f "$FILE_PATH"
  changed "$FILE_PATH removed"
fi
GITLAB_HA_SCRIPT
)"

# [3] postgres-pgsq2-basebackup
#     after: lab-pgsq2, postgres-pgsq2-pgpass-write, postgres-pgsql-objects
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: build the standby pgsq2 from 172.31.229.11 unless it is one already
# host: pgsq2
OS_FAMILY=apt
PG_VERSION=15
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
CONF_DIR=/etc/postgresql/15/main
SERVICE=postgresql@15-main
MANAGED_CONF=/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf
HOST_NAME=pgsq2
PRIMARY_HOST=172.31.229.11
PRIMARY_PORT=5432
REPLICATION_USER=backup
SLOT=gitlab_ha_pgsq2
CHECKPOINT=fast
MAX_RATE=''
REBUILD_TOKEN=''
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Builds this standby from the primary with pg_basebackup -R on its replication slot, but only
#   - when the data directory is missing or empty,
#   - when a previous base backup did not finish (the marker below is still there), or
#   - when postgres.rebuildStandbys names this host with a token not yet applied here.
# A directory holding a working cluster, or anything else, is never emptied otherwise.
parent=$(dirname "$DATA_DIR")
marker="$parent/.$(basename "$DATA_DIR").gitlab-ha-basebackup-incomplete"
token_file="$parent/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token"

applied_token=$(cat "$token_file" 2>/dev/null || true)
reason=""
if [ -f "$marker" ]; then
  reason="a previous base backup did not finish"
elif [ ! -d "$DATA_DIR" ] || [ -z "$(ls -A "$DATA_DIR")" ]; then
  reason="the data directory is empty"
elif [ -f "$DATA_DIR/PG_VERSION" ]; then
  if [ -n "$REBUILD_TOKEN" ] && [ "$REBUILD_TOKEN" != "$applied_token" ]; then
    reason="postgres.rebuildStandbys asks for a rebuild (token $REBUILD_TOKEN)"
  elif [ ! -f "$DATA_DIR/standby.signal" ]; then
    die "$DATA_DIR holds a working cluster that is not a standby (promoted?): refusing to empty it; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from the primary"
  fi
else
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to touch it"
fi

if [ -n "$reason" ]; then
  if systemctl is-active --quiet "$SERVICE"; then systemctl stop "$SERVICE"; fi
  [ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
  touch "$marker"
  if [ -d "$DATA_DIR" ]; then find "$DATA_DIR" -mindepth 1 -delete; fi
  install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
  rate=()
  if [ -n "$MAX_RATE" ]; then rate=(--max-rate="$MAX_RATE"); fi
  # The password comes from ~postgres/.pgpass, which the walreceiver also uses afterwards.
  runuser -u postgres -- "$BINDIR/pg_basebackup" --pgdata="$DATA_DIR" --format=plain --wal-method=stream \
    --write-recovery-conf --slot="$SLOT" --checkpoint="$CHECKPOINT" "${rate[@]}" --no-password \
    --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" >/dev/null
  rm -f "$marker"
  if [ -n "$REBUILD_TOKEN" ]; then echo "$REBUILD_TOKEN" >"$token_file"; fi
  changed "built standby from $PRIMARY_HOST:$PRIMARY_PORT on slot $SLOT ($reason)"
fi

# Debian keeps configuration in /etc/postgresql/<version>/main: register the copied data directory
# there once (pg_createcluster adopts an existing data directory that carries config files).
if [ "$OS_FAMILY" = apt ] && [ ! -f "$CONF_DIR/postgresql.conf" ]; then
  for f in postgresql pg_hba pg_ident; do
    install -o postgres -g postgres -m 0600 "/usr/share/postgresql/$PG_VERSION/$f.conf.sample" "$DATA_DIR/$f.conf"
  done
  pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" >/dev/null
  changed "registered $DATA_DIR as cluster $PG_VERSION/main"
fi

# A rebuild stops the server; when the program's configuration is already in place (a rebuild,
# or EL layouts where the copy brings the primary's identical files) the server starts again
# here, since the service step re-runs only when a configuration file changes.
if [ -n "$reason" ] && [ -f "$MANAGED_CONF" ]; then
  systemctl start "$SERVICE"
  changed "started $SERVICE on the new base backup"
fi
GITLAB_HA_SCRIPT
)"

# [4] postgres-pgsq2-conf-write
#     after: lab-pgsq2, postgres-pgsq2-basebackup
#     stdin: files/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/postgresql/15/main/conf.d/50-gitlab-ha.conf on pgsq2
# host: pgsq2
FILE_PATH=/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf
FILE_MODE=0640
FILE_OWNER=postgres
FILE_GROUP=postgres
FILE_MKDIR=true
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [5] postgres-pgsq2-hba-write
#     after: lab-pgsq2, postgres-pgsq2-basebackup
#     stdin: files/etc/postgresql/15/main/pg_hba.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/postgresql/15/main/pg_hba.conf on pgsq2
# host: pgsq2
FILE_PATH=/etc/postgresql/15/main/pg_hba.conf
FILE_MODE=0640
FILE_OWNER=postgres
FILE_GROUP=postgres
FILE_MKDIR=false
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [6] postgres-pgsq2-service
#     after: lab-pgsq2, postgres-pgsq2-conf-write, postgres-pgsq2-hba-write
#     stdin: none
#     re-run when changed: ["6429c41a4f4db1386424b7c1a267d4ebfdfa155352f78c21ded2cf8e1aefdd12","b5f2122b9d3a788b8864bf91dbfd5657bfb970ba03f48222179697439b7bbc90"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: run postgresql@15-main on pgsq2 with its current configuration
# host: pgsq2
OS_FAMILY=apt
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
CONF_DIR=/etc/postgresql/15/main
SERVICE=postgresql@15-main
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Keeps the server enabled and running with its current configuration: starts it when stopped,
# reloads only when a configuration file is newer than the server's last load, and restarts only
# when a reloaded setting needs it (pg_settings.pending_restart). Nothing changed: nothing happens.
psql_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -p "$PG_PORT" -d postgres -c "$1"; }
wait_ready() {
  for _ in $(seq 1 120); do
    if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then return 0; fi
    sleep 0.5
  done
  die "$SERVICE did not accept connections within 60 s; see journalctl -u $SERVICE and the server log"
}

conf="$CONF_DIR/postgresql.conf"
[ -f "$conf" ] || die "$conf is missing: the cluster step did not run"
if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf"; then
  printf "\n# Added by gitlab-ha: settings managed by the program live in conf.d/.\ninclude_dir = 'conf.d'\n" >>"$conf"
  changed "$conf: include_dir = 'conf.d'"
fi

if [ "$(systemctl show -p NeedDaemonReload --value "$SERVICE")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $SERVICE"
fi
if ! systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
  systemctl enable --quiet "$SERVICE"
  changed "enabled $SERVICE"
fi
if ! systemctl is-active --quiet "$SERVICE"; then
  systemctl start "$SERVICE"
  wait_ready
  changed "started $SERVICE"
  exit 0
fi
wait_ready

loaded=$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")
newest=$(find "$conf" "$CONF_DIR/pg_hba.conf" "$CONF_DIR/conf.d" "$DATA_DIR/postgresql.auto.conf" -maxdepth 1 -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
if awk -v a="$newest" -v b="$loaded" 'BEGIN { exit !(a > b) }'; then
  psql_q "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 50); do
    [ "$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")" != "$loaded" ] && break
    sleep 0.1
  done
  changed "reloaded $SERVICE configuration"
fi
pending=$(psql_q "SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings WHERE pending_restart")
if [ -n "$pending" ]; then
  systemctl restart "$SERVICE"
  wait_ready
  changed "restarted $SERVICE to apply $pending"
fi
bad=$(psql_q "SELECT string_agg(sourcefile || ':' || sourceline || ' ' || coalesce(name, '') || ' ' || error, '; ') FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'")
[ -z "$bad" ] || die "PostgreSQL rejected configuration: $bad"
bad=$(psql_q "SELECT string_agg('line ' || line_number || ': ' || error, '; ') FROM pg_hba_file_rules WHERE error IS NOT NULL")
[ -z "$bad" ] || die "PostgreSQL rejected pg_hba.conf: $bad"
GITLAB_HA_SCRIPT
)"

# [7] firewall-pgsq2-install
#     after: lab-pgsq2
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence
# host: pgsq2
OS_FAMILY=apt
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Installs what restores the saved IPv4 rules at boot, only when missing: iptables-persistent
# (apt, restores /etc/iptables/rules.v4) or iptables-services (dnf, /etc/sysconfig/iptables).
require_family
case "$OS_FAMILY" in
  apt)
    if ! dpkg-query -W -f='${Status}' iptables-persistent 2>/dev/null | grep -q 'install ok installed'; then
      # Unanswered, its postinst would ask (and could save whatever rules are loaded right now).
      printf '%s\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' \
        'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >/dev/null
      apt-get install -y -q iptables-persistent >/dev/null
      changed "installed iptables-persistent"
    fi
    ;;
  dnf)
    if ! rpm -q iptables-services >/dev/null 2>&1; then
      dnf install -y -q iptables-services >/dev/null
      changed "installed iptables-services"
    fi
    # Enabled for boot only: starting it now would load the package's default rules, not ours
    # (the apply step loads and saves ours).
    if ! systemctl is-enabled --quiet iptables 2>/dev/null; then
      systemctl enable --quiet iptables
      changed "enabled iptables"
    fi
    ;;
esac
GITLAB_HA_SCRIPT
)"

# [8] firewall-pgsq2-rules-write
#     after: firewall-pgsq2-install, lab-pgsq2
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on pgsq2
# host: pgsq2
FILE_PATH=/etc/gitlab-ha/iptables.rules
FILE_MODE=0600
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=true
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [9] firewall-pgsq2-apply
#     after: firewall-pgsq2-rules-write, lab-pgsq2
#     stdin: none
#     re-run when changed: ["b4da8597c3fd3bce0d5892b745632c9e42a939eebe14937e30613bafbf58f11b"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chain GITLAB-HA-INPUT and persist it
# host: pgsq2
RULES_FILE=/etc/gitlab-ha/iptables.rules
CHAIN=GITLAB-HA-INPUT
PERSIST_FILE=/etc/iptables/rules.v4
SSH_SOURCES=(172.31.229.1/32)
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Loads $RULES_FILE (chain $CHAIN only), makes INPUT jump to it first and once, and persists the
# ruleset to $PERSIST_FILE for boot. Nothing differs: nothing is touched and nothing printed.
[ -f "$RULES_FILE" ] || die "$RULES_FILE is missing: the rules file step did not run"
command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is missing: the firewall install step did not run"

# IPv4 CIDR match in awk (numbers stay exact below 2^53). A bare address is a /32.
in_cidr() {
  awk -v a="$1" -v c="$2" '
    function n(s,   p, i) {
      if (split(s, p, ".") != 4) return -1
      for (i = 1; i <= 4; i++) if (p[i] !~ /^[0-9]+$/ || p[i] + 0 > 255) return -1
      return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]
    }
    BEGIN {
      k = split(c, x, "/"); bits = (k == 2 ? x[2] : 32)
      if (k > 2 || bits !~ /^[0-9]+$/ || bits + 0 > 32 || n(a) < 0 || n(x[1]) < 0) exit 1
      size = 2 ^ (32 - bits)
      exit !(int(n(a) / size) == int(n(x[1]) / size))
    }'
}

# Refuse to cut the session applying this. sudo drops SSH_CONNECTION from the environment, so
# look for it in the ancestors (sudo itself keeps its caller's environment).
client=${SSH_CONNECTION:-}
pid=$PPID
for _ in $(seq 1 30); do
  if [ -n "$client" ] || [ "${pid:-0}" -le 1 ]; then break; fi
  client=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' || true)
  pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
done
client=${client%% *}
client=${client#::ffff:}
# An IPv6 client is not filtered by these IPv4 rules, so only an IPv4 client is checked.
if [ -n "$client" ] && [[ $client != *:* ]]; then
  ok=false
  for src in "${SSH_SOURCES[@]}"; do
    if in_cidr "$client" "$src"; then ok=true; break; fi
  done
  [ "$ok" = true ] || die "this SSH session comes from $client, outside the allowed SSH sources (${SSH_SOURCES[*]}): applying the firewall could lock it out; add it to the SSH sources"
fi

# Load the desired chain beside the live one under another name, then compare.
new="$CHAIN-NEW"
tmp=$(mktemp)
cleanup() {
  rm -f "$tmp"
  if iptables -w -n -L "$new" >/dev/null 2>&1; then iptables -w -F "$new" && iptables -w -X "$new"; fi
}
trap cleanup EXIT
sed -E "s/^(:|-[AFN] )$CHAIN( |\$)/\\1$new\\2/" "$RULES_FILE" >"$tmp"
iptables-restore -w 10 --noflush <"$tmp" || die "iptables-restore rejected $RULES_FILE"
rules_of() { iptables -w -S "$1" 2>/dev/null | sed -E "s/^(-[NA]) $1( |\$)/\\1 chain\\2/"; }
if [ "$(rules_of "$CHAIN")" != "$(rules_of "$new")" ]; then
  iptables-restore -w 10 --noflush <"$RULES_FILE"
  changed "chain $CHAIN loaded from $RULES_FILE"
fi
cleanup

# INPUT jumps to the chain exactly once, as its first rule: rules before it could accept what the
# chain refuses, and the chain ends by rejecting everything else.
jumps=$(iptables -w -n -L INPUT --line-numbers | awk -v c="$CHAIN" '$2 == c { print $1 }')
if [ "$jumps" != 1 ] || [ "$(iptables -w -S INPUT | grep -m 1 '^-A ')" != "-A INPUT -j $CHAIN" ]; then
  # Highest number first, so the numbers left to delete stay valid.
  sort -rn <<<"$jumps" | while read -r n; do [ -z "$n" ] || iptables -w -D INPUT "$n"; done
  iptables -w -I INPUT 1 -j "$CHAIN"
  changed "INPUT jumps to $CHAIN first"
fi

# Persist the whole ruleset (as the boot service restores it), without timestamps or counters so
# the file only changes when rules do.
saved=$(iptables-save | grep -v -e '^# Generated by' -e '^# Completed on' | sed -E 's/ \[[0-9]+:[0-9]+\]$/ [0:0]/; s/^\[[0-9]+:[0-9]+\] //')
current=$(sed -E '/^# (Generated by|Completed on)/d; s/ \[[0-9]+:[0-9]+\]$/ [0:0]/; s/^\[[0-9]+:[0-9]+\] //' "$PERSIST_FILE" 2>/dev/null || true)
if [ "$saved" != "$current" ]; then
  dir=$(dirname "$PERSIST_FILE")
  if [ ! -d "$dir" ]; then
    install -d -m 0755 "$dir"
    changed "$dir created"
  fi
  ptmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
  printf '%s\n' "$saved" >"$ptmp"
  chmod 0600 "$ptmp"
  mv -f "$ptmp" "$PERSIST_FILE"
  changed "$PERSIST_FILE written"
fi
GITLAB_HA_SCRIPT
)"
