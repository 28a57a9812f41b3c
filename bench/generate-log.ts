// Generates a realistic event log for the benchmarks: statements about 50
// countries over five years, recorded roughly in the order they take effect
// (5% back-dated by up to two months), with corroborating sources (20% of
// statements) and retractions (0.5%). Deterministic for a given size.
//
//   npx tsx bench/generate-log.ts [events] [dir]     (default 1,000,000 into bench/out/log-<events>)
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredEvent } from '../events/envelope.js';
import { SqliteEventStore } from '../src/store/sqlite-event-store.js';

const COUNTRIES = ['US', 'GB', 'FR', 'DE', 'CA', 'BE', 'NL', 'PL', 'SE', 'DK', 'FI', 'NO', 'EE', 'LV', 'LT', 'CZ', 'SK', 'HU', 'RO', 'BG',
  'IT', 'ES', 'PT', 'GR', 'AT', 'IE', 'LU', 'SI', 'HR', 'AU', 'NZ', 'JP', 'KR', 'TR', 'IS', 'AL', 'MK', 'ME', 'MD', 'CH',
  'IL', 'SG', 'ZA', 'BR', 'MX', 'AR', 'CL', 'IN', 'UA', 'GE'];
const WEAPONS = ['ATACMS', 'HIMARS', 'Storm Shadow', 'SCALP', 'Taurus', 'F-16', 'Leopard 2', 'Patriot'];
const START = Date.parse('2020-01-01T00:00:00Z');
const DAYS = 5 * 365;

/** A small deterministic generator (mulberry32), so every run benchmarks the same log. */
function random(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* generateLog(total: number): Generator<StoredEvent> {
  const rand = random(total);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)];
  const revisions = new Map<string, number>();
  const recorded: Array<{ id: string; country: string; day: string }> = [];
  for (let position = 1; position <= total; position++) {
    // Time moves evenly through the five years as the log grows.
    const recordedAtMs = START + Math.floor(((position - 1) / total) * DAYS * 86_400_000);
    const today = new Date(recordedAtMs).toISOString().slice(0, 10);
    const roll = rand();
    let country: string;
    let type: string;
    let data: unknown;
    if (recorded.length > 10 && roll < 0.005) {
      const target = pick(recorded);
      country = target.country;
      type = 'StatementRetracted';
      data = { statementId: target.id, reason: 'the outlet withdrew its report', reportedAt: today };
    } else if (recorded.length > 10 && roll < 0.17) {
      const target = recorded[recorded.length - 1 - Math.floor(rand() * Math.min(recorded.length, 500))];
      country = target.country;
      type = 'SourceAttached';
      data = { statementId: target.id, source: { publisher: pick(['Reuters', 'AP', 'AFP', 'BBC']), title: `Report ${position}`, publishedAt: today, quote: `Officials confirmed the position reported earlier (${position}).` } };
    } else {
      country = pick(COUNTRIES);
      const backDated = rand() < 0.05;
      const effectiveAt = new Date(recordedAtMs - (backDated ? Math.floor(rand() * 60) * 86_400_000 : 0)).toISOString().slice(0, 10);
      const stanceRoll = rand();
      const stance = stanceRoll < 0.35 ? 'permits' : stanceRoll < 0.7 ? 'prohibits' : stanceRoll < 0.85 ? 'reviewing' : 'endorses';
      const scope: Record<string, string[]> = {};
      if (stance === 'permits' && rand() < 0.6) scope.regions = [pick(['across the border from Kharkiv oblast', 'the Kursk border area', 'occupied Crimea'])];
      if (stance === 'permits' && rand() < 0.3) scope.purposes = ['counter-fire'];
      if (rand() < 0.15) scope.weapons = [pick(WEAPONS)];
      else if (stance === 'permits' && rand() < 0.2) scope.excludedWeapons = [pick(WEAPONS)];
      const id = `${country.toLowerCase()}-${position}`;
      recorded.push({ id, country, day: effectiveAt });
      type = 'StatementRecorded';
      data = {
        statementId: id,
        country,
        stance,
        scope,
        speaker: { name: `Speaker ${position % 97}`, role: 'spokesperson', attribution: pick(['official', 'official', 'anonymous-official', 'media-report', 'non-government']) },
        sources: [{ publisher: pick(['Reuters', 'AP', 'Politico', 'Le Monde']), title: `Statement ${position}`, publishedAt: today, quote: `We have decided on our position regarding strikes (${position}).` }],
        effectiveAt,
        datePrecision: 'day',
        reportedAt: today,
      };
    }
    const streamId = `country-${country}`;
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    yield {
      eventId: `00000000-0000-4000-8000-${position.toString(16).padStart(12, '0')}`,
      streamId,
      streamRevision: revision,
      position,
      type,
      schemaVersion: type === 'StatementRecorded' ? 2 : 1,
      data,
      metadata: { correlationId: 'bench' },
      recordedAt: new Date(recordedAtMs).toISOString(),
    };
  }
}

/** The log of that size in `dir`/events.db, generated once and reused. */
export async function ensureLog(total: number, dir: string): Promise<string> {
  const file = path.join(dir, 'events.db');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const store = new SqliteEventStore(file);
  async function* events() {
    yield* generateLog(total);
  }
  await store.importEvents(events());
  await store.close();
  return file;
}

export const benchDir = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), 'out', name);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = Number(process.argv[2] ?? 1_000_000);
  const dir = process.argv[3] ?? benchDir(`log-${total}`);
  const started = performance.now();
  const file = await ensureLog(total, dir);
  console.log(`${total} events in ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
