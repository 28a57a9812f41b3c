// The part of a statement that the read model keeps in memory to follow a
// country's position as now known: what the rules read, and of the sources
// only how many there are. A full record is ten times the size (speaker,
// sources with their quotes, notes), and only answers need one: those read it
// from SQLite. Strings that repeat (days, scopes) are shared.
import type { Attribution, Scope, Stance } from '../events/vocabulary.js';
import { knownSources, type RuleStatement } from './position.js';
import { INSTANT, type StatementRecord } from './statement-record.js';
import { KNOWN_NOW } from './time.js';

const STANCES: readonly Stance[] = ['permits', 'prohibits', 'reviewing', 'endorses'];
const ATTRIBUTIONS: readonly Attribution[] = ['official', 'anonymous-official', 'media-report', 'non-government'];
const SPEAKERS = ATTRIBUTIONS.map((attribution) => Object.freeze({ attribution }));

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
 * kept while it counts then (recorded, not retracted, not non-government) and
 * is recent, or a fold holds it. Its `sources` is a count, so it answers only
 * that question (knownAt and log position unbounded); derivations at other
 * times use full records. Stance, attribution and that count share one number;
 * only a correction has a field for what it corrects (CorrectingStatement).
 */
export class NowKnownStatement implements RuleStatement {
  readonly statementId: string;
  readonly scope: Scope;
  readonly effectiveAt: string;
  readonly position: number;
  /** The stance (2 bits), the attribution (2 bits), and how many sources there are (the rest). */
  private bits: number;
  /** As now known every statement in the log has been reported: the same for all (on the prototype, below). */
  declare readonly reportedAt: string;
  declare readonly [INSTANT]: number;
  /** One that is retracted no longer counts, and is not kept. */
  declare readonly retraction: undefined;
  /** Undefined but in a CorrectingStatement (on the prototype). */
  declare readonly supersedes: string | undefined;

  constructor(record: StatementRecord) {
    this.statementId = record.statementId;
    this.scope = sharedScope(record.scope);
    this.effectiveAt = sharedDay(record.effectiveAt);
    this.position = record.position;
    this.bits = STANCES.indexOf(record.stance) | (ATTRIBUTIONS.indexOf(record.speaker.attribution) << 2) | (knownSources(record, KNOWN_NOW, Infinity) << 4);
  }

  get stance(): Stance {
    return STANCES[this.bits & 3];
  }

  get speaker(): { readonly attribution: Attribution } {
    return SPEAKERS[(this.bits >> 2) & 3];
  }

  get sources(): number {
    return this.bits >>> 4;
  }

  /** Takes in a source attached to the full record. */
  follow(record: StatementRecord): void {
    this.bits = (this.bits & 15) | (knownSources(record, KNOWN_NOW, Infinity) << 4);
  }
}

Object.defineProperties(NowKnownStatement.prototype, {
  reportedAt: { value: 'reported' },
  [INSTANT]: { value: Number.NEGATIVE_INFINITY },
  supersedes: { value: undefined, writable: true },
});

/** A statement that corrects another. */
class CorrectingStatement extends NowKnownStatement {
  override readonly supersedes: string;

  constructor(record: StatementRecord & { supersedes: string }) {
    super(record);
    this.supersedes = record.supersedes;
  }
}

/** The compact form of a statement's full record. */
export function nowKnown(record: StatementRecord): NowKnownStatement {
  return record.supersedes ? new CorrectingStatement(record as StatementRecord & { supersedes: string }) : new NowKnownStatement(record);
}
