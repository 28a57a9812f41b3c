// /explain as Markdown is pasted into articles: whatever a person typed into the
// record (a quote over several lines, a name, a scope item) must show as written,
// never become a heading, a list, a link or raw HTML. Checked by rendering it with
// a CommonMark parser that lets raw HTML through, as a careless pipeline would.
import { micromark } from 'micromark';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kirby, startTestService, writer, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

const quote = 'line one\n# Injected heading\n\n- not a list\n    not code\n> not nested\n1. not numbered\nline *three* and <b>bold</b>';
const record = (body: object) => service.app.inject({ method: 'POST', url: '/v1/statements', headers: writer, payload: { ...kirby, country: 'HR', ...body } });

beforeAll(async () => {
  const created = await record({
    stance: 'permits',
    effectiveAt: '2024-05-01',
    datePrecision: 'month',
    speaker: { name: 'Min <script>alert(1)</script>', role: 'a\n# role', attribution: 'official' },
    scope: { regions: ['[link](javascript:alert(1))'], excludedWeapons: ['HIMARS_*'] },
    sources: [{ publisher: 'Outlet', title: '![img](http://x/y.png)', publishedAt: '2024-05-02', quote }],
  });
  expect(created.statusCode, created.body).toBe(201);
});

it('sets a quote over several lines as one block quote, and every typed character as text', async () => {
  const response = await service.app.inject({ method: 'GET', url: '/v1/countries/HR/explain?at=2024-06-01', headers: { accept: 'text/markdown' } });
  expect(response.headers['content-type']).toMatch(/^text\/markdown/);
  const html = micromark(response.body, { allowDangerousHtml: true });
  // Nothing typed became structure: one quote block, for the deciding statement (the weapon it excludes points back to it),
  // and no heading, list item of the quote, code, link, image or HTML element.
  expect(html.match(/<blockquote>/g)).toHaveLength(1);
  expect(html).not.toMatch(/<h\d|<pre|<code|<a |<img|<script|<b>|<em>/);
  expect(html).toContain('<strong>HIMARS_*</strong> is prohibited');
  expect(html).not.toMatch(/<li>not a list|<ol|<blockquote>\s*<blockquote>/);
  // ... and every line of the quote is in the block quote, as written (HTML-escaped by the renderer), each a paragraph
  // of its own, as sources write them, its indentation kept.
  const block = html.slice(html.indexOf('<blockquote>'), html.indexOf('</blockquote>'));
  const lines = ['line one', '# Injected heading', '- not a list', '\u00a0\u00a0\u00a0\u00a0not code', '&gt; not nested', '1. not numbered', 'line *three* and &lt;b&gt;bold&lt;/b&gt;'];
  expect([...block.matchAll(/<p>([^<]*)<\/p>/g)].map((m) => m[1])).toEqual(lines);
  expect(html).toContain('Min &lt;script&gt;alert(1)&lt;/script&gt; (a # role)');
  expect(html).toContain('[link](javascript:alert(1))');
  expect(html).toContain('&quot;![img](http://x/y.png)&quot;');
  // A month date reads as a month.
  expect(html).toContain('effective May 2024:');
});

it('the plain text says the same, unescaped', async () => {
  const explained = (await service.app.inject({ method: 'GET', url: '/v1/countries/HR/explain?at=2024-06-01' })).json();
  expect(explained.text).toContain(`"${quote}"`);
  expect(explained.text).toContain('Min <script>alert(1)</script> (a\n# role)');
  expect(explained.text).toContain('in [link](javascript:alert(1)), not with HIMARS_*');
  expect(explained.text).toContain('effective May 2024:');
});

it('links a source title to its URL in Markdown, the URL intact whatever it holds, and gives the URL after the source in plain text', async () => {
  const url = 'https://example.com/news/a_(b)?q=1&amp;x=[y](javascript:alert(1))*`z`';
  const created = await record({
    country: 'SK', stance: 'prohibits', effectiveAt: '2024-05-01',
    sources: [{ publisher: 'Outlet', title: 'Bratislava [holds]', url, publishedAt: '2024-05-02', quote: 'No.' }],
  });
  expect(created.statusCode, created.body).toBe(201);
  const explained = (await service.app.inject('/v1/countries/SK/explain?at=2024-06-01')).json();
  const html = micromark(explained.markdown, { allowDangerousHtml: true });
  const links = [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)];
  expect(links).toHaveLength(1);
  const [, href, text] = links[0];
  expect(decodeURI(href.replaceAll('&amp;', '&'))).toBe(decodeURI(new URL(url).href));
  expect(text).toBe('Bratislava [holds]');
  expect(html).toContain('(Outlet, &quot;<a href=');
  expect(html).not.toMatch(/javascript:alert\(1\)"|<code/);
  expect(explained.text).toContain(`(Outlet, "Bratislava [holds]", 2 May 2024, ${new URL(url).href}).`);
});

it('serves the plain text alone to a client that prefers it, and JSON or Markdown as before otherwise', async () => {
  const ask = (accept: string) => service.app.inject({ method: 'GET', url: '/v1/countries/HR/explain?at=2024-06-01', headers: { accept } });
  const { text, markdown } = (await ask('application/json')).json();
  const plain = await ask('text/plain');
  expect(plain.statusCode).toBe(200);
  expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(plain.body).toBe(text);
  expect((await ask('text/markdown;q=0.5, text/plain')).body).toBe(text);
  expect((await ask('text/plain;q=0.5, text/markdown')).body).toBe(markdown);
  // A tie between the two texts is Markdown, and anything is JSON, as before plain text was offered.
  expect((await ask('text/*')).body).toBe(markdown);
  expect((await ask('*/*')).headers['content-type']).toMatch(/^application\/json/);
  // Three answers at one URL: a shared cache keeps them apart by Accept.
  for (const accept of ['application/json', 'text/markdown', 'text/plain']) expect((await ask(accept)).headers.vary).toBe('Accept');
});
