// The fingerprint after every log position is kept in runs (a row per batch and
// day), not a row per position: it must still answer, at every position, what a
// read model that applied the log up to there reports, whatever the batches.
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { LONGEST_RUN } from '../../src/read-model/fingerprint-history.js';
import { ReadModel, type Fingerprint } from '../../src/read-model/read-model.js';
import { ChangeFeed } from '../../src/webhooks/change-feed.js';
import { statement, storedCountryEvent } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

const COUNTRIES = ['US', 'FR', 'DE'];

/**
 * Three events a day from 1 March 2026 (so a batch spans days and a day several
 * events), positions with gaps as another store may leave them, and an event of
 * a stream that is no country's.
 */
function logOf(count: number): StoredEvent[] {
  const revisions = new Map<string, number>();
  const events: StoredEvent[] = [];
  for (let i = 0; i < count; i++) {
    const position = i + 1 + Math.floor(i / 4); // 1, 2, 3, 4, 6, 7, 8, 9, 11, ...
    const recordedAt = new Date(Date.parse('2026-03-01T10:00:00Z') + Math.floor(i / 3) * 86_400_000 + (i % 3) * 60_000).toISOString();
    if (i % 7 === 6) {
      events.push({ eventId: `e${position}`, type: 'SomethingElse', schemaVersion: 1, data: {}, metadata: {}, streamId: 'elsewhere', streamRevision: i, position, recordedAt });
      continue;
    }
    const country = COUNTRIES[i % COUNTRIES.length];
    const revision = (revisions.get(country) ?? -1) + 1;
    revisions.set(country, revision);
    const data =
      i % 5 === 4
        ? { statementId: `${country}-${i - 3}`, source: { title: 'Another outlet', publishedAt: '2026-03-02', quote: 'reported too' } }
        : statement({ statementId: `${country}-${i}`, country, stance: i % 2 ? 'permits' : 'prohibits', effectiveAt: `2026-03-${String(1 + (i % 20)).padStart(2, '0')}`, reportedAt: '2026-03-01' });
    events.push(storedCountryEvent(country, i % 5 === 4 ? 'SourceAttached' : 'StatementRecorded', data, { position, revision, recordedAt }));
  }
  return events;
}

const log = logOf(40);
const head = log[log.length - 1].position;

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** What a read model applying one event at a time reports after each position (and before the first). */
function fingerprintsOneByOne(): Map<number, Fingerprint> {
  const model = new ReadModel(path.join(dir, 'one-by-one.db'));
  const after = new Map<number, Fingerprint>([[0, model.fingerprintAt()]]);
  try {
    for (const event of log) {
      model.apply([event]);
      after.set(event.position, model.fingerprintAt());
    }
  } finally {
    model.close();
  }
  return after;
}

/** The recorded fingerprint a position falls back to: that of the last event applied at or before it. */
function expectedAt(oneByOne: Map<number, Fingerprint>, position: number): Fingerprint {
  for (let at = position; ; at--) {
    const recorded = oneByOne.get(at);
    if (recorded) return recorded;
  }
}

describe('the fingerprint history', () => {
  it('answers at every position what a read model fed one event at a time reported there, whatever the batches', () => {
    const oneByOne = fingerprintsOneByOne();
    const model = new ReadModel(path.join(dir, 'batches.db'));
    try {
      for (const [from, to] of [[0, 1], [1, 9], [9, 10], [10, 27], [27, 40]]) model.apply(log.slice(from, to));
      for (let position = 0; position <= head + 2; position++) expect(model.fingerprintAt(position)).toEqual(expectedAt(oneByOne, position));
      expect(model.fingerprintAt()).toEqual(oneByOne.get(head));
      expect(model.recomputeFingerprint()).toBe(model.fingerprintAt().fingerprint);
    } finally {
      model.close();
    }
  });

  it('equals at every position a fresh replay of the log up to there', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    try {
      model.apply(log);
      for (const [i, event] of log.entries()) {
        const fresh = new ReadModel(path.join(dir, `fresh-${i}.db`), { scratch: true });
        fresh.apply(log.slice(0, i + 1));
        expect(model.fingerprintAt(event.position)).toEqual(fresh.fingerprintAt());
        fresh.close();
      }
    } finally {
      model.close();
    }
  });

  it('after a day rolled with no event, answers at the last position with the new day; the positions before are unchanged', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    const reference = new ReadModel(path.join(dir, 'reference.db'));
    try {
      // The last event alone, as the service applies a write: the day rolls at a run of that one position.
      model.apply(log.slice(0, -1));
      model.apply(log.slice(-1));
      const before = new Map(Array.from({ length: head + 1 }, (_, p) => [p, model.fingerprintAt(p)]));
      model.advanceTo('2026-03-25');
      model.advanceTo('2026-04-02');
      reference.apply(log);
      reference.advanceTo('2026-04-02');
      const rolled = model.fingerprintAt(head);
      expect(rolled).toEqual({ position: head, today: '2026-04-02', fingerprint: reference.recomputeFingerprint() });
      expect(rolled.fingerprint).not.toBe(before.get(head)!.fingerprint);
      expect(model.fingerprintAt()).toEqual(rolled);
      for (let position = 0; position < head; position++) expect(model.fingerprintAt(position)).toEqual(before.get(position));
      // Reopened, it goes on from the rolled fingerprint.
      model.close();
      const reopened = new ReadModel(path.join(dir, 'model.db'));
      expect(reopened.fingerprintAt()).toEqual(rolled);
      reopened.close();
    } finally {
      reference.close();
    }
  });

  it('cuts a long batch into runs and still answers at every position, at each end of a run too', () => {
    // Events of no country's stream record a fingerprint too, and cost nothing else: a country event every 97 changes it.
    const long: StoredEvent[] = [];
    for (let position = 1; position <= 2 * LONGEST_RUN + 50; position++) {
      const recordedAt = `2026-03-0${1 + Math.floor(position / 1_500)}T10:00:00.000Z`;
      if (position % 97 === 0) {
        const statementId = `US-${position}`;
        long.push(storedCountryEvent('US', 'StatementRecorded', statement({ statementId, stance: 'permits', effectiveAt: '2026-03-01' }), { position, revision: long.filter((e) => e.streamId === 'country-US').length, recordedAt }));
      } else long.push({ eventId: `e${position}`, type: 'SomethingElse', schemaVersion: 1, data: {}, metadata: {}, streamId: 'elsewhere', streamRevision: position - 1, position, recordedAt });
    }
    const model = new ReadModel(path.join(dir, 'long.db'));
    const reference = new ReadModel(path.join(dir, 'reference.db'), { scratch: true });
    try {
      model.apply(long);
      // One run at the longest, one cut by the day, and the rest.
      const db = new Database(path.join(dir, 'long.db'), { readonly: true });
      expect(db.prepare('SELECT length(positions) / 8 AS count FROM fingerprint_runs ORDER BY first_position').all()).toEqual([{ count: LONGEST_RUN }, { count: 1_499 - LONGEST_RUN }, { count: long.length - 1_499 }]);
      db.close();
      for (const [from, to] of [[0, LONGEST_RUN - 1], [LONGEST_RUN - 1, LONGEST_RUN + 1], [LONGEST_RUN + 1, long.length]]) {
        for (const event of long.slice(from, to)) {
          reference.apply([event]);
          expect(model.fingerprintAt(event.position)).toEqual(reference.fingerprintAt());
        }
      }
    } finally {
      model.close();
      reference.close();
    }
  });

  it('gives the change feed the last position applied before any position', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    model.apply(log.slice(0, 10));
    model.advanceTo('2026-03-20');
    model.apply(log.slice(10));
    const feed = new ChangeFeed(() => model.file);
    try {
      const positions = log.map((e) => e.position);
      for (let position = 0; position <= head + 2; position++) expect(feed.eventBefore(position)).toBe(Math.max(0, ...positions.filter((p) => p < position)));
    } finally {
      feed.close();
      model.close();
    }
  });

  it('a read model built with a row per position is brought to runs when opened, and goes on from its last fingerprint', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    model.apply(log.slice(0, 20));
    model.advanceTo('2026-03-09');
    const recorded = Array.from({ length: head + 2 }, (_, p) => model.fingerprintAt(p));
    model.close();
    // The same content with the table as earlier versions kept it.
    copyFileSync(path.join(dir, 'model.db'), path.join(dir, 'legacy.db'));
    const db = new Database(path.join(dir, 'legacy.db'));
    db.exec('DROP TABLE fingerprint_runs; CREATE TABLE fingerprints (position INTEGER PRIMARY KEY, today TEXT, hash TEXT NOT NULL)');
    const insert = db.prepare('INSERT OR REPLACE INTO fingerprints (position, today, hash) VALUES (?, ?, ?)');
    for (const event of log.slice(0, 20)) {
      const { position, today, fingerprint } = recorded[event.position];
      insert.run(position, today, fingerprint);
    }
    db.close();

    const legacy = new ReadModel(path.join(dir, 'legacy.db'));
    const reference = new ReadModel(path.join(dir, 'reference.db'));
    try {
      for (let position = 0; position < recorded.length; position++) expect(legacy.fingerprintAt(position)).toEqual(recorded[position]);
      legacy.apply(log.slice(20));
      reference.apply(log.slice(0, 20));
      reference.advanceTo('2026-03-09');
      reference.apply(log.slice(20));
      expect(legacy.fingerprintAt()).toEqual(reference.fingerprintAt());
      expect(legacy.recomputeFingerprint()).toBe(legacy.fingerprintAt().fingerprint);
    } finally {
      legacy.close();
      reference.close();
    }
  });
});
