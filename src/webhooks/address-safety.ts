// Keeps webhooks from reaching inside the network (SSRF). A host is resolved
// once, every address it resolves to is checked, and the connection is made to
// those checked addresses (the undici lookup below hands them to the socket),
// so a DNS answer that changes between the check and the connect (rebinding)
// cannot slip through. Hosts in WEBHOOK_ALLOWED_HOSTS skip the range check.
import ipaddr from 'ipaddr.js';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { Resolver as DnsResolver, lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The operating system's lookup (getaddrinfo: the hosts file, nsswitch), run on libuv's thread pool. */
export const osLookup: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** Codes that say a name has no address of that family, rather than that DNS failed to answer. */
const NO_SUCH_RECORD = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * A and AAAA queries sent by c-ares, the servers of /etc/resolv.conf unless `servers` says, each
 * query given up after `timeoutMs` and `tries`. Nothing of it runs on libuv's thread pool.
 */
export function dnsQueries(options: { timeoutMs?: number; tries?: number; servers?: string[] } = {}): Resolver {
  // About 3 s a silent name server (c-ares doubles the timeout on its second try): an attempt has
  // 15 s in all, and an endpoint's creation waits on it.
  const dns = new DnsResolver({ timeout: options.timeoutMs ?? 1_000, tries: options.tries ?? 2 });
  if (options.servers) dns.setServers(options.servers);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([dns.resolve4(hostname), dns.resolve6(hostname)]);
    const addresses: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (addresses.length > 0) return addresses;
    // Neither family answered: say why, a failure to answer (ETIMEOUT) before "no such name".
    const errors = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    throw errors.find((e) => !NO_SUCH_RECORD.has(e.code ?? '')) ?? errors[0] ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENODATA' });
  };
}

/**
 * How webhook hosts are resolved unless a test says otherwise. A host WEBHOOK_ALLOWED_HOSTS lists is
 * looked up as any program would (it may be a hosts-file or compose service name). Every other name
 * is asked of DNS directly: getaddrinfo holds one of libuv's four threads for as long as a DNS
 * server fails to answer, so a few receivers whose DNS is down would stall every other endpoint's
 * lookups, and the file reads of the whole process, for a deadline or more.
 */
export function systemResolver(allowed: ReadonlySet<string>, queries: Resolver = dnsQueries()): Resolver {
  return (hostname) => (allowed.has(bareHost(hostname)) ? osLookup(hostname) : queries(hostname));
}

/** Cloud metadata services outside the link-local range (AWS IPv6, Alibaba, Oracle). */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200', '192.0.0.192']);

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private address',
  linkLocal: 'a link-local address (cloud metadata lives there)',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
};

/** Why an address may not be called, or undefined when it is a public unicast address. */
export function refusalOf(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'is not an IP address';
  const ip = ipaddr.process(address); // IPv4-mapped IPv6 becomes the IPv4 it maps
  const normalised = ip.toString();
  if (METADATA_ADDRESSES.has(normalised) || normalised === '169.254.169.254') return 'a cloud metadata address';
  const range = ip.range();
  // ::/96 other than :: and ::1: IPv4-compatible IPv6 (RFC 4291, deprecated), which ipaddr.js calls unicast.
  // Never a public host; where a stack still maps it to IPv4, ::127.0.0.1 is loopback and ::10.0.0.1 private.
  if (range === 'unicast' && ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) {
    return 'an IPv4-compatible IPv6 address (::/96, deprecated)';
  }
  if (range === 'unicast') return undefined;
  return RANGE_NAMES[range] ?? `a reserved address (${range})`;
}

export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
  constructor(
    readonly host: string,
    message: string,
    /** DNS gave no answer (a timeout, a server failure): says nothing of the host, and may pass. */
    readonly dnsTrouble = false,
  ) {
    super(message);
  }
}

/** Codes of a lookup that failed for want of an answer, not because the name has no address. */
const DNS_TROUBLE = new Set(['ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'EREFUSED', 'EAI_AGAIN', 'ETIMEDOUT']);

export function hostOf(url: string): string {
  return bareHost(new URL(url).hostname);
}

/** A host as the allow-list compares it: lower case, an IPv6 address without its brackets. */
export const bareHost = (host: string): string => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

export class AddressPolicy {
  private readonly allowed: Set<string>;
  private readonly resolve: Resolver;

  constructor(allowedHosts: readonly string[], resolve?: Resolver) {
    this.allowed = new Set(allowedHosts.map(bareHost));
    this.resolve = resolve ?? systemResolver(this.allowed);
  }

  /** Resolves the host once and checks every address; the addresses returned are the ones to connect to. */
  async vet(hostname: string): Promise<ResolvedAddress[]> {
    const host = bareHost(hostname);
    const literal = isIP(host);
    let addresses: ResolvedAddress[];
    if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
    else {
      try {
        addresses = await this.resolve(host);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new RefusedAddressError(host, `host "${host}" does not resolve (${code ?? 'lookup failed'})`, DNS_TROUBLE.has(code ?? ''));
      }
    }
    if (addresses.length === 0) throw new RefusedAddressError(host, `host "${host}" does not resolve to any address`);
    if (this.allowed.has(host)) return addresses;
    for (const { address } of addresses) {
      const why = refusalOf(address);
      if (why) {
        throw new RefusedAddressError(host, `host "${host}" resolves to ${address}, ${why}; list the host in WEBHOOK_ALLOWED_HOSTS to allow it`);
      }
    }
    return addresses;
  }

  /** A `lookup` for net/tls.connect (undici's `connect` options) that only ever yields vetted addresses. */
  readonly lookup = (
    hostname: string,
    options: LookupOneOptions | LookupAllOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.vet(hostname).then(
      (addresses) => {
        if ((options as LookupAllOptions).all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: Error) => callback(Object.assign(error, { code: 'EADDRREFUSED' }), ''),
    );
  };
}
