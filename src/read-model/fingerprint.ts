// A fingerprint of the read model's content that is cheap to keep current:
// the sum, modulo 2^256, of a SHA-256 hash of every row. Adding a row adds its
// hash, replacing a row swaps one hash for another, so each event costs only
// the rows it touches, and the result depends on the content alone, not on
// the order rows were written in. Two read models with the same rows have the
// same fingerprint. (A sum of hashes detects accidental divergence, which is
// what an audit needs here; it is not a signature against a forger.)
import { createHash } from 'node:crypto';

const MODULUS = 1n << 256n;

export function rowHash(table: string, key: string, content: string): bigint {
  return BigInt(`0x${createHash('sha256').update(table).update('\0').update(key).update('\0').update(content).digest('hex')}`);
}

export class ContentFingerprint {
  constructor(private sum: bigint = 0n) {}

  static fromHex(hex: string | undefined): ContentFingerprint {
    return new ContentFingerprint(hex ? BigInt(`0x${hex}`) : 0n);
  }

  replace(table: string, key: string, before: string | undefined, after: string): void {
    if (before === after) return;
    if (before !== undefined) this.sum = (this.sum - rowHash(table, key, before) + MODULUS) % MODULUS;
    this.sum = (this.sum + rowHash(table, key, after)) % MODULUS;
  }

  get hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}
