// Turns what @kurrent/kurrentdb-client throws into the port's typed errors.
// The client throws three shapes: its own CommandErrors (reads, converted from
// the native bridge), raw gRPC ServiceErrors (an append that fails before the
// server answers, e.g. connection refused), and plain Errors.
import {
  ErrorType,
  WrongExpectedVersionError,
  convertToCommandError,
  isCommandError,
} from '@kurrent/kurrentdb-client';
import { DuplicateEventError, StoreUnavailableError, StreamConflictError, type ExpectedRevision } from '../event-store.js';
import { fromCurrentState } from './mapping.js';

/** Errors a retry may cure: the server is down, unreachable, slow, or no longer the leader. */
const TRANSIENT = new Set<string>([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
  ErrorType.CANCELLED,
]);

/**
 * gRPC status codes of the same kind: CANCELLED, DEADLINE_EXCEEDED, ABORTED, INTERNAL
 * (a connection reset mid-call), UNAVAILABLE. Not UNKNOWN: the server answers with it
 * for requests that will never succeed, such as a read from an invalid position.
 */
const TRANSIENT_GRPC_CODES = new Set([1, 4, 10, 13, 14]);

const SOCKET_ERRORS = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|socket hang up/;

/**
 * A batch append the node did not handle: it is starting, electing a leader, overloaded, or
 * a follower that does not know the leader yet. The server answers these with a status that
 * has no code and an Empty detail, which the client turns into an UnknownError saying
 * "Could not recognize <the server's message>". A retry cures them.
 */
const NOT_HANDLED = /Server Is Not Ready|Server Is Busy|No leader info available in response/;

/**
 * What the client throws, as a plain Error with no code, when no node of a cluster answered its
 * gossip in maxDiscoverAttempts tries (Client/discovery.js): the cluster is down, electing, or out
 * of reach. A retry cures it, once the client is made anew (see isDiscoveryFailure).
 */
const DISCOVERY_FAILED = /Failed to discover after \d+ attempts/;

function normalise(error: unknown): unknown {
  return error instanceof Error ? convertToCommandError(error) : error;
}

export function isTransient(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const converted = normalise(error);
  if (converted instanceof Error && isCommandError(converted)) return TRANSIENT.has(converted.type) || isNotHandled(converted);
  const code = (converted as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return TRANSIENT_GRPC_CODES.has(code);
  return converted instanceof Error && (SOCKET_ERRORS.test(converted.message) || DISCOVERY_FAILED.test(converted.message));
}

/**
 * A failed cluster discovery, also as the cause of the port's error. The client keeps it: its
 * `capabilities` promise, which appends and persistent subscription calls await first, stays
 * rejected (Client/index.js: `execute` awaits the channel outside its try, so handleError, which
 * would forget it, never runs), and those calls fail at once from then on, also after the
 * cluster is back. Only a new client discovers again.
 */
export function isDiscoveryFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return DISCOVERY_FAILED.test(error.message) || (error instanceof StoreUnavailableError && isDiscoveryFailure(error.cause));
}

function isNotHandled(error: Error): boolean {
  return isCommandError(error) && error.type === ErrorType.UNKNOWN && NOT_HANDLED.test(error.message);
}

/**
 * Errors of a persistent subscription group that subscribing again does not cure:
 * the user may not consume the group (access denied, also for bad credentials).
 * The group's other errors are cured by subscribing again: a drop (the group was
 * updated, its subsystem restarted), a group deleted (it is created again), and
 * its maximum of consumers reached, which a rolling restart causes for a while
 * (the server still counts a replica that has just died).
 */
const GROUP_REFUSALS = new Set<string>([ErrorType.ACCESS_DENIED]);

/** gRPC PERMISSION_DENIED and UNAUTHENTICATED, as a raw ServiceError carries them. */
const REFUSED_GRPC_CODES = new Set([7, 16]);

export function isGroupRefusal(error: unknown): boolean {
  const converted = normalise(error);
  if (converted instanceof Error && isCommandError(converted)) return GROUP_REFUSALS.has(converted.type);
  const code = (converted as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && REFUSED_GRPC_CODES.has(code);
}

export interface ErrorContext {
  /** Where the server is, for messages (never with credentials). */
  endpoint: string;
  streamId?: string;
  expected?: ExpectedRevision;
}

/** The port's error for a client error: conflict, unavailable, or the error itself. */
export function translateError(error: unknown, context: ErrorContext): unknown {
  if (error instanceof StreamConflictError || error instanceof DuplicateEventError || error instanceof StoreUnavailableError) return error;
  const converted = normalise(error);
  if (converted instanceof WrongExpectedVersionError && context.streamId !== undefined && context.expected !== undefined) {
    return new StreamConflictError(context.streamId, context.expected, fromCurrentState(converted.actualState));
  }
  if (isTransient(converted)) return new StoreUnavailableError(unavailableReason(converted, context.endpoint), { cause: error });
  return converted;
}

/** A one-line reason for a person reading /health/ready or a 503. */
export function unavailableReason(error: unknown, endpoint: string): string {
  const converted = normalise(error);
  if (converted instanceof StoreUnavailableError) return converted.message;
  if (converted instanceof Error && isCommandError(converted) && converted.type === ErrorType.NOT_LEADER) {
    return `KurrentDB at ${endpoint}: the node is no longer the leader; the client is finding the new one`;
  }
  if (converted instanceof Error && isNotHandled(converted)) {
    return `KurrentDB at ${endpoint} did not take the write (${NOT_HANDLED.exec(converted.message)![0]}): a node starting, a leader election or an overload`;
  }
  const kind = converted instanceof Error && isCommandError(converted) ? converted.type : undefined;
  const message = converted instanceof Error ? converted.message : String(converted);
  // The native bridge's errors carry only their class name as a message.
  const detail = message && message !== converted?.constructor?.name ? message.replace(/\s*Resolution note:\s*$/, '') : kind ?? 'unavailable';
  return `KurrentDB at ${endpoint} cannot be reached: ${detail}`;
}

/**
 * The hosts of a connection string, for messages and logs: the scheme, user and
 * password and the query are left out, so a secret never reaches a response.
 *
 * The credentials are cut the way the client reads them (`user:password@`, the
 * password running to the first `@`), before the query: a password can hold `/`,
 * `?` or `:` (connect() refuses such a password, but names the hosts first), and
 * cutting at those first would show the part before them.
 */
export function describeEndpoint(connectionString: string): string {
  const afterScheme = connectionString.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const withoutCredentials = afterScheme.replace(/^[^:]+:[^@]+@/, '');
  return withoutCredentials.split(/[?/]/)[0];
}
