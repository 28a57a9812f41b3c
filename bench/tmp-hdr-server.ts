import Fastify from 'fastify';
const app = Fastify({ logger: false });
const b = Buffer.from(JSON.stringify({ hello: 'x'.repeat(5100) }));
const extra: Record<string, string> = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  etag: '"18"',
  'x-request-id': '676d0063-4d61-432b-b842-ad4b3a5c0958',
};
const keys = Object.keys(extra);
app.get('/h/:n', async (q, reply) => {
  const n = Number((q.params as { n: string }).n);
  for (let i = 0; i < n; i++) reply.header(keys[i], extra[keys[i]]);
  return reply.type('application/json; charset=utf-8').send(b);
});
await app.listen({ port: 45992, host: '127.0.0.1' });
process.send?.('ready');
