// Webhook delivery benchmark: 100 endpoints on 127.0.0.1, each receiving
// 1,000 changes, measured beside raw undici POSTs of the same bodies to the
// same receivers in the same run.
//
//   npx tsx bench/webhooks.ts            (full: 1,000 changes per endpoint, 20 s steady)
//   npx tsx bench/webhooks.ts --quick    (or BENCH_QUICK=1: 200 changes, 5 s steady)
//
// Both sides are warmed up first (a small burst each, not measured), so that
// neither pays for the JIT compiling undici and the service's code.
// Burst: every statement is appended at once; deliveries per second from the
// first commit to the last receipt, and latency from commit to receipt.
// Steady: 10 statements a second, so 1,000 deliveries a second; latency from
// commit to receipt. Targets: at least 0.5 of raw throughput; p99 under 250 ms
// at the steady rate. Receivers run in their own process (bench/webhooks-receivers.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import countries from 'i18n-iso-countries';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { countryStream, newEvent } from '../events/registry.js';
import { Tokens } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import type { ReadModel } from '../src/read-model/read-model.js';
import { startService } from '../src/service.js';
import type { EventStore } from '../src/store/event-store.js';
import { changeBody } from '../src/webhooks/payload.js';
import type { Webhooks } from '../src/webhooks/webhooks.js';
import type { Receipt } from './webhooks-receivers.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? (quick ? 200 : 1_000));
const WARM_UP_CHANGES = 20;
const STEADY_SECONDS = quick ? 5 : 20;
const STEADY_DELIVERIES_PER_SECOND = 1_000;
const PER_ENDPOINT = 8;
/** No receipt for this long means something is stuck: say where, and stop. */
const STALL_MS = 60_000;
const ADMIN = 'bench-admin-secret-0123456789';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const codes = Object.keys(countries.getAlpha2Codes());

// --- receivers, in their own process --------------------------------------------------------
const receivers: ChildProcess = fork(fileURLToPath(new URL('./webhooks-receivers.ts', import.meta.url)), [String(ENDPOINTS)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
function ask<T>(type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      receivers.off('message', onMessage);
      resolve(message as T);
    };
    receivers.on('message', onMessage);
    if (type !== 'ready') receivers.send({ type });
  });
}
const { ports } = await ask<{ ports: number[] }>('ready');
const urls = ports.map((port) => `http://127.0.0.1:${port}/hooks`);

async function receive(expected: number): Promise<Receipt[]> {
  let last = -1;
  let since = now();
  for (;;) {
    const { count } = await ask<{ count: number }>('count');
    if (count >= expected) break;
    if (count !== last) [last, since] = [count, now()];
    else if (now() - since > STALL_MS) await stalled(count, expected);
    await sleep(50);
  }
  return (await ask<{ receipts: Receipt[] }>('take')).receipts;
}

// --- the service -----------------------------------------------------------------------------
const dataDir = mkdtempSync(path.join(tmpdir(), 'policy-state-bench-webhooks-'));
const config = loadConfig({ DATA_DIR: dataDir, API_KEYS: `bench:${ADMIN}:admin`, SEED_ON_START: 'false', LOG_LEVEL: 'silent', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
const service = await startService(config, pino({ level: 'silent' }), undefined, {
  webhooks: { settings: { concurrencyPerEndpoint: PER_ENDPOINT, maxInFlight: ENDPOINTS * PER_ENDPOINT } },
});
const store = service.container.resolve<EventStore>(Tokens.EventStore);
const readModel = service.container.resolve<ReadModel>(Tokens.ReadModel);
const webhooks = service.container.resolve<Webhooks>(Tokens.Webhooks);

async function stalled(count: number, expected: number): Promise<never> {
  const where = {
    receipts: `${count} of ${expected}`,
    logHead: await store.headPosition(),
    readModelAt: readModel.checkpoint().position,
    endpointsAt: webhooks.endpoints.checkpoint(),
    dispatchedThroughPosition: webhooks.db.checkpoint('dispatch_position'),
    pendingDeliveries: webhooks.db.pendingTotal(),
  };
  console.error(`stalled: no delivery for ${STALL_MS / 1_000} s`, where);
  receivers.kill();
  process.exit(1);
}
for (const url of urls) {
  const created = await service.app.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${ADMIN}` }, payload: { url, types: ['statement.recorded'] } });
  if (created.statusCode !== 201) throw new Error(`creating an endpoint failed: ${created.body}`);
}

let statementNumber = 0;
/** Appends one statement; resolves with its log position and the time its commit was acknowledged. */
async function record(): Promise<[number, number]> {
  const n = statementNumber++;
  const country = codes[n % codes.length];
  const event = newEvent('StatementRecorded', {
    statementId: `bench-${n}`,
    country,
    stance: n % 2 ? 'permits' : 'prohibits',
    scope: n % 2 ? { purposes: ['counter-fire'], regions: ['the border area'] } : {},
    speaker: { name: 'A spokesperson', role: 'Ministry of Defence', attribution: 'official' },
    sources: [{ publisher: 'Wire', title: `Report ${n}`, publishedAt: '2024-05-30', quote: 'Ukraine may use the weapons we supplied against military targets across the border.' }],
    effectiveAt: '2024-05-30',
    datePrecision: 'day',
    reportedAt: '2024-05-30',
  });
  const result = await store.append(countryStream(country), [event], 'any');
  return [result.positions[0], now()];
}

function latencies(receipts: Receipt[], startedAt: Map<string, number> | Map<number, number>, keyOf: (r: Receipt) => string | number): number[] {
  return receipts
    .map((r) => r[3] - ((startedAt as Map<string | number, number>).get(keyOf(r)) ?? Number.NaN))
    .filter((ms) => !Number.isNaN(ms))
    .sort((a, b) => a - b);
}

const rawAgent = new Agent({ keepAliveTimeout: 30_000 });
const raw = (endpoint: number, body: string) =>
  request(urls[endpoint], { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-bench-raw': '1' }, dispatcher: rawAgent }).then((r) => r.body.dump());

// --- 0. warm-up, not measured ----------------------------------------------------------------
await Promise.all(Array.from({ length: WARM_UP_CHANGES }, () => record()));
await receive(ENDPOINTS * WARM_UP_CHANGES);
const warmUpBody = changeBody(readModel.changes(0, 1)[0])(1);
await Promise.all(urls.flatMap((_, endpoint) => Array.from({ length: WARM_UP_CHANGES }, () => raw(endpoint, warmUpBody))));
await receive(ENDPOINTS * WARM_UP_CHANGES);

// --- 1. the service, burst -------------------------------------------------------------------
const total = ENDPOINTS * CHANGES;
/** CPU time of this process per delivery: what the durable queue, signing and the log cost beside a bare POST. */
const cpuPerDelivery = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / total;
};
let cpu = process.cpuUsage();
const burstStart = now();
const commits = new Map<number, number>(await Promise.all(Array.from({ length: CHANGES }, () => record())));
const serviceBurst = await receive(total);
const serviceBurstSeconds = (Math.max(...serviceBurst.map((r) => r[3])) - burstStart) / 1_000;
const serviceBurstLatency = latencies(serviceBurst, commits, (r) => r[1]);
const serviceCpu = cpuPerDelivery(cpu);

// --- 2. raw undici POSTs of the same bodies, same concurrency --------------------------------
const changes = readModel
  .changes(0, (CHANGES + WARM_UP_CHANGES) * 4)
  .filter((c) => c.type === 'statement.recorded')
  .slice(WARM_UP_CHANGES, WARM_UP_CHANGES + CHANGES);
const bodies = changes.map((c, i) => changeBody(c)(i + 1));
const rawSent = new Map<string, number>();
cpu = process.cpuUsage();
const rawStart = now();
await Promise.all(
  urls.map(async (_, endpoint) => {
    let next = 0;
    const lane = async () => {
      for (let k = next++; k < bodies.length; k = next++) {
        rawSent.set(`${endpoint}:${changes[k].position}`, now());
        await raw(endpoint, bodies[k]);
      }
    };
    await Promise.all(Array.from({ length: PER_ENDPOINT }, lane));
  }),
);
const rawBurst = await receive(total);
const rawBurstSeconds = (Math.max(...rawBurst.map((r) => r[3])) - rawStart) / 1_000;
const rawBurstLatency = latencies(rawBurst, rawSent, (r) => `${r[0]}:${r[1]}`);
const rawCpu = cpuPerDelivery(cpu);

// --- 3. steady 1,000 deliveries a second: the service, then raw ------------------------------
const statementsPerSecond = STEADY_DELIVERIES_PER_SECOND / ENDPOINTS;
const interval = 1_000 / statementsPerSecond;
const ticks = Math.round(STEADY_SECONDS * statementsPerSecond);
const steadyCommits = new Map<number, number>();
let start = now();
const appends: Array<Promise<void>> = [];
for (let k = 0; k < ticks; k++) {
  await sleep(start + k * interval - now());
  appends.push(record().then(([position, at]) => void steadyCommits.set(position, at)));
}
await Promise.all(appends);
const serviceSteadyLatency = latencies(await receive(ticks * ENDPOINTS), steadyCommits, (r) => r[1]);

const steadySent = new Map<string, number>();
start = now();
const posts: Array<Promise<void>> = [];
for (let k = 0; k < ticks; k++) {
  await sleep(start + k * interval - now());
  const change = changes[k % changes.length];
  for (let endpoint = 0; endpoint < ENDPOINTS; endpoint++) {
    steadySent.set(`${endpoint}:${change.position}`, now());
    posts.push(raw(endpoint, bodies[k % bodies.length]));
  }
}
await Promise.all(posts);
const rawSteadyLatency = latencies(await receive(ticks * ENDPOINTS), steadySent, (r) => `${r[0]}:${r[1]}`);

// --- report ----------------------------------------------------------------------------------
const serviceRate = total / serviceBurstSeconds;
const rawRate = total / rawBurstSeconds;
const f = (n: number) => n.toFixed(1).padStart(9);
const line = (name: string, rate: string, l: number[]) => `${name.padEnd(44)}${rate.padStart(14)}${f(percentile(l, 50))}${f(percentile(l, 99))}`;
console.log(`\nwebhooks benchmark (${quick ? 'quick' : 'full'}): ${ENDPOINTS} endpoints x ${CHANGES} changes = ${total} deliveries; ${cpus().length} CPUs, node ${process.version}`);
console.log(`${''.padEnd(44)}${'deliveries/s'.padStart(14)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
console.log(line('raw undici POST, burst (send to receipt)', rawRate.toFixed(0), rawBurstLatency));
console.log(line('service, burst (commit to receipt)', serviceRate.toFixed(0), serviceBurstLatency));
console.log(line(`raw undici POST, steady ${STEADY_DELIVERIES_PER_SECOND}/s for ${STEADY_SECONDS} s`, '', rawSteadyLatency));
console.log(line(`service, steady ${STEADY_DELIVERIES_PER_SECOND}/s for ${STEADY_SECONDS} s (commit to receipt)`, '', serviceSteadyLatency));
const ratio = serviceRate / rawRate;
const p99 = percentile(serviceSteadyLatency, 99);
console.log(`\nthroughput: ${ratio.toFixed(2)} of raw (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
console.log(`sender CPU per delivery in the burst: service ${serviceCpu.toFixed(0)} us, raw ${rawCpu.toFixed(0)} us (receivers run in another process)`);
console.log(`steady p99: ${p99.toFixed(1)} ms (target < 250 ms: ${p99 < 250 ? 'met' : 'NOT met'}; ${(p99 / 250).toFixed(2)} of the budget)`);

await rawAgent.close();
await service.close();
receivers.kill();
rmSync(dataDir, { recursive: true, force: true });
