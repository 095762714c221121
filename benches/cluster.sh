#!/bin/sh
# Scale-out benchmark, run by hand (not in CI): the same job on `fraudnet cluster` with 1, 2 and 4
# processes × 1 worker and 2 processes × 2 workers on loopback, beside the single-process in-memory
# algorithms (`fraudnet analyze --threads 2`) on the same edge list, in one run.
#
#   cargo build --release --bin fraudnet
#   benches/cluster.sh target/release/fraudnet EDGELIST WORKDIR [ALGOS]
#
# EDGELIST is `u v` per line (e.g. a 1M-node / 10M-edge planted-partition graph); ALGOS defaults to
# "wcc pagerank lpa leiden". WORKDIR receives the export (8 partitions, made once and kept), one
# JSON summary per cluster run (`ALGO-PxW.json`: records and bytes sent per superstep), the stderr
# of every run, `bench.log` and, printed at the end, `table.md`: per algorithm and configuration
# the wall time of the whole command, the time of the algorithm alone (cluster: from after the
# load to the gathered result, all phases but the load; analyze: the algorithm call), process 0's peak memory, the remote
# records per superstep, the quality, and the load average when the run started. About 10 minutes
# with a release build on 2 idle cores for the planted 1M graph. PORT_BASE (default 47100): ports
# PORT_BASE .. PORT_BASE+3 must be free.
set -eu
bin=$1; el=$2; work=$3; algos=${4:-"wcc pagerank lpa leiden"}
port=${PORT_BASE:-47100}
mkdir -p "$work"
log="$work/bench.log"; table="$work/table.md"
: > "$log"
start=$(date +%s)
note() { echo "$*" | tee -a "$log"; }
peak() { grep -o 'Maximum resident set size (kbytes): [0-9]*' "$1" | grep -o '[0-9]*$' | awk '{printf "%.0f MB", $1/1000}'; }
wall() { grep 'Elapsed (wall' "$1" | awk '{print $NF}'; }
load() { cut -d' ' -f1 /proc/loadavg; }

note "# $(date -u +%FT%TZ) $(nproc) cores; $bin; $el"
if [ ! -f "$work/export/manifest.json" ]; then
    /usr/bin/time -v "$bin" export --edges --partitions 8 --edgelist "$el" "$work/export" \
        2> "$work/export.err" > /dev/null
    note "export: $(grep -E '^exported' "$work/export.err"); peak $(peak "$work/export.err")"
else
    note "export: reusing $work/export"
fi
m="$work/export/manifest.json"
{
    echo "| algorithm | run | wall | algorithm | algorithm / analyze's | peak (process 0) | remote records / superstep (median) | quality | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
} > "$table"

for algo in $algos; do
    l=$(load)
    /usr/bin/time -v "$bin" analyze --edgelist "$el" --algo "$algo" --threads 2 \
        2> "$work/analyze-$algo.err" > /dev/null
    e="$work/analyze-$algo.err"
    t=$(grep -E '^algorithm' "$e" | grep -oE '[0-9.]+ s$' || true)
    q=$(grep -oE 'modularity [0-9.]+' "$e" || true)
    note "analyze $algo --threads 2: wall $(wall "$e"); algorithm $t; $q; peak $(peak "$e"); load $l"
    ta=${t% s}
    echo "| $algo | analyze, 2 threads | $(wall "$e") | $t | 1 | $(peak "$e") | — | ${q:-—} | $l |" >> "$table"
    for cfg in 1x1 2x1 4x1 2x2; do
        procs=${cfg%x*}; wpp=${cfg#*x}
        hosts="$work/hosts-$procs"
        : > "$hosts"
        i=0
        while [ $i -lt "$procs" ]; do echo "127.0.0.1:$((port + i))" >> "$hosts"; i=$((i + 1)); done
        l=$(load)
        i=$((procs - 1))
        while [ $i -gt 0 ]; do
            "$bin" cluster --algo "$algo" --manifest "$m" --hostfile "$hosts" --process $i \
                --workers "$wpp" > /dev/null 2> "$work/$algo-$cfg-p$i.err" &
            i=$((i - 1))
        done
        e="$work/$algo-$cfg.err"
        /usr/bin/time -v "$bin" cluster --algo "$algo" --manifest "$m" --hostfile "$hosts" \
            --process 0 --workers "$wpp" --json > "$work/$algo-$cfg.json" 2> "$e"
        wait
        # every phase after the load: the algorithm, the gather (and Leiden's merge) and Leiden's polish
        t=$(grep -E "^$algo on" "$e" | grep -oE '(algorithm|gather|polish) [0-9.]+ s' |
            awk '{s += $2} END {printf "%.3f s", s}')
        q=$(grep -oE 'modularity [0-9.]+' "$e" || true)
        steps=$(grep -cE '^(wcc|pagerank|lpa|local moving) ' "$e" || true)
        # median remote records of the algorithm's supersteps
        r=$(grep -E '^(wcc|pagerank|lpa|local moving) ' "$e" | awk '{print $(NF-3)}' | sort -n |
            awk '{a[NR]=$1} END {if (NR) printf "%.3f M (%d supersteps)", a[int((NR+1)/2)]/1e6, NR}')
        x=$(echo "${t% s} $ta" | awk '{if ($2 > 0) printf "%.1f×", $1 / $2}')
        note "cluster $algo $cfg: $(grep -E "^$algo on" "$e"); $q; $steps supersteps; peak $(peak "$e"); load $l"
        echo "| $algo | cluster ${procs}×${wpp} | $(wall "$e") | $t | $x | $(peak "$e") | $r | ${q:-—} | $l |" >> "$table"
    done
done
note "# done $(date -u +%FT%TZ) in $(( $(date +%s) - start )) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$table"
