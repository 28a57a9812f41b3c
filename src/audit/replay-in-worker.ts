import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../store/event-store.js';
import type { ReplayReport } from './replay.js';
import type { ReplayJob } from './replay-worker.js';

/** The replay needed more memory than it may have: the CLI, in its own process, can take more. */
export class ReplayOutOfMemoryError extends Error {
  override readonly name = 'ReplayOutOfMemoryError';
  constructor(limitMb: number) {
    super(`the replay needs more than ${limitMb} MB (REPLAY_MEMORY_MB); run \`policy-state replay\` on the data directory instead`);
  }
}

/**
 * The worker's error as the HTTP layer knows it: its class does not cross the thread (it arrives as
 * an Error with the name kept), and the error handler answers by class: a store that cannot be
 * reached is a 503 with Retry-After, as on every other route, not a 500.
 */
function inThisThread(error: Error & { code?: string }, memoryMb: number): Error {
  if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') return new ReplayOutOfMemoryError(memoryMb);
  if (error.name === 'StoreUnavailableError') return new StoreUnavailableError(error.message, { cause: error });
  return error;
}

export function replayInWorker(job: ReplayJob, memoryMb: number): Promise<ReplayReport> {
  const entry = new URL(`./replay-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  // Compiled, the worker runs the .js file; from source (tests, npm run dev) it first registers the
  // same TypeScript loader this process runs under, then imports the .ts file.
  const fromSource = entry.pathname.endsWith('.ts');
  const script = fromSource ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })` : entry;
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { eval: fromSource, workerData: job, resourceLimits: { maxOldGenerationSizeMb: memoryMb } });
    let settled = false;
    worker.once('message', (message: { report: ReplayReport }) => {
      settled = true;
      resolve(message.report);
    });
    worker.once('error', (error: Error & { code?: string }) => {
      settled = true;
      reject(inThisThread(error, memoryMb));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the replay worker stopped with exit code ${code}`));
    });
  });
}
