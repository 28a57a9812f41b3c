// One HTTP attempt of a delivery, with undici: redirects are not followed (a
// 3xx is just a status, hence a failure), the whole attempt has one deadline,
// and sockets connect only to addresses the AddressPolicy vetted. Deadlines
// are enforced by one sweeper for all attempts rather than a timer each (with
// hundreds in flight, timers are what the garbage collector sees most); a
// status that comes after the deadline counts as no answer (a body still arriving
// then, or at a shutdown, is cut, and the status that came in time counts).
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
  /** No status within the timeout (a body still arriving at the deadline is cut, and its status counts). */
  timedOut: boolean;
  /** Cut short by a shutdown before its status came: logged, but not a step of the schedule nor a failure; the delivery stays pending. */
  interrupted: boolean;
}

interface Attempt {
  controller: AbortController;
  started: number;
  timedOut: boolean;
}

export class DeliveryClient {
  private readonly agent: Agent;
  /** Attempts in flight, for the deadline sweeper and so a shutdown can cut them short. */
  private readonly inFlight = new Set<Attempt>();
  private sweeper?: NodeJS.Timeout;
  private readonly sweepEveryMs: number;
  private interrupting = false;
  /** url → its host when that is an IP literal (checked here, since no lookup happens), else null. */
  private readonly literals = new Map<string, string | null>();
  /** Literal addresses already vetted: their answer cannot change. */
  private readonly vetted = new Set<string>();

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
    this.sweepEveryMs = Math.max(10, Math.min(250, timeoutMs / 10));
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<AttemptOutcome> {
    const attempt: Attempt = { controller: new AbortController(), started: performance.now(), timedOut: false };
    this.watch(attempt);
    const elapsed = () => Math.round(performance.now() - attempt.started);
    try {
      // A literal address never reaches the lookup, so it is checked here.
      const literal = this.literalOf(url);
      if (literal && !this.vetted.has(literal)) {
        await this.policy.vet(literal);
        this.vetted.add(literal);
      }
      const response = await request(url, { method: 'POST', headers, body, dispatcher: this.agent, signal: attempt.controller.signal });
      if (elapsed() > this.timeoutMs) {
        response.body.destroy();
        return { statusCode: null, durationMs: elapsed(), responseStart: null, error: `answered ${response.statusCode} after the ${this.timeoutMs} ms limit`, retryAfterMs: null, timedOut: true, interrupted: false };
      }
      // The status is the answer, and it came in time. A body still arriving at the deadline (or
      // at a shutdown) is cut there: the log keeps what came, and the status counts (a 2xx is a success).
      const start = new ResponseStart();
      const empty = response.statusCode === 204 || response.headers['content-length'] === '0';
      let error: string | null = null;
      try {
        if (empty) await response.body.dump();
        else await start.readFrom(response.body);
      } catch (bodyError) {
        // Whatever cut the body (the deadline, a shutdown, the connection), the status came whole.
        const why = attempt.timedOut ? `was not complete within the ${this.timeoutMs} ms limit` : this.interrupting ? 'was cut short by a shutdown' : `could not be read: ${describe(bodyError)}`;
        error = `the answer's body ${why}; its status counts`;
      }
      return {
        statusCode: response.statusCode,
        durationMs: elapsed(),
        responseStart: start.text(),
        error,
        retryAfterMs: retryAfterMs(response.headers['retry-after'], this.now()),
        timedOut: false,
        interrupted: false,
      };
    } catch (error) {
      const failed = (message: string) => ({ statusCode: null, durationMs: elapsed(), responseStart: null, error: message, retryAfterMs: null, timedOut: false, interrupted: false });
      if (this.interrupting) return { ...failed('interrupted by shutdown'), interrupted: true };
      if (attempt.timedOut) return { ...failed(`no answer within ${this.timeoutMs} ms`), timedOut: true };
      return failed(describe(error));
    } finally {
      this.inFlight.delete(attempt);
    }
  }

  private literalOf(url: string): string | null {
    let literal = this.literals.get(url);
    if (literal === undefined) {
      const host = hostOf(url);
      literal = isIP(host) ? host : null;
      if (this.literals.size > 10_000) this.literals.clear();
      this.literals.set(url, literal);
    }
    return literal;
  }

  private watch(attempt: Attempt): void {
    this.inFlight.add(attempt);
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const a of this.inFlight) {
        if (now - a.started < this.timeoutMs) continue;
        a.timedOut = true;
        a.controller.abort();
      }
      if (this.inFlight.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, this.sweepEveryMs);
    this.sweeper.unref();
  }

  /** Cuts every attempt in flight short; their outcomes say `interrupted`, and count for nothing but the log. */
  interrupt(): void {
    this.interrupting = true;
    for (const attempt of this.inFlight) attempt.controller.abort();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.agent.destroy();
  }
}

/** The start of a response body, as much as the delivery log keeps; what was read stays if the read is cut short. */
class ResponseStart {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  async readFrom(body: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of body) {
      this.chunks.push(chunk);
      this.length += chunk.length;
      // Enough for the log; the rest is not worth downloading.
      if (this.length >= RESPONSE_START_BYTES) break;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).subarray(0, RESPONSE_START_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
  }
}

// The three forms of an HTTP date (RFC 9110, 5.6.7), all in GMT. Date.parse reads far more (a bare
// "December 31, 2999", an ISO date without a zone) and reads the asctime form, which names no
// zone, in the process's local time: only these are taken, and asctime as GMT.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

function httpDate(text: string): number {
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) return Date.parse(text);
  if (ASCTIME.test(text)) return Date.parse(`${text} GMT`);
  return Number.NaN;
}

/**
 * Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. Given more than
 * once (which RFC 9110 does not allow), the longest wait asked for is kept.
 */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | null {
  const waits = (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((raw) => {
    const text = raw.trim();
    if (/^\d+$/.test(text)) return [Number(text) * 1_000];
    const at = httpDate(text);
    return Number.isNaN(at) ? [] : [Math.max(0, at - now)];
  });
  return waits.length === 0 ? null : Math.max(...waits);
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const cause = e.cause && e.cause.message && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message ?? String(error)}${cause}`.slice(0, 500);
}
