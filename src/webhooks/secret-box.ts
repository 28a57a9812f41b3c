// Seals endpoint secrets before they go into the log, and opens them to sign.
// AES-256-GCM under a key kept outside the log: WEBHOOK_SECRETS_KEY, or a file
// in DATA_DIR created on first start. Back the key up with the data; without
// it, endpoints keep working only after their secrets are rotated.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SECRETS_KEY_FILE = 'webhook-secrets.key';

export class SecretBox {
  private readonly opened = new Map<string, string>();

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the webhook secrets key must be 32 bytes');
  }

  /** The configured key, or the one in DATA_DIR (created with mode 0600 on first use). */
  static load(dataDir: string, configured?: string): SecretBox {
    if (configured) return new SecretBox(Buffer.from(configured, 'base64'));
    const file = path.join(dataDir, SECRETS_KEY_FILE);
    if (!existsSync(file)) {
      try {
        writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        // Another process created it first; use theirs.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const cached = this.opened.get(sealed);
    if (cached) return cached;
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const secret = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    this.opened.set(sealed, secret);
    return secret;
  }
}
