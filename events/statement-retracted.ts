import { z } from 'zod';
import { DayOrInstant, FreeText, Source, StatementId } from './vocabulary.js';

/**
 * The record of a statement was wrong: misreported, or never said. A real walk-back
 * is a new StatementRecorded, not a retraction.
 */
export const StatementRetracted = z
  .object({
    statementId: StatementId,
    reason: FreeText.min(1).max(2_000),
    reportedAt: DayOrInstant,
    source: Source.optional(),
  })
  .strict();
export type StatementRetracted = z.infer<typeof StatementRetracted>;
