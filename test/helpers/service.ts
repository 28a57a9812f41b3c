// Starts the real service (SQLite files in a temp dir, the real HTTP app) for a test.
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { tempDir } from './temp-dir.js';

export const WRITER_KEY = 'writer-secret-0123456789';
export const ADMIN_KEY = 'admin-secret-0123456789ab';
export const writer = { authorization: `Bearer ${WRITER_KEY}` };
export const admin = { authorization: `Bearer ${ADMIN_KEY}` };

export interface TestService extends Service {
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestService(
  options: { env?: Record<string, string>; dataDir?: string; logger?: Logger; now?: () => Date } = {},
): Promise<TestService> {
  const temp = options.dataDir ? undefined : tempDir();
  const dataDir = options.dataDir ?? temp!.dir;
  const config = loadConfig({
    DATA_DIR: dataDir,
    API_KEYS: `writer:${WRITER_KEY}:writer,admin:${ADMIN_KEY}:admin`,
    SEED_ON_START: 'false',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const service = await startService(config, options.logger ?? pino({ level: 'silent' }), options.now);
  await service.app.ready();
  return {
    ...service,
    dataDir,
    stop: async () => {
      await service.close();
      temp?.cleanup();
    },
  };
}

export const kirby = {
  country: 'US',
  stance: 'prohibits',
  speaker: { name: 'John Kirby', role: 'National Security Council spokesman', attribution: 'official' },
  sources: [{ publisher: 'The Hill', title: 'US holds firm', publishedAt: '2024-05-29', quote: 'no change' }],
  effectiveAt: '2024-05-28',
  reportedAt: '2024-05-28',
} as const;

export const kharkiv = {
  country: 'US',
  stance: 'permits',
  scope: { regions: ['Russian territory across the border from Kharkiv oblast'], purposes: ['counter-fire'], excludedWeapons: ['ATACMS'] },
  speaker: { attribution: 'anonymous-official' },
  sources: [{ publisher: 'Politico', title: 'Biden allows Ukraine', publishedAt: '2024-05-30', quote: 'counter-fire purposes in the Kharkiv region' }],
  effectiveAt: '2024-05-30',
  reportedAt: '2024-05-30',
} as const;

/** Polls /health/ready until the projections have caught up (usable in hooks, where expect.poll is not). */
export async function untilReady(app: { inject(path: string): Promise<{ statusCode: number }> }, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await app.inject('/health/ready')).statusCode !== 200) {
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
