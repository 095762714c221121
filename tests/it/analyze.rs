//! `fraudnet analyze` and `fraudnet export` on edge-list files that are not clean or not there.

use crate::support::Dir;

#[test]
fn a_malformed_edge_list_keeps_its_good_lines_and_sets_the_bad_aside() {
    let dir = Dir::new();
    std::fs::write(
        dir.join("g.el"),
        "# two triangles and bad lines\n1 2\n2 3\n3 1\n4\n4 5 -2\n4 5\n5 6 nan\n5 6\n6 4\n\n",
    )
    .unwrap();
    let out = dir.run(&[
        "analyze",
        "--edgelist",
        "g.el",
        "--algo",
        "wcc",
        "--out",
        "m.txt",
        "--rejects",
        "bad.tsv",
    ]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [5, 6, 8] {
        assert!(err.contains(&format!("g.el:{line}: rejected")), "{err}");
    }
    assert!(err.contains("3 lines rejected, 6 edges read"), "{err}");
    let rejects = std::fs::read_to_string(dir.join("bad.tsv")).unwrap();
    let lines: Vec<&str> = rejects
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(lines, ["5", "6", "8"]);
    assert!(rejects.contains("\t5 6 nan"), "{rejects}");
    // Every node of a good line is in the membership, the two triangles apart.
    let membership = std::fs::read_to_string(dir.join("m.txt")).unwrap();
    let mut comm = std::collections::HashMap::new();
    for l in membership.lines() {
        let (node, c) = l.split_once(' ').unwrap();
        comm.insert(node.to_owned(), c.to_owned());
    }
    assert_eq!(comm.len(), 6, "{membership}");
    assert_eq!(comm["1"], comm["3"]);
    assert_eq!(comm["4"], comm["6"]);
    assert_ne!(comm["1"], comm["4"]);
}

#[test]
fn a_missing_or_edgeless_edge_list_is_a_clear_error() {
    let dir = Dir::new();
    let out = dir.run(&["analyze", "--edgelist", "absent.el"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("opening absent.el"));
    std::fs::write(dir.join("words.el"), "a\nb\n").unwrap();
    let out = dir.run(&["analyze", "--edgelist", "words.el"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("words.el:1: rejected"), "{err}");
    assert!(err.contains("none of its 2 data lines is an edge"), "{err}");
}

#[test]
fn a_failed_export_leaves_nothing_behind_and_can_run_again() {
    let dir = Dir::new();
    let args = |input: &'static str| {
        [
            "export",
            "--edges",
            "--partitions",
            "2",
            "--edgelist",
            input,
            "out",
        ]
    };
    let out = dir.run(&args("absent.el"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("opening absent.el"));
    assert!(!dir.join("out").exists());
    std::fs::write(dir.join("g.el"), "0 1\n1 2\n").unwrap();
    dir.ok(&args("g.el"));
    assert!(dir.join("out/manifest.json").exists());
}

#[test]
fn leiden_on_an_edge_list_prints_the_time_of_every_level_and_phase() {
    let dir = Dir::new();
    // two 4-cliques joined by one edge
    let mut el = String::new();
    for base in [0, 4] {
        for a in 0..4 {
            for b in a + 1..4 {
                el.push_str(&format!("{} {}\n", base + a, base + b));
            }
        }
    }
    el.push_str("3 4\n");
    std::fs::write(dir.join("g.el"), el).unwrap();
    let out = dir.run(&["analyze", "--edgelist", "g.el", "--algo", "leiden"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("phases: local moving "), "{err}");
    assert!(
        err.contains("  pass 0 level 0: 8 nodes, 13 edges; "),
        "{err}"
    );
    assert!(err.contains("communities: 2;"), "{err}");
}
