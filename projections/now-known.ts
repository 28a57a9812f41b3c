// The part of a statement that the read model keeps in memory to follow a
// country's position as now known: what the rules read, and of the sources
// only how many there are. A full record is ten times the size (speaker,
// sources with their quotes, notes), and only answers need one: those read it
// from SQLite. Strings that repeat (days, scopes) are shared.
import type { Attribution, Scope, Stance } from '../events/vocabulary.js';
import { knownSources, type RuleStatement } from './position.js';
import { INSTANT, type StatementRecord } from './statement-record.js';
import { KNOWN_NOW } from './time.js';

const SPEAKERS: Record<Attribution, { readonly attribution: Attribution }> = {
  official: Object.freeze({ attribution: 'official' }),
  'anonymous-official': Object.freeze({ attribution: 'anonymous-official' }),
  'media-report': Object.freeze({ attribution: 'media-report' }),
  'non-government': Object.freeze({ attribution: 'non-government' }),
};

const STANCES: Record<Stance, Stance> = { permits: 'permits', prohibits: 'prohibits', reviewing: 'reviewing', endorses: 'endorses' };

/** Shared copies of days and of scopes, by their text. Bounded: past the limit, values are kept unshared. */
const SHARED_LIMIT = 100_000;
const days = new Map<string, string>();
const scopes = new Map<string, Scope>();

function sharedDay(day: string): string {
  const shared = days.get(day);
  if (shared !== undefined) return shared;
  if (day.length === 10 && days.size < SHARED_LIMIT) days.set(day, day);
  return day;
}

function sharedScope(scope: Scope): Scope {
  const key = JSON.stringify(scope);
  const shared = scopes.get(key);
  if (shared !== undefined) return shared;
  if (scopes.size < SHARED_LIMIT) scopes.set(key, scope);
  return scope;
}

/**
 * A statement as the projections need it to follow the position as now known,
 * kept only while it counts then (recorded, not retracted, not non-government).
 * Its `sources` is a count, so it answers only that question (knownAt and log
 * position unbounded); derivations at other times use full records.
 */
export class NowKnownStatement implements RuleStatement {
  readonly statementId: string;
  readonly stance: Stance;
  readonly scope: Scope;
  readonly speaker: { readonly attribution: Attribution };
  readonly effectiveAt: string;
  readonly position: number;
  readonly supersedes: string | undefined;
  sources: number;
  /** As now known every statement in the log has been reported: the same for all (on the prototype, below). */
  declare readonly reportedAt: string;
  declare readonly [INSTANT]: number;
  /** One that is retracted no longer counts, and is not kept. */
  declare readonly retraction: undefined;

  constructor(record: StatementRecord) {
    this.statementId = record.statementId;
    this.stance = STANCES[record.stance];
    this.scope = sharedScope(record.scope);
    this.speaker = SPEAKERS[record.speaker.attribution];
    this.effectiveAt = sharedDay(record.effectiveAt);
    this.position = record.position;
    this.supersedes = record.supersedes;
    this.sources = knownSources(record, KNOWN_NOW, Infinity);
  }

  /** Takes in a source attached to the full record. */
  follow(record: StatementRecord): void {
    this.sources = knownSources(record, KNOWN_NOW, Infinity);
  }
}

Object.defineProperties(NowKnownStatement.prototype, {
  reportedAt: { value: 'reported' },
  [INSTANT]: { value: Number.NEGATIVE_INFINITY },
});
