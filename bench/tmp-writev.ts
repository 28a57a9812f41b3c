import Fastify from 'fastify';
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
const app = Fastify({ logger: false });
const s = JSON.stringify({ hello: 'x'.repeat(5100) });
const b = Buffer.from(s);
app.get('/s', async (_q, reply) => reply.type('application/json').send(s));
app.get('/b', async (_q, reply) => reply.type('application/json').send(b));
await app.listen({ port: 45991, host: '127.0.0.1' });
const cpu = () => { const f = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; };
for (const p of ['/s', '/b', '/s', '/b']) {
  const c0 = cpu();
  const r = await autocannon({ url: 'http://127.0.0.1:45991' + p, connections: 10, duration: 5 });
  console.log(p, r.requests.average, ((cpu() - c0) / r.requests.total).toFixed(1), 'us/req (both sides, same process)');
}
await app.close();
