// A country's history as now known: consecutive valid-time intervals
// [from, to) over which the derived position is constant.
import type { Scope } from '../events/vocabulary.js';
import { derivePosition, samePosition, type PositionState, type Status, type WeaponStatus } from './position.js';
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

/**
 * The position can only change on a day some statement takes effect, so it is
 * derived at each such day and equal neighbours are merged.
 */
export function deriveTimeline(statements: readonly StatementRecord[], query: TimelineQuery): Interval[] {
  const days = [...new Set(statements.filter((s) => s.position <= (query.position ?? Infinity)).map((s) => s.effectiveAt))].sort();
  const intervals: Interval[] = [];
  let previous: PositionState | undefined;
  for (const day of days) {
    const position = derivePosition(statements, { at: day, knownAt: query.knownAt, position: query.position });
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
