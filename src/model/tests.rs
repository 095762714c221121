use super::*;

#[test]
fn entity_kind_codes_round_trip() {
    for k in EntityKind::ALL {
        assert_eq!(EntityKind::from_code(k as u8), Some(k));
        assert_eq!(EntityKind::parse(k.as_str()), Some(k));
    }
}

#[test]
fn link_kind_synonyms() {
    assert_eq!(LinkKind::builtin("registered_to"), Some(LinkKind::OWNS));
    assert_eq!(LinkKind::builtin("Transfer"), Some(LinkKind::TRANSFER));
    assert_eq!(LinkKind::builtin("met_in_hotel"), None);
    assert_eq!(LinkKind::CALL.builtin_name(), Some("call"));
}

#[test]
fn roles_accept_chinese_and_english() {
    let mut r = Roles::default();
    assert!(r.insert_name("蛇头"));
    assert!(r.insert_name("returnee"));
    assert!(!r.insert_name("astronaut"));
    assert!(r.contains("recruiter"));
    assert_eq!(r.names().collect::<Vec<_>>(), vec!["returnee", "recruiter"]);
}

#[test]
fn entity_ref_parse_and_display() {
    let r = EntityRef::parse("phone:+8613800138000").unwrap();
    assert_eq!(r.kind, EntityKind::Phone);
    assert_eq!(r.to_string(), "phone:+8613800138000");
    assert!(EntityRef::parse("planet:earth").is_none());
    assert!(EntityRef::parse("person:").is_none());
}
