// npm run bench [-- --quick]: every benchmark in turn, each in its own process
// so one's memory does not count against another's.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const benches = ['derivation.ts', 'http.ts', 'startup.ts', 'replay.ts', 'webhooks.ts'];
let failed = 0;
for (const bench of benches) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, bench), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed += 1;
    console.error(`${bench} failed (exit ${run.status})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
