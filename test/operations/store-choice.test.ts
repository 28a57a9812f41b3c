// Which event store the service uses is EVENT_STORE's choice alone; a
// KURRENTDB_URL given without it is most likely a forgotten EVENT_STORE (each
// replica would then write a log of its own), so the start says so.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('KURRENTDB_URL without EVENT_STORE=kurrentdb', () => {
  it('says at start, as a warning, that the embedded store is used, naming the hosts and never the password', async () => {
    const { dir, cleanup } = tempDir();
    const lines: Array<{ level: number; msg: string; kurrentdb?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadConfig({ DATA_DIR: dir, SEED_ON_START: 'false', KURRENTDB_URL: 'kurrentdb://admin:hunter2-pw@db1:2113,db2:2113?tls=false' });
    const service = await startService(config, logger);
    await service.close();
    expect(lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({ kurrentdb: 'db1:2113,db2:2113', msg: expect.stringContaining('EVENT_STORE is sqlite') }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('hunter2-pw');
    cleanup();
  });
});
