// Deriving a country's position at valid time `at` as known at `knownAt`,
// exactly as DOMAIN.md "Deriving a position" says. Pure: statements in,
// position out, no clock and no I/O.
import type { Attribution, Scope } from '../events/vocabulary.js';
import type { StatementRecord } from './statement-record.js';
import { instantOf } from './time.js';

export type Status = 'unknown' | 'prohibited' | 'restricted' | 'unrestricted';

export type ExclusionReason =
  | 'older'
  | 'weaker-attribution'
  | 'recorded-earlier'
  | 'retracted'
  | 'superseded'
  | 'not-yet-reported'
  | 'not-yet-effective'
  | 'non-government'
  | 'not-status-bearing'
  | 'weapon-specific';

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

export interface NotDeciding {
  statementId: string;
  reason: ExclusionReason;
}

export interface Derivation extends PositionState {
  deciding: StatementRecord | null;
  /** Every statement that did not decide the headline, with why. */
  notDeciding: NotDeciding[];
}

const ATTRIBUTION_RANK: Record<Attribution, number> = {
  official: 3,
  'anonymous-official': 2,
  'media-report': 1,
  'non-government': 0,
};

const isStatusBearing = (s: StatementRecord) => s.stance === 'permits' || s.stance === 'prohibits';
const namesWeapons = (s: StatementRecord) => (s.scope.weapons?.length ?? 0) > 0;

/** Latest effectiveAt, then stronger attribution, then later log position: > 0 when `a` decides over `b`. */
export function compareDeciding(a: StatementRecord, b: StatementRecord): number {
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt < b.effectiveAt ? -1 : 1;
  const rank = ATTRIBUTION_RANK[a.speaker.attribution] - ATTRIBUTION_RANK[b.speaker.attribution];
  if (rank !== 0) return rank;
  return a.position - b.position;
}

/** Newer in valid time; on the same day, the later recording. */
function isNewer(a: StatementRecord, than: StatementRecord | null): boolean {
  if (!than) return true;
  if (a.effectiveAt !== than.effectiveAt) return a.effectiveAt > than.effectiveAt;
  return a.position > than.position;
}

export function isEmptyScope(scope: Scope, ignore: Array<keyof Scope> = []): boolean {
  return Object.entries(scope).every(([key, value]) => ignore.includes(key as keyof Scope) || !value || value.length === 0);
}

function permitStatus(scope: Scope, ignore: Array<keyof Scope> = []): 'restricted' | 'unrestricted' {
  return isEmptyScope(scope, ignore) ? 'unrestricted' : 'restricted';
}

export function derivePosition(statements: readonly StatementRecord[], query: PositionQuery): Derivation {
  const inLog = query.position ?? Number.POSITIVE_INFINITY;
  const notDeciding: NotDeciding[] = [];
  const considered: StatementRecord[] = [];

  for (const s of statements) {
    if (s.position > inLog) continue; // not in the log yet at that point: not part of the answer at all
    const retraction = s.retraction && s.retraction.position <= inLog ? s.retraction : undefined;
    let reason: ExclusionReason | undefined;
    if (s.effectiveAt > query.at) reason = 'not-yet-effective';
    else if (instantOf(s.reportedAt) > query.knownAt) reason = 'not-yet-reported';
    else if (retraction && instantOf(retraction.reportedAt) <= query.knownAt) reason = 'retracted';
    else if (s.speaker.attribution === 'non-government') reason = 'non-government';
    if (reason) notDeciding.push({ statementId: s.statementId, reason });
    else considered.push(s);
  }

  // A correction replaces what it corrects once the correction itself counts.
  const superseded = new Set(considered.map((s) => s.supersedes).filter((id): id is string => Boolean(id)));
  const counted = superseded.size === 0 ? considered : considered.filter((s) => {
    if (!superseded.has(s.statementId)) return true;
    notDeciding.push({ statementId: s.statementId, reason: 'superseded' });
    return false;
  });

  let deciding: StatementRecord | null = null;
  for (const s of counted) {
    if (isStatusBearing(s) && !namesWeapons(s) && (!deciding || compareDeciding(s, deciding) > 0)) deciding = s;
  }

  const weapons = new Map<string, { status: WeaponStatus; by: StatementRecord }>();
  const setWeapon = (system: string, status: WeaponStatus['status'], by: StatementRecord) => {
    const key = system.trim().toUpperCase();
    const current = weapons.get(key);
    if (!current || compareDeciding(by, current.by) > 0) {
      weapons.set(key, { status: { system: current?.status.system ?? system, status, statementId: by.statementId }, by });
    }
  };

  let newestReviewing: StatementRecord | null = null;
  let newestEndorses: StatementRecord | null = null;
  for (const s of counted) {
    if (s.stance === 'reviewing') {
      if (isNewer(s, newestReviewing)) newestReviewing = s;
    } else if (s.stance === 'endorses') {
      if (isNewer(s, newestEndorses)) newestEndorses = s;
    } else {
      const status = s.stance === 'prohibits' ? 'prohibited' : permitStatus(s.scope, ['weapons', 'excludedWeapons']);
      for (const system of s.scope.weapons ?? []) setWeapon(system, status, s);
      if (s.stance === 'permits') for (const system of s.scope.excludedWeapons ?? []) setWeapon(system, 'prohibited', s);
    }
    if (s === deciding) continue;
    notDeciding.push({ statementId: s.statementId, reason: whyNotDeciding(s, deciding) });
  }

  return {
    status: !deciding ? 'unknown' : deciding.stance === 'prohibits' ? 'prohibited' : permitStatus(deciding.scope),
    scope: deciding ? deciding.scope : null,
    weapons: [...weapons.values()].map((w) => w.status).sort((a, b) => a.system.localeCompare(b.system)),
    underReview: newestReviewing !== null && isNewer(newestReviewing, deciding),
    endorsesLifting: newestEndorses !== null && isNewer(newestEndorses, deciding),
    confidence: deciding
      ? {
          attribution: deciding.speaker.attribution,
          // Sources published by knownAt; at least one, since the statement itself was known by then.
          sources: Math.max(1, deciding.sources.filter((src) => src.position <= inLog && instantOf(src.publishedAt) <= query.knownAt).length),
        }
      : null,
    decidingStatementId: deciding?.statementId ?? null,
    deciding,
    notDeciding,
  };
}

function whyNotDeciding(s: StatementRecord, deciding: StatementRecord | null): ExclusionReason {
  if (!isStatusBearing(s)) return 'not-status-bearing';
  if (namesWeapons(s)) return 'weapon-specific';
  // Only reached with a deciding statement: a general status-bearing statement always makes one.
  const d = deciding as StatementRecord;
  if (s.effectiveAt !== d.effectiveAt) return 'older';
  if (ATTRIBUTION_RANK[s.speaker.attribution] !== ATTRIBUTION_RANK[d.speaker.attribution]) return 'weaker-attribution';
  return 'recorded-earlier';
}

/** The part of a derivation that a change compares: what the position is, not the evidence list. */
export function stateOf(d: Derivation): PositionState {
  const { deciding: _deciding, notDeciding: _notDeciding, ...state } = d;
  return state;
}

/** Two positions are the same when status, scope, flags and weapons are; the evidence may differ. */
export function samePosition(a: PositionState, b: PositionState): boolean {
  return positionKey(a) === positionKey(b);
}

type Comparable = Pick<PositionState, 'status' | 'scope' | 'underReview' | 'endorsesLifting' | 'weapons'>;

export function positionKey(p: Comparable): string {
  return JSON.stringify([
    p.status,
    p.scope ? canonicalScope(p.scope) : null,
    p.underReview,
    p.endorsesLifting,
    p.weapons.map((w) => [w.system.toUpperCase(), w.status]),
  ]);
}

function canonicalScope(scope: Scope): Array<[string, string[]]> {
  return Object.entries(scope)
    .filter(([, v]) => v && v.length > 0)
    .sort(([a], [b]) => a.localeCompare(b)) as Array<[string, string[]]>;
}
