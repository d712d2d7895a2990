#!/usr/bin/env bash
# before-after.sh TREE LABEL: logins (2,000 users), chat with the archive on (5,000 msg/s) and off
# (10,000 msg/s), two rounds, each against a fresh node built from TREE (dotnet build src/Parley.Cli -c Release
# in TREE first). Results in /tmp/pb/LABEL-*.txt. Set LOADGEN to a built parley-loadgen.dll.
set -uo pipefail
tree=$1; label=$2
LOADGEN=${LOADGEN:-bench/Parley.LoadGen/bin/Release/net10.0/parley-loadgen.dll}
PARLEY=$tree/src/Parley.Cli/bin/Release/net10.0/parley.dll
mkdir -p /tmp/pb
ulimit -n $(ulimit -Hn)
[ -f /tmp/pb/setup/parley.db ] || dotnet $LOADGEN setup --data-dir /tmp/pb/setup --users 2000 --password loadpass > /dev/null
run_node() {
  local env=${1:-}
  rm -rf /tmp/pb/node-$label; cp -r /tmp/pb/setup /tmp/pb/node-$label
  env ${env:-PARLEY_BENCH=1} dotnet $PARLEY serve --domain localhost --data-dir /tmp/pb/node-$label --bind 127.0.0.1 --c2s-port 15222 --c2s-tls-port 15223 --http-port 15280 --https-port 0 > /tmp/pb/node-$label.log 2>&1 &
  NODE=$!
  # Wait until the node accepts connections (up to 20 s).
  for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/15222) 2>/dev/null && break; sleep 0.2; done
}
stop_node() { kill -TERM $NODE; wait $NODE 2>/dev/null; }
for round in 1 2; do
  run_node
  dotnet $LOADGEN logins --host 127.0.0.1 --port 15222 --users 2000 --password loadpass --concurrency 100 --node-pid $NODE > /tmp/pb/$label-logins-$round.txt 2>&1
  stop_node
  run_node
  dotnet $LOADGEN chat --host 127.0.0.1 --port 15222 --pairs 500 --rate 5000 --duration 15 --warmup 5 --password loadpass --node-pid $NODE > /tmp/pb/$label-chat-$round.txt 2>&1
  stop_node
  run_node PARLEY__ARCHIVE__DEFAULTMODE=never
  dotnet $LOADGEN chat --host 127.0.0.1 --port 15222 --pairs 500 --rate 10000 --duration 15 --warmup 5 --password loadpass --node-pid $NODE > /tmp/pb/$label-chat-noarchive-$round.txt 2>&1
  stop_node
done
