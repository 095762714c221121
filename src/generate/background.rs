//! Ordinary life: the calls and transfers of everyone, made per block of people with the block's own
//! random generator so blocks can run in parallel and the output stays the same.
//!
//! Each person makes calls to their household, kin in nearby households, fellow villagers, people
//! in the county and a few far away; calls hotlines; is called by couriers, ride-hailing privacy
//! numbers and telemarketers. Money: wages from employers, payment-platform legs, family transfers,
//! subsidies, shops and loans.

use super::clock::{self, at, DAY, HOUR, T0, T1};
use super::ids::{self, lognormal, mix2, skewed, Ph};
use super::out::{channel, memo, Call, Ctx, Out, Tx};
use super::population::{flag, Area, Holder, Population, COUNTIES};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

/// People per block.
pub(crate) const BLOCK: u32 = 2048;

/// Domestic phones dark while their holders are abroad.
pub(crate) type Dark = FxHashMap<u32, (i64, i64)>;

fn is_dark(dark: &Dark, p: u32, t: i64) -> bool {
    dark.get(&p).is_some_and(|&(a, b)| t >= a && t < b)
}

struct Block<'a, 'b> {
    ctx: &'a Ctx<'b>,
    dark: &'a Dark,
    rng: ChaCha8Rng,
    out: Out,
    tx_seq: u64,
    block: u64,
}

impl Block<'_, '_> {
    fn dur(&mut self, median: f64) -> u32 {
        if self.rng.gen_bool(0.09) {
            0
        } else {
            lognormal(&mut self.rng, median, 1.0).clamp(2.0, 5400.0) as u32
        }
    }

    /// `n` calls from `a` to `b` (both people) at ordinary times.
    fn calls(&mut self, a: u32, b: u32, n: u32, median: f64) {
        let pop = self.ctx.pop;
        let Some(pb) = pop.phone(b, 0) else { return };
        for _ in 0..n {
            let t = clock::ordinary(&mut self.rng, T0, T1);
            if is_dark(self.dark, a, t) || is_dark(self.dark, b, t) {
                continue;
            }
            let slot = u8::from(pop.people[a as usize].has(flag::PHONE2) && self.rng.gen_bool(0.3));
            let Some(pa) = pop.phone(a, slot) else {
                continue;
            };
            let dur = self.dur(median);
            let r = mix2(t as u64, u64::from(a));
            let mut c = Call::new(pa, pb, t, dur);
            c.imei_a = pop.handset(a, t);
            c.cell_a = pop.cell_at(a, t, r);
            c.imei_b = pop.handset(b, t);
            c.cell_b = pop.cell_at(b, t, r >> 5);
            self.out.call(self.ctx, c);
        }
    }

    /// A call between a person and a number that is not a person's phone.
    fn service_call(&mut self, p: u32, other: Ph, outgoing: bool, dur: u32, other_imei: u64) {
        let pop = self.ctx.pop;
        let Some(pp) = pop.phone(p, 0) else { return };
        let t = clock::ordinary(&mut self.rng, T0, T1);
        if is_dark(self.dark, p, t) {
            return;
        }
        let imei = pop.handset(p, t);
        let cell = pop.cell_at(p, t, t as u64);
        let c = if outgoing {
            let mut c = Call::new(pp, other, t, dur);
            c.imei_a = imei;
            c.cell_a = cell;
            c
        } else {
            let mut c = Call::new(other, pp, t, dur);
            c.imei_a = other_imei;
            c.imei_b = imei;
            c.cell_b = cell;
            c
        };
        self.out.call(self.ctx, c);
    }

    #[allow(clippy::too_many_arguments)]
    fn tx(
        &mut self,
        from: (u64, Holder),
        to: (u64, Holder),
        fen: i64,
        t: i64,
        ch: u8,
        m: u8,
        payer: Option<u32>,
    ) {
        self.tx_seq += 1;
        let id = (1 << 56) | (self.block << 32) | self.tx_seq;
        let (ip, mac) = match payer {
            Some(p)
                if ch == channel::MOBILE || ch == channel::ONLINE || ch == channel::THIRD_PARTY =>
            {
                let h = mix2(self.ctx.pop.seed ^ 0x1F, u64::from(p));
                let ip = if h % 10 < 4 {
                    // Carrier-grade NAT: a small pool shared by a whole county.
                    let county = u32::from(self.ctx.pop.people[p as usize].county);
                    (100 << 24) | (64 << 16) | (county << 8) | (mix2(t as u64, 3) % 8) as u32
                } else if h % 10 < 8 {
                    [(58u32 << 24), (117 << 24), (182 << 24), (223 << 24)][(h >> 8) as usize % 4]
                        | ((h >> 16) as u32 & 0xFF_FFFF)
                } else {
                    0
                };
                let mac = if (h >> 40) % 10 < 3 {
                    0x3CD9_2B00_0000 | (h >> 44)
                } else {
                    0
                };
                (ip, mac)
            }
            _ => (0, 0),
        };
        let t = Tx {
            from: from.0,
            from_h: from.1,
            to: to.0,
            to_h: to.1,
            amount: fen.max(1),
            t,
            id,
            channel: ch,
            memo: m,
            ip,
            mac,
        };
        self.out.tx(self.ctx, t);
    }

    fn person(&mut self, p: u32) {
        let pop = self.ctx.pop;
        let x = pop.people[p as usize];
        let county = &COUNTIES[x.county as usize];
        if x.has(flag::PHONE) {
            // Household.
            let (hs, he) = pop.household_range(x.household);
            for q in hs..he {
                if q != p {
                    let n = skewed(&mut self.rng, 1, 5);
                    self.calls(p, q, n, 120.0);
                }
            }
            // Kin in nearby households of the village.
            let (vs, ve) = pop.village_range(p);
            for d in [-2i64, -1, 1, 2] {
                let h = i64::from(x.household) + d;
                if h < 0 || h as usize + 1 >= pop.households.len() {
                    continue;
                }
                let head = pop.head(h as u32);
                if head >= vs && head < ve && self.rng.gen_bool(0.35) {
                    let n = skewed(&mut self.rng, 1, 3);
                    self.calls(p, head, n, 90.0);
                }
            }
            // Fellow villagers.
            for _ in 0..skewed(&mut self.rng, 1, 5) {
                let q = self.rng.gen_range(vs..ve);
                if q != p {
                    let n = skewed(&mut self.rng, 1, 2);
                    self.calls(p, q, n, 60.0);
                }
            }
            // The county and further.
            let (cs, ce) = pop.county_ranges[x.county as usize];
            for _ in 0..self.rng.gen_range(0..=2) {
                let q = self.rng.gen_range(cs..ce);
                self.calls(p, q, 1, 60.0);
            }
            if self.rng.gen_bool(0.5) {
                let q = self.rng.gen_range(0..pop.len() as u32);
                let n = self.rng.gen_range(1..=2);
                self.calls(p, q, n, 80.0);
            }
            // Hotlines.
            for (num, share) in ids::HOTLINES {
                if self.rng.gen_bool(share) {
                    for _ in 0..skewed(&mut self.rng, 1, 3) {
                        let d = self.dur(180.0);
                        self.service_call(p, Ph::Svc(num), true, d, 0);
                    }
                }
            }
            // Couriers call about parcels.
            let cs_list = &pop.couriers[x.county as usize];
            if !cs_list.is_empty() && self.rng.gen_bool(0.35) {
                let (cp, k) = cs_list[self.rng.gen_range(0..cs_list.len())];
                let ph = ids::cn_mobile(k);
                for _ in 0..skewed(&mut self.rng, 1, 4) {
                    let d = self.rng.gen_range(8..60);
                    self.service_call(p, ph, false, d, pop.handset(cp, T0));
                }
            }
            // Ride-hailing and delivery privacy numbers.
            let city = county.area == Area::City;
            if self.rng.gen_bool(if city { 0.3 } else { 0.08 }) {
                for _ in 0..skewed(&mut self.rng, 1, 3) {
                    let k = self.rng.gen_range(0..pop.privacy_numbers);
                    let out = self.rng.gen_bool(0.5);
                    let d = self.rng.gen_range(10..90);
                    self.service_call(p, ids::privacy_number(k), out, d, 0);
                }
            }
            // Telemarketers.
            if self.rng.gen_bool(0.06) {
                let ph = pop.telemarketers[self.rng.gen_range(0..pop.telemarketers.len())];
                let d = self.rng.gen_range(0..40);
                self.service_call(p, ph, false, d, 0);
            }
            if self.rng.gen_bool(0.01) {
                let d = self.rng.gen_range(20..300);
                self.service_call(p, Ph::Svc(ids::ANTI_FRAUD_LINE), false, d, 0);
            }
        }
        if x.has(flag::ACCOUNT) && x.age() >= 16 {
            self.money(p);
        }
    }

    fn money(&mut self, p: u32) {
        let pop = self.ctx.pop;
        let x = pop.people[p as usize];
        let mine = |slot: u8| pop.account(p, slot).map(|a| (a, Holder::Person(p)));
        let Some(acct) = mine(0) else { return };
        let second = mine(1);
        let pick = |rng: &mut ChaCha8Rng| match second {
            Some(s) if rng.gen_bool(0.3) => s,
            _ => acct,
        };
        // Wages.
        if x.employer > 0 {
            let org = x.employer - 1;
            let from = (pop.orgs[org as usize].account, Holder::Org(org));
            let base = lognormal(&mut self.rng, 4200.0, 0.35);
            let mut month = at(2023, 1, 10, 9, 0);
            while month < T1 {
                let t = month + self.rng.gen_range(0..3) * DAY + self.rng.gen_range(0..3 * HOUR);
                let fen = (base * self.rng.gen_range(0.95..1.08) * 100.0) as i64;
                self.tx(from, acct, fen, t, channel::BATCH, memo::WAGES, None);
                month += 30 * DAY + 10 * HOUR;
            }
        }
        // Payment platforms.
        for _ in 0..self.rng.gen_range(0..=7) {
            let c = pop.clearing[self.rng.gen_range(0..pop.clearing.len())];
            let plat = (pop.orgs[c as usize].account, Holder::Org(c));
            let t = clock::ordinary(&mut self.rng, T0, T1);
            let fen = (lognormal(&mut self.rng, 400.0, 1.1).min(50_000.0) * 100.0) as i64;
            let a = pick(&mut self.rng);
            if self.rng.gen_bool(0.6) {
                self.tx(
                    a,
                    plat,
                    fen,
                    t,
                    channel::THIRD_PARTY,
                    memo::QUICKPAY,
                    Some(p),
                );
            } else {
                self.tx(plat, a, fen, t, channel::THIRD_PARTY, memo::WITHDRAW, None);
            }
        }
        // Family: money to parents or the head of a kin household, heavy around Spring Festival.
        if (20..=55).contains(&x.age()) {
            for _ in 0..self.rng.gen_range(0..=3) {
                let q = pop
                    .family(p)
                    .find(|&q| pop.people[q as usize].year() + 18 < x.year())
                    .unwrap_or_else(|| {
                        let h = x.household.saturating_sub(1);
                        pop.head(h)
                    });
                let Some(qa) = pop.account(q, 0) else {
                    continue;
                };
                let t = if self.rng.gen_bool(0.4) {
                    if self.rng.gen_bool(0.5) {
                        self.rng
                            .gen_range(at(2023, 1, 10, 8, 0)..at(2023, 1, 21, 22, 0))
                    } else {
                        self.rng
                            .gen_range(at(2024, 1, 20, 8, 0)..at(2024, 1, 31, 22, 0))
                    }
                } else {
                    clock::ordinary(&mut self.rng, T0, T1)
                };
                let fen = [200i64, 500, 1000, 1000, 2000, 3000, 5000, 10_000]
                    [self.rng.gen_range(0..8)]
                    * 100;
                let a = pick(&mut self.rng);
                self.tx(
                    a,
                    (qa, Holder::Person(q)),
                    fen,
                    t,
                    channel::MOBILE,
                    memo::GIFT,
                    Some(p),
                );
            }
        }
        // Subsidies for the elderly and farmers.
        if x.age() >= 60
            || (COUNTIES[x.county as usize].area != Area::City && self.rng.gen_bool(0.25))
        {
            let o = pop.subsidy[x.county as usize];
            let from = (pop.orgs[o as usize].account, Holder::Org(o));
            for _ in 0..self.rng.gen_range(1..=3) {
                let t = clock::ordinary(&mut self.rng, T0, T1);
                let fen = [15_000i64, 30_000, 60_000, 120_000, 240_000][self.rng.gen_range(0..5)]
                    + self.rng.gen_range(0..100);
                self.tx(from, acct, fen, t, channel::BATCH, memo::SUBSIDY, None);
            }
        }
        // Shops.
        let shops = &pop.merchants[x.county as usize];
        for _ in 0..self.rng.gen_range(0..=2) {
            if shops.is_empty() {
                break;
            }
            let s = shops[self.rng.gen_range(0..shops.len())];
            let t = clock::ordinary(&mut self.rng, T0, T1);
            let fen = (lognormal(&mut self.rng, 600.0, 1.0) * 100.0) as i64;
            let a = pick(&mut self.rng);
            self.tx(
                a,
                (pop.orgs[s as usize].account, Holder::Org(s)),
                fen,
                t,
                channel::MOBILE,
                memo::GOODS,
                Some(p),
            );
        }
        // Loans between villagers.
        if self.rng.gen_bool(0.1) {
            let (vs, ve) = pop.village_range(p);
            let q = self.rng.gen_range(vs..ve);
            if let (Some(qa), true) = (pop.account(q, 0), q != p) {
                let t = clock::ordinary(&mut self.rng, T0, T1);
                let fen = [2000i64, 5000, 10_000, 20_000, 50_000][self.rng.gen_range(0..5)] * 100;
                self.tx(
                    acct,
                    (qa, Holder::Person(q)),
                    fen,
                    t,
                    channel::MOBILE,
                    memo::LOAN,
                    Some(p),
                );
            }
        }
    }
}

/// The ordinary calls and transfers of block `block` (people `block*BLOCK ..`).
pub(crate) fn block(ctx: &Ctx<'_>, dark: &Dark, block: u64) -> Out {
    let pop: &Population = ctx.pop;
    let mut b = Block {
        ctx,
        dark,
        rng: clock::rng(pop.seed, 10, block),
        out: Out::default(),
        tx_seq: 0,
        block,
    };
    let start = block as u32 * BLOCK;
    let end = (start + BLOCK).min(pop.len() as u32);
    for p in start..end {
        b.person(p);
    }
    b.out
}
