"""NetworKit's 3-hop neighbourhood, as a task of the peers' benchmark script.

The peers' script times igraph's and scipy's 3-hop from its seeds, but has no NetworKit task: NetworKit's
Python API has no depth-limited BFS. Its full BFS (`distance.BFS`, task `bfs_nk`) visits the whole
graph, and growing the ball with `graphtools.subgraphAndNeighborsFromNodes` builds a graph of the full
node range per hop (seconds per seed on 1M nodes). What an analyst would write is a frontier loop over
the C++ graph's `iterNeighbors`, as the peers' script does for rustworkx; that is this task. The file
registers it as `khop3_nk` and hands over to the peers' script, so loading, seeds, timing and the JSON
line are exactly theirs.

    python benches/khop3_nk.py PEERS_SCRIPTS --graph GRAPH [--runs N] [--out FILE]
"""
import sys
import time

sys.path.insert(0, sys.argv.pop(1))
import peers_bench as p  # noqa: E402


def khop3_nk(g, i):
    G = g.nk()
    sizes, times = [], []
    for s in p.seeds(g):
        t = time.perf_counter()
        seen = {s}
        frontier = [s]
        for _ in range(3):
            nxt = []
            for u in frontier:
                for w in G.iterNeighbors(u):
                    if w not in seen:
                        seen.add(w)
                        nxt.append(w)
            frontier = nxt
        times.append(time.perf_counter() - t)
        sizes.append(len(seen))
    return {"sizes": sizes, "per_seed_s": times}


p.TASKS["khop3_nk"] = khop3_nk
sys.argv[0] = "peers_bench.py"
# argparse's choices were fixed when main() builds them from TASKS, so the new task is accepted.
p.main()
