use super::*;

fn key(r: Result<Normalized, IdentError>) -> String {
    r.unwrap().key
}

#[test]
fn resident_id_check_vectors() {
    for valid in [
        "11010519491231002X",
        "513101198201130014",
        "34052419800101001X",
    ] {
        let n = resident_id(valid).unwrap();
        assert_eq!(n.flags, Flags::default(), "{valid}");
        assert_eq!(n.key, valid);
    }
    // lower-case x and full-width digits are the same person
    assert_eq!(key(resident_id("11010519491231002x")), "11010519491231002X");
    assert_eq!(
        key(resident_id("１１０１０５１９４９１２３１００２Ｘ")),
        "11010519491231002X"
    );
    // one digit changed: kept under its own key, flagged
    let bad = resident_id("11010519491231003X").unwrap();
    assert!(bad.flags.contains(Flags::BAD_CHECKSUM));
    assert_eq!(bad.key, "11010519491231003X");
}

#[test]
fn legacy_resident_id_is_upgraded() {
    // 15-digit 110105491231002 is 11010519491231002X upgraded.
    let n = resident_id("110105491231002").unwrap();
    assert_eq!(n.key, "11010519491231002X");
    assert!(n.flags.contains(Flags::LEGACY_ID));
}

#[test]
fn masked_and_garbage_ids() {
    assert!(resident_id("3607**********1234")
        .unwrap()
        .flags
        .contains(Flags::MASKED));
    assert!(resident_id("12345").is_err());
    assert!(resident_id("").is_err());
    assert!(resident_id("1101051949123100ZZ").is_err());
}

#[test]
fn every_mobile_format_is_one_key() {
    for raw in [
        "13800138000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "008613800138000",
        "８６１３８００１３８０００",
        "１３８００１３８０００",
        "+86-138-0013-8000",
        "(+86) 13800138000",
        "8613800138000",
        "＋8613800138000",
    ] {
        let n = phone(raw).unwrap();
        assert_eq!(n.key, "+8613800138000", "{raw}");
        assert_eq!(n.flags, Flags::default(), "{raw}");
    }
}

#[test]
fn foreign_service_and_fixed_numbers() {
    let mm = phone("+95 9 4501 2345").unwrap();
    assert_eq!(mm.key, "+95945012345");
    assert!(mm.flags.contains(Flags::FOREIGN));
    assert_eq!(key(phone("0095945012345")), "+95945012345");
    assert_eq!(key(phone("+855 12 345 678")), "+85512345678");
    for svc in ["95588", "10086", "4008123123", "110", "12315"] {
        let n = phone(svc).unwrap();
        assert_eq!(n.key, svc);
        assert!(n.flags.contains(Flags::SERVICE), "{svc}");
    }
    assert_eq!(key(phone("0797-6321234")), "+867976321234");
    assert!(phone("hello").is_err());
    assert!(phone("+").is_err());
    assert!(phone("").is_err());
}

#[test]
fn cards_keep_digits_and_flag_luhn() {
    let n = bank_account("6222 0212 3456 7890 128").unwrap();
    assert_eq!(n.key, "6222021234567890128");
    assert_eq!(
        luhn_valid("6222021234567890128"),
        n.flags == Flags::default()
    );
    let good = format!(
        "622202123456789012{}",
        luhn_check_digit("622202123456789012").unwrap()
    );
    assert_eq!(bank_account(&good).unwrap().flags, Flags::default());
    let mut bad = good.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert!(bank_account(&bad)
        .unwrap()
        .flags
        .contains(Flags::BAD_CHECKSUM));
    assert!(bank_account("62-22").is_err());
    assert!(bank_account("card 6222").is_err());
}

#[test]
fn imei_forms_merge() {
    let full = imei("490154203237518").unwrap();
    assert_eq!(full.key, "49015420323751");
    assert_eq!(full.flags, Flags::default());
    assert_eq!(imei("49015420323751").unwrap().key, full.key);
    assert_eq!(imei("4901542032375199").unwrap().key, full.key); // IMEISV
    assert!(imei("490154203237519")
        .unwrap()
        .flags
        .contains(Flags::BAD_CHECKSUM));
    assert!(imei("1234").is_err());
}

#[test]
fn trc20_wallets() {
    let n = wallet("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
    assert_eq!(n.flags, Flags::default());
    let bad = wallet("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u").unwrap();
    assert!(bad.flags.contains(Flags::BAD_CHECKSUM));
    assert!(wallet("T0000").is_err());
    let made = trc20_address(&[7u8; 20]);
    assert_eq!(made.len(), 34);
    assert_eq!(wallet(&made).unwrap().flags, Flags::default());
    assert_eq!(
        key(wallet("0xABCDEF0123456789abcdef0123456789ABCDEF01")),
        "0xabcdef0123456789abcdef0123456789abcdef01"
    );
}

#[test]
fn references_and_interpretations() {
    assert_eq!(
        parse_ref("phone:138 0013 8000").unwrap().key,
        "+8613800138000"
    );
    assert_eq!(parse_ref("person:P-17").unwrap().key, "P-17");
    let kinds: Vec<_> = interpretations("13800138000")
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds[0], EntityKind::Phone);
    let id: Vec<_> = interpretations("11010519491231002X");
    assert_eq!(id[0].kind, EntityKind::Person);
}

proptest::proptest! {
    #![proptest_config(crate::proptest_config(256))]
    #[test]
    fn rules_never_panic(s in "\\PC{0,40}") {
        let _ = interpretations(&s);
        let _ = normalize(EntityKind::Place, &s);
    }
}
