#!/bin/sh
# Side-by-side benchmark, run by hand (not in CI): the peers' tasks (igraph, NetworKit, scipy, from
# the peers' benchmark script) and ours (`cargo bench --bench algo`) on the same edge list, one
# after the other in one run, each line with the load average so figures can be read as ratios.
#
#   benches/peers.sh PEERS_PYTHON PEERS_SCRIPTS PEERS_DATA GRAPH WORKDIR [TASK...]
#
# PEERS_PYTHON is the python of an environment with the peers' packages; PEERS_SCRIPTS the folder
# holding peers_bench.py; PEERS_DATA the folder of GRAPH.el / .npy / .meta.json (and .gt when there
# is a ground truth). Our 3-hop runs from the same seeds as the peers' khop3 tasks (written to
# WORKDIR/seeds.txt). BENCH_THREADS (default 2) sets the peers' threads; ours use all cores, or
# RAYON_NUM_THREADS. FRAUDNET_BENCH_ALGOS limits our algorithms (see benches/algo.rs).
# Default tasks: NetworKit PLM and PLP, BFS (igraph, NetworKit, scipy), 3-hop (igraph, NetworKit,
# scipy), components (igraph, scipy), PageRank 20 iterations (scipy). `khop3_nk` is not in the peers'
# script: benches/khop3_nk.py adds it to that script's tasks and runs it there.
set -eu
py=$1; scripts=$2; data=$3; graph=$4; work=$5; shift 5
tasks=${*:-nk_plm nk_plp bfs_ig bfs_nk bfs_scipy khop3_ig khop3_nk khop3_scipy cc_ig cc_scipy pr_scipy20}
mkdir -p "$work"
log="$work/side_by_side.log"
: > "$log"
note() { echo "$*" | tee -a "$log"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

export PEERS_DATA="$data" BENCH_THREADS="${BENCH_THREADS:-2}"
note "# $(date -u +%FT%TZ) $(nproc) cores; graph $graph"
"$py" -c "import sys; sys.path.insert(0, sys.argv[1]); import peers_bench as p
print(' '.join(map(str, p.seeds(p.G(sys.argv[2])))))" "$scripts" "$graph" > "$work/seeds.txt"
note "3-hop seeds (the peers'): $(cat "$work/seeds.txt")"

for t in $tasks; do
    note "load $(load): peer $t"
    runner="$scripts/peers_bench.py"
    [ "$t" = khop3_nk ] && runner="$(dirname "$0")/khop3_nk.py $scripts"
    # shellcheck disable=SC2086 # $runner is a script and, for ours, its first argument
    "$py" $runner --graph "$graph" --task "$t" --runs 1 \
        --out "$work/peers.jsonl" 2> "$work/$t.err" | tee -a "$log"
done

note "load $(load): ours"
truth=""
[ -f "$data/$graph.gt" ] && truth="$data/$graph.gt"
FRAUDNET_BENCH_NODES=0 FRAUDNET_BENCH_EDGELIST="$data/$graph.el" FRAUDNET_BENCH_TRUTH="$truth" \
    FRAUDNET_BENCH_SEEDS="$work/seeds.txt" cargo bench --bench algo -- edgelist 2>&1 \
    | grep '^\[' | tee -a "$log"
note "load $(load): done"
