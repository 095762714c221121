// Bounded loopback load test of POST /api/expand (issue 5): CLIENTS concurrent clients, each
// sending its next request as soon as the previous answer is read, for SECONDS per phase.
//
//   cold  every request starts from a seed no earlier request used (a miss of the server's cache,
//         checked with its `x-fraudnet-cache` header): the cost of a real expansion and ranking.
//   warm  the requests cycle over WARM_SEEDS seeds answered once before the phase (cache hits):
//         what repeated looks at the same leads cost.
//
// Seeds come from a generated case (CASE: its truth.json and persons.csv): compound members,
// victims and background persons in turn, each written as its ID number or its first phone as the
// registry spells it, in a fixed shuffled order (SHUFFLE_SEED). SEEDS_FILE (one seed a line) replaces
// them. Every request is the viewer's expansion (hops HOPS, limit LIMIT: its defaults 3 and 100).
//
// Reported per phase: requests, errors (by status), throughput, latency p50/p90/p99/max, cache
// outcomes, the server's own phase times (its `Server-Timing` header on misses: queue wait,
// expansion, ranking and the ranking's phases, rendering, JSON), the server's CPU use from
// /proc/SERVER_PID (per thread group, so one can see whether the cores or a lock limit it), the
// machine's CPU use, the load average and this client's own CPU use. OUT=FILE also writes it as JSON.
// Exit status 1 when any request failed. Only loopback targets are allowed.
//
//   FRAUDNET_URL=http://127.0.0.1:PORT/ USER_NAME=… PASS=… CASE=DIR SERVER_PID=… node load.mjs
// Other settings: CLIENTS (32), SECONDS (30, at most 120), HOPS (3), LIMIT (100), PHASES
// (cold,warm), WARM_SEEDS (64). tests/browser/load.sh sets everything up on the demo case.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const base = new URL(env.FRAUDNET_URL ?? 'http://127.0.0.1:8080/');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) throw new Error('loopback only');
const clients = Number(env.CLIENTS ?? 32);
const seconds = Math.min(Number(env.SECONDS ?? 30), 120);
const hops = Number(env.HOPS ?? 3);
const limit = Number(env.LIMIT ?? 100);
const phases = (env.PHASES ?? 'cold,warm').split(',').map((x) => x.trim()).filter(Boolean);
const warmCount = Number(env.WARM_SEEDS ?? 64);
const serverPid = env.SERVER_PID ? Number(env.SERVER_PID) : null;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients + 1 });

// --- seeds ------------------------------------------------------------------------------------
function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(xs, rnd) {
  for (let i = xs.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
function caseSeeds(dir, rnd) {
  const truth = JSON.parse(fs.readFileSync(path.join(dir, 'truth.json'), 'utf8'));
  const lines = fs.readFileSync(path.join(dir, 'persons.csv'), 'utf8').split('\n');
  const head = lines[0].split(',');
  const idCol = head.indexOf('id_number');
  const phoneCol = head.indexOf('phones');
  if (idCol < 0 || phoneCol < 0) throw new Error('persons.csv: no id_number or phones column');
  const phoneOf = new Map(); // ID number → first phone as written
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (!f[idCol]) continue;
    const p = (f[phoneCol] ?? '').split(';')[0].trim();
    if (!phoneOf.has(f[idCol]) || (!phoneOf.get(f[idCol]) && p)) phoneOf.set(f[idCol], p);
  }
  const id = (ref) => ref.replace(/^person:/, '');
  const compound = new Set((truth.compound_members ?? []).map(id));
  const victims = new Set((truth.victims ?? []).map(id).filter((x) => !compound.has(x)));
  const background = [...phoneOf.keys()].filter((x) => !compound.has(x) && !victims.has(x));
  const groups = [[...compound], [...victims], background].map((g) => shuffle(g, rnd));
  const seeds = [];
  // Compound, victim, background, background, … in turn: 2 of 5 seeds from the background.
  const pattern = [0, 1, 2, 0, 2];
  for (let i = 0; groups.some((g) => g.length); i += 1) {
    const g = groups[pattern[i % pattern.length]];
    const x = g.pop() ?? groups.find((h) => h.length)?.pop();
    const phone = phoneOf.get(x);
    seeds.push(i % 2 === 1 && phone ? phone : x);
  }
  return seeds;
}
const rnd = mulberry32(Number(env.SHUFFLE_SEED ?? 1));
const pool = env.SEEDS_FILE
  ? fs.readFileSync(env.SEEDS_FILE, 'utf8').split('\n').map((x) => x.trim()).filter(Boolean)
  : env.CASE ? caseSeeds(env.CASE, rnd) : [];
if (pool.length === 0) throw new Error('give CASE (a generated case directory) or SEEDS_FILE');

// --- HTTP ---------------------------------------------------------------------------------------
function request(method, p, body, cookie) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = { Accept: 'application/json' };
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    if (cookie) headers.Cookie = cookie;
    const req = http.request(new URL(p, base), { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => resolve({ status: 0, error: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e) }));
    if (data) req.write(data);
    req.end();
  });
}
const login = await request('POST', '/api/login', { user: env.USER_NAME ?? env.USER, password: env.PASS });
if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.body ?? login.error}`);
const cookie = String(login.headers['set-cookie']).split(';')[0];
const expandBody = (seed) => ({ seeds: [seed], hops, limit });

// --- /proc ------------------------------------------------------------------------------------
const tick = 100; // USER_HZ: 100 on Linux for every architecture fraudnet builds on
function statTimes(file) {
  // utime + stime (fields 14 and 15; counted after the parenthesised name) in seconds, and the name.
  const s = fs.readFileSync(file, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), secs: (Number(f[11]) + Number(f[12])) / tick };
}
function procTimes(pid) {
  // The process's total (threads that exited included) and each live thread's.
  const threads = {};
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try { threads[t] = statTimes(`/proc/${pid}/task/${t}/stat`); } catch { /* it just exited */ }
  }
  return { total: statTimes(`/proc/${pid}/stat`).secs, threads };
}
function byThreadGroup(p0, p1, wall) {
  // CPU % per thread name (numbers dropped) of the threads alive at the end; threads that exited
  // during the phase count in the total only.
  const out = {};
  for (const [tid, t] of Object.entries(p1.threads)) {
    const group = t.name.replace(/[-_ ]?\d+$/, '');
    out[group] = (out[group] ?? 0) + t.secs - (p0.threads[tid]?.secs ?? 0);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, r1((100 * v) / wall)]).filter(([, v]) => v >= 0.5));
}
function machineTimes() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: f.reduce((a, b) => a + b, 0) - idle, all: f.reduce((a, b) => a + b, 0) };
}

// --- one phase --------------------------------------------------------------------------------
const q = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null);
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
function timingOf(h) {
  const out = {};
  for (const part of String(h ?? '').split(',')) {
    const m = part.trim().match(/^([\w.-]+);dur=([\d.]+)/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
async function phase(name, nextSeed) {
  const lat = [];
  const errors = {};
  const cache = {};
  const timings = {};
  let requests = 0;
  const p0 = serverPid ? procTimes(serverPid) : null;
  const m0 = machineTimes();
  const c0 = process.cpuUsage();
  const load0 = os.loadavg();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  async function client() {
    while (performance.now() < end) {
      const seed = nextSeed();
      const s = performance.now();
      const r = await request('POST', '/api/expand', expandBody(seed), cookie);
      const ms = performance.now() - s;
      requests += 1;
      if (r.status !== 200) {
        const k = r.status ? String(r.status) : r.error;
        errors[k] = (errors[k] ?? 0) + 1;
        if (Object.values(errors).reduce((a, b) => a + b, 0) <= 3) {
          console.error(`${name}: ${seed}: ${k} ${r.body ? r.body.toString().slice(0, 200) : ''}`);
        }
        continue;
      }
      lat.push(ms);
      const c = String(r.headers['x-fraudnet-cache'] ?? 'none');
      cache[c] = (cache[c] ?? 0) + 1;
      if (c === 'miss') {
        for (const [k, v] of Object.entries(timingOf(r.headers['server-timing']))) (timings[k] ??= []).push(v);
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, client));
  const wall = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const m1 = machineTimes();
  const p1 = serverPid ? procTimes(serverPid) : null;
  lat.sort((a, b) => a - b);
  const server = {};
  for (const [k, xs] of Object.entries(timings)) {
    xs.sort((a, b) => a - b);
    server[k] = { mean: r1(xs.reduce((a, b) => a + b, 0) / xs.length), p50: r1(q(xs, 0.5)), p99: r1(q(xs, 0.99)) };
  }
  const cpu = p1 && {
    percent: r1((100 * (p1.total - p0.total)) / wall),
    by_thread: byThreadGroup(p0, p1, wall),
  };
  return {
    phase: name, clients, seconds: r1(wall), hops, limit,
    requests, ok: lat.length, errors,
    throughput_per_s: r1(lat.length / wall),
    latency_ms: { p50: r1(q(lat, 0.5)), p90: r1(q(lat, 0.9)), p99: r1(q(lat, 0.99)), max: r1(lat.at(-1) ?? null) },
    cache,
    server_timing_ms_on_misses: server,
    server_cpu_percent: cpu ? cpu.percent : null,
    server_cpu_percent_by_thread: cpu ? cpu.by_thread : null,
    machine_cpu_busy_percent: r1((100 * (m1.busy - m0.busy)) / (m1.all - m0.all)),
    cores: os.cpus().length,
    load_average: { start: load0.map(r1), end: os.loadavg().map(r1) },
    client_cpu_percent: r1((100 * (c1.user + c1.system)) / 1e6 / wall),
  };
}

// --- run ----------------------------------------------------------------------------------------
const results = [];
let cursor = 0;
let repeats = 0;
const fresh = () => {
  if (cursor >= pool.length) repeats += 1;
  return pool[cursor++ % pool.length];
};
for (const name of phases) {
  if (name === 'cold') {
    cursor = Math.max(cursor, warmCount); // the warm seeds are never a cold phase's seeds
    const r = await phase('cold', fresh);
    r.seeds = { distinct_pool: pool.length, reused: repeats };
    results.push(r);
  } else if (name === 'warm') {
    const warm = pool.slice(0, Math.min(warmCount, pool.length));
    for (const s of warm) { // answered once, untimed, so that the phase measures hits
      const r = await request('POST', '/api/expand', expandBody(s), cookie);
      if (r.status !== 200) throw new Error(`warming ${s}: ${r.status}`);
    }
    let i = 0;
    const r = await phase('warm', () => warm[i++ % warm.length]);
    r.seeds = { distinct: warm.length };
    results.push(r);
  } else {
    throw new Error(`unknown phase ${name} (cold, warm)`);
  }
}
for (const r of results) {
  const l = r.latency_ms;
  console.log(`${r.phase}: ${r.clients} clients, ${r.seconds} s, hops ${r.hops}, limit ${r.limit}: ` +
    `${r.requests} requests, ${r.ok} ok, errors ${JSON.stringify(r.errors)}, ${r.throughput_per_s} req/s, ` +
    `p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms; cache ${JSON.stringify(r.cache)}; ` +
    `server CPU ${r.server_cpu_percent}% of ${r.cores * 100}% ${JSON.stringify(r.server_cpu_percent_by_thread)}, ` +
    `machine busy ${r.machine_cpu_busy_percent}%, load ${r.load_average.start[0]}→${r.load_average.end[0]}, ` +
    `client CPU ${r.client_cpu_percent}%`);
  const st = Object.entries(r.server_timing_ms_on_misses).map(([k, v]) => `${k} ${v.mean}/${v.p50}/${v.p99}`);
  if (st.length) console.log(`  server time on misses, ms (mean/p50/p99): ${st.join(', ')}`);
}
if (env.OUT) fs.writeFileSync(env.OUT, JSON.stringify(results, null, 2) + '\n');
const failed = results.some((r) => Object.keys(r.errors).length > 0);
process.exit(failed ? 1 : 0);
