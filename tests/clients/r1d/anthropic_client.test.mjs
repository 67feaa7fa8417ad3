// The official `@anthropic-ai/sdk` client against r1d's /v1/messages: messages, streaming,
// thinking with a budget, forced tool use (arguments validated with ajv) and the tool_result
// round trip, count_tokens, and Anthropic-shaped errors.
import assert from 'node:assert/strict';
import { npm, startDaemon, runChecks } from './harness.mjs';
import { createModelWith } from './tools_helpers.mjs';

const Anthropic = (await import(npm.resolve('@anthropic-ai/sdk'))).default;
const Ajv = (await import(npm.resolve('ajv'))).default;
const daemon = await startDaemon();
createModelWith(daemon, 'demo', 'PARAMETER num_ctx 2048\n');
const client = new Anthropic({ baseURL: daemon.host, apiKey: 'sk-local-unused' });
const ajv = new Ajv({ strict: false });
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
const weather = {
  name: 'get_weather', description: 'Weather in a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, days: { type: 'integer' } }, required: ['city'] },
};

await runChecks([
  ['messages.create: thinking and text blocks, usage, stop_reason', async () => {
    const m = await client.messages.create({ model: 'demo', max_tokens: 10, system: 'Be brief.', messages });
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.match(m.id, /^msg_/);
    assert.ok(['max_tokens', 'end_turn'].includes(m.stop_reason));
    assert.ok(m.usage.input_tokens > 5 && m.usage.output_tokens <= 10, JSON.stringify(m.usage));
    assert.ok(m.content.length >= 1);
    assert.ok(m.content.every((b) => ['thinking', 'text'].includes(b.type)));
  }],
  ['streaming events rebuild the same kind of message', async () => {
    const stream = client.messages.stream({ model: 'demo', max_tokens: 10, messages, system: [{ type: 'text', text: 'Be brief.' }] });
    const types = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('content_block_delta'));
    assert.ok(final.content.length >= 1);
    assert.equal(final.usage.output_tokens, 10);
  }],
  ['thinking budget: thinking block, then the answer', async () => {
    const m = await client.messages.create({
      model: 'demo', max_tokens: 30, messages, thinking: { type: 'enabled', budget_tokens: 4 },
    });
    assert.equal(m.content[0].type, 'thinking');
    assert.ok(m.content.some((b) => b.type === 'text' && b.text.length > 0), JSON.stringify(m.content));
  }],
  ['forced tool use: tool_use block with valid input, then tool_result', async () => {
    const m = await client.messages.create({
      model: 'demo', max_tokens: 200, messages, tools: [weather], tool_choice: { type: 'tool', name: 'get_weather' },
      thinking: { type: 'disabled' },
    });
    assert.equal(m.stop_reason, 'tool_use', JSON.stringify(m));
    const use = m.content.find((b) => b.type === 'tool_use');
    assert.match(use.id, /^toolu_/);
    assert.equal(use.name, 'get_weather');
    assert.ok(ajv.validate(weather.input_schema, use.input), ajv.errorsText());
    const next = await client.messages.create({
      model: 'demo', max_tokens: 6, tools: [weather],
      messages: [...messages, { role: 'assistant', content: m.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees' }] }],
    });
    assert.ok(next.content.length >= 1);
  }],
  ['streamed tool use: input_json_delta', async () => {
    const stream = client.messages.stream({
      model: 'demo', max_tokens: 200, messages, tools: [weather], tool_choice: { type: 'any' }, thinking: { type: 'disabled' },
    });
    let partial = '';
    stream.on('inputJson', (delta) => { partial += delta; });
    const final = await stream.finalMessage();
    const use = final.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(final.content));
    assert.deepEqual(JSON.parse(partial), use.input);
    assert.equal(final.stop_reason, 'tool_use');
  }],
  ['count_tokens matches the input tokens of a message', async () => {
    const c = await client.messages.countTokens({ model: 'demo', messages, system: 'Be brief.' });
    const m = await client.messages.create({ model: 'demo', max_tokens: 1, messages, system: 'Be brief.' });
    assert.equal(c.input_tokens, m.usage.input_tokens);
  }],
  ['errors have the Anthropic shape', async () => {
    await assert.rejects(client.messages.create({ model: 'ghost', max_tokens: 5, messages }),
      (e) => e.status === 404 && e.error?.type === 'error' && e.error?.error?.type === 'not_found_error');
    await assert.rejects(client.messages.create({ model: 'demo', max_tokens: 5, messages: [] }),
      (e) => e.status === 400 && e.error?.error?.type === 'invalid_request_error' && /messages/.test(e.message));
  }],
], async (failed) => {
  if (failed) console.log(daemon.log());
  await daemon.stop();
});
