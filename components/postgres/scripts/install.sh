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
