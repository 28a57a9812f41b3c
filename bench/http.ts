// HTTP benchmarks, each beside a hello-world fastify server measured in the same run:
// - GET position (as of a day), 10 connections: target at least 0.8 of hello GET;
// - the same with knownAt in the past: at least 0.5;
// - POST /v1/statements, each acknowledged after commit, 50 connections: at least 0.3 of hello POST.
// Each figure is compared with the mean of its reference's runs just before and just after it.
// The service runs as `npm start` would (the embedded store, seeds loaded), with LOG_LEVEL=warn
// so both servers do the same logging (none per request).
//
//   npx tsx bench/http.ts [--quick]
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { report } from './report.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const DURATION = quick ? 3 : 10;
const WARM_UP = quick ? 1 : 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const KEY = 'bench-writer-secret-0123456789';

function start(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function untilReady(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

/**
 * CPU time per request on each side of a run, in µs: the server's (user and system,
 * from /proc, so the kernel's work on its sockets counts) and autocannon's, which
 * runs in this process on the same two cores. Requests per second say what the
 * machine managed; these say which side paid for what.
 */
interface CpuPerRequest {
  server: number;
  client: number;
}

/** A process's CPU time so far in µs, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function measured(pid: number, run: () => Promise<autocannon.Result>): Promise<{ result: autocannon.Result; cpu: CpuPerRequest }> {
  const server = cpuOf(pid);
  const client = process.cpuUsage();
  const result = await run();
  const own = process.cpuUsage(client);
  const requests = Math.max(1, result.requests.total);
  return { result, cpu: { server: (cpuOf(pid) - server) / requests, client: (own.user + own.system) / requests } };
}

async function load(url: string, pid: number, connections: number, options: Partial<autocannon.Options> = {}): Promise<{ average: number; cpu: CpuPerRequest }> {
  const { result, cpu } = await measured(pid, () => autocannon({ url, connections, duration: DURATION, ...options }));
  if (result.non2xx > 0 || result.errors > 0) console.warn(`  (${url}: ${result.non2xx} non-2xx, ${result.errors} errors)`);
  return { average: result.requests.average, cpu };
}

// The service keeps its default rate limit (RATE_LIMIT_PER_ADDRESS requests per RATE_LIMIT_WINDOW_MS
// from one address, in fixed windows), and every request here comes from 127.0.0.1. A figure that
// could take the window past the limit waits for the next window, so no figure counts 429s.
const { RATE_LIMIT_PER_ADDRESS: perAddress, RATE_LIMIT_WINDOW_MS: windowMs } = loadConfig(process.env);
const serviceWindow = { startedAt: Date.now(), requests: 0 };
async function loadService(url: string, connections: number, expected: number, options: Partial<autocannon.Options> = {}): Promise<{ average: number; total: number; cpu: CpuPerRequest }> {
  if (perAddress > 0 && serviceWindow.requests + expected > perAddress) {
    const wait = serviceWindow.startedAt + windowMs + 1_000 - Date.now();
    if (wait > 0) {
      console.log(`  (waiting ${Math.ceil(wait / 1000)} s for the service's rate-limit window to roll over)`);
      await new Promise((r) => setTimeout(r, wait));
    }
    serviceWindow.startedAt = Date.now();
    serviceWindow.requests = 0;
  }
  const { result, cpu } = await measured(service.pid!, () => autocannon({ url, connections, duration: DURATION, ...options }));
  serviceWindow.requests += result.requests.total;
  if (result.non2xx > 0 || result.errors > 0) console.warn(`  (${url}: ${result.non2xx} non-2xx, ${result.errors} errors)`);
  return { average: result.requests.average, total: result.requests.total, cpu };
}

const helloPort = 40_000 + Math.floor(Math.random() * 10_000);
const servicePort = helloPort + 1;
const dataDir = mkdtempSync(path.join(tmpdir(), 'policy-state-bench-'));
const hello = await start(path.join(here, 'hello-server.ts'), { PORT: String(helloPort) });
const service = fork(path.join(here, '..', 'src', 'main.ts'), [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, PORT: String(servicePort), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', API_KEYS: `bench:${KEY}:writer` },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const base = `http://127.0.0.1:${servicePort}`;
try {
  await untilReady(`${base}/health/ready`);
  // The window began with the first of these polls, no later than now.
  serviceWindow.startedAt = Date.now();
  const statement = JSON.stringify({
    country: 'NO',
    stance: 'endorses',
    speaker: { name: 'A Minister', attribution: 'official' },
    sources: [{ title: 'A report', publishedAt: '2024-06-01', quote: 'We support lifting the restrictions.' }],
    effectiveAt: '2024-06-01',
    reportedAt: '2024-06-01',
  });
  const post = { method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: statement };

  // Each server is warmed up on every URL it is measured on before any figure is taken, so
  // no figure includes a fresh process's first seconds (its code not yet optimised): the
  // first run used to count them, and it was whichever came first, service or reference.
  const warmUp = (url: string, connections: number, options: Partial<autocannon.Options> = {}) =>
    autocannon({ url, connections, duration: WARM_UP, ...options });
  const servicePosition = `${base}/v1/countries/US/position?at=2024-06-05`;
  const serviceKnownAt = `${servicePosition}&knownAt=2024-05-29`;
  for (const [url, connections, options] of [
    [`http://127.0.0.1:${helloPort}/hello`, 10, {}],
    [`http://127.0.0.1:${helloPort}/hello`, 50, post],
    [servicePosition, 10, {}],
    [serviceKnownAt, 10, {}],
    [`${base}/v1/statements`, 50, post],
  ] as const) {
    const warm = await warmUp(url, connections, options);
    if (url.startsWith(base)) serviceWindow.requests += warm.requests.total;
  }

  // Each service figure is bracketed by runs of its reference, just before and just after,
  // and compared with their mean: on a shared machine a reference measured a minute earlier
  // (the service's figures may wait for its rate-limit window) can be a fifth off.
  const helloUrl = `http://127.0.0.1:${helloPort}/hello`;
  const helloGet1 = await load(helloUrl, hello.pid!, 10);
  const answerBytes = (await (await fetch(servicePosition)).text()).length;
  const helloSized = await load(`http://127.0.0.1:${helloPort}/hello/${answerBytes}`, hello.pid!, 10);
  // Reads have reached about 40,000/s here; more than that, to be safe.
  const position = await loadService(servicePosition, 10, DURATION * 50_000);
  const helloGet2 = await load(helloUrl, hello.pid!, 10);
  // Expected to be about as fast as the first; half as fast again, to be safe.
  const knownAt = await loadService(serviceKnownAt, 10, 1.5 * position.total);
  const helloGet3 = await load(helloUrl, hello.pid!, 10);
  const helloPost1 = await load(helloUrl, hello.pid!, 50, post);
  // Durable writes stay well under 10,000/s.
  const writes = await loadService(`${base}/v1/statements`, 50, DURATION * 10_000, post);
  const helloPost2 = await load(helloUrl, hello.pid!, 50, post);
  const mean = (...runs: Array<{ average: number }>) => runs.reduce((sum, run) => sum + run.average, 0) / runs.length;
  const helloForPosition = mean(helloGet1, helloGet2);
  const helloForKnownAt = mean(helloGet2, helloGet3);
  const helloForWrites = mean(helloPost1, helloPost2);

  report(`HTTP, ${DURATION} s per run (requests/s, averaged)`, [
    { what: 'hello-world GET, 10 connections (reference)', value: mean(helloGet1, helloGet2, helloGet3), unit: 'req/s' },
    { what: '  run before GET position', value: helloGet1.average, unit: 'req/s' },
    { what: '  run between the two GET figures', value: helloGet2.average, unit: 'req/s' },
    { what: '  run after them', value: helloGet3.average, unit: 'req/s' },
    { what: `hello-world GET padded to ${answerBytes} bytes (a position's size)`, value: helloSized.average, unit: 'req/s' },
    { what: 'GET position ?at=, 10 connections', value: position.average, unit: 'req/s' },
    { what: '  ratio to hello GET (runs before and after)', value: position.average / helloForPosition, unit: 'ratio', target: 'at least 0.8', ok: position.average / helloForPosition >= 0.8 },
    { what: '  ratio to hello GET of the same size', value: position.average / helloSized.average, unit: 'ratio' },
    { what: 'GET position ?at=&knownAt= in the past', value: knownAt.average, unit: 'req/s' },
    { what: '  ratio to hello GET (runs before and after)', value: knownAt.average / helloForKnownAt, unit: 'ratio', target: 'at least 0.5', ok: knownAt.average / helloForKnownAt >= 0.5 },
    { what: 'hello-world POST, 50 connections (reference)', value: helloForWrites, unit: 'req/s' },
    { what: '  run before POST /v1/statements', value: helloPost1.average, unit: 'req/s' },
    { what: '  run after it', value: helloPost2.average, unit: 'req/s' },
    { what: 'POST /v1/statements, durable, 50 connections', value: writes.average, unit: 'req/s' },
    { what: '  ratio to hello POST (runs before and after)', value: writes.average / helloForWrites, unit: 'ratio', target: 'at least 0.3', ok: writes.average / helloForWrites >= 0.3 },
  ]);
  // Where each request's CPU went, in the same runs: the server's and autocannon's (both on these two cores).
  const cpu = (what: string, run: { cpu: CpuPerRequest }) => [
    { what: `${what}: server`, value: run.cpu.server, unit: 'µs/req' },
    { what: `${what}: autocannon`, value: run.cpu.client, unit: 'µs/req' },
  ];
  report('CPU per request in the same runs (server from /proc, autocannon in this process)', [
    ...cpu('hello GET (run between)', helloGet2),
    ...cpu('hello GET padded', helloSized),
    ...cpu('GET position', position),
    ...cpu('GET position, knownAt', knownAt),
    ...cpu('hello POST (run before)', helloPost1),
    ...cpu('POST /v1/statements', writes),
  ]);
} finally {
  hello.kill();
  service.kill('SIGTERM');
  await new Promise((r) => service.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
