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
