// Seals endpoint secrets before they go into the log, and opens them to sign.
// AES-256-GCM under a key kept outside the log: WEBHOOK_SECRETS_KEY, or a file
// in DATA_DIR created on first start. Back the key up with the data; without
// it, endpoints keep working only after their secrets are rotated: a log
// restored without its key gets a new key file, the secrets sealed under the
// old one cannot be opened (GCM authenticates, so a wrong key is a refusal,
// never a wrong secret), and a rotation seals a new secret under the new key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreate } from '../operations/create-once.js';

export const SECRETS_KEY_FILE = 'webhook-secrets.key';

export class SecretBox {
  /** Sealed secret → the secret, or null when this key cannot open it (that does not change). */
  private readonly opened = new Map<string, string | null>();

  constructor(
    private readonly key: Buffer,
    /** The key file, when this start created it (a first start, or a restore without the key). */
    readonly createdFile?: string,
  ) {
    if (key.length !== 32) throw new Error('the webhook secrets key must be 32 bytes');
  }

  /** The configured key, or the one in DATA_DIR (created with mode 0600 on first use). */
  static load(dataDir: string, configured?: string): SecretBox {
    if (configured) return new SecretBox(Buffer.from(configured, 'base64'));
    const file = path.join(dataDir, SECRETS_KEY_FILE);
    const { text, created } = readOrCreate(file, () => `${randomBytes(32).toString('base64')}\n`);
    return new SecretBox(Buffer.from(text.trim(), 'base64'), created ? file : undefined);
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /**
   * The secret, or undefined when this key cannot open it: sealed under another key
   * (a log restored without its key) or not a sealed secret at all. Never throws.
   */
  open(sealed: string): string | undefined {
    let secret = this.opened.get(sealed);
    if (secret === undefined) {
      try {
        secret = this.decrypt(sealed);
      } catch {
        secret = null;
      }
      this.opened.set(sealed, secret);
    }
    return secret ?? undefined;
  }

  canOpen(sealed: string): boolean {
    return this.open(sealed) !== undefined;
  }

  private decrypt(sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
