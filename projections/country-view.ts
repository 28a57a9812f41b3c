// A country's position as now known, kept up to date event by event: the
// timeline, and the fold of every counted statement (today's position once
// every statement has taken effect). Most statements are recorded in the
// order they take effect, and for those the view is extended in constant
// time; anything else (a back-dated statement, a retraction, a correction) is
// swept again from scratch. A property test holds the two ways equal.
import { derivePosition, exclusionOf, type PositionFold, type PositionState } from './position.js';
import type { StatementRecord } from './statement-record.js';
import { KNOWN_NOW } from './time.js';
import { closeDay, intervalAt, sweepTimeline, type Interval } from './timeline.js';

const AS_NOW_KNOWN = { at: '9999-12-31', knownAt: KNOWN_NOW };

export class CountryView {
  private constructor(
    public intervals: Interval[],
    private fold: PositionFold,
    private lastDay: string | null,
  ) {}

  static of(statements: readonly StatementRecord[]): CountryView {
    const { intervals, fold, lastDay } = sweepTimeline(statements, { knownAt: KNOWN_NOW });
    return new CountryView(intervals, fold, lastDay);
  }

  /**
   * Folds in a statement just recorded. Returns false, changing nothing, when
   * that cannot be done in place (it takes effect before the last effective
   * day, or corrects another statement): the caller sweeps again.
   */
  extend(s: StatementRecord): boolean {
    if (exclusionOf(s, AS_NOW_KNOWN)) return true; // does not count: nothing changes
    if (s.supersedes) return false;
    if (this.lastDay !== null && s.effectiveAt < this.lastDay) return false;
    const day = s.effectiveAt;
    const last = this.intervals[this.intervals.length - 1];
    // The day already ended the sweep: take that day's interval back and close the day again.
    if (last && last.from === day) {
      this.intervals.pop();
      const previous = this.intervals[this.intervals.length - 1];
      if (previous) previous.to = null;
    }
    this.fold.add(s);
    closeDay(this.intervals, day, this.fold.state(KNOWN_NOW));
    this.lastDay = day;
    return true;
  }

  /** Today's position. Once every statement has taken effect it is the fold; before that it is derived. */
  positionOn(today: string, statements: readonly StatementRecord[]): PositionState {
    if (this.lastDay === null || today >= this.lastDay) return this.fold.state(KNOWN_NOW);
    const { deciding: _d, notDeciding: _n, ...state } = derivePosition(statements, { at: today, knownAt: KNOWN_NOW });
    return state;
  }

  /** The start of the interval in force on `day`, or null. */
  since(day: string): string | null {
    return intervalAt(this.intervals, day)?.from ?? null;
  }

  /** The intervals that reach `day` or later: all a change from that day on can touch. */
  tailFrom(day: string): Interval[] {
    let i = this.intervals.length;
    while (i > 0 && (this.intervals[i - 1].to === null || (this.intervals[i - 1].to as string) > day)) i--;
    return this.intervals.slice(i).map((interval) => ({ ...interval }));
  }
}
