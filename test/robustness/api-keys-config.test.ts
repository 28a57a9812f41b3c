// API_KEYS: a name or a secret listed twice stops the start. With a secret
// twice, the request presenting it got whichever entry came last (a writer's
// secret given again to an admin made it an admin key); with a name twice,
// the log's metadata, the per-key rate limit and Idempotency-Key scopes could
// not tell the two keys apart. The message names the key, never the secret.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { findKey } from '../../src/auth/api-keys.js';

const SECRET = 'shared-secret-0123456789';

describe('API_KEYS', () => {
  it('refuses a secret given to two keys', () => {
    const load = () => loadConfig({ API_KEYS: `ci:${SECRET}:writer,ops:${SECRET}:admin` });
    expect(load).toThrow(/API_KEYS: keys "ci" and "ops" have the same secret/);
    expect(load).not.toThrow(new RegExp(SECRET));
  });

  it('refuses a name given to two keys', () => {
    expect(() => loadConfig({ API_KEYS: 'ci:writer-secret-0123456789:writer, ci:admin-secret-0123456789:admin' })).toThrow(/API_KEYS: the name "ci" is given to two keys/);
  });

  it('takes distinct keys, and each secret finds its own', () => {
    const keys = loadConfig({ API_KEYS: ' ci:writer-secret-0123456789:writer , ops:admin-secret-0123456789:admin ' }).API_KEYS!;
    expect(keys.map((k) => [k.name, k.role])).toEqual([['ci', 'writer'], ['ops', 'admin']]);
    expect(findKey(keys, 'writer-secret-0123456789')?.name).toBe('ci');
    expect(findKey(keys, 'admin-secret-0123456789')?.name).toBe('ops');
  });
});
