// How read-model records are shown: internal bookkeeping (the log position of
// each source) stays inside; everything a reader needs to check the evidence
// goes out.
import { countryName } from '../../events/vocabulary.js';
import { summarise } from '../../projections/changes.js';
import { recordAsKnown, type Derivation } from '../../projections/position.js';
import type { StatementRecord } from '../../projections/statement-record.js';

export function statementView(s: StatementRecord) {
  return {
    ...summarise(s),
    ...(s.notes ? { notes: s.notes } : {}),
    ...(s.supersedes ? { supersedes: s.supersedes } : {}),
    position: s.position,
    recordedAt: s.recordedAt,
    retraction: s.retraction ?? null,
  };
}

export function positionView(
  country: string,
  derivation: Derivation,
  statements: readonly StatementRecord[],
  query: { at: string; knownAt: string; position: number; revision: number },
  /** `knownAt` as epoch ms: the deciding statement is shown as it was known then, at `position`. */
  knownAtInstant: number,
) {
  const byId = new Map(statements.map((s) => [s.statementId, s]));
  return {
    country,
    name: countryName(country),
    at: query.at,
    knownAt: query.knownAt,
    status: derivation.status,
    scope: derivation.scope,
    weapons: derivation.weapons,
    underReview: derivation.underReview,
    endorsesLifting: derivation.endorsesLifting,
    confidence: derivation.confidence,
    deciding: derivation.deciding ? statementView(recordAsKnown(derivation.deciding, knownAtInstant, query.position)) : null,
    basis: {
      at: query.at,
      knownAt: query.knownAt,
      position: query.position,
      decidingStatementId: derivation.decidingStatementId,
      underReviewStatementId: derivation.underReviewBy?.statementId ?? null,
      endorsesLiftingStatementId: derivation.endorsesLiftingBy?.statementId ?? null,
      others: derivation.notDeciding.map(({ statementId, reason }) => {
        const s = byId.get(statementId)!;
        return { statementId, stance: s.stance, attribution: s.speaker.attribution, effectiveAt: s.effectiveAt, reportedAt: s.reportedAt, reason };
      }),
    },
    revision: query.revision,
  };
}
