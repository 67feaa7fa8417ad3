// The official `openai` npm client against r1d's /v1 API: chat streaming and
// not, reasoning_content as DeepSeek returns it, usage, completions, models,
// embeddings, and error cases.
import assert from 'node:assert/strict';
import { npm, startDaemon, createModel, runChecks } from './harness.mjs';

const { OpenAI } = await import(npm.resolve('openai'));
const daemon = await startDaemon();
createModel(daemon, 'demo');
const client = new OpenAI({ baseURL: daemon.host + '/v1', apiKey: 'unused' });
const deepseek = new OpenAI({ baseURL: daemon.host, apiKey: 'unused' });  // DeepSeek's base URL has no /v1

await runChecks([
  ['models list', async () => {
    const page = await client.models.list();
    assert.ok(page.data.some((m) => m.id === 'demo:latest'));
  }],
  ['chat, not streaming, carries reasoning_content', async () => {
    const r = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.reasoning_content, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.ok('reasoning_tokens' in r.usage.completion_tokens_details);
  }],
  ['chat, streaming, DeepSeek delta contract and usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '', content = '', usage = null, finish = null, chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const d = choice.delta;
      assert.ok(!(d.reasoning_content && d.content), 'both reasoning_content and content in one chunk');
      // DeepSeek's own example: if (delta.reasoning_content) ... else content += delta.content
      if (d.reasoning_content) reasoning += d.reasoning_content;
      else if (d.content !== undefined) content += d.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.ok(chunks >= 3);
    assert.ok(finish);
    assert.ok(usage && usage.completion_tokens <= 8, JSON.stringify(usage));
    assert.equal(typeof reasoning + typeof content, 'stringstring');
  }],
  ['earlier reasoning_content sent back is accepted (deepseek-reasoner alias, no /v1)', async () => {
    const r = await deepseek.chat.completions.create({
      model: 'deepseek-reasoner', max_tokens: 4,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello', reasoning_content: 'they greet me' },
        { role: 'user', content: 'again' },
      ],
    });
    assert.equal(r.choices[0].message.role, 'assistant');
  }],
  ['thinking off through reasoning_effort none', async () => {
    const r = await client.chat.completions.create({
      model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, reasoning_effort: 'none',
    });
    assert.equal(r.choices[0].message.reasoning_content ?? '', '');
  }],
  ['legacy completions with token ids, echo and logprobs', async () => {
    const r = await client.completions.create({ model: 'demo', prompt: [1, 2, 3], max_tokens: 2, echo: true, logprobs: 1, temperature: 0 });
    const lp = r.choices[0].logprobs;
    assert.ok(lp.tokens.length >= 3, JSON.stringify(lp));
    assert.equal(lp.token_logprobs[0], null);
    assert.ok(lp.token_logprobs.slice(1).every((x) => x <= 0));
  }],
  ['completions streaming', async () => {
    let text = '', done = false;
    for await (const c of await client.completions.create({ model: 'demo', prompt: 'Once', max_tokens: 4, stream: true })) {
      if (c.choices[0]) text += c.choices[0].text;
      if (c.choices[0]?.finish_reason) done = true;
    }
    assert.ok(done);
    assert.equal(typeof text, 'string');
  }],
  ['embeddings', async () => {
    const r = await client.embeddings.create({ model: 'demo', input: ['x', 'y'] });
    assert.equal(r.data.length, 2);
    assert.ok(r.data[0].embedding.length > 0);
  }],
  ['unknown model is a 404 with an OpenAI error body', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 404 && /not found/.test(e.message));
  }],
  ['bad parameters are a 400', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'demo', temperature: 7, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 400 && /temperature/.test(e.message));
  }],
], async (failed) => {
  if (failed) console.log(daemon.log());
  await daemon.stop();
});
