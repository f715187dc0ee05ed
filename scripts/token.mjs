// Prints one bearer token for local use and nothing else on stdout.
// Usage: npm run --silent token -- [--scope read|write|admin]... [--sub NAME] [--ttl SECONDS]
// The secret comes from AUTH_JWT_SECRET, AUTH_JWT_SECRET_FILE, or the development file that
// `npm start` writes, so the token is accepted by every service that `npm start` started.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { SignJWT } from 'jose';

import { loadDevEnv } from './dev-env.mjs';

const SCOPES = ['read', 'write', 'admin'];

function fail(message) {
  process.stderr.write(`token: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      scope: { type: 'string', multiple: true, default: ['admin'] },
      sub: { type: 'string', default: 'local-operator' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  fail(error.message);
}

if (args.help) {
  process.stdout.write(
    [
      'Usage: npm run --silent token -- [--scope read|write|admin]... [--sub NAME] [--ttl SECONDS]',
      '  --scope  scope to grant; repeat it or join with commas (default admin)',
      '  --sub    subject of the token, shown in logs as the principal (default local-operator)',
      '  --ttl    lifetime in seconds, 1 to 2592000 (default 3600)',
      'The secret is AUTH_JWT_SECRET, AUTH_JWT_SECRET_FILE, or the development secret of npm start.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const scopes = args.scope.flatMap((value) => value.split(','));
const unknown = scopes.filter((scope) => !SCOPES.includes(scope));
if (unknown.length > 0) fail(`unknown scope ${unknown.join(', ')}; use ${SCOPES.join(', ')}`);
const ttl = Number(args.ttl);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > 30 * 24 * 3600) fail('--ttl must be whole seconds between 1 and 2592000');

const secret =
  process.env.AUTH_JWT_SECRET ??
  (process.env.AUTH_JWT_SECRET_FILE ? readFileSync(process.env.AUTH_JWT_SECRET_FILE, 'utf8').trim() : undefined) ??
  loadDevEnv().AUTH_JWT_SECRET;
const issuer = process.env.AUTH_JWT_ISSUER ?? 'castplane';

const token = await new SignJWT({ scope: scopes.join(' ') })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setIssuer(issuer)
  .setSubject(args.sub)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
  .sign(new TextEncoder().encode(secret));
process.stdout.write(`${token}\n`);
