//! One conformance suite, run against both backends.

use super::*;

fn rocks() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    (dir, s)
}

fn link(src: u64, kind: LinkKind, dst: u64) -> LinkKey {
    LinkKey {
        src: EntityId(src),
        kind,
        dst: EntityId(dst),
    }
}

fn suite(store: &Store) {
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut b = Batch::default();
    let mut rec = EntityRecord::new(
        EntityKind::Person,
        "11010519491231002X".into(),
        Flags::default(),
    );
    rec.label = Some("张三".into());
    rec.roles.insert_name("returnee");
    rec.statuses.push((Status::Returned, 1_700_000_000));
    b.put_entity(EntityId(1), &rec);
    b.put_ident(EntityKind::Person, "11010519491231002X", EntityId(1));
    b.put_entity(
        EntityId(2),
        &EntityRecord::new(EntityKind::Phone, "+8613800138000".into(), Flags::default()),
    );
    b.put_ident(EntityKind::Phone, "+8613800138000", EntityId(2));
    let l = link(2, LinkKind::CALL, 1);
    let mut agg = LinkAgg::default();
    agg.add(60, Some(-5));
    agg.add(30, Some(100));
    b.put_link(&l, &agg);
    b.put_link(&link(1, LinkKind::OWNS, 2), &LinkAgg::default());
    let ev = Evidence {
        key: EvidenceKey {
            link: l,
            time: Some(-5),
            disc: 7,
        },
        value: 60,
        source: SourceId(1),
        line: 12,
        record_id: Some("TX1".into()),
        detail: None,
    };
    let ev2 = Evidence {
        key: EvidenceKey {
            link: l,
            time: None,
            disc: 0,
        },
        ..ev.clone()
    };
    b.put_evidence(&ev);
    b.put_evidence(&ev2);
    b.put_source(
        SourceId(1),
        &SourceRecord {
            file: "calls.csv".into(),
            label: Some("移动".into()),
        },
    );
    b.put_link_kind("met_in_hotel", LinkKind(1000));
    let mut stats = Stats::default();
    stats.entities.insert(EntityKind::Person, 1);
    stats.links.insert(LinkKind::CALL, 1);
    b.put_counters(3, 2, 1001, &stats);
    b.put_doc("casemaps", "a", b"{}");
    store.write(b).unwrap();

    assert_eq!(store.entity(EntityId(1)).unwrap(), Some(rec));
    assert_eq!(
        store.lookup(EntityKind::Phone, "+8613800138000").unwrap(),
        Some(EntityId(2))
    );
    assert_eq!(store.lookup(EntityKind::Phone, "+86138").unwrap(), None);
    assert_eq!(store.stats().unwrap(), stats);
    assert_eq!(
        store.counters().unwrap(),
        Counters {
            next_entity: 3,
            next_source: 2,
            next_kind: 1001
        }
    );
    let outs = store.links_of(EntityId(2), Direction::Out, 10).unwrap();
    assert_eq!(outs, vec![(l, agg)]);
    let ins = store.links_of(EntityId(1), Direction::In, 10).unwrap();
    assert_eq!(ins, vec![(l, agg)]);
    assert_eq!(
        store.links_many(&[l, link(9, LinkKind::CALL, 1)]).unwrap(),
        vec![Some(agg), None]
    );
    // evidence comes back in time order, an unknown time first
    assert_eq!(
        store.evidence(&l, 10).unwrap(),
        vec![ev2.clone(), ev.clone()]
    );
    assert_eq!(
        store
            .evidence_exists(&[ev.key, EvidenceKey { disc: 8, ..ev.key }])
            .unwrap(),
        vec![true, false]
    );
    assert_eq!(
        store.source_id("calls.csv", Some("移动")).unwrap(),
        Some(SourceId(1))
    );
    assert_eq!(
        store.source(SourceId(1)).unwrap().unwrap().file,
        "calls.csv"
    );
    assert_eq!(
        store.custom_link_kind("met_in_hotel").unwrap(),
        Some(LinkKind(1000))
    );
    assert_eq!(
        store.link_kind_name(LinkKind(1000)).unwrap(),
        "met_in_hotel"
    );
    assert_eq!(store.link_kind_name(LinkKind::CALL).unwrap(), "call");
    let mut seen = Vec::new();
    store
        .scan_links(EntityId(0), EntityId(u64::MAX), |k, _| seen.push(k))
        .unwrap();
    assert_eq!(seen, vec![link(1, LinkKind::OWNS, 2), l]);
    let mut ents = Vec::new();
    store
        .scan_entities(EntityId(2), EntityId(10), |id, _| ents.push(id))
        .unwrap();
    assert_eq!(ents, vec![EntityId(2)]);
    assert_eq!(
        store.scan_docs("casemaps").unwrap(),
        vec![("a".to_string(), b"{}".to_vec())]
    );
    assert!(store.scan_docs("casemap").unwrap().is_empty());
    store.delete_doc("casemaps", "a").unwrap();
    assert_eq!(store.get_doc("casemaps", "a").unwrap(), None);
}

#[test]
fn memory_backend_conforms() {
    suite(&Store::in_memory());
}

#[test]
fn rocks_backend_conforms_and_persists() {
    let (dir, store) = rocks();
    suite(&store);
    drop(store);
    let again = Store::open(dir.path()).unwrap();
    assert_eq!(
        again.lookup(EntityKind::Phone, "+8613800138000").unwrap(),
        Some(EntityId(2))
    );
    drop(again);
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(
        ro.entity(EntityId(2)).unwrap().unwrap().key,
        "+8613800138000"
    );
}

#[test]
fn newer_schema_is_refused() {
    let (dir, store) = rocks();
    store
        .kv
        .write(vec![Op::Put(
            Cf::Meta,
            META_SCHEMA.to_vec(),
            99u64.to_be_bytes().to_vec(),
        )])
        .unwrap();
    drop(store);
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("newer fraudnet"));
}

#[test]
fn second_writer_is_told_the_store_is_locked() {
    let (dir, _store) = rocks();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
}

#[test]
fn missing_store_for_reading() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open_read_only(&dir.path().join("nope")),
        Err(StoreError::Missing(_))
    ));
}

#[test]
fn a_store_is_created_whole_beside_its_directory_and_renamed_in() {
    let dir = tempfile::tempdir().unwrap();
    // An abandoned half-built store of a process that is gone (no such process id).
    let abandoned = dir.path().join(".db.creating-4000000000");
    std::fs::create_dir_all(abandoned.join("junk")).unwrap();
    let db = dir.path().join("db");
    drop(Store::open(&db).unwrap());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["db".to_string()], "only the store is left");
    // Every column family exists, so a reader opens it.
    Store::open_read_only(&db).unwrap().stats().unwrap();
}

#[test]
fn an_empty_directory_becomes_a_store_and_a_foreign_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    drop(Store::open(&empty).unwrap());
    assert!(empty.join("CURRENT").exists());

    let foreign = dir.path().join("papers");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "not a store").unwrap();
    let err = Store::open(&foreign).err().unwrap();
    assert!(err.to_string().contains("no fraudnet store"), "{err}");
    assert!(
        foreign.join("notes.txt").exists(),
        "nothing of theirs is touched"
    );
}

#[test]
fn corrupt_values_are_errors_not_panics() {
    let store = Store::in_memory();
    store
        .kv
        .write(vec![Op::Put(
            Cf::Entities,
            5u64.to_be_bytes().to_vec(),
            vec![1, 2],
        )])
        .unwrap();
    assert!(matches!(
        store.entity(EntityId(5)),
        Err(StoreError::Corruption(_))
    ));
}

#[test]
fn ordered_i64_preserves_order() {
    let vals = [i64::MIN, -10, -1, 0, 1, 1_700_000_000, i64::MAX];
    for w in vals.windows(2) {
        assert!(codec::ordered_i64(w[0]) < codec::ordered_i64(w[1]));
        assert_eq!(codec::from_ordered_i64(codec::ordered_i64(w[0])), w[0]);
    }
}

#[test]
fn check_finds_a_store_sound_and_a_broken_one_broken() {
    let store = Store::in_memory();
    let rows = vec![(
        crate::ingest::record::Origin {
            file: std::sync::Arc::from("x.csv"),
            line: 2,
            label: None,
        },
        crate::ingest::record::Record::Transfer(crate::ingest::record::Transfer::between(
            crate::model::ident::bank_account("6222021234567890128").unwrap(),
            crate::model::ident::bank_account("6222021234567890136").unwrap(),
            100,
            5,
        )),
    )];
    crate::ingest::writer::Writer::write_all(&store, &rows).unwrap();
    let rep = store.check().unwrap();
    assert!(rep.is_sound(), "{:?}", rep.problems);
    assert_eq!((rep.entities, rep.links, rep.evidence), (2, 1, 1));
    // lose the in-direction of the link
    let l = store.links_of(EntityId(1), Direction::Out, 1).unwrap()[0].0;
    store
        .kv
        .write(vec![Op::Delete(Cf::In, l.in_key())])
        .unwrap();
    let rep = store.check().unwrap();
    assert!(!rep.is_sound());
    assert!(
        rep.problems.iter().any(|p| p.contains("in-links")),
        "{:?}",
        rep.problems
    );
}

/// A two-entity case written with the given ids for the phone and the person.
fn tiny_case(store: &Store, phone: u64, person: u64, duration: i64) {
    let mut b = Batch::default();
    b.put_entity(
        EntityId(phone),
        &EntityRecord::new(EntityKind::Phone, "+8613800138000".into(), Flags::default()),
    );
    b.put_ident(EntityKind::Phone, "+8613800138000", EntityId(phone));
    b.put_entity(
        EntityId(person),
        &EntityRecord::new(
            EntityKind::Person,
            "11010519491231002X".into(),
            Flags::default(),
        ),
    );
    b.put_ident(EntityKind::Person, "11010519491231002X", EntityId(person));
    let l = link(phone, LinkKind::CALL, person);
    let mut agg = LinkAgg::default();
    agg.add(duration, Some(10));
    b.put_link(&l, &agg);
    b.put_source(
        SourceId(1),
        &SourceRecord {
            file: "calls.csv".into(),
            label: None,
        },
    );
    b.put_evidence(&Evidence {
        key: EvidenceKey {
            link: l,
            time: Some(10),
            disc: 0,
        },
        value: duration,
        source: SourceId(1),
        line: 2,
        record_id: None,
        detail: None,
    });
    let mut stats = Stats {
        sources: 1,
        ..Stats::default()
    };
    stats.entities.insert(EntityKind::Phone, 1);
    stats.entities.insert(EntityKind::Person, 1);
    stats.links.insert(LinkKind::CALL, 1);
    stats.evidence.insert(LinkKind::CALL, 1);
    b.put_counters(phone.max(person) + 1, 2, LinkKind::FIRST_CUSTOM, &stats);
    store.write(b).unwrap();
}

#[test]
fn digest_names_content_not_ids() {
    let (a, b, c) = (Store::in_memory(), Store::in_memory(), Store::in_memory());
    tiny_case(&a, 1, 2, 60);
    tiny_case(&b, 7, 3, 60);
    tiny_case(&c, 1, 2, 61);
    let (da, db, dc) = (
        a.digest().unwrap(),
        b.digest().unwrap(),
        c.digest().unwrap(),
    );
    assert_eq!(da, db);
    assert_ne!(da.hex, dc.hex);
    assert_eq!(
        (da.entities, da.idents, da.links, da.evidence),
        (2, 2, 1, 1)
    );
    assert_ne!(da.hex, Store::in_memory().digest().unwrap().hex);
}

#[test]
fn backup_and_restore_round_trip() {
    let (dir, store) = rocks();
    tiny_case(&store, 1, 2, 60);
    let want = store.digest().unwrap();
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("backup");
    store.backup(&backup).unwrap();
    assert!(store.backup(&backup).is_err(), "a backup never overwrites");
    // Restoring over a store that is open is refused and leaves it alone.
    let refused = Store::restore(&backup, dir.path());
    assert!(matches!(refused, Err(StoreError::Locked(_))), "{refused:?}");
    drop(store);
    let dest = work.path().join("db");
    assert_eq!(Store::restore(&backup, &dest).unwrap(), None);
    assert_eq!(Store::open(&dest).unwrap().digest().unwrap(), want);
    // Over an existing store: the old one is kept aside.
    let kept = Store::restore(&backup, &dest)
        .unwrap()
        .expect("old store kept");
    assert!(kept.join("CURRENT").exists());
    assert_eq!(
        Store::open_read_only(&dest).unwrap().digest().unwrap(),
        want
    );
    // A directory that is no store is refused.
    assert!(Store::restore(work.path(), &work.path().join("x")).is_err());
}

#[test]
fn a_run_cut_short_is_completed_on_open() {
    let (dir, store) = rocks();
    let l = link(2, LinkKind::CALL, 1);
    let mut agg = LinkAgg::default();
    agg.add(60, Some(5));
    let mut ev = EvidenceRun::default();
    ev.push(&Evidence {
        key: EvidenceKey {
            link: l,
            time: Some(5),
            disc: 0,
        },
        value: 60,
        source: SourceId(1),
        line: 2,
        record_id: None,
        detail: None,
    });
    ev.sort_dedup();
    let mut run = store.begin_run();
    store.stage_evidence(&mut run, &ev).unwrap();
    store.stage_links(&mut run, &[(l, agg)]).unwrap();
    let mut batch = Batch::default();
    let mut stats = Stats::default();
    stats.links.insert(LinkKind::CALL, 1);
    stats.evidence.insert(LinkKind::CALL, 1);
    batch.put_counters(3, 2, LinkKind::FIRST_CUSTOM, &stats);
    // The commit record is written and one family of three ingested, then the writer "dies".
    let Kv::Rocks(r) = &store.kv else {
        unreachable!()
    };
    r.commit_run_ingesting(run.staged, batch.ops, 1).unwrap();
    drop(store);
    // A reader completes it (no writer holds the store) before it reads.
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.stats().unwrap(), stats);
    assert_eq!(ro.links_many(&[l]).unwrap(), vec![Some(agg)]);
    assert_eq!(
        ro.links_of(EntityId(1), Direction::In, 10).unwrap().len(),
        1
    );
    assert_eq!(ro.evidence(&l, 10).unwrap().len(), 1);
    drop(ro);
    let again = Store::open(dir.path()).unwrap();
    assert!(!again.kv.run_pending().unwrap());
    assert!(!dir.path().join("staging").exists());
}

#[test]
fn evidence_pushed_from_parts_is_encoded_as_the_record() {
    let key = EvidenceKey {
        link: link(1, LinkKind::TRANSFER, 2),
        time: Some(9),
        disc: 3,
    };
    type Parts<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Parts, Option<&str>); 3] = [
        (&[], None),
        (&[("cell ", "4601")], Some("cell 4601")),
        (
            &[("", "网银"), ("", ""), ("IP ", "10.0.0.1")],
            Some("网银 ·  · IP 10.0.0.1"),
        ),
    ];
    for (parts, joined) in cases {
        let mut run = EvidenceRun::default();
        run.push_parts(key, 500, (SourceId(4), 7), Some("tx1"), parts);
        let rec = Evidence {
            key,
            value: 500,
            source: SourceId(4),
            line: 7,
            record_id: Some("tx1".into()),
            detail: joined.map(str::to_string),
        };
        let bytes = run.value_bytes(&run.rows[0]);
        assert_eq!(bytes, rec.encode_value().as_slice());
        assert_eq!(Evidence::decode(&key.encode(), bytes).unwrap(), rec);
    }
}
