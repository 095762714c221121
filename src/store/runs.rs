//! Community-detection runs (`fraudnet communities`): three document collections keyed by the run
//! id written as ten decimal digits, so key order is run order.
//!
//! * `runs`: the [`RunInfo`] (parameters, time, modularity, snapshot size), small, for listing;
//! * `run_communities`: every [`CommunitySummary`] of the run;
//! * `run_members`: the [`Membership`], compact: entries sorted by entity id, each a varint of the
//!   id's delta from the previous one and a varint `community << 1 | member`.
//!
//! * `run_groups`: the run's [`LinkedGroup`]s, each with its members delta-coded as above
//!   (absent for runs written before linked groups existed: read as none).
//!
//! The four are written in one batch.

use super::codec::{Dec, Enc};
use super::{Batch, CorruptionError, Store, StoreError};
use crate::model::run::{
    Algo, ClusterShape, CommunityLink, CommunitySummary, GraphKind, GroupMerge, GroupParams,
    KeyPerson, KeyRole, LinkedGroup, MemberEntry, Membership, Run, RunInfo, RunParams, Weighting,
};
use crate::model::EntityId;

const RUNS: &str = "runs";
const COMMUNITIES: &str = "run_communities";
const MEMBERS: &str = "run_members";
const GROUPS: &str = "run_groups";

fn key(id: u32) -> String {
    format!("{id:010}")
}

/// Version 2 appends the cluster shape (processes, workers; 0, 0 for one machine) and the
/// weighting to version 1; version 3 appends the linked groups' factors (a flag, then the two).
fn encode_info(r: &RunInfo) -> Vec<u8> {
    let mut e = Enc::with_tag(3);
    e.u32(r.id)
        .u8(r.params.algo as u8)
        .f64(r.params.resolution)
        .u64(r.params.seed)
        .u8(r.params.graph as u8)
        .u32(r.params.max_holders)
        .i64(r.time)
        .f64(r.seconds)
        .f64(r.modularity)
        .u64(r.generation)
        .u64(r.entities)
        .u64(r.links)
        .u64(r.nodes)
        .u64(r.edges)
        .u32(r.communities)
        .u32(r.next_community);
    let c = r.cluster.unwrap_or(ClusterShape {
        processes: 0,
        workers: 0,
    });
    e.u32(c.processes)
        .u32(c.workers)
        .u8(r.params.weighting as u8);
    match r.params.groups {
        Some(g) => e.u8(1).f64(g.part_density).f64(g.link_density),
        None => e.u8(0),
    };
    e.finish()
}

fn decode_info(b: &[u8]) -> Result<RunInfo, CorruptionError> {
    // version 1 (before cluster runs and the weighting were recorded): one machine, every tie
    // weighed by its evidence
    let version = match b.first() {
        Some(&v @ (1 | 2)) => v,
        _ => 3,
    };
    let mut d = Dec::tag(b, "run", version)?;
    let id = d.u32()?;
    let algo = d.u8()?;
    let algo = Algo::from_code(algo)
        .ok_or_else(|| CorruptionError::new("run", format!("algorithm {algo}")))?;
    let resolution = d.f64()?;
    let seed = d.u64()?;
    let graph = d.u8()?;
    let graph = GraphKind::from_code(graph)
        .ok_or_else(|| CorruptionError::new("run", format!("graph {graph}")))?;
    let mut info = RunInfo {
        id,
        params: RunParams {
            algo,
            resolution,
            seed,
            graph,
            max_holders: d.u32()?,
            weighting: Weighting::Evidence,
            groups: None,
        },
        time: d.i64()?,
        seconds: d.f64()?,
        modularity: d.f64()?,
        generation: d.u64()?,
        entities: d.u64()?,
        links: d.u64()?,
        nodes: d.u64()?,
        edges: d.u64()?,
        communities: d.u32()?,
        next_community: d.u32()?,
        cluster: None,
    };
    if version >= 2 {
        let (processes, workers) = (d.u32()?, d.u32()?);
        info.cluster = (processes > 0).then_some(ClusterShape { processes, workers });
        let w = d.u8()?;
        info.params.weighting = Weighting::from_code(w)
            .ok_or_else(|| CorruptionError::new("run", format!("weighting {w}")))?;
    }
    if version >= 3 {
        info.params.groups = match d.u8()? {
            0 => None,
            1 => Some(GroupParams {
                part_density: d.f64()?,
                link_density: d.f64()?,
            }),
            f => return Err(CorruptionError::new("run", format!("groups flag {f}"))),
        };
    }
    d.end()?;
    Ok(info)
}

fn encode_communities(cs: &[CommunitySummary]) -> Vec<u8> {
    let mut e = Enc::with_tag(1);
    e.var(cs.len() as u64);
    for c in cs {
        e.var(u64::from(c.id))
            .var(u64::from(c.size))
            .i64(c.money_in)
            .i64(c.money_out)
            .i64(c.money_inside)
            .var(c.roles.len() as u64);
        for &(bit, n) in &c.roles {
            e.u8(bit).var(u64::from(n));
        }
        e.var(c.key_people.len() as u64);
        for k in &c.key_people {
            e.u64(k.entity.0)
                .u8(k.role as u8)
                .var(u64::from(k.degree))
                .f64(k.pagerank)
                .f64(k.betweenness)
                .i64(k.money_in)
                .i64(k.money_out);
        }
        e.var(c.links.len() as u64);
        for l in &c.links {
            e.var(u64::from(l.community)).f64(l.weight).i64(l.money);
        }
    }
    e.finish()
}

fn decode_communities(b: &[u8]) -> Result<Vec<CommunitySummary>, CorruptionError> {
    let mut d = Dec::tag(b, "run communities", 1)?;
    let n = d.var()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let id = d.var32()?;
        let size = d.var32()?;
        let (money_in, money_out, money_inside) = (d.i64()?, d.i64()?, d.i64()?);
        let mut roles = Vec::new();
        for _ in 0..d.var()? {
            roles.push((d.u8()?, d.var32()?));
        }
        let mut key_people = Vec::new();
        for _ in 0..d.var()? {
            let entity = EntityId(d.u64()?);
            let role = d.u8()?;
            let role = KeyRole::from_code(role).ok_or_else(|| {
                CorruptionError::new("run communities", format!("key role {role}"))
            })?;
            key_people.push(KeyPerson {
                entity,
                role,
                degree: d.var32()?,
                pagerank: d.f64()?,
                betweenness: d.f64()?,
                money_in: d.i64()?,
                money_out: d.i64()?,
            });
        }
        let mut links = Vec::new();
        for _ in 0..d.var()? {
            links.push(CommunityLink {
                community: d.var32()?,
                weight: d.f64()?,
                money: d.i64()?,
            });
        }
        out.push(CommunitySummary {
            id,
            size,
            roles,
            key_people,
            money_in,
            money_out,
            money_inside,
            links,
        });
    }
    d.end()?;
    Ok(out)
}

fn encode_membership(m: &Membership) -> Vec<u8> {
    let mut e = Enc::with_tag(1);
    e.var(m.entries.len() as u64);
    let mut prev = 0u64;
    for x in &m.entries {
        e.var(x.entity.0.wrapping_sub(prev))
            .var((u64::from(x.community) << 1) | u64::from(x.member));
        prev = x.entity.0;
    }
    e.finish()
}

fn decode_membership(b: &[u8]) -> Result<Membership, CorruptionError> {
    let mut d = Dec::tag(b, "run membership", 1)?;
    let n = d.var()?;
    // each entry takes at least two bytes: never trust the count for the allocation
    let mut entries = Vec::with_capacity((n as usize).min(b.len() / 2));
    let mut prev = 0u64;
    for _ in 0..n {
        let entity = prev.wrapping_add(d.var()?);
        if entity <= prev && !entries.is_empty() {
            return Err(CorruptionError::new("run membership", "ids out of order"));
        }
        let c = d.var()?;
        let community = u32::try_from(c >> 1)
            .map_err(|_| CorruptionError::new("run membership", "community out of range"))?;
        entries.push(MemberEntry {
            entity: EntityId(entity),
            community,
            member: c & 1 == 1,
        });
        prev = entity;
    }
    d.end()?;
    Ok(Membership { entries })
}

fn encode_groups(gs: &[LinkedGroup]) -> Vec<u8> {
    let mut e = Enc::with_tag(1);
    e.var(gs.len() as u64);
    for g in gs {
        e.var(u64::from(g.id))
            .var(u64::from(g.community))
            .var(g.members.len() as u64);
        let mut prev = 0u64;
        for m in &g.members {
            e.var(m.0.wrapping_sub(prev));
            prev = m.0;
        }
        e.var(g.parts.len() as u64);
        for &p in &g.parts {
            e.var(u64::from(p));
        }
        e.var(g.merges.len() as u64);
        for m in &g.merges {
            e.var(u64::from(m.sizes.0))
                .var(u64::from(m.sizes.1))
                .f64(m.weight)
                .f64(m.ratio);
        }
    }
    e.finish()
}

fn decode_groups(b: &[u8]) -> Result<Vec<LinkedGroup>, CorruptionError> {
    let mut d = Dec::tag(b, "run groups", 1)?;
    let n = d.var()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let id = d.var32()?;
        let community = d.var32()?;
        let mut members = Vec::new();
        let mut prev = 0u64;
        for _ in 0..d.var()? {
            let m = prev.wrapping_add(d.var()?);
            if m <= prev && !members.is_empty() {
                return Err(CorruptionError::new("run groups", "members out of order"));
            }
            members.push(EntityId(m));
            prev = m;
        }
        let mut parts = Vec::new();
        for _ in 0..d.var()? {
            parts.push(d.var32()?);
        }
        let mut merges = Vec::new();
        for _ in 0..d.var()? {
            merges.push(GroupMerge {
                sizes: (d.var32()?, d.var32()?),
                weight: d.f64()?,
                ratio: d.f64()?,
            });
        }
        out.push(LinkedGroup {
            id,
            community,
            members,
            parts,
            merges,
        });
    }
    d.end()?;
    Ok(out)
}

impl Store {
    /// Writes a run (info, communities, membership) in one batch. The membership must be sorted by
    /// entity id.
    pub fn put_run(&self, run: &Run) -> Result<(), StoreError> {
        if run
            .membership
            .entries
            .windows(2)
            .any(|w| w[0].entity >= w[1].entity)
        {
            return Err(StoreError::Corruption(CorruptionError::new(
                "run membership",
                "entries must be sorted by entity id, each once",
            )));
        }
        let k = key(run.info.id);
        let mut b = Batch::default();
        b.put_doc(RUNS, &k, &encode_info(&run.info));
        b.put_doc(COMMUNITIES, &k, &encode_communities(&run.communities));
        b.put_doc(MEMBERS, &k, &encode_membership(&run.membership));
        b.put_doc(GROUPS, &k, &encode_groups(&run.groups));
        self.write(b)
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunInfo>, StoreError> {
        self.scan_docs(RUNS)?
            .iter()
            .map(|(_, v)| decode_info(v).map_err(StoreError::from))
            .collect()
    }

    /// The newest run, if any.
    pub fn latest_run(&self) -> Result<Option<RunInfo>, StoreError> {
        Ok(self.runs()?.pop())
    }

    /// The id the next run gets.
    pub fn next_run_id(&self) -> Result<u32, StoreError> {
        Ok(self.latest_run()?.map_or(1, |r| r.id.saturating_add(1)))
    }

    pub fn run_info(&self, id: u32) -> Result<Option<RunInfo>, StoreError> {
        self.get_doc(RUNS, &key(id))?
            .map(|v| decode_info(&v).map_err(StoreError::from))
            .transpose()
    }

    /// The communities of a run (empty when there is no such run).
    pub fn run_communities(&self, id: u32) -> Result<Vec<CommunitySummary>, StoreError> {
        self.get_doc(COMMUNITIES, &key(id))?
            .map_or(Ok(Vec::new()), |v| {
                decode_communities(&v).map_err(StoreError::from)
            })
    }

    /// The membership of a run (empty when there is no such run).
    pub fn run_membership(&self, id: u32) -> Result<Membership, StoreError> {
        self.get_doc(MEMBERS, &key(id))?
            .map_or(Ok(Membership::default()), |v| {
                decode_membership(&v).map_err(StoreError::from)
            })
    }

    /// The linked groups of a run (empty when there is no such run, or it was written before
    /// linked groups were kept).
    pub fn run_groups(&self, id: u32) -> Result<Vec<LinkedGroup>, StoreError> {
        self.get_doc(GROUPS, &key(id))?.map_or(Ok(Vec::new()), |v| {
            decode_groups(&v).map_err(StoreError::from)
        })
    }

    /// A whole run.
    pub fn run(&self, id: u32) -> Result<Option<Run>, StoreError> {
        let Some(info) = self.run_info(id)? else {
            return Ok(None);
        };
        Ok(Some(Run {
            info,
            communities: self.run_communities(id)?,
            membership: self.run_membership(id)?,
            groups: self.run_groups(id)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: u32) -> Run {
        Run {
            info: RunInfo {
                id,
                params: RunParams {
                    algo: Algo::Leiden,
                    resolution: 1.5,
                    seed: 7,
                    graph: GraphKind::Person,
                    max_holders: 20,
                    weighting: Weighting::Operational,
                    groups: Some(GroupParams {
                        part_density: 2.5,
                        link_density: 0.25,
                    }),
                },
                time: 1_700_000_000,
                seconds: 0.25,
                modularity: 0.61,
                generation: 3,
                entities: 10,
                links: 12,
                nodes: 4,
                edges: 5,
                communities: 2,
                next_community: 3,
                cluster: (id % 2 == 0).then_some(ClusterShape {
                    processes: 2,
                    workers: 4,
                }),
            },
            communities: vec![CommunitySummary {
                id: 1,
                size: 3,
                roles: vec![(3, 1), (10, 2)],
                key_people: vec![KeyPerson {
                    entity: EntityId(5),
                    role: KeyRole::Centre,
                    degree: 2,
                    pagerank: 0.4,
                    betweenness: 1.0,
                    money_in: 1_000_000,
                    money_out: -3,
                }],
                money_in: 10,
                money_out: 20,
                money_inside: 30,
                links: vec![CommunityLink {
                    community: 2,
                    weight: 6.5,
                    money: 40,
                }],
            }],
            membership: Membership {
                entries: [
                    (1, 1, true),
                    (5, 1, true),
                    (300, 2, false),
                    (u64::MAX, 1, true),
                ]
                .into_iter()
                .map(|(e, c, m)| MemberEntry {
                    entity: EntityId(e),
                    community: c,
                    member: m,
                })
                .collect(),
            },
            groups: vec![LinkedGroup {
                id: 1,
                community: 1,
                members: vec![EntityId(1), EntityId(5), EntityId(u64::MAX)],
                parts: vec![2, 1],
                merges: vec![GroupMerge {
                    sizes: (2, 1),
                    weight: 1.5,
                    ratio: 3.25,
                }],
            }],
        }
    }

    #[test]
    fn runs_round_trip_in_order() {
        let s = Store::in_memory();
        assert_eq!(s.next_run_id().unwrap(), 1);
        assert!(s.run(1).unwrap().is_none());
        for id in [1, 2, 10] {
            s.put_run(&sample(id)).unwrap();
        }
        assert_eq!(
            s.runs().unwrap().iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2, 10]
        );
        assert_eq!(s.next_run_id().unwrap(), 11);
        let back = s.run(10).unwrap().unwrap();
        assert_eq!(back, sample(10));
        assert_eq!(back.membership.get(EntityId(300)).unwrap().community, 2);
        assert_eq!(
            back.membership.members_of(1).collect::<Vec<_>>(),
            vec![EntityId(1), EntityId(5), EntityId(u64::MAX)]
        );
    }

    #[test]
    fn unsorted_membership_is_refused_and_damage_detected() {
        let s = Store::in_memory();
        let mut r = sample(1);
        r.membership.entries.swap(0, 1);
        assert!(s.put_run(&r).is_err());
        let good = encode_membership(&sample(1).membership);
        for cut in 1..good.len() {
            assert!(decode_membership(&good[..cut]).is_err(), "cut at {cut}");
        }
        let c = encode_communities(&sample(1).communities);
        assert!(decode_communities(&c[..c.len() - 1]).is_err());
        let g = encode_groups(&sample(1).groups);
        for cut in 1..g.len() {
            assert!(decode_groups(&g[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_info(&[2]).is_err());
        let i = encode_info(&sample(1).info);
        for cut in 1..i.len() {
            assert!(decode_info(&i[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = i.clone();
        bad[i.len() - 17] = 7;
        assert!(decode_info(&bad).is_err(), "an unknown groups flag");
    }

    #[test]
    fn runs_written_before_the_groups_factors_read_as_none() {
        let mut r = sample(2).info;
        // version 2: version 3 without the groups' flag and factors
        let mut v2 = encode_info(&r);
        v2.truncate(v2.len() - 17);
        v2[0] = 2;
        r.params.groups = None;
        assert_eq!(decode_info(&v2).unwrap(), r);
        let s = Store::in_memory();
        let mut none = sample(3);
        none.info.params.groups = None;
        s.put_run(&none).unwrap();
        assert_eq!(s.run(3).unwrap().unwrap(), none);
    }
}
