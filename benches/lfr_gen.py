#!/usr/bin/env python3
"""LFR benchmark graphs for `benches/lfr.sh`: networkx's generator, n = 10,000, mu 0.1 to 0.5.

    python benches/lfr_gen.py OUT RUNS [MU...]

Writes, per mu, OUT/lfr_mu{mu}.el (`u v` per line, 0-based), .gt (`node community`), .npy (the
edges as an (m, 2) array) and .meta.json, the files the peers' benchmark script reads, then prints
one JSON line per graph with the median NMI and modularity over RUNS seeds (Python's `random`
seeded 0, 1, ..., as the peers' script does) of igraph's Leiden run to convergence
(`n_iterations=-1`; the peers' script's `ig_leiden` task runs its default, 2 iterations).

Parameters are those of the peers' `lfr_small` (tau1 3, tau2 1.5, average degree 10, maximum
degree 50, communities of 20 to 100 nodes), seed 42; networkx's generator does not converge for
every parameter set, these generate for every mu from 0.1 to 0.5. Self-loops are removed; a node
belongs to exactly one community (no overlap in this generator). Needs networkx, numpy, igraph.
"""
import json
import os
import random
import statistics
import sys
import time

import numpy as np

PARAMS = dict(n=10000, tau1=3, tau2=1.5, average_degree=10, max_degree=50,
              min_community=20, max_community=100, seed=42)


def main():
    import igraph as ig
    import networkx as nx

    out = sys.argv[1]
    runs = int(sys.argv[2])
    mus = [float(x) for x in sys.argv[3:]] or [0.1, 0.2, 0.3, 0.4, 0.5]
    os.makedirs(out, exist_ok=True)
    for mu in mus:
        name = f"{out}/lfr_mu{mu}"
        t = time.perf_counter()
        G = nx.LFR_benchmark_graph(mu=mu, **PARAMS)
        gen_s = time.perf_counter() - t
        G.remove_edges_from(nx.selfloop_edges(G))
        n = G.number_of_nodes()
        memb = np.full(n, -1, dtype=np.int64)
        seen = {}
        for v in range(n):
            memb[v] = seen.setdefault(frozenset(G.nodes[v]["community"]), len(seen))
        E = np.array(sorted((min(u, v), max(u, v)) for u, v in G.edges()), dtype=np.int64)
        np.savetxt(name + ".el", E, fmt="%d")
        np.savetxt(name + ".gt", np.column_stack([np.arange(n), memb]), fmt="%d")
        np.save(name + ".npy", E)
        with open(name + ".meta.json", "w") as f:
            json.dump(dict(n=n, m=len(E), communities=len(seen), mu=mu,
                           generator="networkx.LFR_benchmark_graph", params=PARAMS,
                           gen_seconds=round(gen_s, 2)), f)
        g = ig.Graph(n=n, edges=E.tolist())
        nmis, qs = [], []
        for i in range(runs):
            random.seed(i)
            p = g.community_leiden(objective_function="modularity", n_iterations=-1)
            nmis.append(ig.compare_communities(p.membership, memb.tolist(), method="nmi"))
            qs.append(g.modularity(p.membership))
        print(json.dumps({"mu": mu, "n": n, "m": len(E), "communities": len(seen), "runs": runs,
                          "ig_conv_nmi": round(statistics.median(nmis), 4),
                          "ig_conv_q": round(statistics.median(qs), 4)}), flush=True)

if __name__ == "__main__":
    main()
