#!/bin/sh
# Scale-out benchmark, run by hand (not in CI): the same job on 1, 2 and 4 `fraudnet cluster`
# processes on loopback, beside the single-process in-memory algorithms (`fraudnet analyze`) on the
# same edge list, in one run.
#
#   benches/cluster.sh FRAUDNET_BINARY EDGELIST WORKDIR [WORKERS_PER_PROCESS]
#
# EDGELIST is `u v` per line (e.g. a 1M-node / 10M-edge planted-partition graph). WORKDIR receives
# the export (8 partitions), one JSON summary per run (`NAME.json`, with the records and bytes sent
# per superstep) and `bench.log` (times, load averages, peak memory). Ports 47100-47103 must be free.
set -eu
bin=$1; el=$2; work=$3; wpp=${4:-1}
mkdir -p "$work"
log="$work/bench.log"
: > "$log"
note() { echo "$*" | tee -a "$log"; }
peak() { grep -o 'Maximum resident set size (kbytes): [0-9]*' "$1" | grep -o '[0-9]*$'; }

note "# $(date -u +%FT%TZ) $(nproc) cores; $bin; $el"
if [ ! -f "$work/export/manifest.json" ]; then
    /usr/bin/time -v "$bin" export --edges --partitions 8 --edgelist "$el" "$work/export" \
        2> "$work/export.err" > /dev/null
    note "export: $(grep -E '^exported' "$work/export.err"); peak $(peak "$work/export.err") KiB"
fi
m="$work/export/manifest.json"

for algo in wcc pagerank lpa leiden; do
    # single process, in memory (the reference)
    note "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v "$bin" analyze --edgelist "$el" --algo "$algo" --threads 2 \
        2> "$work/analyze-$algo.err" > /dev/null
    note "analyze $algo: $(grep -E '^(graph:|algorithm|communities)' "$work/analyze-$algo.err" | tr '\n' ' ')" \
        "wall $(grep 'Elapsed (wall' "$work/analyze-$algo.err" | awk '{print $NF}'); peak $(peak "$work/analyze-$algo.err") KiB"
    for procs in 1 2 4; do
        hosts="$work/hosts-$procs"
        : > "$hosts"
        i=0
        while [ $i -lt $procs ]; do echo "127.0.0.1:$((47100 + i))" >> "$hosts"; i=$((i + 1)); done
        note "load: $(cut -d' ' -f1-3 /proc/loadavg)"
        i=$((procs - 1))
        while [ $i -gt 0 ]; do
            "$bin" cluster --algo "$algo" --manifest "$m" --hostfile "$hosts" --process $i \
                --workers "$wpp" > /dev/null 2> "$work/$algo-$procs-p$i.err" &
            i=$((i - 1))
        done
        /usr/bin/time -v "$bin" cluster --algo "$algo" --manifest "$m" --hostfile "$hosts" \
            --process 0 --workers "$wpp" --json > "$work/$algo-$procs.json" 2> "$work/$algo-$procs.err"
        wait
        note "cluster $algo ${procs}x$wpp: $(grep -E "^$algo on|^communities" "$work/$algo-$procs.err" | tr '\n' ' ')" \
            "wall $(grep 'Elapsed (wall' "$work/$algo-$procs.err" | awk '{print $NF}'); peak of process 0 $(peak "$work/$algo-$procs.err") KiB"
    done
done
note "# done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
