// The official `openai` npm client against r1d with API keys, rate limits and
// TLS: a wrong key, an inference key on an admin route, expired and revoked
// keys, 429 with Retry-After, and HTTPS with a CA made here by the openssl CLI.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { npm, binDir, startDaemon, createModel, freePort, run, runChecks } from './harness.mjs';

const { OpenAI } = await import(npm.resolve('openai'));
const daemon = await startDaemon();
const keyOf = (args, env = {}) => run(['r1', 'keys', 'create', ...args], { ...daemon.env, ...env }).trim();
const admin = keyOf(['--scope', 'admin', '--name', 'node-admin']);
daemon.env.R1_API_KEY = admin;
createModel(daemon, 'demo');
const user = keyOf(['--name', 'node-user']);
const openai = (apiKey, extra = {}) => new OpenAI({ baseURL: daemon.host + '/v1', apiKey, maxRetries: 0, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let tlsDaemon = null;

// Writes a CA and a server certificate for 127.0.0.1 into `dir`.
function makePki(dir) {
  const ssl = (args) => {
    const r = spawnSync('/usr/bin/openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.pem'),
    '-days', '2', '-subj', '/CN=r1 node test CA']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'server.key'), '-out', path.join(dir, 'server.csr'),
    '-subj', '/CN=localhost']);
  ssl(['x509', '-req', '-in', path.join(dir, 'server.csr'), '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'),
    '-CAcreateserial', '-out', path.join(dir, 'server.pem'), '-days', '2', '-extfile', path.join(dir, 'san.cnf')]);
}

// Runs a small script in a fresh node whose trusted CAs may include `ca` (NODE_EXTRA_CA_CERTS is read at start).
function inFreshNode(code, ca) {
  const env = { ...process.env };
  if (ca) env.NODE_EXTRA_CA_CERTS = ca;
  else delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env, timeout: 60000 });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}

await runChecks([
  ['a wrong key is an AuthenticationError (401)', async () => {
    await assert.rejects(openai('r1_0123456789abcdef_' + '0'.repeat(64)).models.list(), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
      assert.equal(e.status, 401);
      assert.equal(e.error?.type, 'authentication_error');
      return true;
    });
    await assert.rejects(openai('not-a-key').models.list(), OpenAI.AuthenticationError);
  }],
  ['an inference key lists models and chats', async () => {
    const page = await openai(user).models.list();
    assert.ok(page.data.some((m) => m.id === 'demo:latest'));
    const r = await openai(user).chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    assert.equal(r.choices[0].message.role, 'assistant');
  }],
  ['an inference key on admin routes is a PermissionDeniedError (403)', async () => {
    const root = new OpenAI({ baseURL: daemon.host, apiKey: user, maxRetries: 0 });
    await assert.rejects(root.get('/api/keys'), (e) => e instanceof OpenAI.PermissionDeniedError && e.status === 403);
    await assert.rejects(root.post('/api/pull', { body: { model: 'x' } }), OpenAI.PermissionDeniedError);
    const adminRoot = new OpenAI({ baseURL: daemon.host, apiKey: admin, maxRetries: 0 });
    const list = await adminRoot.get('/api/keys');
    assert.ok(list.keys.some((k) => k.name === 'node-user' && k.scope === 'inference' && k.status === 'active'));
  }],
  ['an expired key is refused', async () => {
    const brief = keyOf(['--expires', '3s']);  // expiry has whole-second resolution
    await openai(brief).models.list();
    await sleep(3100);
    await assert.rejects(openai(brief).models.list(), (e) => e instanceof OpenAI.AuthenticationError && /expired/.test(e.message));
  }],
  ['a revoked key is refused', async () => {
    const gone = keyOf(['--name', 'to-revoke']);
    await openai(gone).models.list();
    run(['r1', 'keys', 'revoke', gone.slice(3, 19)], daemon.env);
    await assert.rejects(openai(gone).models.list(), (e) => e instanceof OpenAI.AuthenticationError && /revoked/.test(e.message));
  }],
  ['a key over its rate limit gets a RateLimitError (429) with Retry-After', async () => {
    const slow = keyOf(['--rate-limit', '2']);
    await openai(slow).models.list();
    await openai(slow).models.list();
    await assert.rejects(openai(slow).models.list(), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, String(e));
      assert.equal(e.status, 429);
      const retry = Number(e.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 30, `retry-after ${retry}`);
      return true;
    });
  }],
  ['HTTPS with a CA made by openssl: trusted with the CA, refused without', async () => {
    makePki(daemon.dir);
    const port = await freePort();
    const out = openSync(path.join(daemon.dir, 'r1d-tls.log'), 'w');
    // Its own key store (the default, next to the models directory, is the first daemon's): no keys, auth off.
    tlsDaemon = spawn(path.join(binDir, 'r1d'), ['--host', `127.0.0.1:${port}`, '--models', path.join(daemon.dir, 'models-tls'),
      '--keys-file', path.join(daemon.dir, 'tls-keys.json'),
      '--tls.cert', path.join(daemon.dir, 'server.pem'), '--tls.key', path.join(daemon.dir, 'server.key')],
    { stdio: ['ignore', out, out] });
    for (let i = 0; i < 200 && !readFileSync(path.join(daemon.dir, 'r1d-tls.log'), 'utf8').includes('r1d listening on'); i++) await sleep(50);
    const code = `const { OpenAI } = await import(${JSON.stringify(npm.resolve('openai'))});
      const c = new OpenAI({ baseURL: 'https://127.0.0.1:${port}/v1', apiKey: 'none', maxRetries: 0 });
      try { const p = await c.models.list(); console.log(JSON.stringify({ ok: true, n: p.data.length })); }
      catch (e) { console.log(JSON.stringify({ ok: false, name: e.constructor.name })); }`;
    const trusted = inFreshNode(code, path.join(daemon.dir, 'ca.pem'));
    assert.equal(trusted.status, 0, trusted.err);
    assert.deepEqual(JSON.parse(trusted.out), { ok: true, n: 0 });
    const untrusted = inFreshNode(code, null);
    assert.equal(JSON.parse(untrusted.out).name, 'APIConnectionError', untrusted.out + untrusted.err);
  }],
], async (failed) => {
  if (tlsDaemon) {
    tlsDaemon.kill('SIGTERM');
    await new Promise((r) => tlsDaemon.once('exit', r));
  }
  if (failed) console.log(daemon.log());
  await daemon.stop();
});
