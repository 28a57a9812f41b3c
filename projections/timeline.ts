// A country's history as now known: consecutive valid-time intervals
// [from, to) over which the derived position is constant.
import type { Scope } from '../events/vocabulary.js';
import { exclusionOf, PositionFold, samePosition, type PositionState, type Status, type WeaponStatus } from './position.js';
import type { StatementRecord } from './statement-record.js';

export interface Interval {
  from: string;
  /** Exclusive; null for the open interval. */
  to: string | null;
  status: Status;
  scope: Scope | null;
  weapons: WeaponStatus[];
  underReview: boolean;
  endorsesLifting: boolean;
  /** The statement that decides the headline at the start of the interval. */
  decidingStatementId: string | null;
}

export interface TimelineQuery {
  knownAt: number;
  position?: number;
}

const LAST_DAY = '9999-12-31';

/**
 * The position can only change on a day some statement takes effect, so the
 * statements are swept in valid-time order, folding each day's into the
 * position, and a new interval starts wherever the position differs. The
 * result equals deriving the position afresh on every such day (a property
 * test holds the two together), in O(n log n) rather than O(days x n).
 */
export function deriveTimeline(statements: readonly StatementRecord[], query: TimelineQuery): Interval[] {
  const inLog = query.position ?? Number.POSITIVE_INFINITY;
  // Whether a statement counts does not depend on the day asked about, beyond its effectiveAt.
  const counted = statements
    .filter((s) => s.position <= inLog && !exclusionOf(s, { at: LAST_DAY, knownAt: query.knownAt, position: inLog }))
    .sort((a, b) => (a.effectiveAt < b.effectiveAt ? -1 : a.effectiveAt > b.effectiveAt ? 1 : a.position - b.position));

  const intervals: Interval[] = [];
  const folded: StatementRecord[] = [];
  const superseded = new Set<string>();
  let fold = new PositionFold();
  let previous: PositionState | undefined;
  for (let i = 0; i < counted.length; ) {
    const day = counted[i].effectiveAt;
    let refold = false;
    const today: StatementRecord[] = [];
    for (; i < counted.length && counted[i].effectiveAt === day; i++) {
      const s = counted[i];
      today.push(s);
      if (s.supersedes && !superseded.has(s.supersedes)) {
        superseded.add(s.supersedes);
        if (folded.some((f) => f.statementId === s.supersedes)) refold = true;
      }
    }
    folded.push(...today);
    if (refold) {
      // A correction took back a statement already folded in: fold again without it (rare).
      fold = new PositionFold();
      for (const s of folded) if (!superseded.has(s.statementId)) fold.add(s);
    } else {
      for (const s of today) if (!superseded.has(s.statementId)) fold.add(s);
    }

    const position = fold.state(query.knownAt, inLog);
    if (previous && samePosition(previous, position)) continue;
    if (intervals.length > 0) intervals[intervals.length - 1].to = day;
    else if (position.status === 'unknown' && !position.underReview && !position.endorsesLifting && position.weapons.length === 0) continue;
    intervals.push({
      from: day,
      to: null,
      status: position.status,
      scope: position.scope,
      weapons: position.weapons,
      underReview: position.underReview,
      endorsesLifting: position.endorsesLifting,
      decidingStatementId: position.decidingStatementId,
    });
    previous = position;
  }
  return intervals;
}

/** The interval in force on `day`, if any. */
export function intervalAt(timeline: readonly Interval[], day: string): Interval | undefined {
  return timeline.find((i) => i.from <= day && (i.to === null || day < i.to));
}
