// The changes a recorded event causes, derived purely from what the country's
// position was before it and is after it. Ids come from the log position and
// the change type, so a replay of the same log yields the same changes with
// the same ids.
import { hash } from 'node:crypto';
import type { DomainEvent } from '../events/registry.js';
import { derivePosition, samePosition, stateOf, type PositionState } from './position.js';
import { statementOf, type CountryRecord, type StatementRecord } from './statement-record.js';
import { deriveTimeline, intervalAt, type Interval } from './timeline.js';
import { addDays, KNOWN_NOW } from './time.js';

export type ChangeType = 'position.changed' | 'history.revised' | 'statement.recorded' | 'statement.retracted';

export interface Change {
  id: string;
  type: ChangeType;
  country: string;
  /** The log position of the event that caused it (for a change of day, the last event before it). */
  position: number;
  recordedAt: string;
  data: Record<string, unknown>;
}

/** A country's position as now known, before or after an event. */
export interface Derived {
  /** The timeline, or (with `from`) the intervals that reach that day or later. */
  timeline: Interval[];
  /** Today's position. */
  current: PositionState;
}

export function changeId(...parts: Array<string | number>): string {
  return `chg_${hash('sha256', parts.join('|'), 'base64url').slice(0, 24)}`;
}

export function positionToday(record: CountryRecord, today: string): PositionState {
  return stateOf(derivePosition(record.statements, { at: today, knownAt: KNOWN_NOW }));
}

export function timelineOf(record: CountryRecord): Interval[] {
  return deriveTimeline(record.statements, { knownAt: KNOWN_NOW });
}

/**
 * The changes one event of a country's stream causes, `today` being the day it
 * was recorded. `from`, when given, is the earliest day the event can have
 * changed, and the timelines are the intervals from that day on.
 */
export function changesOf(event: DomainEvent, record: CountryRecord, today: string, before: Derived, after: Derived, from?: string): Change[] {
  const statement = statementOf(record, event.data.statementId);
  const took =
    event.type === 'StatementRecorded' && statement?.position === event.position
      ? { recorded: statement }
      : event.type === 'StatementRetracted' && statement?.retraction?.position === event.position
        ? { retracted: true }
        : {};
  return changesOfEvent(event, record.country, took, today, before, after, from);
}

/**
 * The same, for a caller that knows what the event did to its statement:
 * recorded it (the record as recorded) or retracted it. An event that did
 * neither (a second recording of an id, a second retraction, a statement not
 * on record) gives no statement change.
 */
export function changesOfEvent(
  event: DomainEvent,
  country: string,
  took: { recorded?: StatementRecord; retracted?: boolean },
  today: string,
  before: Derived,
  after: Derived,
  from?: string,
): Change[] {
  const make = (type: ChangeType, data: Record<string, unknown>): Change => ({
    id: changeId(event.position, type, country),
    type,
    country,
    position: event.position,
    recordedAt: event.recordedAt,
    data: { country, ...data },
  });
  const changes: Change[] = [];
  if (event.type === 'StatementRecorded' && took.recorded) {
    changes.push(make('statement.recorded', { statement: summarise(took.recorded) }));
  } else if (event.type === 'StatementRetracted' && took.retracted) {
    changes.push(make('statement.retracted', { statementId: event.data.statementId, reason: event.data.reason, reportedAt: event.data.reportedAt }));
  }
  // A corroborating source changes no interval and no position: the confidence is not part of either.
  if (event.type === 'SourceAttached') return changes;

  const revision = revisedRange(before.timeline, after.timeline, from);
  if (revision && revision.from < today) {
    changes.push(make('history.revised', { statementId: event.data.statementId, ...revision }));
  }
  if (!samePosition(before.current, after.current)) {
    changes.push(make('position.changed', { at: today, statementId: event.data.statementId, previous: before.current, current: after.current }));
  }
  return changes;
}

/**
 * A statement effective in the future changes today's position when that day
 * comes. These are the changes for the days after `fromDay` up to and
 * including `toDay`: the days on which an interval of the timeline starts.
 */
export function changesOfDays(record: CountryRecord, timeline: readonly Interval[], fromDay: string, toDay: string, lastPosition: number): Change[] {
  return dayChanges(record.country, timeline, fromDay, toDay, lastPosition, (day) => positionToday(record, day));
}

/** The same, with today's position on a day given by the caller (`positionOn`). */
export function dayChanges(
  country: string,
  timeline: readonly Interval[],
  fromDay: string,
  toDay: string,
  lastPosition: number,
  positionOn: (day: string) => PositionState,
): Change[] {
  const changes: Change[] = [];
  // The first interval starting after fromDay, by binary search: most days start none.
  let low = 0;
  let high = timeline.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (timeline[mid].from <= fromDay) low = mid + 1;
    else high = mid;
  }
  for (let i = low; i < timeline.length && timeline[i].from <= toDay; i++) {
    const day = timeline[i].from;
    const previous = positionOn(addDays(day, -1));
    const current = positionOn(day);
    changes.push({
      id: changeId('day', day, 'position.changed', country, lastPosition),
      type: 'position.changed',
      country,
      position: lastPosition,
      recordedAt: `${day}T00:00:00.000Z`,
      data: { country, at: day, statementId: current.decidingStatementId, previous, current },
    });
  }
  return changes;
}

export interface RevisedRange {
  from: string;
  to: string | null;
  before: Interval[];
  after: Interval[];
}

/**
 * The valid-time range over which two timelines disagree, with the intervals on
 * each side that overlap it. With `from`, only days from then on are compared.
 */
export function revisedRange(before: Interval[], after: Interval[], from?: string): RevisedRange | undefined {
  const days = new Set<string>(from ? [from] : []);
  for (const i of [...before, ...after]) {
    if (!from || i.from >= from) days.add(i.from);
    if (i.to && (!from || i.to >= from)) days.add(i.to);
  }
  const bounds = [...days].sort();
  let start: string | undefined;
  let end: string | null = null;
  for (let i = 0; i < bounds.length; i++) {
    if (sameInterval(intervalAt(before, bounds[i]), intervalAt(after, bounds[i]))) continue;
    start ??= bounds[i];
    end = bounds[i + 1] ?? null;
  }
  if (start === undefined) return undefined;
  const overlaps = (i: Interval) => (end === null || i.from < end) && (i.to === null || i.to > (start as string));
  return { from: start, to: end, before: before.filter(overlaps), after: after.filter(overlaps) };
}

function sameInterval(a: Interval | undefined, b: Interval | undefined): boolean {
  return a && b ? samePosition(a, b) : a === b;
}

export function summarise(s: StatementRecord) {
  return {
    statementId: s.statementId,
    country: s.country,
    stance: s.stance,
    scope: s.scope,
    speaker: s.speaker,
    effectiveAt: s.effectiveAt,
    datePrecision: s.datePrecision,
    reportedAt: s.reportedAt,
    // Every field but the log position, built field by field (an object rest is many times slower).
    sources: s.sources.map((source) => ({ publisher: source.publisher, title: source.title, url: source.url, publishedAt: source.publishedAt, quote: source.quote })),
  };
}
