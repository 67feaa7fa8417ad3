// The official `ollama` npm client against r1d: chat and generate, streaming
// and not, thinking on and off, list/show/pull/delete, and error cases.
import assert from 'node:assert/strict';
import { npm, startDaemon, createModel, startRegistry, run, runChecks } from './harness.mjs';

const { Ollama } = await import(npm.resolve('ollama'));
const daemon = await startDaemon();
createModel(daemon, 'demo');
const ollama = new Ollama({ host: daemon.host });
const opts = { num_predict: 8, seed: 42 };

await runChecks([
  ['list shows the model with details', async () => {
    const { models } = await ollama.list();
    const m = models.find((x) => x.name === 'demo:latest');
    assert.ok(m, JSON.stringify(models));
    assert.equal(m.details.format, 'gguf');
    assert.equal(m.details.family, 'qwen2');
    assert.ok(m.size > 0);
  }],
  ['show returns modelfile, parameters, template, capabilities', async () => {
    const s = await ollama.show({ model: 'demo' });
    assert.match(s.modelfile, /FROM /);
    assert.match(s.parameters, /temperature/);
    assert.ok(s.template.length > 0);
    assert.ok(s.capabilities.includes('completion'));
    assert.ok(s.model_info['general.architecture'] === 'qwen2');
  }],
  ['generate, not streaming', async () => {
    const r = await ollama.generate({ model: 'demo', prompt: 'Hello', options: opts, think: false });
    assert.equal(r.done, true);
    assert.equal(typeof r.response, 'string');
    assert.ok(r.eval_count <= 8);
    assert.ok(r.total_duration > 0);
    assert.ok(['stop', 'length'].includes(r.done_reason));
  }],
  ['generate, streaming', async () => {
    let parts = 0;
    let last;
    for await (const part of await ollama.generate({ model: 'demo', prompt: 'Hello', options: opts, stream: true })) {
      parts++;
      last = part;
    }
    assert.ok(parts >= 1);
    assert.equal(last.done, true);
  }],
  ['chat with thinking on separates thinking from content', async () => {
    const r = await ollama.chat({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], think: true, options: opts });
    assert.equal(r.message.role, 'assistant');
    assert.equal(typeof r.message.content, 'string');
    // Random weights rarely close </think>: what was generated is reasoning.
    assert.ok((r.message.thinking ?? '').length + r.message.content.length > 0 || r.eval_count === 0);
  }],
  ['chat with thinking off has no thinking field', async () => {
    let thinking = '';
    for await (const part of await ollama.chat({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], think: false, options: opts, stream: true })) {
      thinking += part.message.thinking ?? '';
    }
    assert.equal(thinking, '');
  }],
  ['ps lists the loaded model', async () => {
    const { models } = await ollama.ps();
    assert.ok(models.some((m) => m.name === 'demo:latest'), JSON.stringify(models));
  }],
  ['embed returns a normalized vector', async () => {
    const r = await ollama.embed({ model: 'demo', input: ['a', 'b'] });
    assert.equal(r.embeddings.length, 2);
    const norm = Math.sqrt(r.embeddings[0].reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
  }],
  ['unknown model is a 404 error', async () => {
    await assert.rejects(ollama.chat({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status_code === 404 && /not found/.test(e.message));
  }],
  ['bad options are a 400 error', async () => {
    await assert.rejects(ollama.generate({ model: 'demo', prompt: 'x', options: { top_k: 'many' } }),
      (e) => e.status_code === 400 && /top_k/.test(e.message));
  }],
  ['copy, push, delete and pull through a registry', async () => {
    const reg = await startRegistry();
    try {
      const remote = `${reg.host}/clients/demo:v1`;
      await ollama.copy({ source: 'demo', destination: remote });
      run(['r1', 'push', remote], daemon.env);
      await ollama.delete({ model: remote });
      assert.ok(!(await ollama.list()).models.some((m) => m.name === remote));
      const statuses = [];
      for await (const p of await ollama.pull({ model: remote, insecure: true, stream: true })) statuses.push(p.status);
      assert.equal(statuses.at(-1), 'success');
      assert.ok(statuses.includes('pulling manifest'), statuses.join(','));
      assert.ok((await ollama.list()).models.some((m) => m.name === remote));
      const r = await ollama.pull({ model: remote, insecure: true });
      assert.equal(r.status, 'success');
    } finally {
      await reg.stop();
    }
  }],
  ['delete removes the model', async () => {
    await ollama.delete({ model: 'demo' });
    await assert.rejects(ollama.show({ model: 'demo' }), (e) => e.status_code === 404);
  }],
], async (failed) => {
  if (failed) console.log(daemon.log());
  await daemon.stop();
});
