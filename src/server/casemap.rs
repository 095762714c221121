//! Case maps: a saved picture of an investigation (entities, positions, links, notes and the
//! queries that built it), versioned on each save and reviewed by supervisors.
//!
//! Status moves `draft → submitted → approved | returned`; a returned map is edited (back to
//! draft) and submitted again; an approved map is final. Only the owner and supervisors see a
//! draft or returned map; submitted and approved maps are visible to every logged-in user.
//!
//! Storage: the `casemaps` collection holds one [`CaseMapMeta`] per map (key = id); the
//! `casemap_versions` collection holds every saved [`CaseMapContent`] (key = `id/vvvvvvvv`).

use super::auth::Role;
use super::docs::{DocError, DocStore};
use super::util::{now_unix, random_token};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

pub const MAPS_COLLECTION: &str = "casemaps";
pub const VERSIONS_COLLECTION: &str = "casemap_versions";

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_NOTE_CHARS: usize = 20_000;
pub const MAX_ENTITIES: usize = 5_000;
pub const MAX_LINKS: usize = 20_000;
pub const MAX_QUERIES: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapStatus {
    Draft,
    Submitted,
    Approved,
    Returned,
}

impl MapStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MapStatus::Draft => "draft",
            MapStatus::Submitted => "submitted",
            MapStatus::Approved => "approved",
            MapStatus::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<MapStatus> {
        [
            MapStatus::Draft,
            MapStatus::Submitted,
            MapStatus::Approved,
            MapStatus::Returned,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub user: String,
    pub role: Role,
    pub time: i64,
    pub text: String,
    /// The version the comment was written on.
    pub version: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub from: MapStatus,
    pub to: MapStatus,
    pub user: String,
    pub time: i64,
    pub version: u32,
}

/// A map's header: everything but the (possibly large) content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseMapMeta {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub status: MapStatus,
    /// The latest version (1-based).
    pub version: u32,
    pub created: i64,
    pub updated: i64,
    pub entity_count: usize,
    pub comments: Vec<Comment>,
    pub history: Vec<StatusChange>,
}

/// One entity placed on a map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapEntity {
    /// Canonical ref `kind:key`.
    #[serde(rename = "ref")]
    pub entity_ref: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub x: f64,
    #[serde(default)]
    pub y: f64,
    #[serde(default)]
    pub roles: Vec<String>,
    pub community: Option<u64>,
    #[serde(default)]
    pub note: String,
}

/// One link drawn on a map, with its aggregated evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapLink {
    pub from: String,
    pub to: String,
    pub kind: String,
    #[serde(default)]
    pub count: u64,
    /// Total amount in fen, for transfers.
    pub amount_fen: Option<i64>,
    /// Total duration in seconds, for calls.
    pub duration_s: Option<i64>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// What one version of a map holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseMapContent {
    #[serde(default)]
    pub entities: Vec<MapEntity>,
    #[serde(default)]
    pub links: Vec<MapLink>,
    #[serde(default)]
    pub notes: String,
    /// The requests that built the map (expand, path, trace bodies), replayable.
    #[serde(default)]
    pub queries: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaseMapError {
    #[error("{0}")]
    Invalid(String),
    #[error("no case map {0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored case map {0} is unreadable")]
    Corrupt(String),
    #[error(transparent)]
    Doc(#[from] DocError),
}

fn invalid(msg: impl Into<String>) -> CaseMapError {
    CaseMapError::Invalid(msg.into())
}

/// Checks sizes and references. A ref must be `kind:key` with a known kind.
pub fn validate_content(c: &CaseMapContent) -> Result<(), CaseMapError> {
    if c.entities.len() > MAX_ENTITIES {
        return Err(invalid(format!(
            "a case map holds at most {MAX_ENTITIES} entities"
        )));
    }
    if c.links.len() > MAX_LINKS {
        return Err(invalid(format!(
            "a case map holds at most {MAX_LINKS} links"
        )));
    }
    if c.queries.len() > MAX_QUERIES {
        return Err(invalid(format!(
            "a case map records at most {MAX_QUERIES} queries"
        )));
    }
    if c.notes.chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(format!(
            "notes are limited to {MAX_NOTE_CHARS} characters"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for e in &c.entities {
        if crate::model::EntityRef::parse(&e.entity_ref).is_none() {
            return Err(invalid(format!(
                "`{}` is not an entity ref (kind:key)",
                e.entity_ref
            )));
        }
        if !seen.insert(e.entity_ref.as_str()) {
            return Err(invalid(format!("entity {} appears twice", e.entity_ref)));
        }
        if !e.x.is_finite() || !e.y.is_finite() {
            return Err(invalid("positions must be finite numbers"));
        }
        if e.note.chars().count() > MAX_NOTE_CHARS || e.label.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("an entity's label or note is too long"));
        }
    }
    for l in &c.links {
        if !seen.contains(l.from.as_str()) || !seen.contains(l.to.as_str()) {
            return Err(invalid(format!(
                "link {} → {} names an entity that is not on the map",
                l.from, l.to
            )));
        }
        if l.kind.is_empty() || l.kind.chars().count() > 64 {
            return Err(invalid("a link kind must have 1 to 64 characters"));
        }
        if l.note.chars().count() > MAX_NOTE_CHARS {
            return Err(invalid("a link's note is too long"));
        }
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<String, CaseMapError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "a case map name must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

fn version_key(id: &str, v: u32) -> String {
    format!("{id}/{v:08}")
}

/// Who is asking.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user: &'a str,
    pub role: Role,
}

impl Actor<'_> {
    fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }
}

/// Whether `actor` may see the map.
pub fn can_see(meta: &CaseMapMeta, actor: Actor<'_>) -> bool {
    match meta.status {
        MapStatus::Draft | MapStatus::Returned => meta.owner == actor.user || actor.is_supervisor(),
        MapStatus::Submitted | MapStatus::Approved => true,
    }
}

/// The case maps of one store.
pub struct CaseMaps {
    docs: Arc<dyn DocStore>,
    /// Serializes read-modify-write of map headers.
    write: Mutex<()>,
}

impl CaseMaps {
    pub fn new(docs: Arc<dyn DocStore>) -> CaseMaps {
        CaseMaps {
            docs,
            write: Mutex::new(()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ()>, CaseMapError> {
        self.write
            .lock()
            .map_err(|_| CaseMapError::Doc(DocError("case map lock poisoned".to_string())))
    }

    fn load_meta(&self, id: &str) -> Result<CaseMapMeta, CaseMapError> {
        let bytes = self
            .docs
            .get_doc(MAPS_COLLECTION, id)?
            .ok_or_else(|| CaseMapError::NotFound(id.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|_| CaseMapError::Corrupt(id.to_string()))
    }

    fn store_meta(&self, m: &CaseMapMeta) -> Result<(), CaseMapError> {
        let b = serde_json::to_vec(m).map_err(|_| CaseMapError::Corrupt(m.id.clone()))?;
        Ok(self.docs.put_doc(MAPS_COLLECTION, &m.id, &b)?)
    }

    fn store_content(&self, id: &str, v: u32, c: &CaseMapContent) -> Result<(), CaseMapError> {
        let b = serde_json::to_vec(c).map_err(|_| CaseMapError::Corrupt(id.to_string()))?;
        Ok(self
            .docs
            .put_doc(VERSIONS_COLLECTION, &version_key(id, v), &b)?)
    }

    /// The header of a map the actor may see (404 otherwise, so drafts are not revealed).
    pub fn get(&self, id: &str, actor: Actor<'_>) -> Result<CaseMapMeta, CaseMapError> {
        let m = self.load_meta(id)?;
        if !can_see(&m, actor) {
            return Err(CaseMapError::NotFound(id.to_string()));
        }
        Ok(m)
    }

    /// One version's content (the latest when `version` is `None`).
    pub fn content(
        &self,
        id: &str,
        version: Option<u32>,
        actor: Actor<'_>,
    ) -> Result<(CaseMapMeta, u32, CaseMapContent), CaseMapError> {
        let m = self.get(id, actor)?;
        let v = version.unwrap_or(m.version);
        if v == 0 || v > m.version {
            return Err(CaseMapError::NotFound(format!("{id} version {v}")));
        }
        let bytes = self
            .docs
            .get_doc(VERSIONS_COLLECTION, &version_key(id, v))?
            .ok_or_else(|| CaseMapError::Corrupt(format!("{id} version {v}")))?;
        let c = serde_json::from_slice(&bytes)
            .map_err(|_| CaseMapError::Corrupt(format!("{id} version {v}")))?;
        Ok((m, v, c))
    }

    /// Every map the actor may see, optionally of one status, newest first.
    pub fn list(
        &self,
        actor: Actor<'_>,
        status: Option<MapStatus>,
    ) -> Result<Vec<CaseMapMeta>, CaseMapError> {
        let mut out = Vec::new();
        for (k, v) in self.docs.scan_docs(MAPS_COLLECTION)? {
            let m: CaseMapMeta =
                serde_json::from_slice(&v).map_err(|_| CaseMapError::Corrupt(k))?;
            if can_see(&m, actor) && status.is_none_or(|s| s == m.status) {
                out.push(m);
            }
        }
        out.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Creates a map at version 1, status draft, owned by the actor.
    pub fn create(
        &self,
        actor: Actor<'_>,
        name: &str,
        content: &CaseMapContent,
    ) -> Result<CaseMapMeta, CaseMapError> {
        let name = validate_name(name)?;
        validate_content(content)?;
        let _g = self.lock()?;
        let id = format!("cm-{}", random_token(6));
        let now = now_unix();
        let m = CaseMapMeta {
            id: id.clone(),
            name,
            owner: actor.user.to_string(),
            status: MapStatus::Draft,
            version: 1,
            created: now,
            updated: now,
            entity_count: content.entities.len(),
            comments: Vec::new(),
            history: Vec::new(),
        };
        self.store_content(&id, 1, content)?;
        self.store_meta(&m)?;
        Ok(m)
    }

    /// Saves a new version. Only the owner saves; a submitted or approved map is frozen.
    /// With `base_version`, refuses when someone saved in between (409).
    pub fn save(
        &self,
        id: &str,
        actor: Actor<'_>,
        name: Option<&str>,
        content: &CaseMapContent,
        base_version: Option<u32>,
    ) -> Result<CaseMapMeta, CaseMapError> {
        validate_content(content)?;
        let name = name.map(validate_name).transpose()?;
        let _g = self.lock()?;
        let mut m = self.load_meta(id)?;
        if !can_see(&m, actor) {
            return Err(CaseMapError::NotFound(id.to_string()));
        }
        if m.owner != actor.user {
            return Err(CaseMapError::Forbidden(
                "only the owner saves a case map".to_string(),
            ));
        }
        match m.status {
            MapStatus::Submitted => {
                return Err(CaseMapError::Conflict(
                    "the case map is under review; it can be edited once returned".to_string(),
                ))
            }
            MapStatus::Approved => {
                return Err(CaseMapError::Conflict(
                    "an approved case map is final".to_string(),
                ))
            }
            MapStatus::Draft | MapStatus::Returned => {}
        }
        if let Some(b) = base_version {
            if b != m.version {
                return Err(CaseMapError::Conflict(format!(
                    "the case map was saved again since version {b} (now version {})",
                    m.version
                )));
            }
        }
        let v = m.version + 1;
        self.store_content(id, v, content)?;
        let now = now_unix();
        if m.status == MapStatus::Returned {
            m.history.push(StatusChange {
                from: MapStatus::Returned,
                to: MapStatus::Draft,
                user: actor.user.to_string(),
                time: now,
                version: v,
            });
            m.status = MapStatus::Draft;
        }
        if let Some(n) = name {
            m.name = n;
        }
        m.version = v;
        m.updated = now;
        m.entity_count = content.entities.len();
        self.store_meta(&m)?;
        Ok(m)
    }

    fn transition(
        &self,
        id: &str,
        actor: Actor<'_>,
        to: MapStatus,
        comment: Option<&str>,
    ) -> Result<CaseMapMeta, CaseMapError> {
        if let Some(c) = comment {
            validate_comment(c)?;
        }
        let _g = self.lock()?;
        let mut m = self.load_meta(id)?;
        if !can_see(&m, actor) {
            return Err(CaseMapError::NotFound(id.to_string()));
        }
        let allowed_from: &[MapStatus] = match to {
            MapStatus::Submitted => {
                if m.owner != actor.user {
                    return Err(CaseMapError::Forbidden(
                        "only the owner submits a case map".to_string(),
                    ));
                }
                &[MapStatus::Draft, MapStatus::Returned]
            }
            MapStatus::Approved | MapStatus::Returned => {
                if !actor.is_supervisor() {
                    return Err(CaseMapError::Forbidden(format!(
                        "only a supervisor may {} a case map",
                        if to == MapStatus::Approved {
                            "approve"
                        } else {
                            "return"
                        }
                    )));
                }
                &[MapStatus::Submitted]
            }
            MapStatus::Draft => &[],
        };
        if !allowed_from.contains(&m.status) {
            return Err(CaseMapError::Conflict(format!(
                "a {} case map cannot become {}",
                m.status.as_str(),
                to.as_str()
            )));
        }
        let now = now_unix();
        m.history.push(StatusChange {
            from: m.status,
            to,
            user: actor.user.to_string(),
            time: now,
            version: m.version,
        });
        if let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) {
            m.comments.push(Comment {
                user: actor.user.to_string(),
                role: actor.role,
                time: now,
                text: c.to_string(),
                version: m.version,
            });
        }
        m.status = to;
        m.updated = now;
        self.store_meta(&m)?;
        Ok(m)
    }

    pub fn submit(&self, id: &str, actor: Actor<'_>) -> Result<CaseMapMeta, CaseMapError> {
        self.transition(id, actor, MapStatus::Submitted, None)
    }

    pub fn approve(
        &self,
        id: &str,
        actor: Actor<'_>,
        comment: Option<&str>,
    ) -> Result<CaseMapMeta, CaseMapError> {
        self.transition(id, actor, MapStatus::Approved, comment)
    }

    pub fn send_back(
        &self,
        id: &str,
        actor: Actor<'_>,
        comment: Option<&str>,
    ) -> Result<CaseMapMeta, CaseMapError> {
        self.transition(id, actor, MapStatus::Returned, comment)
    }

    /// Adds a comment. The owner and supervisors comment.
    pub fn comment(
        &self,
        id: &str,
        actor: Actor<'_>,
        text: &str,
    ) -> Result<CaseMapMeta, CaseMapError> {
        validate_comment(text)?;
        if text.trim().is_empty() {
            return Err(invalid("a comment cannot be empty"));
        }
        let _g = self.lock()?;
        let mut m = self.load_meta(id)?;
        if !can_see(&m, actor) {
            return Err(CaseMapError::NotFound(id.to_string()));
        }
        if m.owner != actor.user && !actor.is_supervisor() {
            return Err(CaseMapError::Forbidden(
                "only the owner and supervisors comment".to_string(),
            ));
        }
        let now = now_unix();
        m.comments.push(Comment {
            user: actor.user.to_string(),
            role: actor.role,
            time: now,
            text: text.trim().to_string(),
            version: m.version,
        });
        m.updated = now;
        self.store_meta(&m)?;
        Ok(m)
    }
}

fn validate_comment(c: &str) -> Result<(), CaseMapError> {
    if c.chars().count() > MAX_COMMENT_CHARS {
        return Err(invalid(format!(
            "a comment is limited to {MAX_COMMENT_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::docs::MemDocs;

    const INV: Actor<'static> = Actor {
        user: "inv",
        role: Role::Investigator,
    };
    const OTHER: Actor<'static> = Actor {
        user: "other",
        role: Role::Investigator,
    };
    const SUP: Actor<'static> = Actor {
        user: "sup",
        role: Role::Supervisor,
    };

    fn content() -> CaseMapContent {
        CaseMapContent {
            entities: vec![
                MapEntity {
                    entity_ref: "person:36073019900101123X".into(),
                    label: "张三".into(),
                    x: 1.0,
                    y: 2.0,
                    roles: vec!["returnee".into()],
                    community: Some(3),
                    note: String::new(),
                },
                MapEntity {
                    entity_ref: "phone:+8613800138000".into(),
                    label: String::new(),
                    x: 0.0,
                    y: 0.0,
                    roles: vec![],
                    community: None,
                    note: String::new(),
                },
            ],
            links: vec![MapLink {
                from: "person:36073019900101123X".into(),
                to: "phone:+8613800138000".into(),
                kind: "owns".into(),
                count: 1,
                amount_fen: None,
                duration_s: None,
                first: None,
                last: None,
                note: String::new(),
            }],
            notes: "seed".into(),
            queries: vec![],
        }
    }

    #[test]
    fn lifecycle_draft_submit_return_save_approve() {
        let maps = CaseMaps::new(Arc::new(MemDocs::new()));
        let m = maps.create(INV, "宁都案", &content()).unwrap();
        assert_eq!(m.status, MapStatus::Draft);
        // Drafts are hidden from other investigators, visible to supervisors.
        assert!(matches!(
            maps.get(&m.id, OTHER),
            Err(CaseMapError::NotFound(_))
        ));
        assert!(maps.get(&m.id, SUP).is_ok());
        assert!(maps.list(OTHER, None).unwrap().is_empty());
        // Supervisors cannot approve a draft; investigators cannot approve at all.
        assert!(matches!(
            maps.approve(&m.id, SUP, None),
            Err(CaseMapError::Conflict(_))
        ));
        maps.submit(&m.id, INV).unwrap();
        assert!(matches!(
            maps.approve(&m.id, INV, None),
            Err(CaseMapError::Forbidden(_))
        ));
        assert!(matches!(
            maps.save(&m.id, INV, None, &content(), None),
            Err(CaseMapError::Conflict(_))
        ));
        let r = maps
            .send_back(&m.id, SUP, Some("evidence for link 2?"))
            .unwrap();
        assert_eq!(r.status, MapStatus::Returned);
        assert_eq!(r.comments.len(), 1);
        let s = maps
            .save(&m.id, INV, Some("宁都案 v2"), &content(), Some(1))
            .unwrap();
        assert_eq!((s.version, s.status), (2, MapStatus::Draft));
        assert!(matches!(
            maps.save(&m.id, INV, None, &content(), Some(1)),
            Err(CaseMapError::Conflict(_))
        ));
        maps.submit(&m.id, INV).unwrap();
        maps.comment(&m.id, SUP, "ok").unwrap();
        let a = maps.approve(&m.id, SUP, Some("approved")).unwrap();
        assert_eq!(a.status, MapStatus::Approved);
        assert_eq!(a.comments.len(), 3);
        assert_eq!(a.history.len(), 5);
        // Approved maps are visible to all and final.
        assert!(maps.get(&m.id, OTHER).is_ok());
        assert!(matches!(
            maps.send_back(&m.id, SUP, None),
            Err(CaseMapError::Conflict(_))
        ));
        let (_, v, c) = maps.content(&m.id, Some(1), SUP).unwrap();
        assert_eq!((v, c), (1, content()));
        assert!(matches!(
            maps.content(&m.id, Some(9), SUP),
            Err(CaseMapError::NotFound(_))
        ));
    }

    #[test]
    fn content_is_validated() {
        let maps = CaseMaps::new(Arc::new(MemDocs::new()));
        let mut c = content();
        c.entities[0].entity_ref = "nonsense".into();
        assert!(matches!(
            maps.create(INV, "x", &c),
            Err(CaseMapError::Invalid(_))
        ));
        let mut c = content();
        c.links[0].to = "phone:+861".into();
        assert!(matches!(
            maps.create(INV, "x", &c),
            Err(CaseMapError::Invalid(_))
        ));
        assert!(matches!(
            maps.create(INV, "  ", &content()),
            Err(CaseMapError::Invalid(_))
        ));
        let mut c = content();
        c.entities.push(c.entities[0].clone());
        assert!(matches!(
            maps.create(INV, "x", &c),
            Err(CaseMapError::Invalid(_))
        ));
    }
}
