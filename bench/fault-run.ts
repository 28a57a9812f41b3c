// The crash-safety run behind `npm run bench:faults` (bench/fault-injection.ts)
// and its short version in test/robustness/fault-injection.test.ts.
//
// The service runs as `npm start` does (src/main.ts, a child process on a real
// port). Writers record statements as fast as it acknowledges them, each with
// its own Idempotency-Key, retrying the same request after any failure; a
// webhook receiver on 127.0.0.1 takes every delivery. The process is killed
// with SIGKILL at random moments (some during its own start-up) and started
// again on the same DATA_DIR. At the end: is every acknowledged statement in
// the log, none twice, does a replay match the live read model, and did every
// change reach the receiver?
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_KEY = 'fault-admin-secret-0123456789';
const WRITER_KEY = 'fault-writer-secret-0123456789';
const COUNTRIES = ['US', 'GB', 'FR', 'DE', 'CA', 'BE', 'NL', 'PL', 'NO', 'SE', 'DK', 'FI'];

export interface FaultOptions {
  kills: number;
  /** Concurrent writers. */
  writers?: number;
  /** How long the service runs between a start and the next kill, in ms (a random moment in between). */
  upMs?: [number, number];
  /** Share of kills that land during start-up, before the service answers. */
  startupKillShare?: number;
  log?: (line: string) => void;
}

export interface FaultReport {
  kills: number;
  killsDuringStartup: number;
  writes: { acknowledged: number; lost: number; duplicated: number; refused: number };
  retries: { total: number; afterConnectionLoss: number; answeredFromLog: number };
  events: number;
  replays: { runs: number; differences: number; cli: { exitCode: number | null; differences: number } };
  webhooks: { changes: number; deliveredAtLeastOnce: number; missing: number; deliveriesReceived: number };
  seconds: number;
  /** True when nothing was lost, nothing duplicated, no replay differed and every change was delivered. */
  ok: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A webhook receiver that answers 200 to everything and remembers each webhook-id. */
async function startReceiver(): Promise<{ url: string; ids: Set<string>; received: () => number; server: Server }> {
  const ids = new Set<string>();
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      ids.add(String(request.headers['webhook-id']));
      response.writeHead(200).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, ids, received: () => received, server };
}

export async function runFaults(options: FaultOptions): Promise<FaultReport> {
  const { kills, writers = 4, upMs = [400, 2_500], startupKillShare = 0.15, log = () => undefined } = options;
  const started = performance.now();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'policy-state-faults-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const receiver = await startReceiver();
  const env = {
    PATH: process.env.PATH ?? '',
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEYS: `admin:${ADMIN_KEY}:admin,writer:${WRITER_KEY}:writer`,
    SEED_ON_START: 'false',
    LOG_LEVEL: 'warn',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    // Retries soon after a restart, and enough of them to outlast every kill.
    WEBHOOK_RETRY_SCHEDULE_MS: ['0', ...Array(40).fill('250')].join(','),
  };

  let child: ChildProcess | undefined;
  let stderr = '';
  const spawnService = () => {
    const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4_000)));
    child = c;
    return c;
  };
  const untilUp = async (c: ChildProcess, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`the service exited on start (${c.exitCode ?? c.signalCode}): ${stderr}`);
      const ok = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status === 200, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms: ${stderr}`);
      await sleep(25);
    }
  };
  const call = async (method: string, url: string, key: string, body?: unknown) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    // Each caller reads the fields of the answer it asked for.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, json: (await response.json()) as any };
  };

  // ---- writers: each logical write is retried, with the same key and body, until acknowledged
  const acknowledged = new Map<string, string>(); // marker -> statementId from the 201
  let refused = 0;
  const retries = { total: 0, afterConnectionLoss: 0, answeredFromLog: 0 };
  let stopWriting = false;
  let aborted = false;
  const writer = async (w: number) => {
    for (let n = 0; !stopWriting; n++) {
      const marker = `fault-${w}-${n}`;
      const country = COUNTRIES[(w * 7 + n) % COUNTRIES.length];
      const body = {
        country,
        stance: n % 3 === 0 ? 'prohibits' : 'permits',
        scope: n % 2 === 0 ? { regions: [`region ${n % 5}`] } : {},
        speaker: { name: `Spokesperson ${w}`, attribution: n % 4 === 0 ? 'anonymous-official' : 'official' },
        sources: [{ publisher: 'Wire', title: `Report ${marker}`, publishedAt: '2024-05-01', quote: 'what was said' }],
        effectiveAt: `2024-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')}`,
        reportedAt: '2024-05-01',
        notes: marker,
      };
      for (let attempt = 0; !aborted; attempt++) {
        if (attempt > 0) retries.total++;
        try {
          const response = await fetch(`${base}/v1/statements`, {
            method: 'POST',
            headers: { authorization: `Bearer ${WRITER_KEY}`, 'content-type': 'application/json', 'idempotency-key': marker },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(15_000),
          });
          const answer = (await response.json()) as { statementId?: string };
          if (response.status === 201) {
            if (attempt > 0 && response.headers.get('idempotent-replayed') === 'true') retries.answeredFromLog++;
            acknowledged.set(marker, answer.statementId!);
            break;
          }
          // 429 and 5xx (503 while the store is busy) are worth a retry; any other answer is a refusal to look into.
          if (response.status !== 429 && response.status < 500) {
            refused++;
            log(`refused ${marker}: ${response.status} ${JSON.stringify(answer).slice(0, 200)}`);
            break;
          }
        } catch {
          // The connection was refused or died with the process: the write may or may not be in the log.
          retries.afterConnectionLoss++;
        }
        await sleep(20 + Math.random() * 80);
      }
    }
  };

  let killsDuringStartup = 0;
  const replays = { runs: 0, differences: 0 };
  const replay = async () => {
    const report = await call('POST', '/v1/admin/replay', ADMIN_KEY);
    if (report.status !== 200) throw new Error(`replay answered ${report.status}: ${JSON.stringify(report.json)}`);
    replays.runs++;
    replays.differences += report.json.differences.length;
    for (const difference of report.json.differences.slice(0, 5)) log(`replay difference: ${difference}`);
  };

  try {
    await untilUp(spawnService());
    const endpoint = await call('POST', '/v1/webhooks', ADMIN_KEY, { url: receiver.url, description: 'fault injection receiver' });
    if (endpoint.status !== 201) throw new Error(`creating the webhook endpoint failed: ${endpoint.status} ${JSON.stringify(endpoint.json)}`);
    const writing = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));

    let current = child!;
    const kill = async (k: number) => {
      const ready = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(200) }).then((r) => r.status === 200, () => false);
      current.kill('SIGKILL');
      await once(current, 'exit');
      if (!ready) killsDuringStartup++;
      log(`kill ${k}/${kills}${ready ? '' : ' (during start-up)'}: ${acknowledged.size} statements acknowledged so far`);
      current = spawnService();
    };
    for (let k = 1; k <= kills; k++) {
      await sleep(between(upMs));
      await kill(k);
      // Now and then the next kill lands while the service is still starting: recovering the log, catching up, opening its files.
      if (k < kills && Math.random() < startupKillShare) {
        await sleep(between([30, 900]));
        await kill(++k);
      }
      await untilUp(current);
      await replay();
    }

    // Load a little longer on the last start, then let every writer finish its write in hand.
    await sleep(between(upMs));
    stopWriting = true;
    await writing;
    await replay();

    // Every change in the feed must reach the receiver at least once.
    const changeIds: string[] = [];
    for (let after = 0; ; ) {
      const page = (await call('GET', `/v1/changes?after=${after}&limit=500`, ADMIN_KEY)).json as { items: Array<{ id: string }>; nextAfter: number };
      if (page.items.length === 0) break;
      changeIds.push(...page.items.map((c) => c.id));
      after = page.nextAfter;
    }
    const deadline = Date.now() + 120_000;
    while (changeIds.some((id) => !receiver.ids.has(id)) && Date.now() < deadline) await sleep(200);

    // The log itself: every acknowledged statement once, and nothing else of ours twice.
    const inLog = new Map<string, string[]>();
    let events = 0;
    for (let after = 0; ; ) {
      const page = (await call('GET', `/v1/events?after=${after}&limit=500`, ADMIN_KEY)).json as { items: Array<{ type: string; data: { notes?: string; statementId: string } }>; nextAfter: number };
      if (page.items.length === 0) break;
      events += page.items.length;
      for (const e of page.items) if (e.type === 'StatementRecorded' && e.data.notes) inLog.set(e.data.notes, [...(inLog.get(e.data.notes) ?? []), e.data.statementId]);
      after = page.nextAfter;
    }
    const lost = [...acknowledged].filter(([marker, id]) => !inLog.get(marker)?.includes(id)).length;
    const duplicated = [...inLog.values()].filter((ids) => ids.length > 1).length;

    // Stop it as an operator would, and audit the files with the command line too.
    child!.kill('SIGTERM');
    await once(child!, 'exit');
    child = undefined;
    const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'replay'], { cwd: ROOT, env, encoding: 'utf8' });
    let cliDifferences = -1;
    try {
      cliDifferences = (JSON.parse(cli.stdout) as { differences: string[] }).differences.length;
    } catch {
      log(`policy-state replay printed no report: ${cli.stderr.slice(-500)}`);
    }

    const delivered = changeIds.filter((id) => receiver.ids.has(id)).length;
    const report: FaultReport = {
      kills,
      killsDuringStartup,
      writes: { acknowledged: acknowledged.size, lost, duplicated, refused },
      retries,
      events,
      replays: { ...replays, cli: { exitCode: cli.status, differences: cliDifferences } },
      webhooks: { changes: changeIds.length, deliveredAtLeastOnce: delivered, missing: changeIds.length - delivered, deliveriesReceived: receiver.received() },
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ok: false,
    };
    report.ok =
      lost === 0 && duplicated === 0 && refused === 0 && replays.differences === 0 && cli.status === 0 && cliDifferences === 0 && delivered === changeIds.length && acknowledged.size > 0;
    return report;
  } finally {
    stopWriting = aborted = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    receiver.server.closeAllConnections();
    receiver.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
