use super::*;
use crate::ingest::record::{Call, Origin, Person, Record};
use crate::ingest::writer::Writer;
use crate::model::ident::{phone, resident_id};
use std::sync::Arc;

fn store_with_calls() -> Store {
    let store = Store::in_memory();
    let o = |line| Origin {
        file: Arc::from("t.csv"),
        line,
        label: None,
    };
    let call = |a: &str, b: &str, t: i64| {
        Record::Call(Call::between(phone(a).unwrap(), phone(b).unwrap(), t, 30))
    };
    let rows = vec![
        (
            o(1),
            Record::Person(Person {
                key: resident_id("11010519491231002X").unwrap(),
                aliases: vec![],
                name: Some("王五".into()),
                roles: Roles::default(),
                statuses: vec![],
                owns: vec![phone("13800138000").unwrap()],
                notes: None,
            }),
        ),
        (o(2), call("13800138000", "13900139000", 100)),
        (o(3), call("13800138000", "13900139000", 200)),
        (o(4), call("13900139000", "+95945012345", 300)),
    ];
    Writer::write_all(&store, &rows).unwrap();
    store
}

#[test]
fn build_mirrors_the_store() {
    let store = store_with_calls();
    let (snap, report) = Snapshot::build(&store, 7).unwrap();
    assert_eq!(snap.generation(), 7);
    assert_eq!(report.nodes, 4);
    assert_eq!(report.links, 3);
    let a = snap.lookup(EntityKind::Phone, "+8613800138000").unwrap();
    let b = snap.lookup(EntityKind::Phone, "+8613900139000").unwrap();
    let out: Vec<_> = snap.out_links(a).map(|(t, l)| (t, *snap.link(l))).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, b);
    assert_eq!(
        (
            out[0].1.count,
            out[0].1.total,
            out[0].1.first,
            out[0].1.last
        ),
        (2, 60, 100, 200)
    );
    let ins: Vec<_> = snap
        .in_links(b)
        .map(|(s, l)| (s, snap.link_kind(l)))
        .collect();
    assert_eq!(ins, vec![(a, LinkKind::CALL)]);
    // the phone's owner reaches it from the in side
    let p = snap
        .lookup(EntityKind::Person, "11010519491231002X")
        .unwrap();
    assert!(snap
        .in_links(a)
        .any(|(s, l)| s == p && snap.link_kind(l) == LinkKind::OWNS));
    assert_eq!(snap.degree(b), 2);
    assert_eq!(snap.reference(p), "person:11010519491231002X");
    assert_eq!(snap.node(p).label, Some("王五"));
    // every link appears once in each direction
    let outs: usize = (0..snap.node_count() as Ix)
        .map(|v| snap.out_links(v).count())
        .sum();
    let inns: usize = (0..snap.node_count() as Ix)
        .map(|v| snap.in_links(v).count())
        .sum();
    assert_eq!((outs, inns), (3, 3));
}

#[test]
fn search_by_any_writing() {
    let store = store_with_calls();
    let (snap, _) = Snapshot::build(&store, 1).unwrap();
    let p = snap
        .lookup(EntityKind::Person, "11010519491231002X")
        .unwrap();
    let ph = snap.lookup(EntityKind::Phone, "+8613800138000").unwrap();
    assert_eq!(snap.search("王五", 10), vec![p]);
    assert_eq!(snap.search("138-0013-8000", 10)[0], ph);
    assert_eq!(snap.search("0013800", 10), vec![ph]);
    assert!(snap.search("", 10).is_empty());
    assert!(snap.search("nobody", 10).is_empty());
}

#[test]
fn from_edges_keeps_links_aligned() {
    let snap = Snapshot::from_edges(
        4,
        EntityKind::Person,
        LinkKind::CALL,
        &[(2, 1), (0, 3), (0, 1)],
    );
    let out0: Vec<Ix> = snap.out_links(0).map(|(t, _)| t).collect();
    assert_eq!(out0, vec![1, 3]);
    for v in 0..4 {
        for (t, l) in snap.out_links(v) {
            assert_eq!((snap.link(l).src, snap.link(l).dst), (v, t));
        }
        for (s, l) in snap.in_links(v) {
            assert_eq!((snap.link(l).src, snap.link(l).dst), (s, v));
        }
    }
}

#[test]
fn a_memo_is_computed_once_per_snapshot() {
    struct Degrees(usize);
    let snap = Snapshot::from_edges(3, EntityKind::Phone, LinkKind::CALL, &[(0, 1), (1, 2)]);
    let mut calls = 0;
    let a = snap.memo(|s| {
        calls += 1;
        Degrees((0..3).map(|v| s.degree(v)).sum())
    });
    let b = snap.memo(|_| {
        calls += 1;
        Degrees(0)
    });
    assert_eq!((a.0, b.0, calls), (4, 4, 1));
}
