/**
 * How far ahead of this server's clock a client's or a source's time may run: within it, the
 * time is recorded as this server's now (statement-service.ts, notAfterNow).
 */
export const CLOCK_SKEW_MS = 5 * 60_000;
