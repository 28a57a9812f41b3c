import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * A new id for an event or a statement: a version-7 UUID (RFC 9562), which
 * begins with the millisecond it was made, so ids made one after another sort
 * one after another. The unique indexes on them (the log's event ids, the read
 * model's statement ids) then grow at their end. A random version-4 id lands on
 * a random index page: under the durable-write benchmark a commit of a few
 * dozen appends rewrote a few dozen index pages in each file, and committing
 * took twice as long (bench/README.md, "Durable writes").
 */
export const newId = (): string => uuidv7();

/**
 * An event id derived from a name: the same name always gives the same id, so
 * the log itself refuses a second event for it (an Idempotency-Key, a statement
 * id chosen by the client). Shaped as a version-8 (custom) UUID so every store
 * accepts it.
 */
export function eventIdFor(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
