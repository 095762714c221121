//! Parse throughput per layout, in rows per second: rows generated in memory (seeded, realistic
//! shapes: mixed phone writings, Chinese names, 进/出 flags), parsed through the public API exactly
//! as an import does (`FileParser::next_chunk` with rayon inside).
//!
//! Run: `cargo bench --bench ingest_parse`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fraudnet::ingest::parse::FileParser;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

const ROWS: usize = 200_000;
const CHUNK: usize = 16_384;

/// Reads shared bytes without copying them per iteration.
struct Shared {
    bytes: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.bytes[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// A small deterministic generator (xorshift), so every run parses the same bytes.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn phone(&mut self) -> String {
        let n = 13_000_000_000 + self.below(7_000_000_000);
        match self.below(10) {
            0 => format!("+86 {n}"),
            1 => {
                let d = n.to_string();
                format!("{}-{}-{}", &d[..3], &d[3..7], &d[7..])
            }
            _ => n.to_string(),
        }
    }

    fn card(&mut self) -> String {
        format!("62{:017}", self.below(100_000_000_000_000_000))
    }

    fn time(&mut self) -> String {
        let d = 1 + self.below(28);
        let (h, m, s) = (self.below(24), self.below(60), self.below(60));
        format!("2024-03-{d:02} {h:02}:{m:02}:{s:02}")
    }
}

const NAMES: [&str; 8] = [
    "王建国",
    "李华",
    "赵敏",
    "孙强",
    "刘芳",
    "陈志强",
    "周杰",
    "吴磊",
];

fn calls(g: &mut Gen) -> Vec<u8> {
    let mut s = String::from("caller,callee,start_time,duration_s,imei,cell_id,source\n");
    for _ in 0..ROWS {
        let imei = if g.below(3) == 0 {
            String::new()
        } else {
            format!("86{:012}", g.below(1_000_000_000_000))
        };
        s += &format!(
            "{},{},{},{},{imei},46000-{}-{},中国移动\n",
            g.phone(),
            g.phone(),
            g.time(),
            g.below(600),
            g.below(65_535),
            g.below(65_535)
        );
    }
    s.into_bytes()
}

fn transfers(g: &mut Gen) -> Vec<u8> {
    let mut s = String::from(
        "from_account,to_account,amount,time,tx_id,channel,from_name,to_name,source\n",
    );
    for i in 0..ROWS {
        s += &format!(
            "{},{},{}.{:02},{},TX{i:010},手机银行,{},{},工商银行\n",
            g.card(),
            g.card(),
            1 + g.below(50_000),
            g.below(100),
            g.time(),
            NAMES[g.below(8) as usize],
            NAMES[g.below(8) as usize],
        );
    }
    s.into_bytes()
}

fn carrier_calls(g: &mut Gen) -> Vec<u8> {
    let mut s = String::from(
        "本机号码,对方号码,呼叫类型,通话起始时间,通话时长,IMEI,IMSI,LAC,CI,对方号码归属地\n",
    );
    let own = g.phone();
    for _ in 0..ROWS {
        let kind = ["主叫", "被叫", "短信发", "短信收"][g.below(4) as usize];
        s += &format!(
            "{own},{},{kind},{},{},8601234567890{},46000{:010},{},{},江西赣州\n",
            g.phone(),
            g.time(),
            g.below(600),
            g.below(10),
            g.below(10_000_000_000),
            g.below(65_535),
            g.below(65_535)
        );
    }
    s.into_bytes()
}

fn bank_statement(g: &mut Gen) -> Vec<u8> {
    let mut s = String::from("交易卡号,交易户名,交易时间,交易金额,交易余额,收付标志,交易对手账卡号,对手户名,摘要说明,交易流水号,IP地址,MAC地址,交易是否成功\n");
    let own = g.card();
    for i in 0..ROWS {
        let flag = if g.below(2) == 0 { "进" } else { "出" };
        s += &format!(
            "{own},李华,{},{}.00,{}.00,{flag},{},{},转账,TX{i:010},183.62.{}.{},,成功\n",
            g.time(),
            1 + g.below(50_000),
            g.below(100_000),
            g.card(),
            NAMES[g.below(8) as usize],
            g.below(256),
            g.below(256),
        );
    }
    s.into_bytes()
}

/// Parses one in-memory file to the end; returns the number of records.
fn parse_all(name: &str, bytes: &Arc<Vec<u8>>) -> usize {
    let src = Shared {
        bytes: Arc::clone(bytes),
        pos: 0,
    };
    let mut p = FileParser::from_reader(name, Box::new(src)).expect("header");
    let mut n = 0usize;
    while let Some(chunk) = p.next_chunk(CHUNK).expect("read") {
        assert!(chunk.rejects.is_empty(), "{:?}", chunk.rejects.first());
        n += chunk.records.len();
    }
    assert_eq!(n, ROWS);
    n
}

/// CPU time (user + system) this process has used so far, from /proc/self/stat; `None` where that
/// is not available. Clock ticks are 1/100 s on Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn bench(c: &mut Criterion) {
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    let inputs: Vec<(&str, Arc<Vec<u8>>)> = vec![
        ("calls", Arc::new(calls(&mut g))),
        ("transfers", Arc::new(transfers(&mut g))),
        ("carrier_calls", Arc::new(carrier_calls(&mut g))),
        ("bank_statement", Arc::new(bank_statement(&mut g))),
    ];
    // Wall-clock throughput with all rayon threads.
    let mut group = c.benchmark_group("ingest_parse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, bytes) in &inputs {
        group.bench_function(*name, |b| b.iter(|| parse_all(name, bytes)));
    }
    group.finish();
    // The same work measured in CPU time of the whole process: rows per core-second, which is
    // what the budget on a shared machine is about (wall time there depends on other load).
    if process_cpu().is_some() {
        let mut group = c.benchmark_group("ingest_parse_cpu");
        group.sample_size(10);
        group.throughput(Throughput::Elements(ROWS as u64));
        for (name, bytes) in &inputs {
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| {
                    let start = process_cpu().unwrap_or_default();
                    for _ in 0..iters {
                        criterion::black_box(parse_all(name, bytes));
                    }
                    process_cpu().unwrap_or_default().saturating_sub(start)
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
