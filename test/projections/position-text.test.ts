// The read model stores a country's position as the text a PositionWriter makes,
// which must be byte for byte what JSON.stringify gives for the same state:
// the stored rows, the changes made of them and the fingerprint depend on it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountryView } from '../../projections/country-view.js';
import { nowKnown } from '../../projections/now-known.js';
import { PositionFold, PositionWriter, type PositionState } from '../../projections/position.js';
import { KNOWN_NOW } from '../../projections/time.js';
import { History } from '../helpers/statements.js';

const DAYS = ['2024-05-01', '2024-05-10', '2024-05-20', '2024-05-28', '2024-05-30'];
const recording = fc.record({
  stance: fc.constantFrom('permits', 'prohibits', 'reviewing', 'endorses'),
  attribution: fc.constantFrom('official', 'anonymous-official', 'media-report', 'non-government'),
  effectiveAt: fc.constantFrom(...DAYS),
  regions: fc.constantFrom<string[] | undefined>(undefined, ['occupied Crimea'], ['the Kursk border area', 'a "quoted" place']),
  purposes: fc.constantFrom<string[] | undefined>(undefined, ['counter-fire']),
  weapons: fc.constantFrom<string[] | undefined>(undefined, ['ATACMS'], ['HIMARS', 'atacms'], ['Storm Shadow / SCALP']),
  excludedWeapons: fc.constantFrom<string[] | undefined>(undefined, ['ATACMS']),
  sources: fc.integer({ min: 1, max: 3 }),
});

type Recording = typeof recording extends fc.Arbitrary<infer T> ? T : never;

function historyOf(recordings: Recording[]): History {
  const history = new History();
  recordings.forEach((r, i) => {
    const scope = Object.fromEntries(Object.entries({ regions: r.regions, purposes: r.purposes, weapons: r.weapons, excludedWeapons: r.excludedWeapons }).filter(([, v]) => v !== undefined));
    history.recorded({
      statementId: `s${i + 1}`,
      stance: r.stance,
      effectiveAt: r.effectiveAt,
      scope,
      speaker: { name: 'A Spokesperson', attribution: r.attribution },
      sources: Array.from({ length: r.sources }, (_, k) => ({ title: `Report ${k}`, publishedAt: r.effectiveAt, quote: 'said so' })),
    });
  });
  return history;
}

const expectSameText = (writer: PositionWriter, state: PositionState) => expect(writer.text(state)).toBe(JSON.stringify(state));

describe('a position writer', () => {
  it('writes JSON.stringify of every state a fold makes, statement after statement', () => {
    fc.assert(
      fc.property(fc.array(recording, { maxLength: 30 }), (recordings) => {
        const writer = new PositionWriter();
        const fold = new PositionFold();
        expectSameText(writer, fold.state(KNOWN_NOW));
        for (const statement of historyOf(recordings).record.statements) {
          fold.add(statement);
          expectSameText(writer, fold.state(KNOWN_NOW));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes JSON.stringify of the positions a country view gives, day after day and back, with shared scopes and weapons lists', () => {
    fc.assert(
      fc.property(fc.array(recording, { maxLength: 30 }), (recordings) => {
        const writer = new PositionWriter();
        const view = CountryView.of(historyOf(recordings).record.statements.map((s) => nowKnown(s)));
        for (const day of ['2024-04-30', ...DAYS, '2024-06-01', ...DAYS.toReversed()]) expectSameText(writer, view.positionOn(day));
      }),
      { numRuns: 300 },
    );
  });
});
