// A real OpenID provider for menshen's OIDC tests: the npm package `oidc-provider` on a
// loopback port, with one static confidential client and a few test users that carry groups.
//
// Usage:
//   node provider.mjs [--alg RS256|ES256] [--redirect-uri URL] [--post-logout-uri URL]
//                     [--refresh-tokens always|offline]
//
// --refresh-tokens: `always` (the default) issues a refresh token to every login, bound to the
// provider's session, as Keycloak does; `offline` keeps oidc-provider's own rule, as Okta and
// Entra ID have theirs: a refresh token only for the `offline_access` scope, which
// oidc-provider grants only when the request also says `prompt=consent` (OpenID Connect
// Core 1.0 §11).
//
// On start it prints one JSON line to stdout: {"issuer": "...", "port": N, "alg": "..."}.
// Afterwards it reads commands from stdin, one per line, and answers each with one JSON line:
//   disable <login>   the account stops existing for the provider (refresh then fails)
//   enable <login>    undo `disable`
// It exits when stdin closes, so a test that dies cannot leave it running.
//
// Login is oidc-provider's built-in development interaction ("devInteractions"): the login
// form at /interaction/<uid> takes `prompt=login&login=<user>&password=<anything>` (the
// password is NOT checked; an unknown login fails at findAccount), and the consent form takes
// `prompt=consent`. That is enough to drive a real authorization code flow from httpx.

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

// stdout carries only this script's JSON lines; oidc-provider's notices go to stderr.
for (const level of ['log', 'info', 'warn', 'debug']) console[level] = console.error;

const { values: args } = parseArgs({
  options: {
    alg: { type: 'string', default: 'RS256' },
    'redirect-uri': { type: 'string', default: 'http://127.0.0.1:9/callback' },
    'post-logout-uri': { type: 'string', default: 'http://127.0.0.1:9/signed-out' },
    'refresh-tokens': { type: 'string', default: 'always' },
  },
});

const CLIENT_ID = 'menshen';
const CLIENT_SECRET = 'menshen-test-client-secret';

const USERS = {
  alice: {
    email: 'alice@example.test', name: 'Alice Chen', groups: ['finance-ops', 'staff'],
  },
  bob: {
    email: 'bob@contractor.test', name: 'Bob Lin', groups: ['contractors'],
  },
  carol: {
    email: 'carol@example.test', name: 'Carol Wu', groups: ['staff'],
  },
};
const disabled = new Set();

function signingKey(alg) {
  if (alg === 'RS256') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  }
  if (alg === 'ES256') {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return { ...privateKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  }
  throw new Error(`unsupported --alg ${alg}`);
}

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [args['redirect-uri']],
    post_logout_redirect_uris: [args['post-logout-uri']],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: args.alg,
  }],
  jwks: { keys: [signingKey(args.alg)] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Put scope-requested claims (groups, email) in the ID token, as Entra ID and Okta do.
  conformIdTokenClaims: false,
  // PKCE with S256 only, for every client.
  pkce: { required: () => true },
  // `always`: a refresh token whenever the client may use one (no offline_access dance).
  ...(args['refresh-tokens'] === 'always'
    ? { issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token') }
    : {}),
  async findAccount(_ctx, sub) {
    const user = USERS[sub];
    if (!user || disabled.has(sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: user.email, email_verified: true, name: user.name, groups: user.groups };
      },
    };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});
// Silence the development-only warnings and the per-request error logging.
provider.on('server_error', () => {});

server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer, port, alg: args.alg, refreshTokens: args['refresh-tokens'] })}\n`);

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const [verb, login] = line.trim().split(/\s+/);
  if (verb === 'disable' && login) disabled.add(login);
  else if (verb === 'enable' && login) disabled.delete(login);
  else {
    process.stdout.write(`${JSON.stringify({ ok: false, error: `unknown command: ${line}` })}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
});
commands.on('close', () => { server.close(); process.exit(0); });
