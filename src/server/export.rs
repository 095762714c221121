//! Case map exports: GraphML, GEXF 1.3 (Gephi), CSV for i2 Analyst's Notebook, and
//! FollowTheMoney JSON lines (the Aleph / OpenSanctions interchange format).
//!
//! Every export is a pure function of one case map version.

use super::casemap::{CaseMapContent, CaseMapMeta, MapEntity};
use super::util::{hex, iso_utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    GraphMl,
    Gexf,
    I2Csv,
    FtmJsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "graphml" => Some(Format::GraphMl),
            "gexf" => Some(Format::Gexf),
            "i2" | "i2csv" | "csv" => Some(Format::I2Csv),
            "ftm" | "ftm.jsonl" | "jsonl" => Some(Format::FtmJsonl),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::GraphMl => "application/graphml+xml; charset=utf-8",
            Format::Gexf => "application/gexf+xml; charset=utf-8",
            Format::I2Csv => "text/csv; charset=utf-8",
            Format::FtmJsonl => "application/x-ndjson; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::GraphMl => "graphml",
            Format::Gexf => "gexf",
            Format::I2Csv => "csv",
            Format::FtmJsonl => "ftm.jsonl",
        }
    }
}

pub fn render(format: Format, meta: &CaseMapMeta, c: &CaseMapContent) -> String {
    match format {
        Format::GraphMl => graphml(meta, c),
        Format::Gexf => gexf(meta, c),
        Format::I2Csv => i2_csv(c),
        Format::FtmJsonl => ftm_jsonl(c),
    }
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn kind_of(r: &str) -> &str {
    r.split_once(':').map_or("", |(k, _)| k)
}

fn key_of(r: &str) -> &str {
    r.split_once(':').map_or(r, |(_, k)| k)
}

fn label(e: &MapEntity) -> &str {
    if e.label.is_empty() {
        key_of(&e.entity_ref)
    } else {
        &e.label
    }
}

/// Yuan with two decimals from fen, exact.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn opt_time(t: Option<i64>) -> String {
    t.map(iso_utc).unwrap_or_default()
}

fn graphml(meta: &CaseMapMeta, c: &CaseMapContent) -> String {
    let mut o = String::new();
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str("<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
    for (id, on, ty) in [
        ("label", "node", "string"),
        ("kind", "node", "string"),
        ("roles", "node", "string"),
        ("community", "node", "long"),
        ("x", "node", "double"),
        ("y", "node", "double"),
        ("note", "node", "string"),
        ("link_kind", "edge", "string"),
        ("count", "edge", "long"),
        ("amount_yuan", "edge", "string"),
        ("duration_s", "edge", "long"),
        ("first", "edge", "string"),
        ("last", "edge", "string"),
        ("link_note", "edge", "string"),
    ] {
        let _ = writeln!(
            o,
            "  <key id=\"{id}\" for=\"{on}\" attr.name=\"{id}\" attr.type=\"{ty}\"/>"
        );
    }
    let _ = writeln!(
        o,
        "  <graph id=\"{}\" edgedefault=\"directed\">\n    <desc>{} (version {})</desc>",
        xml_escape(&meta.id),
        xml_escape(&meta.name),
        meta.version
    );
    for e in &c.entities {
        let _ = writeln!(o, "    <node id=\"{}\">", xml_escape(&e.entity_ref));
        let _ = writeln!(
            o,
            "      <data key=\"label\">{}</data>",
            xml_escape(label(e))
        );
        let _ = writeln!(
            o,
            "      <data key=\"kind\">{}</data>",
            xml_escape(kind_of(&e.entity_ref))
        );
        if !e.roles.is_empty() {
            let _ = writeln!(
                o,
                "      <data key=\"roles\">{}</data>",
                xml_escape(&e.roles.join(";"))
            );
        }
        if let Some(cm) = e.community {
            let _ = writeln!(o, "      <data key=\"community\">{cm}</data>");
        }
        let _ = writeln!(
            o,
            "      <data key=\"x\">{}</data>\n      <data key=\"y\">{}</data>",
            e.x, e.y
        );
        if !e.note.is_empty() {
            let _ = writeln!(o, "      <data key=\"note\">{}</data>", xml_escape(&e.note));
        }
        o.push_str("    </node>\n");
    }
    for (i, l) in c.links.iter().enumerate() {
        let _ = writeln!(
            o,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\">",
            xml_escape(&l.from),
            xml_escape(&l.to)
        );
        let _ = writeln!(
            o,
            "      <data key=\"link_kind\">{}</data>",
            xml_escape(&l.kind)
        );
        let _ = writeln!(o, "      <data key=\"count\">{}</data>", l.count);
        if let Some(a) = l.amount_fen {
            let _ = writeln!(o, "      <data key=\"amount_yuan\">{}</data>", yuan(a));
        }
        if let Some(d) = l.duration_s {
            let _ = writeln!(o, "      <data key=\"duration_s\">{d}</data>");
        }
        if let Some(t) = l.first {
            let _ = writeln!(o, "      <data key=\"first\">{}</data>", iso_utc(t));
        }
        if let Some(t) = l.last {
            let _ = writeln!(o, "      <data key=\"last\">{}</data>", iso_utc(t));
        }
        if !l.note.is_empty() {
            let _ = writeln!(
                o,
                "      <data key=\"link_note\">{}</data>",
                xml_escape(&l.note)
            );
        }
        o.push_str("    </edge>\n");
    }
    o.push_str("  </graph>\n</graphml>\n");
    o
}

fn gexf(meta: &CaseMapMeta, c: &CaseMapContent) -> String {
    let mut o = String::new();
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str("<gexf xmlns=\"http://gexf.net/1.3\" xmlns:viz=\"http://gexf.net/1.3/viz\" version=\"1.3\">\n");
    let _ = writeln!(
        o,
        "  <meta lastmodifieddate=\"{}\">\n    <creator>fraudnet</creator>\n    <description>{} (version {})</description>\n  </meta>",
        iso_utc(meta.updated).get(..10).unwrap_or(""),
        xml_escape(&meta.name),
        meta.version
    );
    o.push_str("  <graph defaultedgetype=\"directed\" mode=\"static\">\n");
    o.push_str("    <attributes class=\"node\">\n      <attribute id=\"0\" title=\"kind\" type=\"string\"/>\n      <attribute id=\"1\" title=\"roles\" type=\"string\"/>\n      <attribute id=\"2\" title=\"community\" type=\"long\"/>\n      <attribute id=\"3\" title=\"note\" type=\"string\"/>\n    </attributes>\n");
    o.push_str("    <attributes class=\"edge\">\n      <attribute id=\"0\" title=\"kind\" type=\"string\"/>\n      <attribute id=\"1\" title=\"count\" type=\"long\"/>\n      <attribute id=\"2\" title=\"amount_yuan\" type=\"string\"/>\n      <attribute id=\"3\" title=\"first\" type=\"string\"/>\n      <attribute id=\"4\" title=\"last\" type=\"string\"/>\n    </attributes>\n");
    o.push_str("    <nodes>\n");
    for e in &c.entities {
        let _ = writeln!(
            o,
            "      <node id=\"{}\" label=\"{}\">\n        <attvalues>\n          <attvalue for=\"0\" value=\"{}\"/>\n          <attvalue for=\"1\" value=\"{}\"/>",
            xml_escape(&e.entity_ref),
            xml_escape(label(e)),
            xml_escape(kind_of(&e.entity_ref)),
            xml_escape(&e.roles.join(";"))
        );
        if let Some(cm) = e.community {
            let _ = writeln!(o, "          <attvalue for=\"2\" value=\"{cm}\"/>");
        }
        if !e.note.is_empty() {
            let _ = writeln!(
                o,
                "          <attvalue for=\"3\" value=\"{}\"/>",
                xml_escape(&e.note)
            );
        }
        let _ = writeln!(
            o,
            "        </attvalues>\n        <viz:position x=\"{}\" y=\"{}\" z=\"0.0\"/>\n      </node>",
            e.x, -e.y
        );
    }
    o.push_str("    </nodes>\n    <edges>\n");
    for (i, l) in c.links.iter().enumerate() {
        let _ = writeln!(
            o,
            "      <edge id=\"{i}\" source=\"{}\" target=\"{}\" label=\"{}\" weight=\"{}\">\n        <attvalues>\n          <attvalue for=\"0\" value=\"{}\"/>\n          <attvalue for=\"1\" value=\"{}\"/>",
            xml_escape(&l.from),
            xml_escape(&l.to),
            xml_escape(&l.kind),
            l.count.max(1),
            xml_escape(&l.kind),
            l.count
        );
        if let Some(a) = l.amount_fen {
            let _ = writeln!(o, "          <attvalue for=\"2\" value=\"{}\"/>", yuan(a));
        }
        if let Some(t) = l.first {
            let _ = writeln!(
                o,
                "          <attvalue for=\"3\" value=\"{}\"/>",
                iso_utc(t)
            );
        }
        if let Some(t) = l.last {
            let _ = writeln!(
                o,
                "          <attvalue for=\"4\" value=\"{}\"/>",
                iso_utc(t)
            );
        }
        o.push_str("        </attvalues>\n      </edge>\n");
    }
    o.push_str("    </edges>\n  </graph>\n</gexf>\n");
    o
}

/// i2 Analyst's Notebook imports one link per row: two entities (type, identity, label) and the
/// link between them. Entities without a link get a row of their own. UTF-8 with a BOM so that
/// Chinese labels survive the import.
fn i2_csv(c: &CaseMapContent) -> String {
    let by_ref: HashMap<&str, &MapEntity> = c
        .entities
        .iter()
        .map(|e| (e.entity_ref.as_str(), e))
        .collect();
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let header = [
        "Entity1 Type",
        "Entity1 Identity",
        "Entity1 Label",
        "Entity2 Type",
        "Entity2 Identity",
        "Entity2 Label",
        "Link Type",
        "Link Count",
        "Amount (CNY)",
        "Duration (s)",
        "First",
        "Last",
        "Note",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let ent = |r: &str| -> [String; 3] {
        let l = by_ref
            .get(r)
            .map_or_else(|| key_of(r).to_string(), |e| label(e).to_string());
        [kind_of(r).to_string(), key_of(r).to_string(), l]
    };
    let mut linked = std::collections::HashSet::new();
    for l in &c.links {
        linked.insert(l.from.as_str());
        linked.insert(l.to.as_str());
        let mut row: Vec<String> = Vec::with_capacity(13);
        row.extend(ent(&l.from));
        row.extend(ent(&l.to));
        row.push(l.kind.clone());
        row.push(l.count.to_string());
        row.push(l.amount_fen.map(yuan).unwrap_or_default());
        row.push(l.duration_s.map(|d| d.to_string()).unwrap_or_default());
        row.push(opt_time(l.first));
        row.push(opt_time(l.last));
        row.push(l.note.clone());
        rows.push(row);
    }
    for e in &c.entities {
        if !linked.contains(e.entity_ref.as_str()) {
            let mut row: Vec<String> = ent(&e.entity_ref).into();
            row.extend(std::iter::repeat_n(String::new(), 9));
            row[12] = e.note.clone();
            rows.push(row);
        }
    }
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    let bytes = w.into_inner().unwrap_or_default();
    let mut s = String::from("\u{feff}");
    s.push_str(&String::from_utf8_lossy(&bytes));
    s
}

fn ftm_id(r: &str) -> String {
    let h = Sha256::digest(r.as_bytes());
    format!("fraudnet-{}", hex(&h[..10]))
}

fn ftm_date(t: Option<i64>) -> Option<String> {
    t.map(|t| iso_utc(t).trim_end_matches('Z').to_string())
}

/// FollowTheMoney entities, one JSON object per line: Person, BankAccount, CryptoWallet,
/// Organization, Address, phones as LegalEntity with a `phone`, devices as Asset; links as
/// Payment, Ownership, Family, Associate, Membership or UnknownLink. A phone a person owns is
/// also added to the person's `phone` property.
fn ftm_jsonl(c: &CaseMapContent) -> String {
    use serde_json::{json, Map, Value};
    let mut phones_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for l in &c.links {
        if l.kind == "owns" && kind_of(&l.from) == "person" && kind_of(&l.to) == "phone" {
            phones_of
                .entry(l.from.as_str())
                .or_default()
                .push(key_of(&l.to));
        }
    }
    let mut out = String::new();
    let mut push = |schema: &str, id: String, props: Map<String, Value>| {
        let v = json!({"id": id, "schema": schema, "properties": props});
        out.push_str(&v.to_string());
        out.push('\n');
    };
    for e in &c.entities {
        let key = key_of(&e.entity_ref);
        let mut p = Map::new();
        let mut notes = Vec::new();
        if !e.note.is_empty() {
            notes.push(e.note.clone());
        }
        if !e.roles.is_empty() {
            notes.push(format!("roles: {}", e.roles.join(", ")));
        }
        let schema = match kind_of(&e.entity_ref) {
            "person" => {
                p.insert("name".into(), json!([label(e)]));
                if key.len() == 18 || key.len() == 15 {
                    p.insert("idNumber".into(), json!([key]));
                }
                if let Some(ph) = phones_of.get(e.entity_ref.as_str()) {
                    p.insert("phone".into(), json!(ph));
                }
                "Person"
            }
            "account" => {
                p.insert("accountNumber".into(), json!([key]));
                p.insert("name".into(), json!([label(e)]));
                "BankAccount"
            }
            "wallet" => {
                p.insert("publicKey".into(), json!([key]));
                p.insert("currency".into(), json!(["USDT"]));
                "CryptoWallet"
            }
            "org" => {
                p.insert("name".into(), json!([label(e)]));
                "Organization"
            }
            "place" => {
                p.insert("full".into(), json!([label(e)]));
                "Address"
            }
            "phone" => {
                p.insert("name".into(), json!([key]));
                p.insert("phone".into(), json!([key]));
                "LegalEntity"
            }
            _ => {
                p.insert(
                    "name".into(),
                    json!([format!("{} {}", kind_of(&e.entity_ref), key)]),
                );
                "Asset"
            }
        };
        if !notes.is_empty() {
            p.insert("notes".into(), json!(notes));
        }
        push(schema, ftm_id(&e.entity_ref), p);
    }
    for (i, l) in c.links.iter().enumerate() {
        let (fk, tk) = (kind_of(&l.from), kind_of(&l.to));
        let (f, t) = (json!([ftm_id(&l.from)]), json!([ftm_id(&l.to)]));
        let mut p = Map::new();
        let schema = match l.kind.as_str() {
            "transfer" => {
                if fk == "account" {
                    p.insert("payerAccount".into(), f);
                } else {
                    p.insert("payer".into(), f);
                }
                if tk == "account" {
                    p.insert("beneficiaryAccount".into(), t);
                } else {
                    p.insert("beneficiary".into(), t);
                }
                if let Some(a) = l.amount_fen {
                    p.insert("amount".into(), json!([yuan(a)]));
                    p.insert("currency".into(), json!(["CNY"]));
                }
                "Payment"
            }
            "owns" if tk == "account" => {
                p.insert("owner".into(), f);
                p.insert("asset".into(), t);
                "Ownership"
            }
            "relative" if fk == "person" && tk == "person" => {
                p.insert("person".into(), f);
                p.insert("relative".into(), t);
                "Family"
            }
            "colleague" if fk == "person" && tk == "person" => {
                p.insert("person".into(), f);
                p.insert("associate".into(), t);
                "Associate"
            }
            "member_of" if tk == "org" => {
                p.insert("member".into(), f);
                p.insert("organization".into(), t);
                "Membership"
            }
            other => {
                p.insert("subject".into(), f);
                p.insert("object".into(), t);
                p.insert("role".into(), json!([other]));
                "UnknownLink"
            }
        };
        if let Some(d) = ftm_date(l.first) {
            p.insert("startDate".into(), json!([d]));
        }
        if let Some(d) = ftm_date(l.last) {
            p.insert("endDate".into(), json!([d]));
        }
        let mut summary = format!("{} × {}", l.kind, l.count);
        if let Some(d) = l.duration_s {
            let _ = write!(summary, ", {d} s");
        }
        if !l.note.is_empty() {
            let _ = write!(summary, "; {}", l.note);
        }
        p.insert("summary".into(), json!([summary]));
        push(
            schema,
            format!(
                "{}-l{i}",
                ftm_id(&format!("{}>{}>{}", l.from, l.kind, l.to))
            ),
            p,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::casemap::{MapLink, MapStatus};

    fn sample() -> (CaseMapMeta, CaseMapContent) {
        let meta = CaseMapMeta {
            id: "cm-1".into(),
            name: "宁都 <案>".into(),
            owner: "inv".into(),
            status: MapStatus::Draft,
            version: 2,
            created: 0,
            updated: 1_700_000_000,
            entity_count: 3,
            comments: vec![],
            history: vec![],
        };
        let e = |r: &str, l: &str| MapEntity {
            entity_ref: r.into(),
            label: l.into(),
            x: 1.5,
            y: -2.0,
            roles: vec![],
            community: Some(7),
            note: String::new(),
        };
        let c = CaseMapContent {
            entities: vec![
                e("person:36073019900101123X", "张&三"),
                e("account:6222021234567890123", ""),
                e("account:6222020000000000001", ""),
                e("phone:+8613800138000", ""),
            ],
            links: vec![
                MapLink {
                    from: "account:6222021234567890123".into(),
                    to: "account:6222020000000000001".into(),
                    kind: "transfer".into(),
                    count: 3,
                    amount_fen: Some(1_234_567),
                    duration_s: None,
                    first: Some(1_700_000_000),
                    last: Some(1_700_003_600),
                    note: "快进快出".into(),
                },
                MapLink {
                    from: "person:36073019900101123X".into(),
                    to: "phone:+8613800138000".into(),
                    kind: "owns".into(),
                    count: 1,
                    amount_fen: None,
                    duration_s: None,
                    first: None,
                    last: None,
                    note: String::new(),
                },
            ],
            notes: String::new(),
            queries: vec![],
        };
        (meta, c)
    }

    #[test]
    fn yuan_is_exact() {
        assert_eq!(yuan(1_234_567), "12345.67");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn graphml_and_gexf_are_escaped_and_complete() {
        let (m, c) = sample();
        let g = render(Format::GraphMl, &m, &c);
        assert!(g.contains("张&amp;三"));
        assert!(g.contains("宁都 &lt;案&gt;"));
        assert_eq!(g.matches("<node ").count(), 4);
        assert_eq!(g.matches("<edge ").count(), 2);
        assert!(g.contains("<data key=\"amount_yuan\">12345.67</data>"));
        let x = render(Format::Gexf, &m, &c);
        assert_eq!(x.matches("<node ").count(), 4);
        assert!(x.contains("viz:position x=\"1.5\" y=\"2\""));
        assert!(x.contains("lastmodifieddate=\"2023-11-14\""));
    }

    #[test]
    fn i2_csv_has_one_row_per_link_and_isolated_entity() {
        let (m, c) = sample();
        let s = render(Format::I2Csv, &m, &c);
        assert!(s.starts_with('\u{feff}'));
        let mut r = csv::Reader::from_reader(s.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "account");
        assert_eq!(&rows[0][8], "12345.67");
        assert_eq!(&rows[1][2], "张&三");
    }

    #[test]
    fn ftm_lines_parse_and_link_ids_resolve() {
        let (m, c) = sample();
        let s = render(Format::FtmJsonl, &m, &c);
        let vals: Vec<serde_json::Value> = s
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(vals.len(), 6);
        let person = vals.iter().find(|v| v["schema"] == "Person").unwrap();
        assert_eq!(person["properties"]["idNumber"][0], "36073019900101123X");
        assert_eq!(person["properties"]["phone"][0], "+8613800138000");
        let pay = vals.iter().find(|v| v["schema"] == "Payment").unwrap();
        assert_eq!(pay["properties"]["amount"][0], "12345.67");
        let ids: Vec<&str> = vals.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&pay["properties"]["payerAccount"][0].as_str().unwrap()));
    }
}
