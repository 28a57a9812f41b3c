// The part of a statement that the read model keeps in memory to follow a
// country's position as now known: what the rules read, and of the sources
// only how many there are. A full record is ten times the size (speaker,
// sources with their quotes, notes), and only answers need one: those read it
// from SQLite. Strings that repeat (days, scopes) are shared.
import type { Attribution, Scope, Stance } from '../events/vocabulary.js';
import { knownSources, type RuleStatement } from './position.js';
import { INSTANT, type RetractionRecord, type StatementRecord } from './statement-record.js';
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
 * A statement as the projections need it to follow the position as now known.
 * Its `sources` is a count, so it answers only that question (knownAt and log
 * position unbounded); derivations at other times use full records.
 */
export class NowKnownStatement implements RuleStatement {
  readonly statementId: string;
  readonly stance: Stance;
  readonly scope: Scope;
  readonly speaker: { readonly attribution: Attribution };
  readonly effectiveAt: string;
  readonly reportedAt: string;
  readonly position: number;
  readonly supersedes: string | undefined;
  retraction: RetractionRecord | undefined;
  sources: number;
  readonly [INSTANT]: number;

  constructor(record: StatementRecord) {
    this.statementId = record.statementId;
    this.stance = STANCES[record.stance];
    this.scope = sharedScope(record.scope);
    this.speaker = SPEAKERS[record.speaker.attribution];
    this.effectiveAt = sharedDay(record.effectiveAt);
    this.reportedAt = sharedDay(record.reportedAt);
    this.position = record.position;
    this.supersedes = record.supersedes;
    this.retraction = record.retraction;
    this.sources = knownSources(record, KNOWN_NOW, Infinity);
    this[INSTANT] = (record as unknown as { [INSTANT]: number })[INSTANT];
  }

  /** Takes in what an event changed in the full record: its sources or its retraction. */
  follow(record: StatementRecord): void {
    this.retraction = record.retraction;
    this.sources = knownSources(record, KNOWN_NOW, Infinity);
  }
}
