// Position derivation for a country with 10,000 statements: p50 and p99 of
// derivePosition over random valid and knowledge times. Target: p99 under 1 ms.
//
//   npx tsx bench/derivation.ts [--quick]
import type { DomainEvent } from '../events/registry.js';
import { derivePosition } from '../projections/position.js';
import { emptyCountry, evolveCountry } from '../projections/statement-record.js';
import { KNOWN_NOW } from '../projections/time.js';
import { generateLog } from './generate-log.js';
import { report } from './report.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const STATEMENTS = 10_000;
const QUERIES = quick ? 2_000 : 20_000;

// One country's share of a generated log, renumbered as its own stream.
const record = emptyCountry('US');
let revision = 0;
for (const event of generateLog(STATEMENTS * 1.25)) {
  if (record.statements.length >= STATEMENTS && event.type === 'StatementRecorded') continue;
  const data = { ...(event.data as Record<string, unknown>), ...(event.type === 'StatementRecorded' ? { country: 'US' } : {}) };
  evolveCountry(record, { ...event, streamId: 'country-US', streamRevision: revision++, data } as DomainEvent);
}

const days = record.statements.map((s) => s.effectiveAt).sort();
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

/** p50 and p99 of `QUERIES` derivations at random valid and knowledge times; `list` also reads the basis list. */
function measure(list: boolean): { p50: number; p99: number; checksum: number } {
  const timings: number[] = [];
  let checksum = 0;
  for (let i = 0; i < QUERIES; i++) {
    const at = pick(days);
    const knownAt = i % 2 === 0 ? KNOWN_NOW : Date.parse(`${pick(days)}T12:00:00Z`);
    const started = performance.now();
    const derivation = derivePosition(record.statements, { at, knownAt });
    checksum += list ? derivation.notDeciding.length : derivation.weapons.length;
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  const percentile = (p: number) => timings[Math.min(timings.length - 1, Math.floor((p / 100) * timings.length))];
  return { p50: percentile(50), p99: percentile(99), checksum };
}

measure(false); // warm up
const derived = measure(false);
const listed = measure(true);
report(`position derivation, ${record.statements.length.toLocaleString('en')} statements, ${QUERIES.toLocaleString('en')} queries each`, [
  { what: 'derive (position, weapons, flags, reason codes) p50', value: derived.p50, unit: 'ms' },
  { what: 'derive p99', value: derived.p99, unit: 'ms', target: 'under 1 ms', ok: derived.p99 < 1 },
  { what: 'derive and list every other statement p50', value: listed.p50, unit: 'ms' },
  { what: 'derive and list every other statement p99', value: listed.p99, unit: 'ms', target: 'under 1 ms', ok: listed.p99 < 1 },
]);
