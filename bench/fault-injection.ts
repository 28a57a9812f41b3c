// Crash safety under write load: `npm run bench:faults` (20 kills), or
// `npm run bench:faults -- --kills 3`. Not a test: it prints figures and exits
// non-zero when one of them is wrong. The run itself is bench/fault-run.ts.
import { runFaults } from './fault-run.js';

const at = process.argv.indexOf('--kills');
const kills = at > 0 ? Number(process.argv[at + 1]) : 20;
if (!Number.isInteger(kills) || kills < 1) {
  process.stderr.write('usage: fault-injection [--kills N]\n');
  process.exit(2);
}

const report = await runFaults({ kills, log: (line) => process.stderr.write(`${line}\n`) });
const row = (what: string, value: number | string, expected = '') => process.stdout.write(`${what.padEnd(58)} ${String(value).padStart(8)}  ${expected}\n`);
process.stdout.write(`\nfault injection: ${report.kills} SIGKILLs (${report.killsDuringStartup} during start-up), ${report.seconds} s\n\n`);
row('statements acknowledged (201)', report.writes.acknowledged);
row('acknowledged but not in the log (lost)', report.writes.lost, 'must be 0');
row('in the log more than once (duplicated by retries)', report.writes.duplicated, 'must be 0');
row('refused with a 4xx', report.writes.refused, 'must be 0');
row('retries with the same Idempotency-Key', report.retries.total);
row('  after a refused or broken connection', report.retries.afterConnectionLoss);
row('  answered from the log (first attempt had committed)', report.retries.answeredFromLog);
row('events in the log', report.events);
row(`replay differences over ${report.replays.runs} replays (POST /v1/admin/replay)`, report.replays.differences, 'must be 0');
row('replay differences, policy-state replay after the stop', report.replays.cli.differences, `must be 0 (exit ${report.replays.cli.exitCode})`);
row('changes in the feed', report.webhooks.changes);
row('changes delivered to the receiver at least once', report.webhooks.deliveredAtLeastOnce, 'must be all');
row('deliveries received (at least once: repeats allowed)', report.webhooks.deliveriesReceived);
process.stdout.write(`\n${report.ok ? 'OK: nothing lost, nothing duplicated, replays match, every change delivered' : 'FAILED'}\n`);
process.exit(report.ok ? 0 : 1);
