// Validates constrained outputs with ajv: reads a JSON file [{schema, output, complete}], writes
// one line per case: {"i": n, "ok": bool, "error": "..."}. Complete outputs must parse and
// validate. Usage: node validate.mjs <tests/npm dir> <cases.json>
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(path.resolve(process.argv[2]), 'package.json'));
const Ajv = require('ajv/dist/2020').default;

// String formats, checked here independently of the grammar (regex plus a real date parse).
const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;
function validDate(s) {
  const m = dateRe.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}
const timeRe = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?(Z|z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const formats = {
  date: validDate,
  time: (s) => timeRe.test(s),
  'date-time': (s) => {
    const i = s.search(/[Tt]/);
    return i === 10 && validDate(s.slice(0, 10)) && timeRe.test(s.slice(11));
  },
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
};

const cases = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const out = [];
cases.forEach((c, i) => {
  if (!c.complete) {
    out.push(JSON.stringify({ i, ok: true, skipped: true }));
    return;
  }
  const ajv = new Ajv({ strict: false, allErrors: true, formats });
  let value;
  try {
    value = JSON.parse(c.output);
  } catch (e) {
    out.push(JSON.stringify({ i, ok: false, error: 'does not parse: ' + e.message }));
    return;
  }
  try {
    const validate = ajv.compile(c.schema);
    const ok = validate(value);
    out.push(JSON.stringify({ i, ok, error: ok ? '' : ajv.errorsText(validate.errors) }));
  } catch (e) {
    out.push(JSON.stringify({ i, ok: false, error: 'ajv: ' + e.message }));
  }
});
process.stdout.write(out.join('\n') + '\n');
