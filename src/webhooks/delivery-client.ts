// One HTTP attempt of a delivery, with undici: redirects are not followed (a
// 3xx is just a status, hence a failure), the whole attempt has one deadline,
// and sockets connect only to addresses the AddressPolicy vetted.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { hostOf, type AddressPolicy } from './address-safety.js';

/** How much of a response body the delivery log keeps. */
export const RESPONSE_START_BYTES = 1_024;

export interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number;
  responseStart: string | null;
  error: string | null;
  /** From Retry-After, when the answer carried one. */
  retryAfterMs: number | null;
  /** No answer within the timeout. */
  timedOut: boolean;
  /** Cut short by a shutdown: not an attempt at all, the delivery stays pending. */
  interrupted: boolean;
}

export class DeliveryClient {
  private readonly agent: Agent;

  constructor(
    private readonly policy: AddressPolicy,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.agent = new Agent({
      connect: { lookup: policy.lookup, timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async post(url: string, headers: Record<string, string>, body: string, shutdown: AbortSignal): Promise<AttemptOutcome> {
    const started = performance.now();
    // One controller for both the deadline and a shutdown (cheaper than AbortSignal.any per attempt).
    const controller = new AbortController();
    const { signal } = controller;
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onShutdown = () => controller.abort();
    shutdown.addEventListener('abort', onShutdown, { once: true });
    const elapsed = () => Math.round(performance.now() - started);
    try {
      // A literal address never reaches the lookup, so it is checked here.
      const host = hostOf(url);
      if (isIP(host)) await this.policy.vet(host);
      const response = await request(url, { method: 'POST', headers, body, dispatcher: this.agent, signal });
      const responseStart = await readStart(response.body);
      return {
        statusCode: response.statusCode,
        durationMs: elapsed(),
        responseStart,
        error: null,
        retryAfterMs: retryAfterMs(response.headers['retry-after'], this.now()),
        timedOut: false,
        interrupted: false,
      };
    } catch (error) {
      const failed = (message: string) => ({ statusCode: null, durationMs: elapsed(), responseStart: null, error: message, retryAfterMs: null, timedOut: false, interrupted: false });
      if (shutdown.aborted) return { ...failed('interrupted by shutdown'), interrupted: true };
      if (timedOut) return { ...failed(`no answer within ${this.timeoutMs} ms`), timedOut: true };
      return failed(describe(error));
    } finally {
      clearTimeout(deadline);
      shutdown.removeEventListener('abort', onShutdown);
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

async function readStart(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    length += chunk.length;
    // Enough for the log; the rest is not worth downloading.
    if (length >= RESPONSE_START_BYTES) break;
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_START_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
}

/** Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const cause = e.cause && e.cause.message && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message ?? String(error)}${cause}`.slice(0, 500);
}
