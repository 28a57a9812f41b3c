// The timeline's sweep over valid time equals the plain definition: derive the
// position afresh on every day a statement takes effect, and merge equal
// neighbours.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derivePosition, samePosition, stateOf } from '../../projections/position.js';
import type { StatementRecord } from '../../projections/statement-record.js';
import { KNOWN_NOW, knownAtInstant } from '../../projections/time.js';
import { revisedRange } from '../../projections/changes.js';
import { countedInOrder, deriveTimeline, intervalAt, type Interval } from '../../projections/timeline.js';
import { CountryView } from '../../projections/country-view.js';
import { emptyCountry, evolveCountry } from '../../projections/statement-record.js';
import { History } from '../helpers/statements.js';

function timelineByDefinition(statements: StatementRecord[], knownAt: number, position?: number): Interval[] {
  const days = [...new Set(statements.filter((s) => s.position <= (position ?? Infinity)).map((s) => s.effectiveAt))].sort();
  const intervals: Interval[] = [];
  let previous: ReturnType<typeof stateOf> | undefined;
  for (const day of days) {
    const state = stateOf(derivePosition(statements, { at: day, knownAt, position }));
    if (previous && samePosition(previous, state)) continue;
    if (intervals.length > 0) intervals[intervals.length - 1].to = day;
    else if (state.status === 'unknown' && !state.underReview && !state.endorsesLifting && state.weapons.length === 0) continue;
    const { confidence: _c, ...rest } = state;
    intervals.push({ from: day, to: null, ...rest, decidingStatementId: state.decidingStatementId });
    previous = state;
  }
  return intervals.map(({ from, to, status, scope, weapons, underReview, endorsesLifting, decidingStatementId }) => ({
    from, to, status, scope, weapons, underReview, endorsesLifting, decidingStatementId,
  }));
}

const DAYS = ['2024-05-01', '2024-05-10', '2024-05-20', '2024-05-28', '2024-05-30'];
const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      stance: fc.constantFrom('permits', 'prohibits', 'reviewing', 'endorses'),
      attribution: fc.constantFrom('official', 'anonymous-official', 'media-report', 'non-government'),
      effectiveAt: fc.constantFrom(...DAYS),
      reportedAt: fc.constantFrom(...DAYS),
      regions: fc.boolean(),
      weapons: fc.constantFrom<string[]>([], ['ATACMS'], ['HIMARS', 'atacms']),
      excludedWeapons: fc.constantFrom<string[]>([], ["ATACMS"]),
      // Corrections are rare, as in life; frequent ones would send every revision down the whole-sweep path.
      supersedes: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retract' as const), pick: fc.nat(), reportedAt: fc.constantFrom(...DAYS) }) },
);

/** The history the generated steps describe: statements s1, s2, ... and retractions of them. */
function historyOf(steps: StepValue[]): History {
  const history = new History();
  let n = 0;
  for (const s of steps) {
    if (s.kind === 'record') {
      n += 1;
      history.recorded({
        statementId: `s${n}`,
        stance: s.stance,
        effectiveAt: s.effectiveAt,
        reportedAt: s.reportedAt,
        speaker: { attribution: s.attribution },
        scope: {
          ...(s.regions ? { regions: ['near Kharkiv'] } : {}),
          ...(s.weapons.length ? { weapons: s.weapons } : {}),
          ...(s.excludedWeapons.length ? { excludedWeapons: s.excludedWeapons } : {}),
        },
        ...(s.supersedes !== undefined && n > 1 ? { supersedes: `s${(s.supersedes % (n - 1)) + 1}` } : {}),
      });
    } else if (n > 0) {
      history.retracted(`s${(s.pick % n) + 1}`, s.reportedAt);
    }
  }
  return history;
}

type StepValue = typeof step extends fc.Arbitrary<infer T> ? T : never;

describe('the timeline', () => {
  it('equals deriving the position on every effective day, for random histories, knowledge times and log positions', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), fc.constantFrom(undefined, ...DAYS), fc.option(fc.nat({ max: 25 }), { nil: undefined }), (steps, knownDay, position) => {
        const history = historyOf(steps);
        const knownAt = knownDay ? knownAtInstant(knownDay) : KNOWN_NOW;
        const statements = history.record.statements;
        expect(deriveTimeline(statements, { knownAt, position })).toEqual(timelineByDefinition(statements, knownAt, position));
      }),
      { numRuns: 400 },
    );
  });

  // Without corrections every revision takes the path that stops where the fold agrees again.
  const withoutCorrections = fc.array(step, { maxLength: 25 }).map((steps) => steps.map((s) => (s.kind === 'record' ? { ...s, supersedes: undefined } : s)));

  it.each([
    ['', fc.array(step, { maxLength: 25 })],
    [', without corrections', withoutCorrections],
  ])('kept event by event (extended in place where it can be, revised from the statement\'s day until it agrees again where not) equals the timeline derived at the end%s', (_, histories) => {
    fc.assert(
      fc.property(histories, (steps) => {
        const history = historyOf(steps);
        const record = emptyCountry('US');
        const view = CountryView.of<StatementRecord>([]);
        for (const event of history.events) {
          const known = record.index.has(event.data.statementId);
          const timelineBefore = deriveTimeline(record.statements, { knownAt: KNOWN_NOW });
          evolveCountry(record, event);
          const statement = record.statements[record.index.get(event.data.statementId) ?? -1];
          if (!statement || event.type === 'SourceAttached' || (event.type === 'StatementRecorded' && known)) continue;
          const revision = event.type === 'StatementRecorded' ? view.add(statement) : view.remove(statement);
          // The intervals the view gives for the change feed say what the whole timelines say.
          const timelineAfter = deriveTimeline(record.statements, { knownAt: KNOWN_NOW });
          const revised = revision && revisedRange(revision.before, revision.after, revision.from);
          expect(revised).toEqual(revisedRange(timelineBefore, timelineAfter));
        }
        expect(view.intervals).toEqual(deriveTimeline(record.statements, { knownAt: KNOWN_NOW }));
        expect(view.size).toBe(countedInOrder(record.statements, KNOWN_NOW).length);
        for (const day of [...DAYS, '2024-04-30', '2024-05-11', '2024-06-01']) {
          expect(view.positionOn(day)).toEqual(stateOf(derivePosition(record.statements, { at: day, knownAt: KNOWN_NOW })));
          expect(view.since(day)).toBe(intervalAt(deriveTimeline(record.statements, { knownAt: KNOWN_NOW }), day)?.from ?? null);
        }
        // Built at once from the same statements, the view is the same.
        const atOnce = CountryView.of(record.statements);
        expect(atOnce.intervals).toEqual(view.intervals);
        for (const day of DAYS) expect(atOnce.nextChangeAfter(day)).toBe(view.nextChangeAfter(day));
      }),
      { numRuns: 1_500 },
    );
  });
});
