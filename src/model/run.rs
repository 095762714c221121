//! Community-detection runs: their parameters, the community of every entity and a summary of every
//! community. Pure data: `algo::community` and `algo::report` compute them, `store` keeps them.

use super::{EntityId, Timestamp};

/// A fieldless enum stored as its `u8` code and written as its name: `ALL`, `as_str`, `parse`
/// (any case, surrounding space ignored) and `from_code`.
macro_rules! named_code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
            }

            pub fn from_code(c: u8) -> Option<$name> {
                $name::ALL.iter().copied().find(|x| *x as u8 == c)
            }
        }
    };
}

named_code_enum! {
    /// The community-detection algorithm of a run.
    Algo {
        Leiden = 1 => "leiden",
        Louvain = 2 => "louvain",
        Lpa = 3 => "lpa",
        Wcc = 4 => "wcc",
    }
}

named_code_enum! {
    /// Which graph a run partitions.
    GraphKind {
        /// Persons linked through what they share, call and pay
        /// (`algo::projection::person_projection`); identifiers then join the community of their
        /// holders.
        Person = 1 => "person",
        /// Every entity and link (`algo::projection::entity_edges`).
        Entity = 2 => "entity",
    }
}

named_code_enum! {
    /// How the person projection weighs its ties
    /// (`algo::projection::ProjectionConfig::for_weighting`).
    Weighting {
        /// Evidence of working together: shared identifiers and handsets, stated associations and
        /// co-travel at full weight; calls, messages and transfers at a fifth (contact, not
        /// co-operation); kinship and address links, and contact between registered relatives,
        /// left out.
        Operational = 1 => "operational",
        /// Every tie at its evidence strength (kinship and contact included).
        Evidence = 2 => "evidence",
    }
}

/// What a run was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct RunParams {
    pub algo: Algo,
    /// Modularity resolution γ (Leiden, Louvain); ignored by LPA and WCC.
    pub resolution: f64,
    pub seed: u64,
    pub graph: GraphKind,
    /// Identifiers held by more persons than this tie nobody in the person projection.
    pub max_holders: u32,
    /// How the person projection weighs its ties.
    pub weighting: Weighting,
    /// How the linked groups inside each community were found; `None`: the run has none (it was
    /// written before linked groups existed).
    pub groups: Option<GroupParams>,
}

/// The two factors of the linked groups (`algo::groups`), relative to each community's density.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupParams {
    /// Sub-communities are sets of members this many times denser than their community (the CPM
    /// resolution relative to the community's density).
    pub part_density: f64,
    /// Sub-communities are joined while the density of the ties between them is at least this
    /// many times the community's density.
    pub link_density: f64,
}

impl GroupParams {
    /// The factors a run uses unless told otherwise.
    pub const STANDARD: GroupParams = GroupParams {
        part_density: 2.0,
        link_density: 0.2,
    };
}

/// A stored run without its communities and membership.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// 1, 2, … in the order runs were written.
    pub id: u32,
    pub params: RunParams,
    /// When the run was written (Unix seconds).
    pub time: Timestamp,
    /// Wall time of detection and report.
    pub seconds: f64,
    /// Newman–Girvan modularity (γ = 1) of the partition on the graph it was computed on.
    pub modularity: f64,
    /// The snapshot the run saw: its generation and size.
    pub generation: u64,
    pub entities: u64,
    pub links: u64,
    /// Nodes and edges of the partitioned graph.
    pub nodes: u64,
    pub edges: u64,
    pub communities: u32,
    /// The smallest community id never used by this run or any before it.
    pub next_community: u32,
    /// `None` for a run on one machine (`fraudnet communities`); the shape of the cluster for a
    /// `fraudnet cluster` run.
    pub cluster: Option<ClusterShape>,
}

/// The processes and worker threads per process a cluster run ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterShape {
    pub processes: u32,
    pub workers: u32,
}

/// Why a person is listed among a community's key people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyRole {
    /// Highest PageRank inside the community: the centre (likely boss or manager).
    Centre = 1,
    /// Most money received from inside and outside (likely financier or collector).
    Money = 2,
    /// Highest betweenness inside the community: connects its parts (likely recruiter or broker).
    Broker = 3,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Centre => "centre",
            KeyRole::Money => "money",
            KeyRole::Broker => "broker",
        }
    }

    pub fn from_code(c: u8) -> Option<KeyRole> {
        [KeyRole::Centre, KeyRole::Money, KeyRole::Broker]
            .into_iter()
            .find(|r| *r as u8 == c)
    }
}

/// One key person of a community with the centralities that put them there.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPerson {
    pub entity: EntityId,
    pub role: KeyRole,
    /// Neighbours inside the community.
    pub degree: u32,
    pub pagerank: f64,
    pub betweenness: f64,
    /// Money received and sent by the person's accounts and wallets (fen, all counterparties).
    pub money_in: i64,
    pub money_out: i64,
}

/// Another community this one is linked to.
#[derive(Clone, Debug, PartialEq)]
pub struct CommunityLink {
    pub community: u32,
    /// Summed weight of the graph's edges between the two.
    pub weight: f64,
    /// Money moved between the two, both directions (fen).
    pub money: i64,
}

/// The summary of one community of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct CommunitySummary {
    pub id: u32,
    /// Nodes of the partitioned graph in it (persons on the person projection).
    pub size: u32,
    /// Members by role: (bit index in [`super::Roles::NAMES`], count).
    pub roles: Vec<(u8, u32)>,
    pub key_people: Vec<KeyPerson>,
    /// Transfers into the community from outside, out of it, and between its members (fen).
    pub money_in: i64,
    pub money_out: i64,
    pub money_inside: i64,
    /// The most strongly linked other communities, strongest first.
    pub links: Vec<CommunityLink>,
}

/// The community of every entity of a run, sorted by entity id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Membership {
    pub entries: Vec<MemberEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberEntry {
    pub entity: EntityId,
    pub community: u32,
    /// A node of the partitioned graph (false: an identifier that joined its holders' community).
    pub member: bool,
}

impl Membership {
    /// The community of an entity.
    pub fn get(&self, id: EntityId) -> Option<MemberEntry> {
        self.entries
            .binary_search_by_key(&id, |e| e.entity)
            .ok()
            .map(|i| self.entries[i])
    }

    /// Members (nodes of the partitioned graph) of one community, in id order.
    pub fn members_of(&self, community: u32) -> impl Iterator<Item = EntityId> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.member && e.community == community)
            .map(|e| e.entity)
    }
}

/// One merge inside a [`LinkedGroup`]: two sets of its sub-communities joined by their ties.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupMerge {
    /// Members on each side, the larger first.
    pub sizes: (u32, u32),
    /// Summed weight of the edges between the two sides.
    pub weight: f64,
    /// The density of those edges (`weight / (n_A n_B)`) over the community's own density.
    pub ratio: f64,
}

/// A linked group of a run: sub-communities of one community joined by ties much denser than the
/// community's average (the community's core, without the members only loosely tied to it).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedGroup {
    /// 1, 2, … by size within the run (not matched between runs).
    pub id: u32,
    /// The community it lies in.
    pub community: u32,
    /// Members (nodes of the partitioned graph), in id order.
    pub members: Vec<EntityId>,
    /// Sizes of its sub-communities, largest first.
    pub parts: Vec<u32>,
    /// The merges that joined them, in order.
    pub merges: Vec<GroupMerge>,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub communities: Vec<CommunitySummary>,
    pub membership: Membership,
    /// Linked groups of at least [`GROUP_MIN_SIZE`] members, largest first.
    pub groups: Vec<LinkedGroup>,
}

/// Linked groups smaller than this are not kept with a run.
pub const GROUP_MIN_SIZE: u32 = 5;
