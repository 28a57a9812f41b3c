// How webhook hosts are resolved: by DNS queries off libuv's thread pool, so a
// receiver whose DNS server never answers holds up no one else; a host
// WEBHOOK_ALLOWED_HOSTS lists is looked up by the operating system. A real DNS
// server on 127.0.0.1 (UDP, answers built with dns-packet) stands in for the
// receivers' DNS.
import { pbkdf2 } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy, dnsQueries, systemResolver } from '../../src/webhooks/address-safety.js';

const A_RECORDS: Record<string, string> = { 'hooks.public.test': '93.184.216.34', 'intranet.test': '10.0.0.5' };
const SILENT = /^silent\d*\.test$/;

let server: Socket;
let dnsServer: string;
const asked: string[] = [];

beforeAll(async () => {
  server = createSocket('udp4');
  server.on('message', (message, from) => {
    const query = dnsPacket.decode(message);
    const question = query.questions![0];
    asked.push(`${question.type} ${question.name}`);
    if (SILENT.test(question.name)) return; // a DNS server that never answers
    const address = A_RECORDS[question.name];
    const answers = question.type === 'A' && address ? [{ type: 'A' as const, name: question.name, ttl: 60, data: address }] : [];
    // NOERROR with no answer for a name we know (no AAAA record), NXDOMAIN (rcode 3) for one we do not.
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (address ? 0 : 3);
    server.send(dnsPacket.encode({ type: 'response', id: query.id, flags, questions: query.questions, answers }), from.port, from.address);
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  dnsServer = `127.0.0.1:${server.address().port}`;
});
afterAll(() => server.close());

describe('resolving a webhook host', () => {
  it('asks DNS for its A and AAAA records, and the addresses are checked as ever', async () => {
    const policy = new AddressPolicy([], dnsQueries({ servers: [dnsServer] }));
    await expect(policy.vet('hooks.public.test')).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(asked).toEqual(expect.arrayContaining(['A hooks.public.test', 'AAAA hooks.public.test']));
    await expect(policy.vet('intranet.test')).rejects.toThrow(/resolves to 10\.0\.0\.5, a private address/);
    await expect(policy.vet('nowhere.test')).rejects.toThrow(/does not resolve \(ENOTFOUND\)/);
  });

  it('a DNS server that never answers is given up on, and meanwhile the thread pool stays free for everyone else', async () => {
    const policy = new AddressPolicy([], dnsQueries({ servers: [dnsServer], timeoutMs: 2_000, tries: 1 }));
    let givenUp = 0;
    // More hanging lookups than libuv has threads (4): getaddrinfo would hold every one of them.
    const hanging = Array.from({ length: 8 }, (_, i) =>
      policy.vet(`silent${i}.test`).then(
        () => 'resolved',
        (error: Error) => {
          givenUp += 1;
          return error.message;
        },
      ),
    );
    // Work that needs the thread pool (as file reads and the OS's lookups do) is not queued behind them: it is
    // done before any of them is given up on. (Held behind them, it would wait for their timeout; compared by
    // order rather than by a wall-clock budget, which a busy machine can overrun.)
    await promisify(pbkdf2)('secret', 'salt', 1, 32, 'sha256');
    expect(givenUp).toBe(0);
    for (const outcome of await Promise.all(hanging)) expect(outcome).toMatch(/does not resolve \(ETIMEOUT\)/);
  });

  it('a host WEBHOOK_ALLOWED_HOSTS lists is looked up by the operating system (the hosts file); any other by DNS', async () => {
    const resolve = systemResolver(new Set(['localhost']), dnsQueries({ servers: [dnsServer] }));
    // Our DNS server knows no "localhost": the answer came from the operating system.
    expect((await resolve('localhost')).map((a) => a.address)).toContain('127.0.0.1');
    expect(asked).not.toContain('A localhost');
    await expect(resolve('hooks.public.test')).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
  });
});
