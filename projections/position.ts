// Deriving a country's position at valid time `at` as known at `knownAt`,
// exactly as DOMAIN.md "Deriving a position" says. Pure: statements in,
// position out, no clock and no I/O.
import type { Attribution, Scope, Stance } from '../events/vocabulary.js';
import { INSTANT, statementRecord, type SourceRecord, type StatementRecord } from './statement-record.js';
import { instantOf, LAST_DAY } from './time.js';

/**
 * What the rules read of a statement. A full StatementRecord is one; the read
 * model keeps only this much of each statement in memory (nowKnown), and reads
 * full records from SQLite for answers.
 */
export interface RuleStatement {
  statementId: string;
  stance: Stance;
  scope: Scope;
  speaker: { attribution: Attribution };
  effectiveAt: string;
  reportedAt: string;
  position: number;
  supersedes?: string;
  retraction?: { position: number; reportedAt: string };
  /**
   * Its sources with when and at which log position each came; or, in a record
   * that is only ever asked about the position as now known (everything in the
   * log counts, knownAt Infinity), how many of them count then.
   */
  sources: ReadonlyArray<{ position: number; publishedAt: string }> | number;
}

export type Status = 'unknown' | 'prohibited' | 'restricted' | 'unrestricted';

/** Why a statement did not decide. Their order gives each its one-byte code (index + 1). */
export const EXCLUSION_REASONS = [
  'older',
  'weaker-attribution',
  'recorded-earlier',
  'retracted',
  'superseded',
  'not-yet-reported',
  'not-yet-effective',
  'non-government',
  'not-status-bearing',
  'weapon-specific',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface PositionQuery {
  /** Valid time, a day. */
  at: string;
  /** Knowledge time, epoch ms; Infinity for everything known. */
  knownAt: number;
  /** Only what the log held up to this position counts (point in the log); Infinity for all. */
  position?: number;
}

export interface WeaponStatus {
  system: string;
  status: Exclude<Status, 'unknown'>;
  statementId: string;
}

export interface Confidence {
  attribution: Attribution;
  sources: number;
}

export interface PositionState {
  status: Status;
  /** The deciding statement's scope; null when nothing decides. */
  scope: Scope | null;
  weapons: WeaponStatus[];
  underReview: boolean;
  endorsesLifting: boolean;
  confidence: Confidence | null;
  decidingStatementId: string | null;
}

/**
 * Writes positions as JSON: the text JSON.stringify gives for a state made by
 * PositionFold.state (the same fields in the same order), about ten times
 * faster. One per country: it keeps the text of the scope and the weapons list
 * of the last position it wrote, which the next mostly shares (the same
 * objects: a fold never changes them in place), so only what changed is
 * serialised. The read model stores a country's position each time it changes.
 */
export class PositionWriter {
  private scope: Scope | null = null;
  private scopeText = 'null';
  private weapons: readonly WeaponStatus[] | null = null;
  private weaponsText = '[]';

  text(state: PositionState): string {
    if (state.scope !== this.scope) {
      this.scope = state.scope;
      this.scopeText = JSON.stringify(state.scope);
    }
    if (state.weapons !== this.weapons) {
      this.weapons = state.weapons;
      this.weaponsText = JSON.stringify(state.weapons);
    }
    const { confidence } = state;
    return (
      `{"status":${JSON.stringify(state.status)},"scope":${this.scopeText},"weapons":${this.weaponsText},` +
      `"underReview":${state.underReview},"endorsesLifting":${state.endorsesLifting},` +
      `"confidence":${confidence === null ? 'null' : `{"attribution":${JSON.stringify(confidence.attribution)},"sources":${confidence.sources}}`},` +
      `"decidingStatementId":${JSON.stringify(state.decidingStatementId)}}`
    );
  }
}

export interface NotDeciding {
  statementId: string;
  reason: ExclusionReason;
}

export interface Derivation<S extends RuleStatement = StatementRecord> extends PositionState {
  deciding: S | null;
  /** The reviewing statement that makes `underReview` true; null when it is false. */
  underReviewBy: S | null;
  /** The endorsing statement that makes `endorsesLifting` true; null when it is false. */
  endorsesLiftingBy: S | null;
  /** Every statement that did not decide the headline, with why. */
  notDeciding: NotDeciding[];
}

const ATTRIBUTION_RANK: Record<Attribution, number> = {
  official: 3,
  'anonymous-official': 2,
  'media-report': 1,
  'non-government': 0,
};

const isStatusBearing = (s: RuleStatement) => s.stance === 'permits' || s.stance === 'prohibits';
const namesWeapons = (s: RuleStatement) => (s.scope.weapons?.length ?? 0) > 0;

/** Latest effectiveAt, then stronger attribution, then later log position: > 0 when `a` decides over `b`. */
export function compareDeciding(a: RuleStatement, b: RuleStatement): number {
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt < b.effectiveAt ? -1 : 1;
  const rank = ATTRIBUTION_RANK[a.speaker.attribution] - ATTRIBUTION_RANK[b.speaker.attribution];
  if (rank !== 0) return rank;
  return a.position - b.position;
}

/** Newer in valid time; on the same day, the later recording. */
function isNewer(a: RuleStatement, than: RuleStatement | null): boolean {
  if (!than) return true;
  if (a.effectiveAt !== than.effectiveAt) return a.effectiveAt > than.effectiveAt;
  return a.position > than.position;
}

const none = (list: readonly string[] | undefined) => !list || list.length === 0;

/** A limit other than which weapons: what decides a named weapon's status. */
function limitsBeyondWeapons(scope: Scope): boolean {
  return !(none(scope.regions) && none(scope.targets) && none(scope.excludedTargets) && none(scope.purposes) && none(scope.conditions));
}

export function isEmptyScope(scope: Scope): boolean {
  return !limitsBeyondWeapons(scope) && none(scope.weapons) && none(scope.excludedWeapons);
}

function permitStatus(scope: Scope, weaponsAside = false): 'restricted' | 'unrestricted' {
  return (weaponsAside ? limitsBeyondWeapons(scope) : !isEmptyScope(scope)) ? 'restricted' : 'unrestricted';
}

/** Why a statement does not count at all for this query, or undefined when it counts. */
export function exclusionOf(s: RuleStatement, query: PositionQuery): ExclusionReason | undefined {
  const code = exclusionCode(s, query.at, query.knownAt, query.position ?? Number.POSITIVE_INFINITY);
  return code === COUNTED ? undefined : REASONS[code - 1];
}

function exclusionCode(s: RuleStatement, at: string, knownAt: number, inLog: number): number {
  // Not yet public first: a retraction known only by its day counts from the start of that day,
  // and may be the day the statement was reported, hours later; until then nothing was on record to retract.
  if (!reportedBy(s, knownAt, inLog)) return NOT_YET_REPORTED;
  // A known retraction next: that the record was wrong matters more than when it would have taken effect.
  const retraction = s.retraction;
  if (retraction && retraction.position <= inLog && reportedInstant(retraction) <= knownAt) return RETRACTED;
  // Not yet public before not yet in effect: as known then, nobody could have said when it would take effect.
  if (s.effectiveAt > at) return NOT_YET_EFFECTIVE;
  if (s.speaker.attribution === 'non-government') return NON_GOVERNMENT;
  return COUNTED;
}

/**
 * Whether a statement had become public by `knownAt`: by its reportedAt, or by any of its
 * sources in the log at `inLog` published by then. reportedAt is when it first became
 * public, its earliest source (DOMAIN.md): a source published before the recorded
 * reportedAt, whether it came with the statement or was found later, shows it was public
 * sooner. The sources are read only for a statement reported after `knownAt`, which few are.
 */
function reportedBy(s: RuleStatement, knownAt: number, inLog: number): boolean {
  if (reportedInstant(s) <= knownAt) return true;
  const sources = s.sources;
  if (typeof sources === 'number') return false; // a compact record is only asked about knownAt now, by which it was reported
  for (let i = 0; i < sources.length; i++) if (sourceKnown(sources[i], knownAt, inLog)) return true;
  return false;
}

// Reasons as small numbers (index + 1): the rules compare codes, and only a list names them.
const REASONS = EXCLUSION_REASONS;
const COUNTED = 0;
const RETRACTED = 4;
const NOT_YET_REPORTED = 6;
const NOT_YET_EFFECTIVE = 7;
const NON_GOVERNMENT = 8;

/**
 * Folds counted statements into a position, in any order: the deciding
 * statement, each named weapon's deciding statement, and the newest reviewing
 * and endorsing statements. Shared by a single derivation and the timeline's
 * sweep over valid time.
 */
/** A named weapon's status in a fold: the statement that decides it, by the system's name in capitals. */
interface WeaponEntry<S> {
  key: string;
  status: WeaponStatus;
  by: S;
}

// A weapon system's key, remembered per name as written: a derivation folds thousands
// of statements naming the same few systems, and a new string for each is garbage.
const weaponKeys = new Map<string, string>();

function weaponKey(system: string): string {
  let key = weaponKeys.get(system);
  if (key === undefined) {
    if (weaponKeys.size >= 10_000) weaponKeys.clear(); // names are few: a flood of new ones must not grow it for ever
    key = system.trim().toUpperCase();
    weaponKeys.set(system, key);
  }
  return key;
}

export class PositionFold<S extends RuleStatement = StatementRecord> {
  deciding: S | null = null;
  /**
   * In the order the systems were first named. Shared with a clone (a view keeps a
   * fold per day) and then never changed in place: a change makes a new array,
   * which this fold owns and may change in place until it is cloned again.
   */
  private weapons: ReadonlyArray<WeaponEntry<S>> = [];
  private ownsWeapons = false;
  /** The statuses in the order a position lists them, made once per weapons array. */
  private listed: WeaponStatus[] | undefined;
  private newestReviewing: S | null = null;
  private newestEndorses: S | null = null;

  /** A fold that goes on from this one without changing it. */
  clone(): PositionFold<S> {
    this.ownsWeapons = false;
    const copy = new PositionFold<S>();
    copy.deciding = this.deciding;
    copy.weapons = this.weapons;
    copy.listed = this.listed;
    copy.newestReviewing = this.newestReviewing;
    copy.newestEndorses = this.newestEndorses;
    return copy;
  }

  /**
   * Whether this fold and `other` hold the same statements in every place, so
   * that folding the same statements into each gives the same positions.
   */
  sameAs(other: PositionFold<S>): boolean {
    // By log position, which names a statement whichever copy of it a fold holds.
    if (this.deciding?.position !== other.deciding?.position) return false;
    if (this.newestReviewing?.position !== other.newestReviewing?.position || this.newestEndorses?.position !== other.newestEndorses?.position) return false;
    if (this.weapons === other.weapons) return true;
    if (this.weapons.length !== other.weapons.length) return false;
    for (let i = 0; i < this.weapons.length; i++) {
      const mine = this.weapons[i];
      const their = other.weapons[i];
      if (mine.key !== their.key || mine.by.position !== their.by.position || mine.status.status !== their.status.status || mine.status.system !== their.status.system) return false;
    }
    return true;
  }

  /** Adds to `into` every copy of the statement recorded at log position `position` that this fold holds. */
  collect(position: number, into: Set<S>): void {
    if (this.deciding?.position === position) into.add(this.deciding);
    if (this.newestReviewing?.position === position) into.add(this.newestReviewing);
    if (this.newestEndorses?.position === position) into.add(this.newestEndorses);
    for (const w of this.weapons) if (w.by.position === position) into.add(w.by);
  }

  add(s: S): void {
    if (s.stance === 'reviewing') {
      if (isNewer(s, this.newestReviewing)) this.newestReviewing = s;
      return;
    }
    if (s.stance === 'endorses') {
      if (isNewer(s, this.newestEndorses)) this.newestEndorses = s;
      return;
    }
    const { weapons, excludedWeapons } = s.scope;
    if (none(weapons)) {
      if (!this.deciding || compareDeciding(s, this.deciding) > 0) this.deciding = s;
    } else {
      const status = s.stance === 'prohibits' ? 'prohibited' : permitStatus(s.scope, true);
      for (const system of weapons!) this.setWeapon(system, status, s);
    }
    if (s.stance === 'permits' && !none(excludedWeapons)) for (const system of excludedWeapons!) this.setWeapon(system, 'prohibited', s);
  }

  private setWeapon(system: string, status: WeaponStatus['status'], by: S): void {
    const key = weaponKey(system);
    const at = this.weapons.findIndex((w) => w.key === key);
    if (at < 0 || compareDeciding(by, this.weapons[at].by) > 0) {
      // Named as the statement that decides it names it, whatever order statements arrive in.
      const entry = { key, status: { system, status, statementId: by.statementId }, by };
      const weapons = this.ownsWeapons ? (this.weapons as Array<WeaponEntry<S>>) : this.weapons.slice();
      if (at < 0) weapons.push(entry);
      else weapons[at] = entry;
      this.weapons = weapons;
      this.ownsWeapons = true;
      this.listed = undefined;
    }
  }

  /**
   * The statements that raise the flags: the newest reviewing and endorsing statements, each
   * only while it is newer than the deciding one, so that a flag and its statement never disagree.
   */
  flaggedBy(): { underReviewBy: S | null; endorsesLiftingBy: S | null } {
    return {
      underReviewBy: this.raisesFlag(this.newestReviewing) ? this.newestReviewing : null,
      endorsesLiftingBy: this.raisesFlag(this.newestEndorses) ? this.newestEndorses : null,
    };
  }

  /** The one rule for both flags (DOMAIN.md): a reviewing or endorsing statement newer than the deciding one. */
  private raisesFlag(s: S | null): boolean {
    return s !== null && isNewer(s, this.deciding);
  }

  state(knownAt: number, inLog = Number.POSITIVE_INFINITY): PositionState {
    const deciding = this.deciding;
    return {
      status: !deciding ? 'unknown' : deciding.stance === 'prohibits' ? 'prohibited' : permitStatus(deciding.scope),
      scope: deciding ? deciding.scope : null,
      // Shared by the states of a fold and its clones while the weapons stay as they are: never changed in place.
      weapons: (this.listed ??= this.weapons.map((w) => w.status).sort((a, b) => a.system.localeCompare(b.system))),
      underReview: this.raisesFlag(this.newestReviewing),
      endorsesLifting: this.raisesFlag(this.newestEndorses),
      confidence: deciding
        ? {
            attribution: deciding.speaker.attribution,
            // Sources published by knownAt; at least one, since the statement itself was known by then.
            sources: Math.max(1, knownSources(deciding, knownAt, inLog)),
          }
        : null,
      decidingStatementId: deciding?.statementId ?? null,
    };
  }
}

/**
 * A statement's record as an answer as known at `knownAt`, at log position `inLog`, shows it:
 * only the sources in the log by then and published by then, and its retraction only if that
 * was in the log and reported by then. A statement that counts was reported, so at least the
 * first source it was recorded with is kept: the sources shown are as many as the deciding
 * statement's `confidence.sources`. The record itself when nothing is hidden (no copy).
 */
export function recordAsKnown(s: StatementRecord, knownAt: number, inLog = Number.POSITIVE_INFINITY): StatementRecord {
  const known = (source: SourceRecord) => sourceKnown(source, knownAt, inLog);
  const r = s.retraction;
  const retraction = r && r.position <= inLog && reportedInstant(r) <= knownAt ? r : undefined;
  if (retraction === r && s.sources.every(known)) return s;
  const sources = s.sources.filter(known);
  return statementRecord({ ...s, sources: sources.length > 0 ? sources : s.sources.slice(0, 1), retraction });
}

/** Whether a statement was in the log at `inLog` and reported by `knownAt`: an answer as known then lists it. */
export function isKnown(s: StatementRecord, knownAt: number, inLog = Number.POSITIVE_INFINITY): boolean {
  return s.position <= inLog && reportedBy(s, knownAt, inLog);
}

/** How many of a statement's sources were in the log at `inLog` and published by `knownAt`. */
export function knownSources(s: RuleStatement, knownAt: number, inLog: number): number {
  const sources = s.sources;
  if (typeof sources === 'number') return sources; // counted as now known: the only question such a record is asked
  let known = 0;
  for (const src of sources) if (sourceKnown(src, knownAt, inLog)) known += 1;
  return known;
}

/** Whether a source was in the log at `inLog` and published by `knownAt`: the one test of every answer as known then. */
function sourceKnown(source: { position: number; publishedAt: string }, knownAt: number, inLog: number): boolean {
  return source.position <= inLog && publishedInstant(source) <= knownAt;
}

/** When a statement first became public: its reportedAt, or its earliest source if that was published sooner. */
export function firstReported(s: { reportedAt: string; sources: readonly { publishedAt: string }[] }): number {
  let first = reportedInstant(s);
  for (const source of s.sources) first = Math.min(first, publishedInstant(source));
  return first;
}

export function derivePosition<S extends RuleStatement>(statements: readonly S[], query: PositionQuery): Derivation<S> {
  const inLog = query.position ?? Number.POSITIVE_INFINITY;
  // Nothing is allocated per statement: a derivation over thousands of statements,
  // asked for on every read, left enough garbage that a young-generation collection
  // landed in about one derivation in a hundred, and its few ms were the p99. Why each
  // other statement did not decide is worked out again only when the list is read.
  const superseded = supersededAmong(statements, query, inLog);
  const fold = new PositionFold<S>();
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    if (s.position > inLog || exclusionCode(s, query.at, query.knownAt, inLog) !== COUNTED) continue;
    // A correction that counts (on any day) replaces what it corrects.
    if (superseded !== undefined && superseded.has(s.statementId)) continue;
    fold.add(s);
  }
  const deciding = fold.deciding;
  let listed: NotDeciding[] | undefined;
  return {
    ...fold.state(query.knownAt, inLog),
    deciding,
    ...fold.flaggedBy(),
    get notDeciding() {
      listed ??= listNotDeciding(statements, query, inLog, superseded, deciding);
      return listed;
    },
  };
}

/**
 * The ids of the statements a correction corrects, for every correction that counts as
 * known at knownAt on some day, whether or not it has taken effect by `at`: the record
 * it corrects was wrong (its date, its stance), so it stops counting on every day.
 * Undefined when there are none (the usual case).
 */
function supersededAmong(statements: readonly RuleStatement[], query: PositionQuery, inLog: number): Set<string> | undefined {
  let ids: Set<string> | undefined;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    if (!s.supersedes || s.position > inLog || exclusionCode(s, LAST_DAY, query.knownAt, inLog) !== COUNTED) continue;
    (ids ??= new Set()).add(s.supersedes);
  }
  return ids;
}

function listNotDeciding(
  statements: readonly RuleStatement[],
  query: PositionQuery,
  inLog: number,
  superseded: Set<string> | undefined,
  deciding: RuleStatement | null,
): NotDeciding[] {
  const list: NotDeciding[] = [];
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    // One not in the log yet at that point is not part of the answer at all.
    if (s.position > inLog || s === deciding) continue;
    const code = exclusionCode(s, query.at, query.knownAt, inLog);
    const reason = supersededOutranks(code) && superseded?.has(s.statementId) ? 'superseded' : code !== COUNTED ? REASONS[code - 1] : whyNotDeciding(s, deciding);
    list.push({ statementId: s.statementId, reason });
  }
  return list;
}

/**
 * Whether a known correction is the reason a statement is listed with, rather than the exclusion it has:
 * as with a retraction, that the record was wrong matters more than when it would have taken effect or
 * who said it, and a correction takes it out on every day. Not yet reported, or retracted, still come first.
 */
const supersededOutranks = (code: number) => code === COUNTED || code === NOT_YET_EFFECTIVE || code === NON_GOVERNMENT;

// Dates in the records are text: read the epoch ms the record was built with
// (statementRecord), parsing only for records built some other way.
function instantFor(owner: object, dayOrInstant: string): number {
  const stamped = (owner as { [INSTANT]?: number })[INSTANT];
  return stamped !== undefined ? stamped : instantOf(dayOrInstant);
}

const reportedInstant = (owner: { reportedAt: string }) => instantFor(owner, owner.reportedAt);
const publishedInstant = (source: { publishedAt: string }) => instantFor(source, source.publishedAt);

function whyNotDeciding(s: RuleStatement, deciding: RuleStatement | null): ExclusionReason {
  if (!isStatusBearing(s)) return 'not-status-bearing';
  if (namesWeapons(s)) return 'weapon-specific';
  // Only reached with a deciding statement: a general status-bearing statement always makes one.
  const d = deciding as RuleStatement;
  if (s.effectiveAt !== d.effectiveAt) return 'older';
  if (ATTRIBUTION_RANK[s.speaker.attribution] !== ATTRIBUTION_RANK[d.speaker.attribution]) return 'weaker-attribution';
  return 'recorded-earlier';
}

/** The part of a derivation that a change compares: what the position is, not the evidence list. */
export function stateOf(d: Derivation<RuleStatement>): PositionState {
  // Field by field: a rest pattern would read `notDeciding` and make the whole list.
  const { status, scope, weapons, underReview, endorsesLifting, confidence, decidingStatementId } = d;
  return { status, scope, weapons, underReview, endorsesLifting, confidence, decidingStatementId };
}

/** Two positions are the same when status, scope, flags and weapons are; the evidence may differ. */
type Comparable = Pick<PositionState, 'status' | 'scope' | 'underReview' | 'endorsesLifting' | 'weapons'>;

export function samePosition(a: Comparable, b: Comparable): boolean {
  // Compared field by field: this runs for every statement applied, and most comparisons differ early.
  if (a.status !== b.status || a.underReview !== b.underReview || a.endorsesLifting !== b.endorsesLifting) return false;
  if (a.weapons.length !== b.weapons.length) return false;
  if (a.scope !== b.scope && (!a.scope || !b.scope || scopeKey(a.scope) !== scopeKey(b.scope))) return false;
  for (let i = 0; i < a.weapons.length; i++) {
    if (a.weapons[i].status !== b.weapons[i].status || a.weapons[i].system.toUpperCase() !== b.weapons[i].system.toUpperCase()) return false;
  }
  return true;
}

// A scope's canonical form, remembered per scope object: positions are compared for every event applied.
const scopeKeys = new WeakMap<object, string>();

function scopeKey(scope: Scope): string {
  let key = scopeKeys.get(scope);
  if (key === undefined) {
    key = JSON.stringify(canonicalScope(scope));
    scopeKeys.set(scope, key);
  }
  return key;
}

function canonicalScope(scope: Scope): Array<[string, string[]]> {
  return Object.entries(scope)
    .filter(([, v]) => v && v.length > 0)
    .sort(([a], [b]) => a.localeCompare(b)) as Array<[string, string[]]>;
}
