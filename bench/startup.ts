// Start-up on a big log: the service as `npm start` runs it (compiled), on a
// store of a million events whose read model is already caught up (a restart),
// timed from spawn to /health/ready answering 200, with the process's peak RSS
// then. Targets: ready in under 2 s, RSS under 300 MB.
//
//   npx tsx bench/startup.ts [--quick]      (--quick: 100,000 events)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { catchUp } from '../src/audit/replay.js';
import { PROJECTION_VERSION } from '../projections/versions.js';
import { ReadModel } from '../src/read-model/read-model.js';
import { removeDatabase } from '../src/read-model/shadow-rebuild.js';
import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
import { benchDir, ensureLog } from './generate-log.js';
import { report } from './report.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const total = Number(process.env.BENCH_EVENTS ?? (quick ? 100_000 : 1_000_000));
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = benchDir(`log-${total}`);

await ensureLog(total, dir);
// A restart finds its read model at the head of the log, built by this code's projection
// versions: build it once if it is not. (One built with other versions would be rebuilt in a
// shadow at start: that is an upgrade, not the start-up measured here.)
const store = new SqliteEventStore(path.join(dir, 'events.db'));
const readModelFile = path.join(dir, 'read-model.db');
let readModel = new ReadModel(readModelFile);
if (readModel.builtWith() !== PROJECTION_VERSION) {
  console.log(`the read model in ${dir} was built with ${readModel.builtWith()}: building it again with ${PROJECTION_VERSION}`);
  readModel.close();
  removeDatabase(readModelFile);
  readModel = new ReadModel(readModelFile);
}
const head = await store.headPosition();
if (readModel.checkpoint().position < head) {
  console.log(`building the read model for ${total.toLocaleString('en')} events once (it is kept in ${dir})…`);
  await catchUp(store, readModel, head);
}
readModel.close();
await store.close();

execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
const port = 30_000 + Math.floor(Math.random() * 10_000);
const started = performance.now();
const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'main.js')], {
  env: { ...process.env, PORT: String(port), DATA_DIR: dir, SEED_ON_START: 'false', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
let readyMs = NaN;
for (let i = 0; i < 600; i++) {
  const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status === 200, () => false);
  if (ok) {
    readyMs = performance.now() - started;
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
const peakRssMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

report(`start-up with ${total.toLocaleString('en')} events in the store`, [
  { what: 'spawn to /health/ready 200', value: readyMs / 1000, unit: 's', target: 'under 2 s', ok: readyMs < 2000 },
  { what: 'peak RSS by then', value: peakRssMb, unit: 'MB', target: 'under 300 MB', ok: peakRssMb < 300 },
]);
