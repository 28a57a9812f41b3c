// `policy-state keys create`: a new API key in the `name:secret:role` form
// that API_KEYS takes. The service keeps no key store of its own: the operator
// adds the printed entry to API_KEYS and restarts, so the secret is shown once
// and lives only where the operator puts it.
import { Option, type Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { ApiKey } from '../config.js';

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `name:secret:role`; the secret is 32 random bytes in base64url, so it never holds a `:` or `,`. */
export function newApiKey(name: string, role: ApiKey['role']): string {
  return `${name}:ps_${role}_${randomBytes(32).toString('base64url')}:${role}`;
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys for writers and admins');

  keys
    .command('create')
    .description('print a new key as name:secret:role, ready to append to API_KEYS (comma-separated); it is shown only once')
    .requiredOption('--name <name>', 'who or what the key is for, as it will appear in the logs (letters, digits, . _ -)')
    .addOption(new Option('--role <role>', 'writer records statements; admin also manages webhooks and runs audits').choices(['writer', 'admin']).default('writer'))
    .action((options: { name: string; role: ApiKey['role'] }, command: Command) => {
      if (!KEY_NAME.test(options.name)) command.error(`error: option '--name <name>' must be 1 to 64 letters, digits, '.', '_' or '-'`);
      process.stdout.write(`${newApiKey(options.name, options.role)}\n`);
      if (process.stdout.isTTY) process.stderr.write('Append this to API_KEYS (comma-separated) and restart the service. It is not stored anywhere else.\n');
    });
}
