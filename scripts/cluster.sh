#!/usr/bin/env bash
# A Parley cluster on this machine, on loopback: a PostgreSQL server, nats-server and N nodes, each in DIR, each
# stopped by the process id this script wrote down when it started it.
#
#   scripts/cluster.sh start N DIR   start PostgreSQL, nats-server and nodes n1..nN (client ports 5222, 5232, 5242, ...)
#   scripts/cluster.sh stop DIR      stop what `start` started in DIR
#
# The nodes run the built parley.dll (dotnet build src/Parley.Cli first) or $PARLEY if set. Users:
#   $PARLEY user add alice@localhost --password secret --postgres "$(cat DIR/connection)"
set -euo pipefail

usage() {
    echo "usage: $0 start N DIR | stop DIR" >&2
    exit 2
}

root="$(cd "$(dirname "$0")/.." && pwd)"
parley=(${PARLEY:-dotnet "$root/src/Parley.Cli/bin/Debug/net10.0/parley.dll"})
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# PostgreSQL refuses to run as root: as root its tools run as the postgres user.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_for_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 after 30 s (see $2)" >&2
    return 1
}

start() {
    local count="$1" dir="$2"
    [[ "$count" =~ ^[1-9][0-9]*$ ]] || usage
    [ ! -e "$dir/pids" ] || { echo "$dir already holds a cluster; stop it first: $0 stop $dir" >&2; exit 1; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    # Whatever fails half-way, what was started is stopped again.
    trap 'echo "start failed; stopping what was started" >&2; [ ! -f "$dir/pids" ] || stop "$dir"' ERR

    local pg_port=15432 nats_port=14222 password=parley-cluster
    mkdir -p "$dir/postgres"
    echo "$password" > "$dir/postgres.password"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/postgres" "$dir/postgres.password"; fi
    as_postgres "$pg_bin/initdb" -D "$dir/postgres" -U postgres --pwfile "$dir/postgres.password" \
        --auth-local trust --auth-host scram-sha-256 -E UTF8 --locale C.UTF-8 --no-instructions > "$dir/initdb.log"
    as_postgres "$pg_bin/pg_ctl" -D "$dir/postgres" -w -l "$dir/postgres/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/postgres -c max_connections=$((count * 110 + 50))" start > /dev/null
    echo "postgres $(head -1 "$dir/postgres/postmaster.pid")" >> "$dir/pids"
    local connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=$password;Database=postgres"
    echo "$connection" > "$dir/connection"

    nats-server -a 127.0.0.1 -p "$nats_port" > "$dir/nats.log" 2>&1 &
    echo "nats $!" >> "$dir/pids"
    wait_for_port "$nats_port" "$dir/nats.log"

    for n in $(seq 1 "$count"); do
        local base=$((5212 + 10 * n))
        "${parley[@]}" serve --domain localhost --data-dir "$dir/n$n" --bind 127.0.0.1 --postgres "$connection" \
            --bus "nats://127.0.0.1:$nats_port" --node "n$n" \
            --c2s-port "$base" --c2s-tls-port $((base + 1)) --http-port $((base + 2)) --https-port $((base + 3)) \
            > "$dir/n$n.log" 2>&1 &
        echo "n$n $!" >> "$dir/pids"
        wait_for_port "$base" "$dir/n$n.log"
        echo "node n$n: clients on 127.0.0.1:$base, log $dir/n$n.log"
    done
    echo "cluster status: ${parley[*]} cluster status --postgres \"$connection\""
}

stop() {
    local dir="$1"
    [ -f "$dir/pids" ] || { echo "$dir holds no cluster started by $0" >&2; exit 1; }
    # Nodes first (they give their leases up), then the bus, then the database.
    tac "$dir/pids" | while read -r name pid; do
        if [ "$name" = postgres ]; then
            as_postgres "$pg_bin/pg_ctl" -D "$dir/postgres" -w stop > /dev/null || true
        elif kill "$pid" 2>/dev/null; then
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        echo "stopped $name"
    done
    rm "$dir/pids"
}

case "${1:-}" in
    start) [ $# = 3 ] || usage; start "$2" "$3" ;;
    stop) [ $# = 2 ] || usage; stop "$2" ;;
    *) usage ;;
esac
