// Reading KURRENTDB_URL into a client, refusing what the client would misread. A setting
// it cannot use stops the start as any bad setting does (a ConfigError: stderr, exit 78),
// with a message that names the hosts only: the client's own errors carry the whole
// string, password included (the native core's as its message, the parser's in a
// `connectionString` property that a logger would print).
import { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { ConfigError } from '../../config.js';

/*
 * Credentials in a connection string. The client reads them twice, and differently:
 * - its own parser (Client/parseConnectionString.js: appends, subscriptions, persistent
 *   subscriptions) takes `user:password` up to the first "@", splits it on ":" and keeps what
 *   comes before a second one, and percent-decodes both;
 * - its native core (reads, and so /health/ready) takes them as its URL parser keeps them and
 *   sends that: any character but letters, digits and the ones below percent-encoded, and a
 *   percent-encoded one left so, never decoded (seen on the wire: "a:b" and "a%3Ab" both go
 *   out as "a%3Ab", "a=b" as "a%3Db").
 * Only credentials of those characters reach the server the same way from both.
 */
const PLAIN_CHARACTERS = "!$&'()*+,-._~";
const PLAIN_CREDENTIALS = /^[\w!$&'()*+,.~-]*(:[\w!$&'()*+,.~-]*)?$/;

/** The credentials and hosts as the native core cuts them: the authority ends at the first "/", "?" or "#", the credentials at its last "@". */
function credentialsOf(connectionString: string): { userinfo: string; hosts: string } | undefined {
  const authority = connectionString.trim().replace(/^[^:]*:\/\//, '').split(/[/?#]/)[0];
  const at = authority.lastIndexOf('@');
  return at < 0 ? undefined : { userinfo: authority.slice(0, at), hosts: authority.slice(at + 1) };
}

/** A client for `connectionString`, or a ConfigError naming `endpoint` (its hosts) and what is wrong. */
export function clientFor(connectionString: string, endpoint: string): KurrentDBClient {
  const credentials = credentialsOf(connectionString);
  if (credentials && !PLAIN_CREDENTIALS.test(credentials.userinfo)) {
    throw new ConfigError(
      `KURRENTDB_URL for KurrentDB at ${credentials.hosts} has a user name or password with a character other than letters, digits and ${PLAIN_CHARACTERS}. ` +
        'The client reads them twice, differently: for writes and subscriptions percent-decoded, the password cut at a second ":"; ' +
        'for reads as given, with such characters percent-encoded. One of the two would be refused as unauthenticated, ' +
        'so percent-encoding does not help: give the service a password of those characters only',
    );
  }
  try {
    return KurrentDBClient.connectionString(connectionString);
  } catch (error) {
    const expected = typeof (error as { expected?: unknown }).expected === 'string' ? `: expected ${(error as { expected: string }).expected}` : '';
    // A ConfigError: the start stops as for any bad setting, on stderr with exit 78 (src/main.ts).
    throw new ConfigError(
      `KURRENTDB_URL for KurrentDB at ${endpoint} is not a connection string the client accepts${expected}. ` +
        `The form is kurrentdb://[user:password@]host:port[,host:port...][?key=value&...], with a user name and password of letters, digits and ${PLAIN_CHARACTERS} only`,
    );
  }
}

