import { z } from 'zod';
import { Source, StatementId } from './vocabulary.js';

/** Another outlet corroborates a statement already on record. */
export const SourceAttached = z
  .object({
    statementId: StatementId,
    source: Source,
  })
  .strict();
export type SourceAttached = z.infer<typeof SourceAttached>;
