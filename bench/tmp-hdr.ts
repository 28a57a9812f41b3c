import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
const child = fork('bench/tmp-hdr-server.ts', [], { execArgv: ['--import', 'tsx'] });
await new Promise((r) => child.once('message', r));
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; };
for (const n of [0, 6, 0, 6, 3, 5]) {
  const s0 = cpu(child.pid!); const c0 = process.cpuUsage();
  const r = await autocannon({ url: 'http://127.0.0.1:45992/h/' + n, connections: 10, duration: 5 });
  const c = process.cpuUsage(c0);
  console.log(n, 'headers', Math.round(r.requests.average), 'req/s server', ((cpu(child.pid!) - s0) / r.requests.total).toFixed(1), 'client', ((c.user + c.system) / r.requests.total).toFixed(1));
}
child.kill();
