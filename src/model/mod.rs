//! Pure domain types: entity and link kinds, canonical references, roles, statuses, times and money,
//! and the identifier rules that turn what a user or a file wrote into one canonical key.
//!
//! Nothing here does I/O; everything here is total or returns a typed error.

pub mod ident;
pub mod run;
pub mod time;

use std::fmt;

/// What an entity is. The discriminant is stored on disk: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EntityKind {
    Person = 1,
    Phone = 2,
    Account = 3,
    Device = 4,
    Wallet = 5,
    Place = 6,
    Org = 7,
}

impl EntityKind {
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Person,
        EntityKind::Phone,
        EntityKind::Account,
        EntityKind::Device,
        EntityKind::Wallet,
        EntityKind::Place,
        EntityKind::Org,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Phone => "phone",
            EntityKind::Account => "account",
            EntityKind::Device => "device",
            EntityKind::Wallet => "wallet",
            EntityKind::Place => "place",
            EntityKind::Org => "org",
        }
    }

    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn from_code(code: u8) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| *k as u8 == code)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a link. Built-in kinds have fixed codes below [`LinkKind::FIRST_CUSTOM`]; free-form
/// kinds from debriefs are interned by the store and get codes from `FIRST_CUSTOM` up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKind(pub u16);

impl LinkKind {
    pub const CALL: LinkKind = LinkKind(1);
    pub const SMS: LinkKind = LinkKind(2);
    pub const TRANSFER: LinkKind = LinkKind(3);
    /// A person owns, or is the registered holder of, a phone, account, wallet or device.
    pub const OWNS: LinkKind = LinkKind(4);
    /// A person uses an identifier registered to someone else.
    pub const USES: LinkKind = LinkKind(5);
    /// A SIM (phone) was seen in a handset (device).
    pub const DEVICE_OF: LinkKind = LinkKind(6);
    pub const RECRUITED: LinkKind = LinkKind(7);
    pub const FINANCED: LinkKind = LinkKind(8);
    pub const SMUGGLED: LinkKind = LinkKind(9);
    pub const COLLEAGUE: LinkKind = LinkKind(10);
    pub const RELATIVE: LinkKind = LinkKind(11);
    pub const MEMBER_OF: LinkKind = LinkKind(12);
    pub const TRAVELLED_WITH: LinkKind = LinkKind(13);
    /// Accounts operated from the same IP or MAC address.
    pub const SAME_ADDRESS: LinkKind = LinkKind(14);
    pub const FIRST_CUSTOM: u16 = 1000;

    const BUILTIN: [(LinkKind, &'static str); 14] = [
        (LinkKind::CALL, "call"),
        (LinkKind::SMS, "sms"),
        (LinkKind::TRANSFER, "transfer"),
        (LinkKind::OWNS, "owns"),
        (LinkKind::USES, "uses"),
        (LinkKind::DEVICE_OF, "device_of"),
        (LinkKind::RECRUITED, "recruited"),
        (LinkKind::FINANCED, "financed"),
        (LinkKind::SMUGGLED, "smuggled"),
        (LinkKind::COLLEAGUE, "colleague"),
        (LinkKind::RELATIVE, "relative"),
        (LinkKind::MEMBER_OF, "member_of"),
        (LinkKind::TRAVELLED_WITH, "travelled_with"),
        (LinkKind::SAME_ADDRESS, "same_address"),
    ];

    /// The built-in kind for a name, accepting the usual synonyms (`registered_to` is `owns`).
    pub fn builtin(name: &str) -> Option<LinkKind> {
        let name = name.trim().to_ascii_lowercase();
        let name = match name.as_str() {
            "registered_to" | "owner" | "holder" => "owns",
            "calls" => "call",
            "transfers" | "payment" => "transfer",
            "family" => "relative",
            "associate" | "colleagues" => "colleague",
            "membership" | "member" => "member_of",
            other => other,
        };
        LinkKind::BUILTIN
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| *k)
    }

    /// The name of a built-in kind; `None` for a custom kind (the store knows its name).
    pub fn builtin_name(self) -> Option<&'static str> {
        LinkKind::BUILTIN
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
    }

    pub fn builtins() -> impl Iterator<Item = (LinkKind, &'static str)> {
        LinkKind::BUILTIN.into_iter()
    }

    pub fn is_custom(self) -> bool {
        self.0 >= LinkKind::FIRST_CUSTOM
    }

    /// Links whose direction carries meaning (money, calls, recruiting). Others are symmetric.
    pub fn is_directed(self) -> bool {
        matches!(
            self,
            LinkKind::CALL
                | LinkKind::SMS
                | LinkKind::TRANSFER
                | LinkKind::RECRUITED
                | LinkKind::FINANCED
                | LinkKind::SMUGGLED
        )
    }
}

/// Investigative roles of a person, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Roles(pub u32);

impl Roles {
    pub const NAMES: [&'static str; 16] = [
        "returnee",
        "recruiter",
        "financier",
        "boss",
        "smuggler",
        "card_farmer",
        "mule",
        "victim",
        "suspect",
        "manager",
        "member",
        "launderer",
        "cash_out",
        "usdt_dealer",
        "card_dealer",
        "team_leader",
    ];

    pub fn bit(name: &str) -> Option<u32> {
        let name = name.trim().to_ascii_lowercase();
        let name = match name.as_str() {
            "snakehead" | "蛇头" => "recruiter",
            "gold_master" | "金主" => "financier",
            "回流人员" | "返回人员" => "returnee",
            "卡农" => "card_farmer",
            "卡商" => "card_dealer",
            "受害人" | "被害人" => "victim",
            "嫌疑人" => "suspect",
            "老板" => "boss",
            "主管" => "manager",
            "组长" => "team_leader",
            "车手" => "cash_out",
            "跑分" | "水房" => "launderer",
            "u商" => "usdt_dealer",
            "staff" | "worker" | "员工" => "member",
            other => other,
        };
        Roles::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| 1u32 << i)
    }

    pub fn insert_name(&mut self, name: &str) -> bool {
        match Roles::bit(name) {
            Some(b) => {
                self.0 |= b;
                true
            }
            None => false,
        }
    }

    pub fn contains(self, name: &str) -> bool {
        Roles::bit(name).is_some_and(|b| self.0 & b != 0)
    }

    pub fn union(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Roles::NAMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
    }
}

/// Where a person of interest stands; tracked over time by the anti-fraud stations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    Abroad = 1,
    Returned = 2,
    PersuadedToReturn = 3,
    Detained = 4,
    Prosecuted = 5,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Abroad,
        Status::Returned,
        Status::PersuadedToReturn,
        Status::Detained,
        Status::Prosecuted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Abroad => "abroad",
            Status::Returned => "returned",
            Status::PersuadedToReturn => "persuaded_to_return",
            Status::Detained => "detained",
            Status::Prosecuted => "prosecuted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_ascii_lowercase();
        let s = match s.as_str() {
            "在境外" | "滞留境外" => "abroad",
            "已回流" | "已返回" | "回国" => "returned",
            "劝返" => "persuaded_to_return",
            "刑拘" | "已抓获" | "拘留" => "detained",
            "起诉" | "已起诉" => "prosecuted",
            other => other,
        };
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as u8 == code)
    }
}

/// Quality flags an identifier rule raised. Flagged keys are kept, never merged with valid ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u16);

impl Flags {
    /// Resident ID, card (Luhn), IMEI or wallet check failed.
    pub const BAD_CHECKSUM: Flags = Flags(1);
    /// A phone number outside mainland China.
    pub const FOREIGN: Flags = Flags(2);
    /// A service number (95588, 10086, 400…): a hub by nature.
    pub const SERVICE: Flags = Flags(4);
    /// Upgraded from a 15-digit legacy resident ID.
    pub const LEGACY_ID: Flags = Flags(8);
    /// Masked or partial identifier (e.g. `3607**********12`).
    pub const MASKED: Flags = Flags(16);

    const NAMES: [(Flags, &'static str); 5] = [
        (Flags::BAD_CHECKSUM, "bad_checksum"),
        (Flags::FOREIGN, "foreign"),
        (Flags::SERVICE, "service"),
        (Flags::LEGACY_ID, "legacy_id"),
        (Flags::MASKED, "masked"),
    ];

    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }

    pub fn union(self, f: Flags) -> Flags {
        Flags(self.0 | f.0)
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

/// The canonical reference of an entity: `kind:key`, e.g. `phone:+8613800138000`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub key: String,
}

impl EntityRef {
    pub fn new(kind: EntityKind, key: impl Into<String>) -> EntityRef {
        EntityRef {
            kind,
            key: key.into(),
        }
    }

    /// Parses `kind:key` exactly (no normalisation of the key).
    pub fn parse(s: &str) -> Option<EntityRef> {
        let (kind, key) = s.split_once(':')?;
        let kind = EntityKind::parse(kind.trim())?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        Some(EntityRef::new(kind, key))
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.key)
    }
}

/// The persistent id of an entity in the store, allocated densely from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub u64);

/// Money in fen (1/100 yuan), exact.
pub type Fen = i64;

/// Seconds since the Unix epoch (UTC). Source times without an offset are Beijing time.
pub type Timestamp = i64;

#[cfg(test)]
mod tests;
