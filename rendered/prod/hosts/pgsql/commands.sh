# Commands of hosts/pgsql, in order (gitlab-ha offline render).

# [1] postgres-pgsql-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install PostgreSQL 16 on pgsql
# host: pgsql
OS_FAMILY=dnf
OS_RELEASE=9
PG_VERSION=16
PACKAGE_SOURCE=pgdg
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

# [2] postgres-pgsql-cluster
#     after: postgres-pgsql-install
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: create the PostgreSQL cluster on pgsql unless one exists
# host: pgsql
OS_FAMILY=dnf
PG_VERSION=16
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
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
# Creates the primary's cluster once. An existing cluster of the configured version is kept as it
# is; a non-empty directory that holds no cluster is never initialised over.
if [ -f "$DATA_DIR/PG_VERSION" ]; then
  have=$(cat "$DATA_DIR/PG_VERSION")
  [ "$have" = "$PG_VERSION" ] || die "$DATA_DIR holds a PostgreSQL $have cluster but config asks for $PG_VERSION: upgrade it (pg_upgrade) first"
  exit 0
fi
if [ -d "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to initialise over it"
fi
initdb_opts=(--encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 --data-checksums)
parent=$(dirname "$DATA_DIR")
[ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
case "$OS_FAMILY" in
  apt) pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" -- "${initdb_opts[@]}" >/dev/null ;;
  dnf) runuser -u postgres -- "$BINDIR/initdb" -D "$DATA_DIR" "${initdb_opts[@]}" >/dev/null ;;
esac
changed "initialised a PostgreSQL $PG_VERSION cluster in $DATA_DIR"
GITLAB_HA_SCRIPT
)"

# [3] postgres-pgsql-conf-write
#     after: postgres-pgsql-cluster
#     stdin: files/var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf on pgsql
# host: pgsql
FILE_PATH=/var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf
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

# [4] postgres-pgsql-hba-write
#     after: postgres-pgsql-cluster
#     stdin: files/var/lib/pgsql/16/data/pg_hba.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/pgsql/16/data/pg_hba.conf on pgsql
# host: pgsql
FILE_PATH=/var/lib/pgsql/16/data/pg_hba.conf
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

# [5] postgres-pgsql-service
#     after: postgres-pgsql-conf-write, postgres-pgsql-hba-write
#     stdin: none
#     re-run when changed: ["6429c41a4f4db1386424b7c1a267d4ebfdfa155352f78c21ded2cf8e1aefdd12","0d9e541dc808cbdd5a8a44396083a0720813ec03d01c26fc33e7d6ffd7882e19"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: run postgresql-16 on pgsql with its current configuration
# host: pgsql
OS_FAMILY=dnf
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
CONF_DIR=/var/lib/pgsql/16/data
SERVICE=postgresql-16
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

# [6] postgres-pgsql-objects
#     after: postgres-gitlab-password, postgres-pgsql-service, postgres-replication-password
#     stdin: [secret]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: roles, database gitlabhq_production, extensions and replication slots on pgsql
# host: pgsql
BINDIR=/usr/pgsql-16/bin
PG_PORT=5432
DATABASE=gitlabhq_production
GITLAB_USER=gitlab
GITLAB_CREATEDB=true
REPLICATION_USER=backup
EXTENSIONS=(pg_trgm btree_gist plpgsql amcheck)
SLOT_PREFIX=gitlab_ha_
SLOTS=(gitlab_ha_pgsq2)
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
# Converges what GitLab and the standbys need inside the primary: the replication and gitlab
# roles, the GitLab database and its extensions, one physical slot per standby.
# stdin: two lines, the SCRAM verifiers of the replication role and of the gitlab role. They are
# compared with pg_authid and sent to psql on its stdin, never on a command line or in output.
IFS= read -r replication_verifier || die "stdin: missing the replication role's verifier"
IFS= read -r gitlab_verifier || die "stdin: missing the gitlab role's verifier"

psql_in() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "$1"; }
q() { printf '%s\n' "$2" | psql_in "$1"; }

ensure_role() { # name, attributes (SQL), verifier
  local name=$1 attrs=$2 verifier=$3 row want
  row=$(q postgres "SELECT concat(rolcanlogin::int, rolreplication::int, rolcreatedb::int) FROM pg_roles WHERE rolname = '$name'")
  if [ -z "$row" ]; then
    printf "CREATE ROLE %s %s PASSWORD '%s';\n" "$name" "$attrs" "$verifier" | psql_in postgres
    changed "created role $name"
    return
  fi
  want=1
  case " $attrs " in *" REPLICATION "*) want+=1 ;; *) want+=0 ;; esac
  case " $attrs " in *" CREATEDB "*) want+=1 ;; *) want+=0 ;; esac
  if [ "$row" != "$want" ]; then
    q postgres "ALTER ROLE $name $attrs;"
    changed "role $name: attributes set to $attrs"
  fi
  if [ "$(q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = '$name'")" != "$verifier" ]; then
    printf "ALTER ROLE %s PASSWORD '%s';\n" "$name" "$verifier" | psql_in postgres
    changed "role $name: password set"
  fi
}

ensure_role "$REPLICATION_USER" "LOGIN REPLICATION NOCREATEDB" "$replication_verifier"
if [ "$GITLAB_CREATEDB" = true ]; then gitlab_attrs="LOGIN NOREPLICATION CREATEDB"; else gitlab_attrs="LOGIN NOREPLICATION NOCREATEDB"; fi
ensure_role "$GITLAB_USER" "$gitlab_attrs" "$gitlab_verifier"

owner=$(q postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DATABASE'")
if [ -z "$owner" ]; then
  q postgres "CREATE DATABASE $DATABASE OWNER $GITLAB_USER ENCODING 'UTF8' TEMPLATE template0;"
  changed "created database $DATABASE owned by $GITLAB_USER"
elif [ "$owner" != "$GITLAB_USER" ]; then
  q postgres "ALTER DATABASE $DATABASE OWNER TO $GITLAB_USER;"
  changed "database $DATABASE: owner $owner -> $GITLAB_USER"
fi

for ext in "${EXTENSIONS[@]}"; do
  if [ -z "$(q "$DATABASE" "SELECT 1 FROM pg_extension WHERE extname = '$ext'")" ]; then
    q "$DATABASE" "CREATE EXTENSION IF NOT EXISTS $ext;"
    changed "created extension $ext in $DATABASE"
  fi
done

# Slots: one per declared standby. Slots of this program (prefix $SLOT_PREFIX) whose standby was
# removed from the config are dropped once inactive, so they cannot pin WAL forever.
existing=$(q postgres "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name LIKE '${SLOT_PREFIX}%'")
for slot in "${SLOTS[@]}"; do
  if ! grep -qx "$slot" <<<"$existing"; then
    q postgres "SELECT pg_create_physical_replication_slot('$slot');" >/dev/null
    changed "created replication slot $slot"
  fi
done
while IFS= read -r slot; do
  [ -n "$slot" ] || continue
  case " ${SLOTS[*]} " in *" $slot "*) continue ;; esac
  if [ "$(q postgres "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'")" = f ]; then
    q postgres "SELECT pg_drop_replication_slot('$slot');" >/dev/null
    changed "dropped replication slot $slot (its standby left the config)"
  fi
done <<<"$existing"
GITLAB_HA_SCRIPT
)"

# [7] firewall-pgsql-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence
# host: pgsql
OS_FAMILY=dnf
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

# [8] firewall-pgsql-rules-write
#     after: firewall-pgsql-install
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on pgsql
# host: pgsql
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

# [9] firewall-pgsql-apply
#     after: firewall-pgsql-rules-write
#     stdin: none
#     re-run when changed: ["4aafe5f67dbf7696462f99ccc8ceb71993d16a3f560edad21a419c6573a8fddb"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chain GITLAB-HA-INPUT and persist it
# host: pgsql
RULES_FILE=/etc/gitlab-ha/iptables.rules
CHAIN=GITLAB-HA-INPUT
PERSIST_FILE=/etc/sysconfig/iptables
SSH_SOURCES=(10.228.0.0/16)
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
