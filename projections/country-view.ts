// A country's position as now known, kept up to date event by event: the
// statements that count, in valid-time order; the timeline; and the fold of
// the counted statements at the end of each effective day (the last one is
// today's position once every statement has taken effect). Most statements
// are recorded in the order they take effect, and for those the view is
// extended in constant time. A back-dated statement or a retraction is swept
// again from its day, starting from the fold of the day before, and only until
// the fold is again what it was on that day: from there on nothing changed. A
// correction sweeps the whole country. A property test holds every way equal
// to the timeline derived from scratch.
//
// Given a way to read them back (`older`), the view keeps in memory only the
// statements effective from a recent day on (keepFrom): a revision that reaches
// further back reads the older ones from there, and stops as soon as its fold
// agrees again. Intervals are kept for every day; before that recent day, the
// fold of only every so many effective days (FOLD_SPACING), and another is
// made again from the nearest kept before it when needed.
import { PositionFold, type PositionState, type RuleStatement } from './position.js';
import type { StatementRecord } from './statement-record.js';
import { FIRST_DAY, KNOWN_NOW } from './time.js';
import { closeDay, continueSweep, counts, inValidTimeOrder, intervalAt, type Interval } from './timeline.js';

/** What a change to a country's statements did to its timeline, for the change feed. */
export interface Revision {
  /** The first day that can have changed. */
  from: string;
  /** The intervals that reach `from`, before and after; where the timelines agree again, they may stop. */
  before: Interval[];
  after: Interval[];
}

/** The statements that count as now known effective from `fromDay` and before `beforeDay`, in valid-time order. */
export type OlderStatements<S> = (fromDay: string, beforeDay: string) => Iterable<S>;

/** Before the days whose statements are kept, a fold is kept for one effective day in this many. */
const FOLD_SPACING = 8;

export class CountryView<S extends RuleStatement = StatementRecord> {
  public intervals: Interval[] = [];
  /** The statements that count as now known, in valid-time order: those effective on or after `keptFrom`. */
  private counted: S[] = [];
  /** The first day whose statements are kept in memory (null: all are); older ones are read with `older`. */
  private keptFrom: string | null = null;
  private fold = new PositionFold<S>();
  private lastDay: string | null = null;
  /** Whether any statement corrects another: then a revision must sweep the whole country. */
  private corrections = false;
  /** The fold at the end of each effective day, in day order: where a revision starts from. */
  private days: string[] = [];
  private folds: Array<PositionFold<S> | undefined> = [];

  constructor(private readonly older?: OlderStatements<S>) {}

  static of<S extends RuleStatement>(statements: readonly S[], older?: OlderStatements<S>): CountryView<S> {
    const view = new CountryView<S>(older);
    view.counted = statements.filter((s) => counts(s, KNOWN_NOW)).sort(inValidTimeOrder);
    view.sweepWhole();
    return view;
  }

  /** How many statements that count are kept in memory. */
  get size(): number {
    return this.counted.length;
  }

  /** Keeps in memory only the statements effective on or after `day` (a view without `older` keeps all). */
  keepFrom(day: string): void {
    if (!this.older || (this.keptFrom !== null && day <= this.keptFrom)) return;
    const wasKept = this.keptFrom === null ? 0 : this.firstDayFrom(this.keptFrom);
    this.keptFrom = day;
    this.counted.splice(0, this.insertionPoint({ effectiveAt: day, position: -1 }));
    this.thin(wasKept, this.firstDayFrom(day));
  }

  /** The index of the first effective day on or after `day`. */
  private firstDayFrom(day: string): number {
    return lowerBound(this.days.length, (i) => this.days[i] < day);
  }

  /**
   * Drops the folds of effective days `from` to `to` (exclusive), all before the
   * days whose statements are kept, but one in FOLD_SPACING. A country with
   * corrections keeps them all: its sweeps are whole anyway.
   */
  private thin(from: number, to: number): void {
    if (this.corrections || this.keptFrom === null) return;
    let kept = from - 1;
    while (kept >= 0 && !this.folds[kept]) kept--;
    for (let i = from; i < to && this.days[i] < this.keptFrom; i++) {
      if (!this.folds[i]) continue;
      // The last one before the days kept stays: today's position is read from it when no statement took effect since.
      if (kept >= 0 && i - kept < FOLD_SPACING && i !== to - 1) this.folds[i] = undefined;
      else kept = i;
    }
  }

  /** The fold at the end of effective day `i` (none for -1): kept, or made again from the nearest one kept before it. */
  private foldAt(i: number): PositionFold<S> {
    if (i < 0) return new PositionFold<S>();
    const kept = this.folds[i];
    if (kept) return kept;
    let k = i - 1;
    while (k >= 0 && !this.folds[k]) k--;
    const fold = k >= 0 ? this.folds[k]!.clone() : new PositionFold<S>();
    // No correction here (their countries keep every fold): the fold is the same in any order.
    for (const s of this.countedFrom(this.days[k + 1])) {
      if (s.effectiveAt > this.days[i]) break;
      fold.add(s);
    }
    return fold;
  }

  /** Keeps every statement in memory from now on, reading back those that were not. */
  keepAll(): void {
    if (this.keptFrom === null) return;
    this.counted = [...this.countedFrom(FIRST_DAY)];
    this.keptFrom = null;
  }

  /** Whether statements effective on `day` are kept in memory. */
  private keeps(day: string): boolean {
    return this.keptFrom === null || day >= this.keptFrom;
  }

  /** The counted statements from `day` on, in valid-time order: older ones read back, then those kept. */
  private *countedFrom(day: string): Generator<S> {
    if (!this.keeps(day)) yield* this.older!(day, this.keptFrom!);
    for (let i = this.keeps(day) ? lowerBound(this.counted.length, (k) => this.counted[k].effectiveAt < day) : 0; i < this.counted.length; i++) yield this.counted[i];
  }

  private sweepWhole(): void {
    this.days = [];
    this.folds = [];
    const counted = this.keptFrom === null ? this.counted : [...this.countedFrom(FIRST_DAY)];
    const { intervals, fold, lastDay } = continueSweep(counted, { intervals: [], fold: new PositionFold<S>(), lastDay: null }, [], KNOWN_NOW, Infinity, this.keepDay);
    this.intervals = intervals;
    this.fold = fold;
    this.lastDay = lastDay;
    this.corrections = counted.some((s) => s.supersedes);
    if (this.keptFrom !== null) this.thin(0, this.firstDayFrom(this.keptFrom));
  }

  private readonly keepDay = (day: string, fold: PositionFold<S>) => {
    const last = this.days.length - 1;
    if (last >= 0 && this.days[last] === day) this.folds[last] = fold.clone();
    else {
      this.days.push(day);
      this.folds.push(fold.clone());
    }
  };

  /**
   * Takes in a statement just recorded. Recorded in the order it takes effect
   * (the usual case), it extends the view in place; back-dated, the view is
   * swept again from its day; a correction sweeps the whole country. Returns
   * undefined when the statement does not count, so nothing can change.
   */
  add(s: S): Revision | undefined {
    if (!counts(s, KNOWN_NOW)) return undefined;
    const from = s.effectiveAt;
    // Older than what is kept, it is read back with the others (its row is written first).
    const kept = this.keeps(from);
    if (s.supersedes) {
      if (kept) this.counted.splice(this.insertionPoint(s), 0, s);
      // What it corrects stops counting on every day, before the correction's own too.
      return this.whole(FIRST_DAY);
    }
    if (this.lastDay !== null && from < this.lastDay) {
      if (kept) this.counted.splice(this.insertionPoint(s), 0, s);
      return this.corrections ? this.whole(FIRST_DAY) : this.reviseFrom(from, { added: s });
    }
    const before = this.tailFrom(from);
    if (kept) this.counted.push(s); // the latest in the log, on the last day or after it
    const last = this.intervals[this.intervals.length - 1];
    // The day already ended the sweep: take that day's interval back and close the day again.
    if (last && last.from === from) {
      this.intervals.pop();
      const previous = this.intervals[this.intervals.length - 1];
      if (previous) previous.to = null;
    }
    this.fold.add(s);
    this.keepDay(from, this.fold);
    closeDay(this.intervals, from, this.fold.state(KNOWN_NOW));
    this.lastDay = from;
    return { from, before, after: this.tailFrom(from) };
  }

  /** Takes out a statement that no longer counts (retracted). Undefined when it did not count. */
  remove(s: S): Revision | undefined {
    const i = this.insertionPoint(s);
    if (this.counted[i] !== s) return undefined;
    this.counted.splice(i, 1);
    // Taking out a correction brings back what it corrected, on every day.
    return this.corrections ? this.whole(FIRST_DAY) : this.reviseFrom(s.effectiveAt, { removed: s });
  }

  /**
   * A statement effective on `day`, older than those kept in memory, that counted
   * no longer does (retracted): the view is swept again from its day, reading back
   * the statements that count now.
   */
  removedOlder(s: S): Revision {
    return this.corrections ? this.whole(FIRST_DAY) : this.reviseFrom(s.effectiveAt, { removed: s });
  }

  /** Every copy of the statement recorded at `position` (effective on `day`) that this view holds in memory. */
  copiesOf(day: string, position: number): Set<S> {
    const copies = new Set<S>();
    const kept = this.find(day, position);
    // One that is kept is the only copy: it was never read back.
    if (kept) return copies.add(kept);
    for (let i = lowerBound(this.days.length, (k) => this.days[k] < day); i < this.folds.length; i++) this.folds[i]?.collect(position, copies);
    this.fold.collect(position, copies);
    return copies;
  }

  /** The counted statement that takes effect on `effectiveAt` and was recorded at log position `position`, if any. */
  find(effectiveAt: string, position: number): S | undefined {
    const found = this.counted[this.insertionPoint({ effectiveAt, position })];
    return found && found.effectiveAt === effectiveAt && found.position === position ? found : undefined;
  }

  /** Where a statement is, or would go, in the counted statements. */
  private insertionPoint(s: Pick<RuleStatement, 'effectiveAt' | 'position'>): number {
    let low = 0;
    let high = this.counted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (inValidTimeOrder(this.counted[mid], s) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private whole(from: string): Revision {
    const before = this.tailFrom(from);
    this.sweepWhole();
    return { from, before, after: this.tailFrom(from) };
  }

  /**
   * Sweeps again from `day` on, the statements of that day having changed
   * (one added or removed), keeping the intervals before it and starting from
   * the fold of the day before. Beside it goes the fold as it was (without the
   * statement added, with the one removed): the sweep stops on the first day
   * the two hold the same statements, since the days after it fold the same
   * statements on top of the same fold, and their folds and intervals are kept
   * as they were.
   */
  private reviseFrom(day: string, change: { added?: S; removed?: S }): Revision {
    const { days, folds, intervals } = this;
    // The last effective day before `day`, and the first interval that starts on `day` or later.
    const before = lowerBound(days.length, (i) => days[i] < day) - 1;
    const first = lowerBound(intervals.length, (i) => intervals[i].from < day);
    const base = this.foldAt(before);
    const fold = base.clone();
    const was = base.clone();
    if (change.removed) was.add(change.removed);
    // The added statement as read back, if it is older than those kept, is another copy of it: its log position says which.
    const added = change.added?.position;
    // The interval in force on the day before is the only one kept that the sweep may change (its end).
    const kept = first > 0 ? intervals[first - 1] : undefined;
    const keptAsItWas = kept && { ...kept };
    if (kept) kept.to = null;
    const swept: Interval[] = kept ? [kept] : [];
    const sweptDays: string[] = [];
    const sweptFolds: PositionFold<S>[] = [];
    let oldDay = before; // the last effective day, as it was, on or before the day swept
    let until: string | null = null;
    const statements = this.countedFrom(day);
    for (let next = statements.next(); !next.done; ) {
      const d = next.value.effectiveAt;
      for (; !next.done && next.value.effectiveAt === d; next = statements.next()) {
        fold.add(next.value);
        if (next.value.position !== added) was.add(next.value);
      }
      sweptDays.push(d);
      sweptFolds.push(fold.clone());
      closeDay(swept, d, fold.state(KNOWN_NOW));
      while (oldDay + 1 < days.length && days[oldDay + 1] <= d) oldDay++;
      if (fold.sameAs(was)) {
        until = d;
        statements.return(undefined);
        break;
      }
    }
    // The old intervals from `day` to where the sweep stopped, and the first one after it.
    const next = until === null ? intervals.length : lowerBound(intervals.length, (i) => i < first || intervals[i].from <= (until as string));
    const beforeIntervals = intervals.slice(first, next);
    if (keptAsItWas && reaches(keptAsItWas, day)) beforeIntervals.unshift(keptAsItWas);
    if (swept.length > 0) swept[swept.length - 1].to = next < intervals.length ? intervals[next].from : null;
    intervals.splice(kept ? first - 1 : first, next - (kept ? first - 1 : first), ...swept);

    days.splice(before + 1, (until === null ? days.length - 1 : oldDay) - before, ...sweptDays);
    folds.splice(before + 1, (until === null ? folds.length - 1 : oldDay) - before, ...sweptFolds);
    // Stopped early, the last effective day and the fold at its end are as they were.
    if (until === null) {
      this.fold = fold;
      this.lastDay = days.length > 0 ? days[days.length - 1] : null;
    }
    this.thin(before + 1, before + 1 + sweptDays.length);
    return { from: day, before: beforeIntervals, after: swept.filter((i) => reaches(i, day)).map((i) => ({ ...i })) };
  }

  /** Today's position: the fold at the end of the last effective day up to today. */
  positionOn(today: string): PositionState {
    if (this.lastDay === null || today >= this.lastDay) return this.fold.state(KNOWN_NOW);
    return this.foldAt(lowerBound(this.days.length, (i) => this.days[i] <= today) - 1).state(KNOWN_NOW);
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
    return this.days[lowerBound(this.days.length, (i) => this.days[i] <= day)] ?? null;
  }

  /** The intervals that reach `day` or later: all a change from that day on can touch. */
  tailFrom(day: string): Interval[] {
    let i = this.intervals.length;
    while (i > 0 && reaches(this.intervals[i - 1], day)) i--;
    return this.intervals.slice(i).map((interval) => ({ ...interval }));
  }
}

const reaches = (interval: Interval, day: string) => interval.to === null || interval.to > day;

/** The first index in [0, length) for which `below` is false (`below` is true for a prefix). */
function lowerBound(length: number, below: (i: number) => boolean): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (below(mid)) low = mid + 1;
    else high = mid;
  }
  return low;
}
