// A country's history as now known: consecutive valid-time intervals
// [from, to) over which the derived position is constant.
import type { Scope } from '../events/vocabulary.js';
import { LAST_DAY } from './time.js';
import { exclusionOf, PositionFold, samePosition, type PositionState, type RuleStatement, type Status, type WeaponStatus } from './position.js';

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

export interface Sweep<S extends RuleStatement = RuleStatement> {
  intervals: Interval[];
  /** Every counted statement folded in: the position from the last effective day on. */
  fold: PositionFold<S>;
  /** The last day any counted statement takes effect, or null. */
  lastDay: string | null;
}

/** The whole timeline as a list of intervals. */
export function deriveTimeline(statements: readonly RuleStatement[], query: TimelineQuery): Interval[] {
  return sweepTimeline(statements, query).intervals;
}

/** An interval as /history gives it: with every statement that decides one of its days. */
export interface HistoryInterval extends Interval {
  /**
   * The later statements that said the same again, each deciding the days from its own on (the rules'
   * choice, day by day), in valid-time order; empty when the one that began the interval decides it all.
   */
  restatedBy: string[];
}

/**
 * The timeline with, for each interval, the statements that took over deciding it. An interval lasts as
 * long as the position, so the statement that began it (decidingStatementId, the one that changed the
 * position) may not be the latest evidence for its later days: the US prohibition of 2022 began the interval
 * that Kirby's "no change" of 28 May 2024 restated. Not part of the stored intervals (changes carry those),
 * so that a restatement, which changes no position, revises no history.
 */
export function deriveHistory(statements: readonly RuleStatement[], query: TimelineQuery): HistoryInterval[] {
  const deciders: Array<{ day: string; statementId: string | null }> = [];
  const { intervals } = sweepTimeline(statements, query, (day, fold) => deciders.push({ day, statementId: fold.deciding?.statementId ?? null }));
  const history = intervals.map((interval): HistoryInterval => ({ ...interval, restatedBy: [] }));
  let at = 0;
  let last: string | null = null;
  for (const { day, statementId } of deciders) {
    while (at < history.length && history[at].to !== null && day >= history[at].to!) at++;
    const interval = history[at];
    if (!interval || day < interval.from) continue; // before the timeline's first day: nothing to say yet
    if (day === interval.from) last = interval.decidingStatementId;
    else if (statementId !== null && statementId !== last) {
      interval.restatedBy.push(statementId);
      last = statementId;
    }
  }
  return history;
}

/**
 * The position can only change on a day some statement takes effect, so the
 * statements are swept in valid-time order, folding each day's into the
 * position, and a new interval starts wherever the position differs. The
 * result equals deriving the position afresh on every such day (a property
 * test holds the two together), in O(n log n) rather than O(days x n).
 */
export function sweepTimeline<S extends RuleStatement>(statements: readonly S[], query: TimelineQuery, onDay?: (day: string, fold: PositionFold<S>) => void): Sweep<S> {
  const inLog = query.position ?? Number.POSITIVE_INFINITY;
  const counted = countedInOrder(statements, query.knownAt, inLog);
  return continueSweep(counted, { intervals: [], fold: new PositionFold<S>(), lastDay: null }, [], query.knownAt, inLog, onDay);
}

/** The statements that count as known at `knownAt`, in valid-time order (log order within a day). */
export function countedInOrder<S extends RuleStatement>(statements: readonly S[], knownAt: number, inLog = Number.POSITIVE_INFINITY, fromDay?: string): S[] {
  // Whether a statement counts does not depend on the day asked about, beyond its effectiveAt.
  return statements
    .filter((s) => s.position <= inLog && (!fromDay || s.effectiveAt >= fromDay) && counts(s, knownAt, inLog))
    .sort(inValidTimeOrder);
}

/** Whether a statement counts at all, on some day, as known at `knownAt`. */
export function counts(s: RuleStatement, knownAt: number, inLog = Number.POSITIVE_INFINITY): boolean {
  return !exclusionOf(s, { at: LAST_DAY, knownAt, position: inLog });
}

/** Valid-time order: by effectiveAt, then log order within a day. */
export function inValidTimeOrder(a: Pick<RuleStatement, 'effectiveAt' | 'position'>, b: Pick<RuleStatement, 'effectiveAt' | 'position'>): number {
  return a.effectiveAt < b.effectiveAt ? -1 : a.effectiveAt > b.effectiveAt ? 1 : a.position - b.position;
}

/**
 * Sweeps `counted` (in valid-time order, all on or after the days already
 * swept) on from a sweep already made over `folded`.
 */
export function continueSweep<S extends RuleStatement>(
  counted: readonly S[],
  start: Sweep<S>,
  folded: S[],
  knownAt: number,
  inLog = Number.POSITIVE_INFINITY,
  /** Told the fold at the end of every day swept (it goes on changing: copy what you keep). */
  onDay?: (day: string, fold: PositionFold<S>) => void,
): Sweep<S> {
  const { intervals } = start;
  let fold = start.fold;
  // A correction that counts replaces what it corrects on every day, before its own
  // effective day too: the record it corrects was wrong (its date, say), not superseded later.
  const superseded = new Set<string>();
  for (const s of folded) if (s.supersedes) superseded.add(s.supersedes);
  for (const s of counted) if (s.supersedes) superseded.add(s.supersedes);
  if (superseded.size > 0 && folded.some((s) => superseded.has(s.statementId))) {
    // A correction took back a statement already folded in: fold again without it (rare).
    fold = new PositionFold<S>();
    for (const s of folded) if (!superseded.has(s.statementId)) fold.add(s);
  }
  for (let i = 0; i < counted.length; ) {
    const day = counted[i].effectiveAt;
    for (; i < counted.length && counted[i].effectiveAt === day; i++) {
      const s = counted[i];
      folded.push(s);
      if (!superseded.has(s.statementId)) fold.add(s);
    }
    onDay?.(day, fold);
    closeDay(intervals, day, fold.state(knownAt, inLog));
  }
  return { intervals, fold, lastDay: counted.length > 0 ? counted[counted.length - 1].effectiveAt : start.lastDay };
}

const isNothing = (p: PositionState) => p.status === 'unknown' && !p.underReview && !p.endorsesLifting && p.weapons.length === 0;

/**
 * Ends a day of the sweep: a new interval starts on `day` when the position
 * differs from the last interval's (and the timeline starts with the first
 * day that has something to say).
 */
export function closeDay(intervals: Interval[], day: string, position: PositionState): void {
  const last = intervals[intervals.length - 1];
  if (last ? samePosition(last, position) : isNothing(position)) return;
  if (last) last.to = day;
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
}

/** The interval in force on `day`, if any (intervals are in order and do not overlap). */
export function intervalAt(timeline: readonly Interval[], day: string): Interval | undefined {
  let low = 0;
  let high = timeline.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const interval = timeline[mid];
    if (day < interval.from) high = mid - 1;
    else if (interval.to !== null && day >= interval.to) low = mid + 1;
    else return interval;
  }
  return undefined;
}
