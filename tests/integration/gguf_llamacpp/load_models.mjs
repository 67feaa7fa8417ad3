// Loads GGUF files with llama.cpp (through node-llama-cpp) and reports what
// llama.cpp saw, one JSON object per model on stdout.
//   node load_models.mjs <dir containing node_modules/node-llama-cpp> <jobs.json>
// jobs.json: [{"path": "...", "probe": "text to tokenize"}]
import {createRequire} from "node:module";
import {readFileSync} from "node:fs";
import {pathToFileURL} from "node:url";

const [, , libDir, jobsPath] = process.argv;
const require = createRequire(libDir.endsWith("/") ? libDir : libDir + "/");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const jobs = JSON.parse(readFileSync(jobsPath, "utf8"));
for (const job of jobs) {
  const out = {path: job.path, ok: false};
  try {
    const model = await llama.loadModel({modelPath: job.path});
    out.size = model.size;
    out.train_ctx = model.trainContextSize;
    out.n_embd = model.embeddingVectorSize;
    out.bos = model.tokens.bos;
    out.eos = model.tokens.eos;
    out.add_bos = model.tokens.shouldPrependBosToken;
    out.tokens = Array.from(model.tokenize(job.probe, true));
    const ctx = await model.createContext({contextSize: 128, threads: 1});
    const seq = ctx.getSequence();
    out.generated = [];
    for await (const t of seq.evaluate(out.tokens.length ? out.tokens : [0], {temperature: 0})) {
      out.generated.push(t);
      if (out.generated.length >= 3) break;
    }
    await ctx.dispose();
    await model.dispose();
    out.ok = true;
  } catch (e) {
    out.error = String(e);
  }
  console.log(JSON.stringify(out));
}
