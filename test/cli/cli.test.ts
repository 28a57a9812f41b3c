// The policy-state command line as a script sees it: spawned as a process,
// judged by its exit code, its stdout and its stderr.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort } from '../helpers/free-port.js';

const main = path.resolve(__dirname, '../../src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): { exited: Promise<Run>; kill: (signal: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { exited, kill: (signal) => child.kill(signal) };
}

const run = (args: string[], env?: Record<string, string>) => cli(args, env).exited;


describe('policy-state CLI', () => {
  it('--help lists every command and exits 0; each command has its own --help', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'seed', 'keys']) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));

    const keysHelp = await run(['keys', 'create', '--help']);
    expect(keysHelp.code).toBe(0);
    expect(keysHelp.stdout).toContain('--name <name>');
    expect(keysHelp.stdout).toContain('--role <role>');
    expect(keysHelp.stdout).toContain('"writer", "admin"');
  });

  it('keys create prints a new name:secret:role entry that API_KEYS accepts, a different secret each time', async () => {
    const first = await run(['keys', 'create', '--name', 'newsroom-bot', '--role', 'admin']);
    expect(first.code).toBe(0);
    const entry = first.stdout.trim();
    expect(entry).toMatch(/^newsroom-bot:[A-Za-z0-9_-]{32,}:admin$/);
    expect(loadConfig({ API_KEYS: entry }).API_KEYS).toEqual([{ name: 'newsroom-bot', secret: entry.split(':')[1], role: 'admin' }]);

    const second = await run(['keys', 'create', '--name', 'newsroom-bot']);
    expect(second.stdout.trim()).toMatch(/^newsroom-bot:[A-Za-z0-9_-]{32,}:writer$/);
    expect(second.stdout.split(':')[1]).not.toBe(entry.split(':')[1]);
  });

  it('usage errors exit 2 with a message on stderr and nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['seed', '--bogus'], /unknown option '--bogus'/],
      [['keys', 'create'], /required option '--name <name>' not specified/],
      [['keys', 'create', '--name', 'x', '--role', 'root'], /argument 'root' is invalid/],
      [['keys', 'create', '--name', 'a:b'], /--name <name>' must be/],
      [['replay', '--position', '2x'], /argument '2x' is invalid\. A log position is a whole number/],
      [['replay', '--position', '3', '--today', '2024-02-30'], /argument '2024-02-30' is invalid\. A day is YYYY-MM-DD/],
      [['replay', '--today', '2024-06-01'], /'--today <day>' needs '--position <n>'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args)));
    runs.forEach((result, i) => {
      expect(result.code, cases[i][0].join(' ')).toBe(2);
      expect(result.stderr).toMatch(cases[i][1]);
      expect(result.stdout).toBe('');
    });
  });

  it('reads the same configuration as the server: a bad value exits 78 naming the variable', async () => {
    const { dir, cleanup } = tempDir();
    const result = await run(['seed'], { DATA_DIR: dir, EVENT_STORE: 'mongodb' });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/EVENT_STORE:/);
    cleanup();
  });

  it('seed loads the dataset into DATA_DIR once; a second run appends nothing; a missing file exits 1', async () => {
    const { dir, cleanup } = tempDir();
    const first = await run(['seed'], { DATA_DIR: dir });
    expect(first.code).toBe(0);
    const appended = Number(/seed: (\d+) events appended, 0 already in the log/.exec(first.stdout)?.[1]);
    expect(appended).toBeGreaterThan(20);

    const second = await run(['seed'], { DATA_DIR: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`seed: 0 events appended, ${appended} already in the log`);

    const missing = await run(['seed', '--file', path.join(dir, 'no-such-file.json')], { DATA_DIR: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^policy-state: .*no-such-file\.json/m);
    cleanup();
  });

  it('replay and export need an event store: with none in DATA_DIR they exit 1 naming the path, and create nothing', async () => {
    const { dir, cleanup } = tempDir();
    const missing = path.join(dir, 'does-not-exist');
    const out = path.join(dir, 'log.jsonl');
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const runs = await Promise.all([
      run(['replay'], { DATA_DIR: missing }),
      run(['replay', '--position', '0'], { DATA_DIR: missing }),
      run(['export', '--out', out], { DATA_DIR: missing }),
      run(['replay'], { DATA_DIR: empty }),
    ]);
    for (const [i, result] of runs.entries()) {
      expect(result.code, String(i)).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^policy-state: no event store at .*\/events\.db/m);
    }
    expect(runs[0].stderr).toContain(path.join(missing, 'events.db'));
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
    cleanup();
  });

  it('export to stdout stops quietly with exit 0 when its reader closes the pipe, as `| head` does', async () => {
    const { dir, cleanup } = tempDir();
    expect((await run(['seed'], { DATA_DIR: dir })).code).toBe(0);
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'export', '--out', '-'], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the first line: the export's first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
    cleanup();
  });

  it('serve runs the service on HOST:PORT with the page and the API, and stops with exit 0 on SIGTERM', async () => {
    const { dir, cleanup } = tempDir();
    const port = await freePort();
    const server = cli(['serve'], { DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const countries = (await (await fetch(`${base}/v1/countries`)).json()) as { countries: unknown[] };
    expect(countries.countries.length).toBeGreaterThan(0);

    server.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    cleanup();
  });
});
