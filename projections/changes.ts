// The changes a recorded event causes, derived purely from the country's state
// before and after it. Ids come from the log position and the change type, so
// a replay of the same log yields the same changes with the same ids.
import { createHash } from 'node:crypto';
import type { DomainEvent } from '../events/registry.js';
import { derivePosition, positionKey, stateOf, type PositionState } from './position.js';
import type { CountryRecord, StatementRecord } from './statement-record.js';
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

export function changeId(...parts: Array<string | number>): string {
  return `chg_${createHash('sha256').update(parts.join('|')).digest('base64url').slice(0, 24)}`;
}

export function positionToday(record: CountryRecord, today: string): PositionState {
  return stateOf(derivePosition(record.statements, { at: today, knownAt: KNOWN_NOW }));
}

export function timelineOf(record: CountryRecord): Interval[] {
  return deriveTimeline(record.statements, { knownAt: KNOWN_NOW });
}

/** What is already known about the country before the event, to save deriving it again. */
export interface Derived {
  timeline: Interval[];
  current: PositionState;
}

/** The changes one event of a country's stream causes, `today` being the day it was recorded. */
export function changesOf(before: CountryRecord, after: CountryRecord, event: DomainEvent, today: string, known?: Derived): Change[] {
  const country = after.country;
  const make = (type: ChangeType, data: Record<string, unknown>): Change => ({
    id: changeId(event.position, type, country),
    type,
    country,
    position: event.position,
    recordedAt: event.recordedAt,
    data: { country, ...data },
  });
  const changes: Change[] = [];

  if (event.type === 'StatementRecorded') {
    const statement = after.statements.find((s) => s.statementId === event.data.statementId);
    if (statement?.position === event.position) changes.push(make('statement.recorded', { statement: summarise(statement) }));
  } else if (event.type === 'StatementRetracted') {
    const statement = after.statements.find((s) => s.statementId === event.data.statementId);
    if (statement?.retraction?.position === event.position) {
      changes.push(make('statement.retracted', { statementId: statement.statementId, reason: event.data.reason, reportedAt: event.data.reportedAt }));
    }
  }

  // A corroborating source changes no interval and no position: the confidence is not part of either.
  if (event.type === 'SourceAttached') return changes;
  const revision = revisedRange(known?.timeline ?? timelineOf(before), timelineOf(after));
  if (revision && revision.from < today) {
    changes.push(make('history.revised', { statementId: event.data.statementId, ...revision }));
  }
  const previous = known?.current ?? positionToday(before, today);
  const current = positionToday(after, today);
  if (positionKey(previous) !== positionKey(current)) {
    changes.push(make('position.changed', { at: today, statementId: event.data.statementId, previous, current }));
  }
  return changes;
}

/**
 * A statement effective in the future changes today's position when that day comes.
 * These are the changes for the days after `fromDay` up to and including `toDay`.
 */
export function changesOfDays(record: CountryRecord, fromDay: string, toDay: string, lastPosition: number): Change[] {
  const changes: Change[] = [];
  const days = [...new Set(record.statements.map((s) => s.effectiveAt))].filter((d) => d > fromDay && d <= toDay).sort();
  for (const day of days) {
    const previous = positionToday(record, addDays(day, -1));
    const current = positionToday(record, day);
    if (positionKey(previous) === positionKey(current)) continue;
    changes.push({
      id: changeId('day', day, 'position.changed', record.country, lastPosition),
      type: 'position.changed',
      country: record.country,
      position: lastPosition,
      recordedAt: `${day}T00:00:00.000Z`,
      data: { country: record.country, at: day, statementId: current.decidingStatementId, previous, current },
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

/** The valid-time range over which two timelines disagree, with the intervals on each side that overlap it. */
export function revisedRange(before: Interval[], after: Interval[]): RevisedRange | undefined {
  const bounds = [...new Set([...before, ...after].flatMap((i) => (i.to ? [i.from, i.to] : [i.from])))].sort();
  let from: string | undefined;
  let to: string | null = null;
  for (let i = 0; i < bounds.length; i++) {
    if (intervalKey(intervalAt(before, bounds[i])) === intervalKey(intervalAt(after, bounds[i]))) continue;
    from ??= bounds[i];
    to = bounds[i + 1] ?? null;
  }
  if (from === undefined) return undefined;
  const overlaps = (i: Interval) => (to === null || i.from < to) && (i.to === null || i.to > (from as string));
  return { from, to, before: before.filter(overlaps), after: after.filter(overlaps) };
}

function intervalKey(i: Interval | undefined): string {
  return i ? positionKey(i) : 'none';
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
    sources: s.sources.map(({ position: _position, ...source }) => source),
  };
}
