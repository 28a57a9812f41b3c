// A fingerprint of the read model's content that is cheap to keep current:
// the sum, modulo 2^128, of a 128-bit hash of every row. Adding a row adds its
// hash, replacing a row swaps one hash for another, so each event costs only
// the rows it touches, and the result depends on the content alone, not on
// the order rows were written in. Two read models with the same rows have the
// same fingerprint. The hash is XXH3-128, not a cryptographic one: an audit
// fingerprint has to detect accidental divergence, and a sum of hashes is no
// signature against a forger anyway (one could be made for SHA-256 as well).
import { xxh3 } from '@node-rs/xxhash';

const MASK = (1n << 128n) - 1n;

export function rowHash(table: string, key: string, content: string): bigint {
  return xxh3.xxh128(`${table}\0${key}\0${content}`);
}

export class ContentFingerprint {
  constructor(private sum: bigint = 0n) {}

  static fromHex(hex: string | undefined): ContentFingerprint {
    return new ContentFingerprint(hex ? BigInt(`0x${hex}`) & MASK : 0n);
  }

  /** Adds a row by its hash (rowHash). */
  add(hash: bigint): void {
    this.sum = (this.sum + hash) & MASK;
  }

  /** Takes a row out by its hash (rowHash). */
  remove(hash: bigint): void {
    this.sum = (this.sum - hash) & MASK;
  }

  /** The sum as a number of 128 bits. */
  get value(): bigint {
    return this.sum;
  }

  get hex(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}
