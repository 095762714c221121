#!/bin/sh
# LFR benchmark, run by hand (not in CI): normalized mutual information with the planted
# communities, ours (`fraudnet analyze --algo leiden`) beside igraph's Leiden, on networkx's LFR
# graphs (n = 10,000, mu 0.1 to 0.5; parameters in benches/lfr_gen.py), in one run.
#
#   cargo build --release --bin fraudnet
#   benches/lfr.sh target/release/fraudnet PEERS_PYTHON PEERS_SCRIPTS WORKDIR [MU...]
#
# PEERS_PYTHON is the python of an environment with networkx, numpy and igraph; PEERS_SCRIPTS the
# folder holding the peers' peers_bench.py (its `ig_leiden` task: igraph's default 2 iterations).
# The graphs are generated once into WORKDIR (kept; delete them to regenerate), which also gets
# `lfr.log` and, printed at the end, `table.md`: per mu the median NMI and modularity over RUNS
# (default 5) seeds of ours (`--seed 0..RUNS-1`), of igraph's Leiden (2 iterations, the peers'
# task, `--runs RUNS`) and of igraph's Leiden run to convergence (`n_iterations=-1`, from the
# generator), and the load average. One seed's NMI varies by about 0.01 on these graphs, hence
# medians. Modularity is computed by each tool on the same graph. A few minutes on 2 cores.
set -eu
bin=$1; py=$2; scripts=$3; work=$4; shift 4
mus=${*:-0.1 0.2 0.3 0.4 0.5}
runs=${RUNS:-5}
here=$(dirname "$0")
mkdir -p "$work"
log="$work/lfr.log"; table="$work/table.md"
: > "$log"
note() { echo "$*" | tee -a "$log"; }
load() { cut -d' ' -f1 /proc/loadavg; }
field() { grep -o "\"$1\": [0-9.]*" "$2" | tail -1 | awk '{print $2}'; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

note "# $(date -u +%FT%TZ) $(nproc) cores; $bin"
for mu in $mus; do
    if [ ! -f "$work/lfr_mu$mu.meta.json" ] || [ ! -f "$work/lfr_mu$mu.conv.json" ]; then
        "$py" "$here/lfr_gen.py" "$work" "$runs" "$mu" > "$work/lfr_mu$mu.conv.json"
    fi
done
{
    echo "| mu | NMI ours | NMI igraph (2 it.) | NMI igraph (converged) | modularity ours | igraph (2 it.) | igraph (converged) | communities ours / planted | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
} > "$table"
for mu in $mus; do
    g="lfr_mu$mu"
    l=$(load)
    : > "$work/$g.ours.txt"
    s=0
    while [ $s -lt "$runs" ]; do
        "$bin" analyze --edgelist "$work/$g.el" --algo leiden --seed $s --truth "$work/$g.gt" \
            2> "$work/$g.ours.err" > /dev/null
        echo "$(grep -oE 'modularity [0-9.]+' "$work/$g.ours.err" | awk '{print $2}') \
$(grep -E '^NMI' "$work/$g.ours.err" | awk '{print $NF}') \
$(grep -oE '^communities: [0-9]+' "$work/$g.ours.err" | awk '{print $2}')" >> "$work/$g.ours.txt"
        s=$((s + 1))
    done
    q=$(awk '{print $1}' "$work/$g.ours.txt" | median)
    nmi=$(awk '{print $2}' "$work/$g.ours.txt" | median)
    k=$(awk '{print $3}' "$work/$g.ours.txt" | median)
    PEERS_DATA="$work" BENCH_THREADS="${BENCH_THREADS:-2}" BENCH_QUIET_WAIT=0 \
        "$py" "$scripts/peers_bench.py" --graph "$g" --task ig_leiden --runs "$runs" \
        --out "$work/$g.ig.jsonl" 2> "$work/$g.ig.err" > "$work/$g.ig.json"
    c="$work/$g.conv.json"
    note "mu $mu: ours (Q NMI communities per seed) $(tr '\n' ';' < "$work/$g.ours.txt") median NMI $nmi Q $q; igraph $(cat "$work/$g.ig.json"); converged $(cat "$c"); load $l"
    echo "| $mu | $nmi | $(field nmi "$work/$g.ig.json") | $(field ig_conv_nmi "$c") | $q | $(field Q "$work/$g.ig.json") | $(field ig_conv_q "$c") | $k / $(field communities "$c") | $l |" >> "$table"
done
cat "$table"
