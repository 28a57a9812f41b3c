// WEBHOOK_ALLOWED_HOSTS is matched exactly against a webhook URL's host. An entry no
// URL's host can equal would silently allow nothing, so the setting is read strictly.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('WEBHOOK_ALLOWED_HOSTS', () => {
  it('takes names and addresses as a URL writes them', () => {
    expect(loadConfig({}).WEBHOOK_ALLOWED_HOSTS).toEqual([]);
    expect(loadConfig({ WEBHOOK_ALLOWED_HOSTS: ' Hooks.Internal , 10.0.0.5,::1,[fd00::1],localhost.' }).WEBHOOK_ALLOWED_HOSTS)
      .toEqual(['hooks.internal', '10.0.0.5', '::1', '[fd00::1]', 'localhost.']);
  });

  it.each([
    ['http://localhost/', /"http:\/\/localhost\/" is not a host as a URL names it: /],
    ['127.0.0.1:4300', /"127.0.0.1:4300" is not a host/],
    ['10.0.0.0/8', /"10.0.0.0\/8" is not a host as a URL names it: /],
    ['*.example.com', /"\*.example.com" is not a host/],
    ['127.1', /"127.1" is not a host as a URL names it \(a URL writes it 127.0.0.1\)/],
    ['0:0:0:0:0:0:0:1', /\(a URL writes it \[::1\]\)/],
    ['hooks.internal,ex ample', /"ex ample" is not a host/],
    ['user@hooks.internal', /"user@hooks.internal" is not a host as a URL names it: /],
    ['hooks.internal?x', /"hooks.internal\?x" is not a host as a URL names it: /],
  ])('refuses %s, naming it', (value, message) => {
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: value })).toThrow(/WEBHOOK_ALLOWED_HOSTS: /);
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: value })).toThrow(message);
  });
});
