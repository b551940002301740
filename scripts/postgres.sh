# shellcheck shell=bash
# start_postgres / stop_postgres: a throwaway PostgreSQL cluster for the tests.
# Installs Debian's postgresql package when no server binaries are present.

PG_PORT=${PG_PORT:-54329}
PG_DIR=${PG_DIR:-/tmp/clinic-migration-pg}

_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    echo "$dir"
}

_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL refuses to run as root.
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    local bindir
    bindir=$(_pg_bindir)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "installing PostgreSQL from Debian's packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bindir=$(_pg_bindir)
    fi
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
    _as_postgres "$bindir/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
    _as_postgres "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    PG_BINDIR=$bindir
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/clinic"
    export PG_URL PG_BINDIR
}

stop_postgres() {
    if [ -n "${PG_BINDIR:-}" ]; then
        _as_postgres "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null || true
    fi
}
