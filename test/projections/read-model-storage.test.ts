// What the read model keeps in memory follows its rows: a batch that fails
// leaves neither rows nor memory changed, and a country dropped from memory is
// loaded again from its rows to the same state. Changes stored in a compact
// form read back as they were emitted.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { ReadModel } from '../../src/read-model/read-model.js';
import { changesByDefinition } from '../helpers/changes-by-definition.js';
import { statement, storedCountryEvent } from '../helpers/statements.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A log as the store would hold it: one event a day from 1 March 2026, revisions per country. */
function logOf(entries: Array<[country: string, type: string, data: unknown]>): StoredEvent[] {
  const revisions = new Map<string, number>();
  return entries.map(([country, type, data], i) => {
    const revision = (revisions.get(country) ?? -1) + 1;
    revisions.set(country, revision);
    return storedCountryEvent(country, type, data, { position: i + 1, revision, recordedAt: new Date(Date.parse('2026-03-01T10:00:00Z') + i * 86_400_000).toISOString() });
  });
}

const recorded = (country: string, statementId: string, stance: 'permits' | 'prohibits' | 'reviewing', effectiveAt: string) =>
  [country, 'StatementRecorded', statement({ statementId, country, stance, effectiveAt, reportedAt: '2024-05-01' })] as [string, string, unknown];

const log = logOf([
  recorded('US', 'us-ban', 'prohibits', '2024-05-01'),
  recorded('FR', 'fr-ban', 'prohibits', '2024-05-10'),
  recorded('US', 'us-kharkiv', 'permits', '2024-05-30'),
  recorded('DE', 'de-review', 'reviewing', '2024-05-20'),
  // Back-dated: revises the US timeline from 20 May.
  recorded('US', 'us-leak', 'permits', '2024-05-20'),
  ['US', 'SourceAttached', { statementId: 'us-kharkiv', source: { title: 'Another outlet', publishedAt: '2024-05-31', quote: 'reported too' } }],
  ['US', 'StatementRetracted', { statementId: 'us-leak', reason: 'misreported', reportedAt: '2024-06-01' }],
  recorded('FR', 'fr-sites', 'permits', '2024-05-28'),
  // Takes effect after the log's days: today's position changes when its day comes.
  recorded('DE', 'de-later', 'permits', '2026-03-12'),
]);

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe('a batch that fails', () => {
  it('leaves the rows and what is kept in memory as they were, so applied again without the bad event it gives what one run gives', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    const reference = new ReadModel(path.join(dir, 'reference.db'));
    try {
      model.apply(log.slice(0, 3));
      const before = { dump: model.dump(), fingerprint: model.fingerprintAt(), country: structuredClone(model.country('US')) };
      // Good events for countries already in memory, then one whose data no schema accepts.
      const bad = { ...log[6], position: 8, streamRevision: 9, data: { statementId: 'us-kharkiv' } };
      expect(() => model.apply([...log.slice(3, 7), bad])).toThrow();
      expect(model.checkpoint().position).toBe(3);
      expect(model.dump()).toEqual(before.dump);
      expect(model.fingerprintAt()).toEqual(before.fingerprint);
      expect(model.country('US')).toEqual(before.country);

      const emitted = [...model.apply(log.slice(3)), ...model.advanceTo('2026-03-20')];
      const expected = [...reference.apply(log), ...reference.advanceTo('2026-03-20')];
      expect(emitted).toEqual(expected.filter((c) => c.position > 3));
      expect(model.dump()).toEqual(reference.dump());
      expect(model.fingerprintAt().fingerprint).toBe(reference.fingerprintAt().fingerprint);
      expect(model.recomputeFingerprint()).toBe(model.fingerprintAt().fingerprint);
      for (const code of ['US', 'FR', 'DE']) expect(model.country(code)).toEqual(reference.country(code));
    } finally {
      model.close();
      reference.close();
    }
  });
});

describe('a country dropped from memory, or its older statements', () => {
  it('is loaded again from its rows, and the read model goes on as one that kept everything', () => {
    // At most two statements in memory: countries are dropped after most batches.
    const small = new ReadModel(path.join(dir, 'small.db'), { residentStatements: 2, answerStatements: 2 });
    // None effective before today kept in memory: revisions read them back.
    const recent = new ReadModel(path.join(dir, 'recent.db'), { statementDays: 0 });
    const whole = new ReadModel(path.join(dir, 'whole.db'));
    try {
      const fromSmall = [];
      const fromRecent = [];
      const fromWhole = [];
      for (const event of log) {
        fromSmall.push(...small.apply([event]));
        fromRecent.push(...recent.apply([event]));
        fromWhole.push(...whole.apply([event]));
        expect(small.fingerprintAt().fingerprint).toBe(whole.fingerprintAt().fingerprint);
        expect(recent.fingerprintAt().fingerprint).toBe(whole.fingerprintAt().fingerprint);
        for (const code of ['US', 'FR', 'DE']) expect(small.country(code)).toEqual(whole.country(code));
      }
      fromSmall.push(...small.advanceTo('2026-03-20'));
      fromRecent.push(...recent.advanceTo('2026-03-20'));
      fromWhole.push(...whole.advanceTo('2026-03-20'));
      expect(fromSmall).toEqual(fromWhole);
      expect(fromRecent).toEqual(fromWhole);
      expect(recent.dump()).toEqual(whole.dump());
      expect(fromSmall.some((c) => c.type === 'history.revised')).toBe(true);
      expect(fromSmall.some((c) => c.type === 'position.changed' && c.country === 'DE' && (c.data as { at: string }).at === '2026-03-12')).toBe(true);
      expect(small.dump()).toEqual(whole.dump());
      expect(small.recomputeFingerprint()).toBe(small.fingerprintAt().fingerprint);
    } finally {
      small.close();
      recent.close();
      whole.close();
    }
  });
});

describe('changes read back from the rows', () => {
  it('are the changes emitted, though a statement.recorded change is stored as a reference to its statement\'s row and position.changed from the country rows\' text', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    try {
      const emitted = [...model.apply(log), ...model.advanceTo('2026-03-20')];
      expect(emitted.filter((c) => c.type === 'statement.recorded')).toHaveLength(7);
      expect(emitted.filter((c) => c.type === 'position.changed').length).toBeGreaterThan(3);
      expect(model.changes(0, 1_000)).toEqual(emitted);
      expect(model.dump().changes.map((c) => c.data)).toEqual(emitted.map((c) => c.data));
    } finally {
      model.close();
    }
  });

  it('keep what they said when a statement id already recorded for one country is recorded again for another', () => {
    const model = new ReadModel(path.join(dir, 'model.db'));
    try {
      const taken = logOf([
        recorded('US', 'twice', 'prohibits', '2024-05-01'),
        recorded('FR', 'twice', 'permits', '2024-05-02'),
        recorded('US', 'other', 'permits', '2024-05-03'),
        // Each country goes on with its own statement of that id; a second recording in either is ignored.
        recorded('FR', 'twice', 'prohibits', '2024-05-04'),
        recorded('US', 'twice', 'permits', '2024-05-04'),
        ['FR', 'SourceAttached', { statementId: 'twice', source: { title: 'Another outlet', publishedAt: '2024-05-05', quote: 'reported too' } }],
        ['FR', 'StatementRetracted', { statementId: 'twice', reason: 'misreported', reportedAt: '2024-05-06' }],
      ]);
      const emitted = model.apply(taken);
      expect(emitted).toEqual(changesByDefinition(taken));
      const recordedChanges = model.changes(0, 1_000).filter((c) => c.type === 'statement.recorded');
      expect(recordedChanges.map((c) => (c.data as { statement: { country: string } }).statement.country)).toEqual(['US', 'FR', 'US']);
      expect(model.changes(0, 1_000)).toEqual(emitted);
      expect(model.recomputeFingerprint()).toBe(model.fingerprintAt().fingerprint);
    } finally {
      model.close();
    }
  });
});

describe('older statements read back a page at a time', () => {
  it('follow on from the middle of a day with more statements than a page, as a model that kept everything', () => {
    // Forty statements on one day, long before today: read back in pages of 16, then 64.
    const dense = logOf([
      ...Array.from({ length: 40 }, (_, i) => recorded('NO', `no-${i}`, i % 3 === 0 ? 'prohibits' : 'permits', '2024-06-01')),
      recorded('NO', 'no-later', 'prohibits', '2024-06-02'),
      // Back-dated to that day, and a retraction on it: each sweeps the day again from the rows.
      recorded('NO', 'no-late-report', 'reviewing', '2024-06-01'),
      ['NO', 'StatementRetracted', { statementId: 'no-39', reason: 'misreported', reportedAt: '2024-06-03' }],
      recorded('NO', 'no-earlier', 'permits', '2024-05-31'),
    ]);
    const recent = new ReadModel(path.join(dir, 'recent.db'), { statementDays: 0 });
    const whole = new ReadModel(path.join(dir, 'whole.db'));
    try {
      const fromRecent = [];
      const fromWhole = [];
      for (const event of dense) {
        fromRecent.push(...recent.apply([event]));
        fromWhole.push(...whole.apply([event]));
        expect(recent.fingerprintAt().fingerprint).toBe(whole.fingerprintAt().fingerprint);
      }
      expect(fromRecent).toEqual(fromWhole);
      expect(recent.dump()).toEqual(whole.dump());
      expect(fromWhole).toEqual(changesByDefinition(dense));
    } finally {
      recent.close();
      whole.close();
    }
  });
});
