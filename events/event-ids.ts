import { createHash } from 'node:crypto';

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
