// A country's position as now known, kept up to date event by event: the
// timeline, and the fold of every counted statement (today's position once
// every statement has taken effect), with a copy of the fold at the end of
// each effective day. Most statements are recorded in the order they take
// effect, and for those the view is extended in constant time; a back-dated
// statement or a retraction is swept again from its day, starting from the
// fold of the day before; a correction sweeps the whole country. A property
// test holds every way equal to the timeline derived from scratch.
import { derivePosition, exclusionOf, PositionFold, type PositionState } from './position.js';
import type { StatementRecord } from './statement-record.js';
import { KNOWN_NOW } from './time.js';
import { closeDay, continueSweep, countedInOrder, intervalAt, sweepTimeline, type Interval } from './timeline.js';

const AS_NOW_KNOWN = { at: '9999-12-31', knownAt: KNOWN_NOW };

export class CountryView {
  public intervals: Interval[] = [];
  private fold = new PositionFold();
  private lastDay: string | null = null;
  /** Whether any statement corrects another: then a revision must sweep the whole country. */
  private corrections = false;
  /** The fold at the end of each effective day, in day order: where a revision starts from. */
  private days: string[] = [];
  private folds: PositionFold[] = [];

  static of(statements: readonly StatementRecord[]): CountryView {
    const view = new CountryView();
    view.sweepWhole(statements);
    return view;
  }

  private sweepWhole(statements: readonly StatementRecord[]): void {
    this.days = [];
    this.folds = [];
    const { intervals, fold, lastDay } = sweepTimeline(statements, { knownAt: KNOWN_NOW }, this.keepDay);
    this.intervals = intervals;
    this.fold = fold;
    this.lastDay = lastDay;
    this.corrections = statements.some((s) => s.supersedes);
  }

  private readonly keepDay = (day: string, fold: PositionFold) => {
    const last = this.days.length - 1;
    if (last >= 0 && this.days[last] === day) this.folds[last] = fold.clone();
    else {
      this.days.push(day);
      this.folds.push(fold.clone());
    }
  };

  /**
   * Folds in a statement just recorded. Returns false, changing nothing, when
   * that cannot be done in place (it takes effect before the last effective
   * day, or corrects another statement): the caller revises from its day or
   * sweeps again.
   */
  extend(s: StatementRecord): boolean {
    if (exclusionOf(s, AS_NOW_KNOWN)) return true; // does not count: nothing changes
    if (s.supersedes) {
      this.corrections = true;
      return false;
    }
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
    this.keepDay(day, this.fold);
    closeDay(this.intervals, day, this.fold.state(KNOWN_NOW));
    this.lastDay = day;
    return true;
  }

  /**
   * Sweeps again from `day` on, keeping the intervals before it: for a
   * statement that takes effect before the last effective day, or a
   * retraction. Everything before `day` is folded without sorting; only the
   * statements from `day` on are sorted. Corrections make the fold depend on
   * more than the days before, so a country with any is swept whole.
   */
  reviseFrom(day: string, statements: readonly StatementRecord[]): void {
    if (this.corrections) {
      this.sweepWhole(statements);
      return;
    }
    // The fold at the end of the last effective day before `day`: nothing before it changed.
    let low = 0;
    let high = this.days.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.days[mid] < day) low = mid + 1;
      else high = mid;
    }
    const before = low - 1;
    const fold = before >= 0 ? this.folds[before].clone() : new PositionFold();
    const lastBefore = before >= 0 ? this.days[before] : null;
    this.days.length = before + 1;
    this.folds.length = before + 1;
    // The intervals that start before `day` (they are in order: find the first that does not).
    let first = 0;
    for (let top = this.intervals.length; first < top; ) {
      const mid = (first + top) >> 1;
      if (this.intervals[mid].from < day) first = mid + 1;
      else top = mid;
    }
    const kept = this.intervals.slice(0, first);
    if (kept.length > 0) kept[kept.length - 1].to = null;
    const swept = continueSweep(countedInOrder(statements, KNOWN_NOW, Infinity, day), { intervals: kept, fold, lastDay: lastBefore }, [], KNOWN_NOW, Infinity, this.keepDay);
    this.intervals = swept.intervals;
    this.fold = swept.fold;
    this.lastDay = swept.lastDay;
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

  /**
   * The first day after `day` on which a counted statement takes effect, or null.
   * Not only the days the position changes: on such a day the deciding statement
   * or the confidence behind the same position can change, and today's stored
   * position must follow.
   */
  nextChangeAfter(day: string): string | null {
    let low = 0;
    let high = this.days.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.days[mid] <= day) low = mid + 1;
      else high = mid;
    }
    return this.days[low] ?? null;
  }

  /** The intervals that reach `day` or later: all a change from that day on can touch. */
  tailFrom(day: string): Interval[] {
    let i = this.intervals.length;
    while (i > 0 && (this.intervals[i - 1].to === null || (this.intervals[i - 1].to as string) > day)) i--;
    return this.intervals.slice(i).map((interval) => ({ ...interval }));
  }
}
