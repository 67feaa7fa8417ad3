// Structured output through the official clients: `openai` response_format (json_schema with
// strict, json_object) and `ollama` format (a schema, "json"), on /v1/chat/completions,
// /api/chat and /api/generate; outputs validated with ajv. Unsupported schemas are 400s.
import assert from 'node:assert/strict';
import { npm, startDaemon, createModel, runChecks } from './harness.mjs';

const { OpenAI } = await import(npm.resolve('openai'));
const { Ollama } = await import(npm.resolve('ollama'));
const Ajv = npm('ajv/dist/2020').default;

const daemon = await startDaemon();
createModel(daemon, 'demo');
const openai = new OpenAI({ baseURL: daemon.host + '/v1', apiKey: 'unused' });
const ollama = new Ollama({ host: daemon.host });

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 10 },
    age: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
    nick: { anyOf: [{ type: 'string', maxLength: 4 }, { type: 'null' }] },
  },
  required: ['name', 'age', 'tags', 'nick'],
  additionalProperties: false,
};

function validates(schema, text) {
  const value = JSON.parse(text);
  const validate = new Ajv({ strict: false }).compile(schema);
  assert.ok(validate(value), `${text}: ${JSON.stringify(validate.errors)}`);
  return value;
}

// Generations cut by the token limit are the one allowed failure; they must say so.
function complete(finish, text) {
  assert.ok(['stop', 'length'].includes(finish), finish);
  return finish === 'stop' ? text : null;
}

await runChecks([
  ['openai response_format json_schema strict', async () => {
    let done = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = await openai.chat.completions.create({
        model: 'demo', messages: [{ role: 'user', content: 'a person' }], max_tokens: 200, seed,
        reasoning_effort: 'none',
        response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: person } },
      });
      const text = complete(r.choices[0].finish_reason, r.choices[0].message.content);
      if (text !== null) {
        validates(person, text);
        done++;
      }
    }
    assert.ok(done >= 3, `${done} of 4 finished`);
  }],
  ['openai response_format json_schema, streaming', async () => {
    const stream = await openai.chat.completions.create({
      model: 'demo', messages: [{ role: 'user', content: 'a person' }], max_tokens: 200, seed: 7, stream: true,
      reasoning_effort: 'none',
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: person } },
    });
    let content = '', finish = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      content += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
    const text = complete(finish, content);
    if (text !== null) validates(person, text);
  }],
  ['openai response_format json_object', async () => {
    const r = await openai.chat.completions.create({
      model: 'demo', messages: [{ role: 'user', content: 'json please' }], max_tokens: 120, seed: 3,
      reasoning_effort: 'none', response_format: { type: 'json_object' },
    });
    const text = complete(r.choices[0].finish_reason, r.choices[0].message.content);
    if (text !== null) assert.equal(typeof JSON.parse(text), 'object');
    else assert.ok(r.choices[0].message.content.trimStart().startsWith('{'));
  }],
  ['openai unsupported schema keyword is a 400 naming it', async () => {
    await assert.rejects(
      openai.chat.completions.create({
        model: 'demo', messages: [{ role: 'user', content: 'x' }], max_tokens: 4,
        response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'integer', minimum: 3 } } },
      }),
      (e) => e.status === 400 && /minimum/.test(e.message));
  }],
  ['ollama chat format schema', async () => {
    let done = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = await ollama.chat({
        model: 'demo', messages: [{ role: 'user', content: 'a person' }], format: person, think: false,
        options: { num_predict: 200, seed },
      });
      const text = complete(r.done_reason, r.message.content);
      if (text !== null) {
        validates(person, text);
        done++;
      }
    }
    assert.ok(done >= 3, `${done} of 4 finished`);
  }],
  ['ollama generate format "json", streaming', async () => {
    const stream = await ollama.generate({
      model: 'demo', prompt: 'json please', format: 'json', think: false, stream: true,
      options: { num_predict: 120, seed: 2 },
    });
    let text = '', reason = null;
    for await (const part of stream) {
      text += part.response;
      if (part.done) reason = part.done_reason;
    }
    const t = complete(reason, text);
    if (t !== null) assert.equal(typeof JSON.parse(t), 'object');
    else assert.ok(text.trimStart().startsWith('{'));
  }],
  ['ollama format with an unsupported keyword is a 400', async () => {
    await assert.rejects(
      ollama.generate({ model: 'demo', prompt: 'x', format: { type: 'string', pattern: 'a+' }, options: { num_predict: 4 } }),
      (e) => /pattern/.test(e.message));
    await assert.rejects(ollama.generate({ model: 'demo', prompt: 'x', format: 'yaml' }), (e) => /format/.test(e.message));
  }],
], async () => daemon.stop());
