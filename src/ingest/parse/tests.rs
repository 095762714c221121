use super::*;
use crate::model::time::parse_time;
use crate::model::{EntityKind, Roles, Status};
use proptest::prelude::*;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

struct All {
    layout: Layout,
    records: Vec<(Origin, Record)>,
    rejects: Vec<Reject>,
    notes: Vec<Note>,
    warnings: Vec<String>,
}

fn drain(mut p: FileParser, max_rows: usize) -> All {
    let mut all = All {
        layout: p.layout(),
        records: Vec::new(),
        rejects: Vec::new(),
        notes: Vec::new(),
        warnings: p.warnings().to_vec(),
    };
    while let Some(c) = p.next_chunk(max_rows).unwrap() {
        all.records.extend(c.records);
        all.rejects.extend(c.rejects);
        all.notes.extend(c.notes);
    }
    all
}

fn parse_file(rel: &str) -> All {
    drain(open(&fixture(rel)).unwrap().remove(0), 3)
}

fn parse_bytes(bytes: &[u8]) -> All {
    drain(
        FileParser::from_reader("mem.csv", Box::new(std::io::Cursor::new(bytes.to_vec()))).unwrap(),
        1000,
    )
}

fn key(kind: EntityKind, key: &str) -> (EntityKind, String) {
    (kind, key.to_string())
}

fn k(n: &Normalized) -> (EntityKind, String) {
    (n.kind, n.key.clone())
}

fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

fn rejects(all: &All) -> Vec<(u64, &'static str)> {
    all.rejects.iter().map(|r| (r.line, r.reason)).collect()
}

fn lines(all: &All) -> Vec<u64> {
    all.records.iter().map(|(o, _)| o.line).collect()
}

use crate::ingest::record::{Call, Transfer};
use crate::model::ident::Normalized;

fn call(r: &Record) -> &Call {
    match r {
        Record::Call(c) => c,
        other => panic!("not a call: {other:?}"),
    }
}

fn transfer(r: &Record) -> &Transfer {
    match r {
        Record::Transfer(t) => t,
        other => panic!("not a transfer: {other:?}"),
    }
}

#[test]
fn calls_fixture() {
    let all = parse_file("formats/calls.csv");
    assert_eq!(all.layout, Layout::Calls);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert_eq!(lines(&all), [2, 3, 4, 5, 6]);
    let (o, r) = &all.records[0];
    assert_eq!(&*o.file, fixture("formats/calls.csv").display().to_string());
    assert_eq!(o.label.as_deref(), Some("中国移动赣州分公司"));
    let c = call(r);
    assert_eq!(k(&c.caller), key(EntityKind::Phone, "+8613907971234"));
    assert_eq!(k(&c.callee), key(EntityKind::Phone, "+95945012345"));
    assert_eq!(c.time, t("2024-03-05 14:07:09"));
    assert_eq!(c.duration_s, 83);
    assert_eq!(
        c.imei.as_ref().map(k),
        Some(key(EntityKind::Device, "86012345678901"))
    );
    assert!(c.device_side_caller && !c.sms);
    assert_eq!(c.cell.as_deref(), Some("46000-25101-38211"));
    let c = call(&all.records[1].1);
    assert_eq!(k(&c.caller), key(EntityKind::Phone, "+8613800138000"));
    assert_eq!(
        (c.time, c.duration_s, c.imei.is_none()),
        (t("2024-03-05 22:41:00"), 0, true)
    );
    let c = call(&all.records[2].1);
    assert_eq!(k(&c.caller), key(EntityKind::Phone, "+8613800138000"));
    assert_eq!(k(&c.callee), key(EntityKind::Phone, "95588"));
    assert_eq!((c.duration_s, c.imei.is_none()), (83, true));
    let c = call(&all.records[3].1);
    assert_eq!(k(&c.callee), key(EntityKind::Phone, "+867976321234"));
    assert_eq!(c.duration_s, 605);
    let c = call(&all.records[4].1);
    assert_eq!(k(&c.caller), key(EntityKind::Phone, "+8613907971234"));
    assert_eq!(c.duration_s, 47);
}

#[test]
fn carrier_calls_fixture() {
    let all = parse_file("formats/carrier_calls.csv");
    assert_eq!(all.layout, Layout::CarrierCalls);
    assert!(
        all.rejects.is_empty() && all.warnings.is_empty(),
        "{:?} {:?}",
        all.rejects,
        all.warnings
    );
    let own = key(EntityKind::Phone, "+8613907971234");
    let c = call(&all.records[0].1);
    assert_eq!(
        (k(&c.caller), k(&c.callee)),
        (own.clone(), key(EntityKind::Phone, "+8613800138000"))
    );
    assert!(c.device_side_caller);
    assert_eq!(c.cell.as_deref(), Some("25101-38211"));
    assert_eq!(c.imsi.as_deref(), Some("460001234567890"));
    // 被叫: the other number called this one; the IMEI is still this number's (the callee's).
    let c = call(&all.records[1].1);
    assert_eq!(
        (k(&c.caller), k(&c.callee)),
        (key(EntityKind::Phone, "+95945012345"), own.clone())
    );
    assert!(!c.device_side_caller);
    assert_eq!(c.duration_s, 312);
    // 短信收 / 短信发
    let c = call(&all.records[2].1);
    assert!(c.sms && !c.device_side_caller);
    assert_eq!(k(&c.caller), key(EntityKind::Phone, "10086"));
    let c = call(&all.records[3].1);
    assert!(c.sms && c.device_side_caller);
    assert_eq!(
        c.imei.as_ref().map(k),
        Some(key(EntityKind::Device, "86012345678901"))
    );
    // 呼转: this number forwarded to the other
    let c = call(&all.records[4].1);
    assert_eq!(k(&c.caller), own);
    assert_eq!((c.cell.as_deref(), c.imei.as_ref()), (None, None));
}

#[test]
fn transfers_fixture() {
    let all = parse_file("formats/transfers.csv");
    assert_eq!(all.layout, Layout::Transfers);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert_eq!(all.records.len(), 4);
    let tr = transfer(&all.records[0].1);
    assert_eq!(k(&tr.from), key(EntityKind::Account, "6222021234567890128"));
    assert_eq!(k(&tr.to), key(EntityKind::Account, "6217009876543210981"));
    assert_eq!(tr.amount, 5_000_000);
    assert_eq!(tr.time, t("2024-03-05 14:20:11"));
    assert_eq!(tr.tx_id.as_deref(), Some("TX20240305000187"));
    assert_eq!(
        (tr.from_name.as_deref(), tr.to_name.as_deref()),
        (Some("王建国"), Some("李华"))
    );
    assert_eq!(tr.channel.as_deref(), Some("网银"));
    let tr = transfer(&all.records[3].1);
    assert_eq!(k(&tr.from), key(EntityKind::Account, "6228480012345678903"));
    assert_eq!(tr.amount, 980_050);
    assert_eq!(tr.time, t("2024-03-05 15:02:00"));
}

#[test]
fn bank_statement_fixture() {
    let all = parse_file("formats/bank_statement.csv");
    assert_eq!(all.layout, Layout::BankStatement);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert!(all.warnings.is_empty(), "{:?}", all.warnings);
    let own = key(EntityKind::Account, "6217009876543210981");
    // 进: money came in from the counterparty.
    let tr = transfer(&all.records[0].1);
    assert_eq!(
        (k(&tr.from), k(&tr.to)),
        (key(EntityKind::Account, "6222021234567890128"), own.clone())
    );
    assert_eq!((tr.amount, tr.ip.as_deref()), (5_000_000, None));
    assert_eq!(
        (tr.from_name.as_deref(), tr.to_name.as_deref()),
        (Some("王建国"), Some("李华"))
    );
    assert_eq!(tr.memo.as_deref(), Some("转账"));
    // 出
    let tr = transfer(&all.records[1].1);
    assert_eq!(
        (k(&tr.from), k(&tr.to)),
        (own.clone(), key(EntityKind::Account, "6228480012345678903"))
    );
    assert_eq!(tr.ip.as_deref(), Some("183.62.15.204"));
    assert_eq!(tr.mac.as_deref(), Some("A4:5E:60:E5:4F:2B"));
    // no flag, signed amount
    let tr = transfer(&all.records[2].1);
    assert_eq!((k(&tr.from), tr.amount), (own.clone(), 1_650_000));
    assert_eq!(tr.mac.as_deref(), Some("A4:5E:60:E5:4F:2B"));
    // ATM withdrawal: to cash
    let tr = transfer(&all.records[3].1);
    assert_eq!(
        (k(&tr.from), k(&tr.to)),
        (own.clone(), key(EntityKind::Org, "现金"))
    );
    // C from a payment platform named only by 对手户名
    let tr = transfer(&all.records[4].1);
    assert_eq!(
        k(&tr.from),
        key(EntityKind::Org, "支付宝（中国）网络技术有限公司")
    );
    assert_eq!(
        (k(&tr.to), tr.amount, tr.time),
        (own, 20_000, t("2024-03-06 09:12:00"))
    );
}

#[test]
fn persons_fixture() {
    let all = parse_file("formats/persons.csv");
    assert_eq!(all.layout, Layout::Persons);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert_eq!(all.records.len(), 4);
    let Record::Person(p) = &all.records[0].1 else {
        panic!()
    };
    assert_eq!(k(&p.key), key(EntityKind::Person, "360730199001011238"));
    assert_eq!(
        p.aliases.iter().map(k).collect::<Vec<_>>(),
        [key(EntityKind::Person, "P001")]
    );
    assert_eq!(p.name.as_deref(), Some("陈志强"));
    assert!(p.roles.contains("returnee") && p.roles.contains("suspect"));
    assert_eq!(
        p.statuses,
        [
            (Status::Returned, t("2024-05-01")),
            (Status::Detained, t("2024-06-10"))
        ]
    );
    let owns: Vec<_> = p.owns.iter().map(k).collect();
    assert_eq!(
        owns,
        [
            key(EntityKind::Phone, "+8613907971234"),
            key(EntityKind::Phone, "+8613907975678"),
            key(EntityKind::Account, "6222021234567890128"),
            key(EntityKind::Device, "86012345678901"),
            key(EntityKind::Wallet, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        ]
    );
    assert_eq!(all.records[0].0.label.as_deref(), Some("宁都县反诈中心"));
    let Record::Person(p) = &all.records[1].1 else {
        panic!()
    };
    assert!(p.roles.contains("mule") && p.roles.contains("card_farmer"));
    assert_eq!(p.owns.len(), 3);
    let Record::Person(p) = &all.records[2].1 else {
        panic!()
    };
    assert_eq!(k(&p.key), key(EntityKind::Person, "P003"));
    assert_eq!(p.statuses, [(Status::Returned, t("2024-05-20"))]);
    let Record::Person(p) = &all.records[3].1 else {
        panic!()
    };
    assert_eq!(p.roles, Roles(Roles::bit("recruiter").unwrap()));
}

#[test]
fn links_fixture() {
    let all = parse_file("formats/links.csv");
    assert_eq!(all.layout, Layout::Links);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    let link = |i: usize| match &all.records[i].1 {
        Record::Link(l) => l.clone(),
        other => panic!("{other:?}"),
    };
    let l = link(0);
    assert_eq!(
        (k(&l.from), k(&l.to)),
        (
            key(EntityKind::Person, "360730199001011238"),
            key(EntityKind::Person, "P003")
        )
    );
    assert_eq!(
        (l.kind.as_str(), l.time, l.amount),
        (
            "recruited",
            Some(t("2024-03-05")).map(|_| t("2023-08-02")),
            Some(500_000)
        )
    );
    assert_eq!(l.note.as_deref(), Some("介绍出境费用"));
    let l = link(1);
    assert_eq!((k(&l.to), l.time), (key(EntityKind::Org, "KK园区"), None));
    let l = link(2);
    assert_eq!(
        (k(&l.from), l.kind.as_str()),
        (key(EntityKind::Phone, "+8613800138000"), "owns")
    );
    assert_eq!(link(3).time, Some(t("2023-08-10 02:30:00")));
    assert_eq!(link(4).kind, "同村");
}

#[test]
fn ftm_fixture() {
    let all = parse_file("formats/entities.ftm.jsonl");
    assert_eq!(all.layout, Layout::FtmJsonl);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert_eq!(all.records.len(), 13);
    let Record::Person(p) = &all.records[0].1 else {
        panic!()
    };
    assert_eq!(k(&p.key), key(EntityKind::Person, "360730199001011238"));
    assert_eq!(
        p.owns.iter().map(k).collect::<Vec<_>>(),
        [key(EntityKind::Phone, "+8613907971234")]
    );
    let Record::Entity(e) = &all.records[2].1 else {
        panic!()
    };
    assert_eq!(
        (k(&e.id), e.label.as_deref()),
        (
            key(EntityKind::Account, "6222021234567890128"),
            Some("中国工商银行")
        )
    );
    let Record::Entity(e) = &all.records[4].1 else {
        panic!()
    };
    assert_eq!(e.id.kind, EntityKind::Wallet);
    let tr = transfer(&all.records[6].1);
    assert_eq!(
        (k(&tr.from), k(&tr.to)),
        (
            key(EntityKind::Account, "6222021234567890128"),
            key(EntityKind::Account, "6217009876543210981")
        )
    );
    assert_eq!((tr.amount, tr.time), (5_000_000, t("2024-03-05 14:20:11")));
    type Edge = (String, (EntityKind, String), (EntityKind, String));
    let kinds: Vec<Edge> = all.records[7..]
        .iter()
        .map(|(_, r)| match r {
            Record::Link(l) => (l.kind.clone(), k(&l.from), k(&l.to)),
            other => panic!("{other:?}"),
        })
        .collect();
    let chen = key(EntityKind::Person, "360730199001011238");
    let wang = key(EntityKind::Person, "p-wang");
    let acc2 = key(EntityKind::Account, "6217009876543210981");
    let wallet = key(EntityKind::Wallet, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    assert_eq!(
        kinds,
        [
            ("transfer".to_string(), acc2, wallet.clone()),
            (
                "owns".to_string(),
                chen.clone(),
                key(EntityKind::Account, "6222021234567890128")
            ),
            ("relative".to_string(), chen.clone(), wang.clone()),
            ("colleague".to_string(), chen, wang.clone()),
            (
                "member_of".to_string(),
                wang.clone(),
                key(EntityKind::Org, "KK园区")
            ),
            ("controls".to_string(), wang, wallet),
        ]
    );
    assert_eq!(lines(&all), (1..=13).collect::<Vec<_>>());
}

#[test]
fn malformed_calls() {
    let all = parse_file("malformed/calls.csv");
    assert_eq!(all.layout, Layout::Calls);
    assert_eq!(
        rejects(&all),
        [
            (3, "bad_time"),
            (4, "bad_duration"),
            (5, "bad_phone"),
            (6, "truncated"),
            (7, "bad_utf8"),
            (9, "missing_field")
        ]
    );
    assert_eq!(lines(&all), [2, 8, 10]);
    assert_eq!(
        all.notes
            .iter()
            .map(|n| (n.line, n.reason))
            .collect::<Vec<_>>(),
        [(8, "bad_imei")]
    );
    assert!(
        all.warnings.iter().any(|w| w.contains("备用字段")),
        "{:?}",
        all.warnings
    );
    assert_eq!(all.rejects[3].raw, "13907971234,13800138000,2024-03-05");
    assert!(all
        .rejects
        .iter()
        .all(|r| r.file.ends_with("calls.csv") && !r.detail.is_empty()));
}

#[test]
fn malformed_transfers() {
    let all = parse_file("malformed/transfers.csv");
    assert_eq!(
        rejects(&all),
        [
            (3, "bad_amount"),
            (4, "bad_amount"),
            (5, "bad_amount"),
            (6, "bad_amount"),
            (7, "bad_time"),
            (8, "bad_account"),
            (9, "truncated"),
            (10, "bad_utf8")
        ]
    );
    assert_eq!(lines(&all), [2, 11]);
    assert_eq!(all.warnings.len(), 1);
    assert!(all.warnings[0].contains("unknown_col"));
}

#[test]
fn malformed_gbk_bank_statement() {
    let p = open(&fixture("malformed/bank_statement_gbk.csv"))
        .unwrap()
        .remove(0);
    assert_eq!(
        (p.layout(), p.encoding()),
        (Layout::BankStatement, TextEncoding::Gb18030)
    );
    let all = drain(p, 2);
    assert_eq!(
        rejects(&all),
        [
            (3, "bad_amount"),
            (4, "bad_encoding"),
            (6, "bad_time"),
            (7, "bad_flag")
        ]
    );
    assert_eq!(lines(&all), [2, 5]);
    let tr = transfer(&all.records[0].1);
    assert_eq!(tr.from_name.as_deref(), Some("王建国"));
    assert_eq!(tr.to_name.as_deref(), Some("李华"));
    let tr = transfer(&all.records[1].1);
    assert_eq!(
        (k(&tr.from), tr.memo.as_deref()),
        (
            key(EntityKind::Account, "6230520000111122220"),
            Some("往来款")
        )
    );
    assert!(
        all.rejects[0].raw.contains("一万"),
        "{}",
        all.rejects[0].raw
    );
}

#[test]
fn malformed_carrier_calls() {
    let all = parse_file("malformed/carrier_calls.csv");
    assert_eq!(all.layout, Layout::CarrierCalls);
    assert_eq!(rejects(&all), [(3, "bad_call_type"), (5, "missing_field")]);
    assert_eq!(lines(&all), [2, 4, 6]);
    assert_eq!(call(&all.records[1].1).duration_s, 300);
    let c = call(&all.records[2].1);
    assert_eq!((c.imei.as_ref(), c.time), (None, t("2024-03-05 14:10:00")));
    assert!(all.notes.is_empty());
}

#[test]
fn malformed_persons() {
    let all = parse_file("malformed/persons.csv");
    assert_eq!(
        rejects(&all),
        [
            (3, "missing_field"),
            (5, "bad_id"),
            (6, "bad_phone"),
            (7, "bad_time")
        ]
    );
    assert_eq!(lines(&all), [2, 4, 8]);
    let notes: Vec<_> = all.notes.iter().map(|n| (n.line, n.reason)).collect();
    assert_eq!(notes, [(4, "bad_id"), (8, "unknown_role")]);
}

#[test]
fn malformed_links() {
    let all = parse_file("malformed/links.csv");
    assert_eq!(
        rejects(&all),
        [
            (3, "bad_ref"),
            (4, "bad_ref"),
            (5, "missing_field"),
            (6, "bad_time")
        ]
    );
    assert_eq!(lines(&all), [2, 7]);
}

#[test]
fn malformed_ftm() {
    let all = parse_file("malformed/entities.ftm.jsonl");
    let mut got = rejects(&all);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            (2, "bad_json"),
            (3, "unknown_kind"),
            (5, "bad_amount"),
            (7, "bad_ref"),
            (8, "bad_json")
        ]
    );
    // pay1 (line 4) waited for a3 (line 6) and resolved to a transfer.
    let mut got_lines = lines(&all);
    got_lines.sort_unstable();
    assert_eq!(got_lines, [1, 4, 6]);
    let (_, r) = all.records.iter().find(|(o, _)| o.line == 4).unwrap();
    assert_eq!(transfer(r).amount, 10_000);
    assert!(all
        .rejects
        .iter()
        .any(|r| r.line == 7 && r.detail.contains("ghost")));
}

#[test]
fn chinese_and_english_headers_agree() {
    let pairs: [(&str, &str, &str); 4] = [
        (
            "caller,callee,start_time,duration_s,imei,cell_id,source",
            "主叫号码,被叫号码,开始时间,通话时长,IMEI,基站,来源",
            "13907971234,138 0013 8000,2024-03-05 14:07:09,83,490154203237518,A-1,移动",
        ),
        (
            "from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source",
            "付款账号,收款账号,交易金额,交易时间,交易流水号,交易渠道,付款户名,收款户名,数据来源",
            "6222021234567890128,6217009876543210981,12.5,2024/3/5 14:07,T1,网银,王建国,李华,工行",
        ),
        (
            "person_key,name,id_number,roles,phones,accounts,notes,source",
            "人员编号,姓名,身份证号码,角色,手机号码,银行卡号,备注,来源",
            "P1,陈志强,360730199001011238,回流人员;嫌疑人,13907971234,6222021234567890128,笔录,反诈中心",
        ),
        (
            "from,to,kind,time,source",
            "起点,终点,关系,时间,来源",
            "person:P1,person:P2,recruited,2023-08-02,笔录",
        ),
    ];
    for (en, zh, row) in pairs {
        let a = parse_bytes(format!("{en}\n{row}\n").as_bytes());
        let b = parse_bytes(format!("\u{FEFF}{zh}\r\n{row}\r\n").as_bytes());
        assert_eq!(a.layout, b.layout);
        assert!(
            a.rejects.is_empty() && b.rejects.is_empty(),
            "{:?} {:?}",
            a.rejects,
            b.rejects
        );
        assert_eq!(a.records.len(), 1);
        assert_eq!(a.records[0].1, b.records[0].1, "{en}");
        assert_eq!(a.records[0].0.label, b.records[0].0.label);
        // Column order is free.
        let mut cols: Vec<&str> = en.split(',').collect();
        let mut vals: Vec<&str> = row.split(',').collect();
        cols.reverse();
        vals.reverse();
        let c = parse_bytes(format!("{}\n{}\n", cols.join(","), vals.join(",")).as_bytes());
        assert_eq!(a.records[0].1, c.records[0].1, "{en} reversed");
    }
}

#[test]
fn header_names_fold_case_and_spaces() {
    let all = parse_bytes(
        b"  Caller , CALLEE,Start Time,Duration-S\n13907971234,13800138000,2024-03-05 14:07:09,5\n",
    );
    assert_eq!(all.layout, Layout::Calls);
    assert_eq!(call(&all.records[0].1).duration_s, 5);
    // Tab-separated exports too.
    let all = parse_bytes("本机号码\t对方号码\t呼叫类型\t通话起始时间\n13907971234\t13800138000\t被叫\t2024-03-05 14:07:09\n".as_bytes());
    assert_eq!(all.layout, Layout::CarrierCalls);
    assert_eq!(all.records.len(), 1);
}

#[test]
fn file_errors_come_before_any_row() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let e = open(&missing).err().unwrap();
    assert!(
        matches!(e, ParseError::Io { .. }) && e.to_string().contains("missing.csv"),
        "{e}"
    );
    assert!(matches!(
        open(dir.path()).err().unwrap(),
        ParseError::Directory { .. }
    ));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "\n  \n").unwrap();
    assert!(matches!(
        open(&empty).err().unwrap(),
        ParseError::Empty { .. }
    ));
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "foo,bar\n1,2\n").unwrap();
    let e = open(&odd).err().unwrap();
    let msg = e.to_string();
    assert!(msg.contains("odd.csv") && msg.contains("foo,bar"), "{msg}");
    for l in Layout::ALL {
        assert!(msg.contains(l.name()), "{msg}");
    }
    assert!(msg.contains("caller, callee, start_time"), "{msg}");
    let utf16 = dir.path().join("utf16.csv");
    std::fs::write(&utf16, b"\xFF\xFEc\0a\0").unwrap();
    assert!(matches!(
        open(&utf16).err().unwrap(),
        ParseError::Encoding { .. }
    ));
}

#[test]
fn huge_rows_are_rejected_not_buffered() {
    let mut input = b"caller,callee,start_time\n".to_vec();
    input.extend(b"13907971234,");
    input.extend(std::iter::repeat_n(b'9', 3 * MAX_ROW_BYTES));
    input.extend(
        b",2024-03-05\n13907971234,13800138000,2024-03-05\n\"unclosed,13800138000,2024-03-05\n",
    );
    input.extend(std::iter::repeat_n(b"1,2,3\n", MAX_ROW_BYTES / 4).flatten());
    let all = parse_bytes(&input);
    assert_eq!(
        rejects(&all)[..3],
        [(2, "too_long"), (4, "bad_quote"), (5, "bad_phone")]
    );
    assert_eq!(lines(&all), [3]);
    assert!(all.rejects[0].raw.len() <= 256);
}

#[test]
fn chunking_keeps_order_and_lines() {
    let mut input = String::from("caller,callee,start_time,duration_s\n");
    for i in 0..1000 {
        if i % 7 == 3 {
            input.push_str("13907971234,13800138000,bad,1\n");
        } else {
            input.push_str(&format!("13907971234,138{i:08},2024-03-05 14:07:09,{i}\n"));
        }
    }
    let whole = parse_bytes(input.as_bytes());
    let p = FileParser::from_reader(
        "mem.csv",
        Box::new(std::io::Cursor::new(input.into_bytes())),
    )
    .unwrap();
    let small = drain(p, 13);
    assert_eq!(whole.records, small.records);
    assert_eq!(whole.rejects, small.rejects);
    assert_eq!(whole.records.len() + whole.rejects.len(), 1000);
    for (o, r) in &whole.records {
        assert_eq!(call(r).duration_s as u64, o.line - 2);
    }
}

proptest! {
    #![proptest_config(crate::proptest_config(64))]

    #[test]
    fn arbitrary_rows_never_panic(
        header in prop::sample::select(vec![
            "caller,callee,start_time,duration_s,imei,cell_id,source",
            "本机号码,对方号码,呼叫类型,通话起始时间,通话时长,IMEI,IMSI,LAC,CI",
            "from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source",
            "交易卡号,交易户名,交易时间,交易金额,收付标志,交易对手账卡号,对手户名,现金标志,摘要说明,IP地址,MAC地址",
            "person_key,name,id_number,roles,phones,accounts,notes,source,devices,wallets,status",
            "from,to,kind,time,source,amount,note",
            "{\"id\":\"a\",\"schema\":\"BankAccount\",\"properties\":{\"accountNumber\":[\"6222021234567890128\"]}}",
        ]),
        body in prop::collection::vec(any::<u8>(), 0..600),
        text in "[0-9a-zA-Z:;,\"\n 进出主叫\\-+./{}\\[\\]]{0,300}",
        max_rows in 1usize..50,
    ) {
        for tail in [&body[..], text.as_bytes()] {
            let mut input = format!("{header}\n").into_bytes();
            input.extend_from_slice(tail);
            if let Ok(p) = FileParser::from_reader("fuzz", Box::new(std::io::Cursor::new(input))) {
                let all = drain(p, max_rows);
                for r in &all.rejects {
                    prop_assert!(r.line >= 1 && !r.reason.is_empty());
                }
            }
        }
    }

    #[test]
    fn arbitrary_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(p) = FileParser::from_reader("fuzz", Box::new(std::io::Cursor::new(bytes))) {
            drain(p, 7);
        }
    }
}

#[test]
fn ascii_header_with_gbk_rows_is_read_as_gb18030() {
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "from_account,to_account,amount,time,from_name,to_name\n\
         6222021234567890128,6217009876543210981,100,2024-03-05 14:20:11,王建国,李华\n\
         6217009876543210981,6228480012345678903,200,2024-03-05 14:21:11,李华,赵敏\n",
    );
    let p = FileParser::from_reader("gbk.csv", Box::new(std::io::Cursor::new(gbk.into_owned())))
        .unwrap();
    assert_eq!(p.encoding(), TextEncoding::Gb18030);
    let all = drain(p, 10);
    assert!(all.rejects.is_empty(), "{:?}", all.rejects);
    assert_eq!(transfer(&all.records[1].1).to_name.as_deref(), Some("赵敏"));
}

#[test]
fn bank_statement_falls_back_to_the_account_number() {
    let all = parse_bytes(
        "交易卡号,交易账号,交易时间,交易金额,收付标志,交易对手账卡号\n\
         ,36070001234567,2024-03-05 14:20:11,88.00,收,6222021234567890128\n\
         ,,2024-03-05 14:20:11,88.00,收,6222021234567890128\n"
            .as_bytes(),
    );
    assert_eq!(rejects(&all), [(3, "missing_field")]);
    let tr = transfer(&all.records[0].1);
    assert_eq!(k(&tr.to), key(EntityKind::Account, "36070001234567"));
    assert_eq!(tr.amount, 8_800);
}

#[test]
fn title_rows_above_the_header_are_skipped_and_named() {
    let body = "交易卡号,交易时间,交易金额,收付标志,交易对手账卡号\n\
                6222020200112345678,2024-03-05 14:30:15,100,出,6217001234567891\n";
    let plain = parse_bytes(body.as_bytes());
    let titled =
        parse_bytes(format!("XX银行账户交易明细,,,,\n\n查询日期：2024-04-01\n{body}").as_bytes());
    assert_eq!(titled.layout, Layout::BankStatement);
    assert!(titled.rejects.is_empty(), "{:?}", titled.rejects);
    let records = |a: &All| a.records.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>();
    assert_eq!(records(&titled), records(&plain));
    assert_eq!(
        titled.records[0].0.line, 5,
        "lines still count the title rows"
    );
    assert!(
        titled.warnings.iter().any(|w| w.contains("2 title row(s)")
            && w.contains("1: \"XX银行账户交易明细,,,,\"")
            && w.contains("3: ")),
        "{:?}",
        titled.warnings
    );
    // Too many rows before anything that looks like a header: the first row is named.
    let far = format!("{}{body}", "标题\n".repeat(MAX_TITLE_ROWS + 1));
    let e = FileParser::from_reader("far.csv", Box::new(std::io::Cursor::new(far.into_bytes())))
        .err()
        .expect("no header found");
    assert!(e.to_string().contains("\"标题\""), "{e}");
}
