# Converges what GitLab and the standbys need inside the primary: the replication and gitlab
# roles, the GitLab database and its extensions, one physical slot per standby.
# stdin: two lines, the SCRAM verifiers of the replication role and of the gitlab role. They are
# compared with pg_authid and sent to psql on its stdin, never on a command line or in output.
IFS= read -r replication_verifier || die "stdin: missing the replication role's verifier"
IFS= read -r gitlab_verifier || die "stdin: missing the gitlab role's verifier"

# synchronous_commit = local: with postgres.synchronous on and no standby streaming yet (the first
# converge: the standby's base backup waits for this step) a commit would wait for a standby
# forever; at local or below a commit does not wait for replication (postgres
# src/include/replication/syncrep.h, SyncRepRequested). Only this step's own sessions.
psql_in() { runuser -u postgres -- env PGOPTIONS="-c synchronous_commit=local" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "$1"; }
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
    # WAL reserved now, not at the standby's first connection (sw_ensure_slots, switchover-slots.sh).
    q postgres "SELECT pg_create_physical_replication_slot('$slot', true);" >/dev/null
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
