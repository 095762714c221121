//! The background population: counties, villages, households and the people in them, with the
//! employers, subsidy offices, payment platforms and service numbers they deal with.
//!
//! People are laid out contiguously by county, village and household, so a village or a household
//! is an index range and most relations are index arithmetic.

use super::clock::{self as time, DAY};
use super::ids::{self, mix, mix2, Ph};
use rand::Rng;
use rustc_hash::FxHashMap;

/// What kind of place a county is, which shapes who lives there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    /// Ganzhou and its neighbours: the case's home ground.
    Ganzhou,
    /// Southern Fujian: where the boss and the financiers come from.
    Fujian,
    /// The Yunnan border with Myanmar.
    Border,
    /// Poor rural counties where card farmers cluster.
    Rural,
    /// Cities across China (factory towns, and most victims).
    City,
}

pub(crate) struct County {
    pub code: u32,
    pub name: &'static str,
    pub weight: f64,
    pub area: Area,
}

const fn c(code: u32, name: &'static str, weight: f64, area: Area) -> County {
    County {
        code,
        name,
        weight,
        area,
    }
}

pub(crate) const NINGDU: u32 = 360_730;
pub(crate) const ANXI: u32 = 350_524;

pub(crate) const COUNTIES: [County; 37] = [
    c(360_730, "宁都县", 26.0, Area::Ganzhou),
    c(360_731, "于都县", 4.5, Area::Ganzhou),
    c(360_732, "兴国县", 4.5, Area::Ganzhou),
    c(360_781, "瑞金市", 4.0, Area::Ganzhou),
    c(360_735, "石城县", 2.5, Area::Ganzhou),
    c(360_704, "赣县区", 3.0, Area::Ganzhou),
    c(360_702, "章贡区", 4.5, Area::Ganzhou),
    c(360_703, "南康区", 3.0, Area::Ganzhou),
    c(360_733, "会昌县", 2.0, Area::Ganzhou),
    c(360_734, "寻乌县", 1.5, Area::Ganzhou),
    c(361_030, "广昌县", 1.5, Area::Ganzhou),
    c(360_111, "南昌市青山湖区", 2.0, Area::City),
    c(350_524, "安溪县", 2.5, Area::Fujian),
    c(350_582, "晋江市", 1.5, Area::Fujian),
    c(350_583, "南安市", 1.0, Area::Fujian),
    c(350_503, "泉州市丰泽区", 1.0, Area::Fujian),
    c(440_306, "深圳市宝安区", 3.0, Area::City),
    c(440_111, "广州市白云区", 2.5, Area::City),
    c(441_900, "东莞市", 2.0, Area::City),
    c(530_924, "镇康县", 0.8, Area::Border),
    c(530_926, "耿马傣族佤族自治县", 0.6, Area::Border),
    c(533_102, "瑞丽市", 0.8, Area::Border),
    c(530_902, "临沧市临翔区", 0.6, Area::Border),
    c(450_923, "博白县", 1.5, Area::Rural),
    c(450_881, "桂平市", 1.5, Area::Rural),
    c(430_524, "隆回县", 1.2, Area::Rural),
    c(522_427, "威宁彝族回族苗族自治县", 1.0, Area::Rural),
    c(110_105, "北京市朝阳区", 3.0, Area::City),
    c(310_115, "上海市浦东新区", 3.0, Area::City),
    c(510_107, "成都市武侯区", 2.0, Area::City),
    c(420_111, "武汉市洪山区", 2.0, Area::City),
    c(330_106, "杭州市西湖区", 1.5, Area::City),
    c(610_113, "西安市雁塔区", 1.5, Area::City),
    c(500_112, "重庆市渝北区", 1.5, Area::City),
    c(320_106, "南京市鼓楼区", 1.2, Area::City),
    c(410_105, "郑州市金水区", 1.2, Area::City),
    c(230_102, "哈尔滨市道里区", 1.0, Area::City),
];

pub(crate) mod flag {
    pub const PHONE: u8 = 1;
    pub const PHONE2: u8 = 2;
    pub const ACCOUNT: u8 = 4;
    pub const ACCOUNT2: u8 = 8;
    pub const HANDSET_CHANGE: u8 = 16;
    /// Lists a recycled number: an old registration of a number someone else holds now.
    pub const RECYCLED: u8 = 32;
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Person {
    /// YYYYMMDD.
    pub birth: u32,
    pub county: u8,
    pub village: u32,
    pub household: u32,
    pub seq: u16,
    pub male: bool,
    pub surname: u8,
    pub flags: u8,
    /// Employer org index + 1, 0 for none.
    pub employer: u32,
}

impl Person {
    pub fn year(&self) -> u32 {
        self.birth / 10_000
    }
    /// Age in 2023.
    pub fn age(&self) -> u32 {
        2023u32.saturating_sub(self.year())
    }
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

pub(crate) struct Village {
    pub county: u8,
    pub start: u32,
    pub end: u32,
    /// Location area code of the village's cells.
    pub lac: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrgKind {
    Employer,
    Subsidy,
    Clearing,
    Merchant,
}

pub(crate) struct Org {
    pub kind: OrgKind,
    pub name: String,
    pub account: u64,
}

pub(crate) struct Population {
    pub seed: u64,
    pub people: Vec<Person>,
    pub villages: Vec<Village>,
    /// Start index of each household; a sentinel at the end.
    pub households: Vec<u32>,
    /// Person index range per county.
    pub county_ranges: Vec<(u32, u32)>,
    pub orgs: Vec<Org>,
    /// Org indices per county: shops and the subsidy office.
    pub merchants: Vec<Vec<u32>>,
    pub subsidy: Vec<u32>,
    pub clearing: Vec<u32>,
    /// Couriers' work numbers per county: (person, phone id of the work number).
    pub couriers: Vec<Vec<(u32, u64)>>,
    pub privacy_numbers: u64,
    /// Location areas of the border towns' cells.
    pub border_lacs: Vec<u32>,
    pub telemarketers: Vec<Ph>,
    /// Next free id for extra phones, accounts and devices (above the population's own ids).
    pub next_extra: u64,
}

const EMPLOYER_WORDS: [&str; 16] = [
    "鑫达", "宏图", "金源", "华兴", "永盛", "恒通", "利民", "腾飞", "福瑞", "东方", "兴旺", "顺达",
    "安泰", "嘉禾", "新宇", "康宁",
];
const EMPLOYER_TRADES: [&str; 10] = [
    "建材有限公司",
    "电子厂",
    "物流有限公司",
    "脐橙合作社",
    "服装有限公司",
    "建筑工程有限公司",
    "家具厂",
    "商贸有限公司",
    "食品有限公司",
    "劳务派遣有限公司",
];
const SHOP_TRADES: [&str; 8] = [
    "超市",
    "农资店",
    "五金店",
    "药店",
    "手机店",
    "饭店",
    "副食店",
    "建材店",
];

impl Population {
    pub fn build(n: usize, seed: u64) -> Population {
        let mut rng = time::rng(seed, 1, 0);
        let total_w: f64 = COUNTIES.iter().map(|c| c.weight).sum();
        let mut people = Vec::with_capacity(n);
        let mut villages = Vec::new();
        let mut households = Vec::with_capacity(n / 3 + 1);
        let mut county_ranges = Vec::new();
        let mut seqs: FxHashMap<u64, u16> = FxHashMap::default();
        let mut assigned = 0usize;
        for (ci, county) in COUNTIES.iter().enumerate() {
            let start = assigned;
            let want = if ci + 1 == COUNTIES.len() {
                n - assigned
            } else {
                ((n as f64) * county.weight / total_w).round() as usize
            };
            let want = want.min(n - assigned);
            let target_end = start + want;
            while assigned < target_end {
                let vsize = match county.area {
                    Area::City => rng.gen_range(800..3000),
                    _ => rng.gen_range(250..1400),
                };
                let vstart = assigned as u32;
                let vend = (assigned + vsize).min(target_end);
                let vi = villages.len() as u32;
                let clan = (mix2(seed, u64::from(vi) + 77) % ids::SURNAMES.len() as u64) as u8;
                while assigned < vend {
                    let size = [1usize, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6][rng.gen_range(0..12)];
                    let size = size.min(vend - assigned);
                    let hh = households.len() as u32;
                    households.push(assigned as u32);
                    let surname = if rng.gen_bool(0.55) {
                        clan
                    } else {
                        rng.gen_range(0..ids::SURNAMES.len() as u8)
                    };
                    let head_year = rng.gen_range(1948..1998u32);
                    for k in 0..size {
                        let (year, male, sn) = match k {
                            0 => (head_year, rng.gen_bool(0.85), surname),
                            1 => (
                                head_year.saturating_add_signed(rng.gen_range(-3..=4)),
                                false,
                                rng.gen_range(0..ids::SURNAMES.len() as u8),
                            ),
                            4 | 5 => (
                                head_year - rng.gen_range(22..32),
                                rng.gen_bool(0.5),
                                surname,
                            ),
                            _ => (
                                head_year + rng.gen_range(20..34),
                                rng.gen_bool(0.55),
                                surname,
                            ),
                        };
                        let year = year.clamp(1935, 2012);
                        let month = rng.gen_range(1..=12u32);
                        let day = rng.gen_range(1..=28u32);
                        let birth = year * 10_000 + month * 100 + day;
                        let key = u64::from(county.code) * 100_000_000 + u64::from(birth);
                        let count = seqs.entry(key).or_insert(0);
                        let seq = (*count * 2 + u16::from(male)) % 1000;
                        *count = (*count + 1) % 500;
                        let age = 2023 - year;
                        let h = mix2(seed, assigned as u64);
                        let mut flags = 0u8;
                        let phone_p = match age {
                            0..=11 => 0.0,
                            12..=15 => 0.6,
                            16..=69 => 0.98,
                            _ => 0.7,
                        };
                        if (h % 1000) as f64 / 1000.0 < phone_p {
                            flags |= flag::PHONE;
                            if (h >> 10) % 100 < 12 {
                                flags |= flag::PHONE2;
                            }
                            if (h >> 17) % 100 < 9 {
                                flags |= flag::HANDSET_CHANGE;
                            }
                            if (h >> 24) % 1000 < 3 {
                                flags |= flag::RECYCLED;
                            }
                        }
                        if age >= 16 && (h >> 30) % 100 < 88 {
                            flags |= flag::ACCOUNT;
                            if (h >> 37) % 100 < 30 {
                                flags |= flag::ACCOUNT2;
                            }
                        }
                        people.push(Person {
                            birth,
                            county: ci as u8,
                            village: vi,
                            household: hh,
                            seq,
                            male,
                            surname: sn,
                            flags,
                            employer: 0,
                        });
                        assigned += 1;
                    }
                }
                villages.push(Village {
                    county: ci as u8,
                    start: vstart,
                    end: vend as u32,
                    lac: 9000 + ci as u32 * 40 + vi % 40,
                });
            }
            county_ranges.push((start as u32, assigned as u32));
        }
        households.push(n as u32);
        drop(seqs);

        // Employers, shops, the subsidy office and the payment platforms.
        let mut orgs = Vec::new();
        let mut employers = Vec::new();
        let mut merchants = Vec::new();
        let mut subsidy = Vec::new();
        let org_acct = |k: u64| -> u64 {
            // Corporate account numbers: bank-internal, no Luhn digit.
            1_507_000_000_000_000_000 + ids_scramble(k)
        };
        for (ci, county) in COUNTIES.iter().enumerate() {
            let (s, e) = county_ranges[ci];
            let pop = (e - s) as usize;
            let short = county.name.trim_end_matches(['县', '区', '市']);
            // Employers (one per 350 residents) and shops (one per 500), named after the county.
            let mut add_orgs =
                |kind: OrgKind, salt: u64, per: usize, trades: &[&str]| -> Vec<u32> {
                    (0..(pop / per).max(1))
                        .map(|k| {
                            let h = mix2(seed ^ salt, (ci * 10_000 + k) as u64);
                            let word = EMPLOYER_WORDS[(h % 16) as usize];
                            let trade = trades[((h >> 8) % trades.len() as u64) as usize];
                            let id = orgs.len() as u32;
                            orgs.push(Org {
                                kind,
                                name: format!("{short}{word}{trade}"),
                                account: org_acct(u64::from(id)),
                            });
                            id
                        })
                        .collect()
                };
            let emp = add_orgs(OrgKind::Employer, 0, 350, &EMPLOYER_TRADES);
            let shops = add_orgs(OrgKind::Merchant, 0x5, 500, &SHOP_TRADES);
            subsidy.push(orgs.len() as u32);
            let acct = org_acct(orgs.len() as u64);
            orgs.push(Org {
                kind: OrgKind::Subsidy,
                name: format!("{}财政局惠农补贴专户", county.name),
                account: acct,
            });
            employers.push(emp);
            merchants.push(shops);
        }
        let mut clearing = Vec::new();
        for name in [
            "支付宝（中国）网络技术有限公司",
            "财付通支付科技有限公司",
            "网银在线（北京）科技有限公司",
        ] {
            clearing.push(orgs.len() as u32);
            let acct = org_acct(orgs.len() as u64);
            orgs.push(Org {
                kind: OrgKind::Clearing,
                name: name.to_string(),
                account: acct,
            });
        }

        // Jobs: working-age people with an employer in their county.
        for p in &mut people {
            let age = p.age();
            let emp = &employers[p.county as usize];
            if (20..=58).contains(&age) && rng.gen_bool(0.22) && !emp.is_empty() {
                p.employer = emp[rng.gen_range(0..emp.len())] + 1;
            }
        }

        // Couriers: one per ~1,500 people, each with a work number registered to them.
        let mut next_extra = 2 * n as u64;
        let mut couriers = Vec::new();
        for &(s, e) in &county_ranges {
            let mut cs = Vec::new();
            if e > s {
                for _ in 0..((e - s) / 1500).max(1) {
                    let p = rng.gen_range(s..e);
                    cs.push((p, next_extra));
                    next_extra += 1;
                }
            }
            couriers.push(cs);
        }
        let privacy_numbers = (n as u64 / 500).clamp(20, 2000);
        let telemarketers = (0..(n / 20_000).clamp(3, 40))
            .map(|_| {
                let ph = ids::cn_mobile(next_extra);
                next_extra += 1;
                ph
            })
            .collect();
        let mut border_lacs: Vec<u32> = villages
            .iter()
            .filter(|v| COUNTIES[v.county as usize].area == Area::Border)
            .map(|v| v.lac)
            .collect();
        border_lacs.dedup();
        Population {
            seed,
            border_lacs,
            people,
            villages,
            households,
            county_ranges,
            orgs,
            merchants,
            subsidy,
            clearing,
            couriers,
            privacy_numbers,
            telemarketers,
            next_extra,
        }
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn id_number(&self, p: u32) -> String {
        let x = &self.people[p as usize];
        ids::resident_id(COUNTIES[x.county as usize].code, x.birth, x.seq)
    }

    pub fn person_ref(&self, p: u32) -> String {
        format!("person:{}", self.id_number(p))
    }

    pub fn name(&self, p: u32) -> String {
        let x = &self.people[p as usize];
        let h = mix2(self.seed ^ 0xA11CE, u64::from(p));
        let mut s = String::from(ids::SURNAMES[x.surname as usize]);
        ids::push_given_name(&mut s, h, x.male);
        s
    }

    /// The person's phone number `slot` (0 or 1), if they have it.
    pub fn phone(&self, p: u32, slot: u8) -> Option<Ph> {
        let x = &self.people[p as usize];
        let ok = if slot == 0 {
            x.has(flag::PHONE)
        } else {
            x.has(flag::PHONE2)
        };
        ok.then(|| ids::cn_mobile(2 * u64::from(p) + u64::from(slot)))
    }

    pub fn account(&self, p: u32, slot: u8) -> Option<u64> {
        let x = &self.people[p as usize];
        let ok = if slot == 0 {
            x.has(flag::ACCOUNT)
        } else {
            x.has(flag::ACCOUNT2)
        };
        ok.then(|| ids::card_number(2 * u64::from(p) + u64::from(slot)))
    }

    /// The handset a person uses at time `t` (a second one after a change for some people).
    pub fn handset(&self, p: u32, t: i64) -> u64 {
        let x = &self.people[p as usize];
        let change = time::T0 + (mix2(self.seed, u64::from(p) + 3) % 390) as i64 * DAY;
        let slot = u64::from(x.has(flag::HANDSET_CHANGE) && t > change);
        ids::imei14(2 * u64::from(p) + slot)
    }

    /// The cell a person's calls are usually carried by (their village's area, one of a few cells).
    pub fn cell(&self, p: u32, r: u64) -> (u32, u32) {
        let x = &self.people[p as usize];
        let v = &self.villages[x.village as usize];
        let ci = (x.village * 7 + (r % 3) as u32) % 60_000 + 1000;
        (v.lac, ci)
    }

    /// A legitimate trip to a border town (about 0.3% of people): its start and the border area.
    pub fn trip(&self, p: u32) -> Option<(i64, u32)> {
        let h = mix2(self.seed ^ 0x7819, u64::from(p));
        if h % 1000 >= 3 || self.border_lacs.is_empty() {
            return None;
        }
        let start = time::T0 + ((h >> 10) % 380) as i64 * DAY + 8 * 3600;
        let lac = self.border_lacs[((h >> 20) % self.border_lacs.len() as u64) as usize];
        Some((start, lac))
    }

    /// The cell carrying a person's call at `t`: their village's, or a border town's during a trip.
    pub fn cell_at(&self, p: u32, t: i64, r: u64) -> (u32, u32) {
        match self.trip(p) {
            Some((start, lac)) if t >= start && t < start + 4 * DAY => {
                (lac, 50_000 + (r % 7) as u32)
            }
            _ => self.cell(p, r),
        }
    }

    pub fn household_range(&self, h: u32) -> (u32, u32) {
        (self.households[h as usize], self.households[h as usize + 1])
    }

    pub fn village_range(&self, p: u32) -> (u32, u32) {
        let v = &self.villages[self.people[p as usize].village as usize];
        (v.start, v.end)
    }

    /// The first person of a household (its head).
    pub fn head(&self, h: u32) -> u32 {
        self.households[h as usize]
    }

    /// The household members of `p` other than `p`.
    pub fn family(&self, p: u32) -> impl Iterator<Item = u32> {
        let (s, e) = self.household_range(self.people[p as usize].household);
        (s..e).filter(move |&q| q != p)
    }

    /// Whether a person's account slot 1 is a shop's account rather than a second personal card.
    /// Appends a holder's name to `out` without an intermediate allocation for organisations.
    pub fn push_holder_name(&self, out: &mut String, h: Holder) {
        match h {
            Holder::Person(p) => {
                let x = &self.people[p as usize];
                let hh = mix2(self.seed ^ 0xA11CE, u64::from(p));
                out.push_str(ids::SURNAMES[x.surname as usize]);
                ids::push_given_name(out, hh, x.male);
            }
            Holder::Org(o) => out.push_str(&self.orgs[o as usize].name),
        }
    }

    pub fn holder_name(&self, h: Holder) -> String {
        match h {
            Holder::Person(p) => self.name(p),
            Holder::Org(o) => self.orgs[o as usize].name.clone(),
        }
    }

    /// Random person in a county range.
    pub fn random_in_county<R: Rng>(&self, rng: &mut R, ci: usize) -> Option<u32> {
        let (s, e) = self.county_ranges[ci];
        (e > s).then(|| rng.gen_range(s..e))
    }
}

fn ids_scramble(k: u64) -> u64 {
    // 15 digits, distinct per k (k < 10^6 orgs): spread by a multiplier coprime to 10.
    (k * 7_368_787 + mix(k) % 1_000 * 1_000_000_000_000) % 1_000_000_000_000_000
}

/// Who holds an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Holder {
    Person(u32),
    Org(u32),
}
