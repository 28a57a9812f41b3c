// The short version of `npm run bench:faults`: the service as `npm start` runs
// it, under write load with Idempotency-Key retries and a webhook receiver,
// killed with SIGKILL at three random moments and started again each time.
import { expect, it } from 'vitest';
import { runFaults } from '../../bench/fault-run.js';

it('three SIGKILLs under write load: no acknowledged statement lost, none duplicated by retries, replays match, every change delivered', async () => {
  const report = await runFaults({ kills: 3, writers: 3, upMs: [300, 1_500] });
  console.info(`fault injection (3 kills): ${JSON.stringify(report)}`);
  expect(report.writes.acknowledged).toBeGreaterThan(50);
  expect(report.writes).toMatchObject({ lost: 0, duplicated: 0, refused: 0 });
  // The kills broke connections mid-request, and those writes were retried with their key.
  expect(report.retries.afterConnectionLoss).toBeGreaterThan(0);
  // A replay after each restart that was not itself killed while starting, and one at the end.
  expect(report.replays.runs).toBeGreaterThanOrEqual(2);
  expect(report.replays.differences).toBe(0);
  expect(report.replays.cli).toEqual({ exitCode: 0, differences: 0 });
  expect(report.webhooks.changes).toBeGreaterThan(0);
  expect(report.webhooks.deliveredAtLeastOnce).toBe(report.webhooks.changes);
  expect(report.ok).toBe(true);
}, 180_000);
