use super::record::*;
use super::writer::{self, Writer};
use crate::model::ident::{bank_account, imei, phone, resident_id, Normalized};
use crate::model::{EntityKind, Flags, LinkKind, Roles, Status};
use crate::store::{Direction, Store};
use std::sync::Arc;

fn origin(line: u64) -> Origin {
    Origin {
        file: Arc::from("test.csv"),
        line,
        label: Some("移动".to_string()),
    }
}

fn call(a: &str, b: &str, t: i64, dur: i64) -> Record {
    Record::Call(Call {
        imei: Some(imei("490154203237518").unwrap()),
        ..Call::between(phone(a).unwrap(), phone(b).unwrap(), t, dur)
    })
}

fn transfer(a: &str, b: &str, amount: i64, t: i64) -> Record {
    Record::Transfer(Transfer {
        from_name: Some("张三".into()),
        ..Transfer::between(
            bank_account(a).unwrap(),
            bank_account(b).unwrap(),
            amount,
            t,
        )
    })
}

fn person(id: &str, alias: &str, phone_no: &str) -> Record {
    let mut roles = Roles::default();
    roles.insert_name("returnee");
    Record::Person(Person {
        key: resident_id(id).unwrap(),
        aliases: vec![Normalized {
            kind: EntityKind::Person,
            key: alias.into(),
            flags: Flags::default(),
        }],
        name: Some("李四".into()),
        roles,
        statuses: vec![(Status::Returned, 1_700_000_000)],
        owns: vec![phone(phone_no).unwrap()],
        notes: None,
    })
}

fn sample_rows() -> Vec<(Origin, Record)> {
    vec![
        (
            origin(2),
            person("11010519491231002X", "P-1", "13800138000"),
        ),
        (
            origin(3),
            call("13800138000", "+95 9 4501 2345", 1_700_000_100, 60),
        ),
        // the same call from the other party's record
        (
            origin(4),
            call("+86 138 0013 8000", "0095945012345", 1_700_000_100, 60),
        ),
        (
            origin(5),
            transfer(
                "6222021234567890128",
                "6222 0212 3456 7890 136",
                500_000,
                1_700_000_200,
            ),
        ),
        (
            origin(6),
            transfer(
                "6222021234567890128",
                "6222021234567890136",
                500_000,
                1_700_000_200,
            ),
        ),
        (
            origin(7),
            transfer(
                "6222021234567890128",
                "6222021234567890136",
                100,
                1_700_000_200,
            ),
        ),
    ]
}

#[test]
fn same_facts_twice_add_nothing() {
    let store = Store::in_memory();
    let rows = sample_rows();
    let c = Writer::write_all(&store, &rows).unwrap();
    // person, phone, foreign phone, device, two accounts
    assert_eq!(c.entities_new, 6);
    // owns, call, device_of, two transfers of different amounts
    assert_eq!(c.evidence_new, 5);
    assert_eq!(c.evidence_duplicate, 3);
    assert_eq!(c.links_new, 4);
    let stats = store.stats().unwrap();

    // Two runs of one chunk each.
    let mut again = Writer::new(&store, 1).unwrap();
    again.write_chunk(&rows[..3]).unwrap();
    again.write_chunk(&rows[3..]).unwrap();
    again.finish().unwrap();
    assert_eq!(again.counts().entities_new, 0);
    assert_eq!(again.counts().evidence_new, 0);
    assert_eq!(store.stats().unwrap(), stats);

    let pid = store
        .lookup(EntityKind::Person, "11010519491231002X")
        .unwrap()
        .unwrap();
    assert_eq!(store.lookup(EntityKind::Person, "P-1").unwrap(), Some(pid));
    let p = store.entity(pid).unwrap().unwrap();
    assert_eq!(p.label.as_deref(), Some("李四"));
    assert!(p.roles.contains("returnee"));
    let owned = store.links_of(pid, Direction::Out, 10).unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].0.kind, LinkKind::OWNS);
    let acct = store
        .lookup(EntityKind::Account, "6222021234567890128")
        .unwrap()
        .unwrap();
    assert_eq!(
        store.entity(acct).unwrap().unwrap().label.as_deref(),
        Some("张三")
    );
    let out = store.links_of(acct, Direction::Out, 10).unwrap();
    assert_eq!(out[0].1.count, 2);
    assert_eq!(out[0].1.total, 500_100);
    let ev = store.evidence(&out[0].0, 10).unwrap();
    assert_eq!(ev.len(), 2);
    let src = store.source(ev[0].source).unwrap().unwrap();
    assert_eq!(
        (src.file.as_str(), src.label.as_deref()),
        ("test.csv", Some("移动"))
    );
    let foreign = store
        .lookup(EntityKind::Phone, "+95945012345")
        .unwrap()
        .unwrap();
    assert!(store
        .entity(foreign)
        .unwrap()
        .unwrap()
        .flags
        .contains(Flags::FOREIGN));
}

#[test]
fn custom_link_kinds_are_interned_once() {
    let store = Store::in_memory();
    let link = |from: &str| {
        Record::Link(Link {
            from: resident_id(from).unwrap(),
            to: resident_id("513101198201130014").unwrap(),
            kind: "Met_In_Hotel".into(),
            time: None,
            amount: None,
            note: Some("debrief 3".into()),
        })
    };
    let mut w = Writer::new(&store, 1).unwrap();
    w.write_chunk(&[(origin(2), link("11010519491231002X"))])
        .unwrap();
    w.write_chunk(&[(origin(3), link("34052419800101001X"))])
        .unwrap();
    w.finish().unwrap();
    let k = store.custom_link_kind("met_in_hotel").unwrap().unwrap();
    assert!(k.is_custom());
    assert_eq!(store.stats().unwrap().links.get(&k), Some(&2));
}

#[test]
fn pipelined_runs_store_what_one_run_stores() {
    let rows = sample_rows();
    let one = Store::in_memory();
    let want = Writer::write_all(&one, &rows).unwrap();

    // A run per row, each applied on the second thread while the next is gathered: later runs
    // name entities, links and evidence of the run in flight.
    let store = Store::in_memory();
    let write = |store: &Store| {
        writer::pipelined(store, 1, |w| {
            for r in rows.chunks(1) {
                w.write_chunk(r)?;
            }
            w.finish()?;
            Ok::<_, super::IngestError>(w.counts().clone())
        })
        .unwrap()
        .unwrap()
    };
    let got = write(&store);
    assert_eq!(got.entities_new, want.entities_new);
    assert_eq!(got.evidence_new, want.evidence_new);
    assert_eq!(got.links_new, want.links_new);
    assert_eq!(store.stats().unwrap(), one.stats().unwrap());
    assert_eq!(store.digest().unwrap(), one.digest().unwrap());

    let again = write(&store);
    assert_eq!(
        (again.entities_new, again.evidence_new, again.links_new),
        (0, 0, 0)
    );
    assert_eq!(store.digest().unwrap(), one.digest().unwrap());
}
