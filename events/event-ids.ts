import { createHash, randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * A new id for an event or a statement: a version-7 UUID (RFC 9562), which
 * begins with the millisecond it was made, so an id sorts after those made in
 * earlier milliseconds. The unique indexes on them (the log's event ids, the
 * read model's statement ids) then grow at their end. A random version-4 id lands on
 * a random index page: under the durable-write benchmark a commit of a few
 * dozen appends rewrote a few dozen index pages in each file, and committing
 * took twice as long (bench/README.md, "Durable writes").
 */
export const newId = (): string => uuidv7({ random: randomBytes16() });

// uuid's own source of randomness asks the system for 16 bytes per id (about 2 µs here);
// like node's randomUUID, this takes them from a pool filled 4 KB at a time (an id in about 0.2 µs).
// Given its random bytes, uuid orders ids by their millisecond, not within one: a few
// ids of the same millisecond land on the same index page either way.
const pool = new Uint8Array(4096);
let used = pool.length;
function randomBytes16(): Uint8Array {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 16;
  return pool.subarray(used - 16, used);
}

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
