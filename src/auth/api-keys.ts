// API keys: `name:secret:role` from API_KEYS, or, when that is unset, one
// admin key generated on the first start and kept in DATA_DIR. Secrets are
// compared in constant time and never logged; only key names are.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { readOrCreate } from '../operations/create-once.js';
import { ConfigError, type ApiKey } from '../config.js';

export type Role = ApiKey['role'];

const ROLE_RANK: Record<Role, number> = { writer: 1, admin: 2 };

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[needed];
}

export const ADMIN_KEY_FILE = 'admin-api-key';

export interface KeyRing {
  keys: ApiKey[];
  /** Set when the admin key was generated into DATA_DIR. */
  generatedFile?: string;
}

/** The configured keys, or the admin key in DATA_DIR (created on first start). */
export function loadKeyRing(configured: ApiKey[] | undefined, dataDir: string): KeyRing {
  if (configured && configured.length > 0) return { keys: configured };
  const file = path.join(dataDir, ADMIN_KEY_FILE);
  const secret = readOrCreate(file, () => `ps_admin_${randomBytes(24).toString('base64url')}\n`).text.trim();
  // The rule API_KEYS keeps: a file edited down to a short word (or emptied) would be the admin key.
  if (secret.length < 16) throw new ConfigError(`the admin key in ${file} must be at least 16 characters; delete the file to have a new one generated`);
  return { keys: [{ name: 'admin', secret, role: 'admin' }], generatedFile: file };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

// Each configured key's digest, computed once: every write asks, twice (rate limit, then auth).
const keyDigests = new WeakMap<ApiKey, Buffer>();
function keyDigest(key: ApiKey): Buffer {
  let cached = keyDigests.get(key);
  if (!cached) {
    cached = digest(key.secret);
    keyDigests.set(key, cached);
  }
  return cached;
}

/** Finds the key a presented secret belongs to, comparing every key in constant time. */
export function findKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const presentedDigest = digest(presented);
  let match: ApiKey | undefined;
  for (const key of keys) {
    // Digests have equal length, so timingSafeEqual never throws and time does not depend on the secret.
    if (timingSafeEqual(keyDigest(key), presentedDigest)) match = key;
  }
  return match;
}
