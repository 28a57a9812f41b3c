// The admin key in DATA_DIR/admin-api-key is held to the rule API_KEYS is:
// a secret of at least 16 characters. A file an operator edited down to a
// short word (or emptied) stops the start, naming the file, never the key.
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the admin key file', () => {
  it.each(['abc\n', '\n'])('with a secret shorter than 16 characters (%j) stops the start', async (content) => {
    const { dir, cleanup } = tempDir();
    writeFileSync(path.join(dir, 'admin-api-key'), content, { mode: 0o600 });
    const config = loadConfig({ DATA_DIR: dir, SEED_ON_START: 'false', LOG_LEVEL: 'silent' });
    await expect(startService(config, pino({ level: 'silent' }))).rejects.toThrow(/admin-api-key.*at least 16 characters/);
    cleanup();
  });
});

describe('a DATA_DIR the service creates', () => {
  it('is readable by its owner only: the log holds webhook URLs and delivery bodies', async () => {
    const { dir, cleanup } = tempDir();
    const dataDir = path.join(dir, 'new', 'data');
    const service = await startService(loadConfig({ DATA_DIR: dataDir, SEED_ON_START: 'false', LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
    await service.close();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    cleanup();
  });
});
