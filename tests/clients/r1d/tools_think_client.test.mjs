// Tool calls and reasoning control through the official `openai` and `ollama` clients: forced
// calls whose arguments validate (ajv) against random function schemas, streamed tool-call
// deltas, tool results sent back, reasoning_effort and think levels with their budgets.
import assert from 'node:assert/strict';
import { npm, startDaemon, runChecks } from './harness.mjs';
import { rng, object, createModelWith } from './tools_helpers.mjs';

const { OpenAI } = await import(npm.resolve('openai'));
const { Ollama } = await import(npm.resolve('ollama'));
const Ajv = (await import(npm.resolve('ajv'))).default;
const daemon = await startDaemon();
createModelWith(daemon, 'demo', 'PARAMETER num_ctx 2048\n');
const client = new OpenAI({ baseURL: daemon.host + '/v1', apiKey: 'unused' });
const ollama = new Ollama({ host: daemon.host });
const ajv = new Ajv({ strict: false });

const weather = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'] },
  },
};
const clock = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 5 } }, required: ['zone'] } } };
const user = [{ role: 'user', content: 'What is the weather in Paris?' }];

await runChecks([
  ['forced calls on random schemas: every call parses and validates', async () => {
    const r = rng(20260601);
    const n = Number(process.env.R1_FORCED_CALLS || 200);
    for (let i = 0; i < n; i++) {
      const schema = object(r);
      const tool = { type: 'function', function: { name: `fn_${i}`, parameters: schema } };
      const resp = await client.chat.completions.create({
        model: 'demo', messages: user, tools: [clock, tool], max_tokens: 400, reasoning_effort: 'none',
        tool_choice: { type: 'function', function: { name: `fn_${i}` } }, seed: i,
      });
      const choice = resp.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(resp));
      const calls = choice.message.tool_calls;
      assert.equal(calls.length, 1);
      assert.match(calls[0].id, /^call_[0-9a-f]{24}$/);
      assert.equal(calls[0].type, 'function');
      assert.equal(calls[0].function.name, `fn_${i}`);
      const args = JSON.parse(calls[0].function.arguments);
      assert.ok(ajv.validate(schema, args), `schema ${JSON.stringify(schema)} args ${calls[0].function.arguments}: ${ajv.errorsText()}`);
    }
  }],
  ['required picks one of the tools', async () => {
    const resp = await client.chat.completions.create({
      model: 'demo', messages: user, tools: [weather, clock], tool_choice: 'required', max_tokens: 300, reasoning_effort: 'none', seed: 5,
    });
    const call = resp.choices[0].message.tool_calls[0];
    const tool = [weather, clock].find((t) => t.function.name === call.function.name);
    assert.ok(tool, JSON.stringify(call));
    assert.ok(ajv.validate(tool.function.parameters, JSON.parse(call.function.arguments)), ajv.errorsText());
  }],
  ['streamed tool-call deltas merge into the call', async () => {
    const stream = await client.chat.completions.create({
      model: 'demo', messages: user, tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 300, stream: true, seed: 2, reasoning_effort: 'none',
    });
    const calls = [];
    let finish = null, fragments = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const d of choice.delta.tool_calls ?? []) {
        fragments++;
        if (!calls[d.index]) calls[d.index] = { id: d.id, name: d.function?.name, arguments: '' };
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(calls.length, 1);
    assert.ok(fragments >= 2);
    assert.match(calls[0].id, /^call_/);
    assert.equal(calls[0].name, 'get_weather');
    assert.ok(ajv.validate(weather.function.parameters, JSON.parse(calls[0].arguments)), calls[0].arguments);
  }],
  ['tool results go back as role tool and the conversation continues', async () => {
    const first = await client.chat.completions.create({
      model: 'demo', messages: user, tools: [weather], tool_choice: 'required', max_tokens: 300, reasoning_effort: 'none', seed: 9,
    });
    const msg = first.choices[0].message;
    const next = await client.chat.completions.create({
      model: 'demo', tools: [weather], max_tokens: 8,
      messages: [...user, msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '{"temp": 18}' }],
    });
    assert.ok(['stop', 'length', 'tool_calls'].includes(next.choices[0].finish_reason));
    assert.ok(next.usage.prompt_tokens > first.usage.prompt_tokens);
  }],
  ['tool_choice none: plain answer, no calls', async () => {
    const r = await client.chat.completions.create({ model: 'demo', messages: user, tools: [weather], tool_choice: 'none', max_tokens: 6 });
    assert.equal(r.choices[0].message.tool_calls, undefined);
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  }],
  ['reasoning_effort: none has no reasoning; low reports reasoning tokens', async () => {
    const off = await client.chat.completions.create({ model: 'demo', messages: user, max_tokens: 6, reasoning_effort: 'none' });
    assert.equal(off.usage.completion_tokens_details.reasoning_tokens, 0);
    const low = await client.chat.completions.create({ model: 'demo', messages: user, max_tokens: 6, reasoning_effort: 'low' });
    assert.ok(low.usage.completion_tokens_details.reasoning_tokens > 0, JSON.stringify(low.usage));
    assert.ok(typeof low.choices[0].message.reasoning_content === 'string');
  }],
  ['ollama: think levels, think false, tools with a tool result', async () => {
    for (const think of ['low', 'medium', 'high', true]) {
      const r = await ollama.chat({ model: 'demo', messages: user, think, options: { num_predict: 6 } });
      assert.ok((r.message.thinking ?? '').length > 0, `think ${think}: ${JSON.stringify(r.message)}`);
    }
    const off = await ollama.chat({ model: 'demo', messages: user, think: false, options: { num_predict: 6 } });
    assert.equal(off.message.thinking, undefined);
    const r = await ollama.chat({
      model: 'demo', tools: [weather], options: { num_predict: 6 },
      messages: [...user, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } } }] },
        { role: 'tool', tool_name: 'get_weather', content: '18 degrees' }],
    });
    assert.equal(r.done, true);
    await assert.rejects(ollama.chat({ model: 'demo', messages: user, tools: [{ type: 'function', function: {} }] }),
      (e) => e.status_code === 400 && /tools\[0\]/.test(e.message));
  }],
], async (failed) => {
  if (failed) console.log(daemon.log());
  await daemon.stop();
});
