#!/usr/bin/env bash
# presence-before-after.sh TREE LABEL [ROUND]: the presence benchmark (1,000 users, 50 contacts each, 5 changes,
# 200 presences/s) against a fresh node built from TREE (dotnet build src/Parley.Cli -c Release in TREE first).
# Result in /tmp/pb/LABEL-presence-ROUND.txt. Set LOADGEN to a built parley-loadgen.dll.
set -uo pipefail
tree=$1; label=$2; round=${3:-1}
LOADGEN=${LOADGEN:-bench/Parley.LoadGen/bin/Release/net10.0/parley-loadgen.dll}
PARLEY=$tree/src/Parley.Cli/bin/Release/net10.0/parley.dll
mkdir -p /tmp/pb
ulimit -n $(ulimit -Hn)
if [ ! -f /tmp/pb/pres1k-setup/parley.db ]; then
  dotnet $LOADGEN setup --data-dir /tmp/pb/pres1k-setup --users 1100 --user-prefix pres --password loadpass > /dev/null
  dotnet $LOADGEN roster-csv --users 1000 --contacts 50 --warmup-users 100 --output /tmp/pb/pres1k.csv > /dev/null
  dotnet $PARLEY roster import /tmp/pb/pres1k.csv --data-dir /tmp/pb/pres1k-setup --domain localhost > /dev/null
fi
rm -rf /tmp/pb/pres-node-$label; cp -r /tmp/pb/pres1k-setup /tmp/pb/pres-node-$label
PARLEY_BENCH=1 dotnet $PARLEY serve --domain localhost --data-dir /tmp/pb/pres-node-$label --bind 127.0.0.1 --c2s-port 15222 --c2s-tls-port 15223 > /tmp/pb/pres-node-$label.log 2>&1 &
NODE=$!
# Wait until the node accepts connections (up to 20 s).
for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/15222) 2>/dev/null && break; sleep 0.2; done
dotnet $LOADGEN presence --host 127.0.0.1 --port 15222 --users 1000 --user-prefix pres --contacts 50 --warmup-users 100 --changes 5 --rate 200 \
  --password loadpass --node-pid $NODE > /tmp/pb/$label-presence-$round.txt 2>&1
kill -TERM $NODE; wait $NODE 2>/dev/null
