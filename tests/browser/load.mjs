// Bounded loopback load test of POST /api/expand: C concurrent clients for D seconds.
// Usage: FRAUDNET_URL=http://127.0.0.1:PORT/ USER=… PASS=… SEED=… [SEEDS=a,b,c] [CLIENTS=32] [SECONDS=30] [HOPS=3]
// SEEDS (comma-separated refs or phone numbers) makes each request start from the next seed in turn, so
// that nothing answers from a warm cache of one query.
//        node load.mjs
// Prints requests, errors, throughput and p50/p90/p99 latency. Only loopback targets are allowed.
const base = new URL(process.env.FRAUDNET_URL ?? 'http://127.0.0.1:8080/');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) throw new Error('loopback only');
const clients = Number(process.env.CLIENTS ?? 32);
const seconds = Math.min(Number(process.env.SECONDS ?? 30), 120);
const hops = Number(process.env.HOPS ?? 3);
const login = await fetch(new URL('/api/login', base), {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ user: process.env.USER_NAME ?? process.env.USER, password: process.env.PASS }),
});
if (!login.ok) throw new Error('login failed: ' + login.status);
const cookie = login.headers.get('set-cookie').split(';')[0];
const seeds = (process.env.SEEDS ?? process.env.SEED ?? '').split(',').map((x) => x.trim()).filter(Boolean);
if (seeds.length === 0) throw new Error('give SEED or SEEDS');
let next = 0;
const bodyFor = () => JSON.stringify({ seeds: [seeds[next++ % seeds.length]], hops, limit: 200 });
const lat = [];
let errors = 0;
const end = performance.now() + seconds * 1000;
async function client() {
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const r = await fetch(new URL('/api/expand', base), {
        method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: cookie }, body: bodyFor(),
      });
      await r.arrayBuffer();
      if (r.ok) lat.push(performance.now() - t0); else errors += 1;
    } catch (_) { errors += 1; }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, client));
const wall = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1) : '-');
console.log(`clients ${clients}, ${wall.toFixed(1)} s, hops ${hops}, ${seeds.length} seeds: ${lat.length} ok, ${errors} errors, ` +
  `${(lat.length / wall).toFixed(1)} req/s, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`);
process.exit(errors === 0 ? 0 : 1);
