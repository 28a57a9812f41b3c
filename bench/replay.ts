// Replay benchmark: rebuilding every projection from a log of a million
// events, beside the raw speed of reading and parsing the same log in the same
// run. Targets: at least 0.5 of raw, at least 200,000 events/s, peak RSS under 500 MB.
//
//   npx tsx bench/replay.ts            (1,000,000 events)
//   npx tsx bench/replay.ts --quick    (or BENCH_QUICK=1: 100,000 events)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catchUp } from '../src/audit/replay.js';
import { ReadModel } from '../src/read-model/read-model.js';
import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
import { benchDir, ensureLog } from './generate-log.js';
import { report } from './report.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const total = Number(process.env.BENCH_EVENTS ?? (quick ? 100_000 : 1_000_000));
const dir = benchDir(`log-${total}`);
await ensureLog(total, dir);
const store = new SqliteEventStore(path.join(dir, 'events.db'));

// The reference: every event read from the log and its JSON parsed, nothing more.
let started = performance.now();
let read = 0;
for (let after = 0; ; ) {
  const page = await store.readAll({ after, limit: 5_000 });
  if (page.length === 0) break;
  read += page.length;
  after = page[page.length - 1].position;
}
const rawSeconds = (performance.now() - started) / 1000;

// A fresh target of our own (same disk), removed afterwards: the read model in the log's
// directory belongs to the start-up benchmark, which may be running beside this one.
const target = mkdtempSync(path.join(tmpdir(), 'policy-state-replay-bench-'));
const readModel = new ReadModel(path.join(target, 'read-model.db'), { scratch: true });
started = performance.now();
const replayed = await catchUp(store, readModel, await store.headPosition());
const replaySeconds = (performance.now() - started) / 1000;
readModel.close();
await store.close();
rmSync(target, { recursive: true, force: true });

const rawRate = read / rawSeconds;
const replayRate = replayed / replaySeconds;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
report(`replay of ${total.toLocaleString('en')} events`, [
  { what: 'read and parse the log (reference)', value: rawRate, unit: 'events/s' },
  { what: 'replay every projection', value: replayRate, unit: 'events/s', target: 'at least 200,000', ok: replayRate >= 200_000 },
  { what: 'replay / raw', value: replayRate / rawRate, unit: 'ratio', target: 'at least 0.5', ok: replayRate / rawRate >= 0.5 },
  { what: 'peak RSS', value: peakRssMb, unit: 'MB', target: 'under 500', ok: peakRssMb < 500 },
]);
