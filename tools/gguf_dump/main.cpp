// r1-gguf-dump: prints a GGUF file's (or split set's) metadata, tensor table,
// resolved hyperparameters and size estimates as JSON.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"

namespace {

using json = nlohmann::json;
using namespace r1;

std::string valid_utf8_or_hex(std::string_view s) {
  // JSON needs UTF-8; a file's strings are not guaranteed to be. Replace bad bytes.
  std::string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    }
  }
  return out;
}

json scalar(const gguf::kv& e) {
  switch (e.type) {
    case gguf::value_type::string: return valid_utf8_or_hex(e.str);
    case gguf::value_type::boolean: return *e.as_bool();
    case gguf::value_type::f32: case gguf::value_type::f64: return *e.as_float();
    default:
      if (auto v = e.as_int()) return *v;
      return *e.as_uint();
  }
}

json value_of(const gguf::kv& e, uint64_t max_elems) {
  if (e.type != gguf::value_type::array) return scalar(e);
  json arr = json::array();
  for (uint64_t i = 0; i < e.count && i < max_elems; ++i) {
    if (e.elem_type == gguf::value_type::string) arr.push_back(valid_utf8_or_hex(e.strings[i]));
    else if (e.elem_type == gguf::value_type::boolean) arr.push_back(e.raw[i] != 0);
    else if (auto v = e.int_at(i)) arr.push_back(*v);
    else arr.push_back(*e.float_at(i));
  }
  return json{{"type", "array"}, {"element_type", gguf::value_type_name(e.elem_type)}, {"count", e.count}, {"head", arr}};
}

json params_json(const gguf::model_params& p) {
  return json{{"arch", p.arch}, {"n_ctx_train", p.n_ctx_train}, {"n_embd", p.n_embd}, {"n_layer", p.n_layer},
              {"n_vocab", p.n_vocab}, {"n_head", p.n_head}, {"n_head_kv", p.n_head_kv}, {"n_ff", p.n_ff},
              {"n_embd_head_k", p.n_embd_head_k}, {"n_embd_head_v", p.n_embd_head_v}, {"n_rot", p.n_rot},
              {"rms_eps", p.rms_eps}, {"rope", p.rope == gguf::rope_mode::neox ? "neox" : "norm"},
              {"rope_freq_base", p.rope_freq_base}, {"rope_scaling", gguf::rope_scaling_name(p.rope_scaling_type)},
              {"rope_freq_scale", p.rope_freq_scale}, {"n_ctx_orig_yarn", p.n_ctx_orig_yarn},
              {"yarn_log_multiplier", p.yarn_log_multiplier}, {"n_expert", p.n_expert},
              {"n_expert_used", p.n_expert_used}, {"n_expert_shared", p.n_expert_shared}, {"n_ff_exp", p.n_ff_exp},
              {"n_layer_dense_lead", p.n_layer_dense_lead}, {"n_lora_q", p.n_lora_q}, {"n_lora_kv", p.n_lora_kv},
              {"is_mla", p.is_mla()}, {"tied_output", p.tied_output}, {"has_rope_freqs", p.has_rope_freqs}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints a GGUF file's metadata and tensor table as JSON."};
  std::string path;
  uint64_t max_elems = 8;
  bool no_tensors = false;
  app.add_option("file", path, "GGUF file (the first shard of a split set)")->required();
  app.add_option("--array-head", max_elems, "array elements to print per key")->capture_default_str();
  app.add_flag("--no-tensors", no_tensors, "omit the tensor table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto m = gguf::model_files::open(path);
  if (!m.ok()) {
    std::fprintf(stderr, "r1-gguf-dump: %s\n", m.error().to_string().c_str());
    return 1;
  }
  const gguf::file& f = m->metadata();
  json out{{"path", path}, {"version", f.version()}, {"alignment", f.alignment()}, {"shards", m->shards().size()},
           {"file_bytes", m->total_file_bytes()}, {"tensor_count", m->tensors().size()},
           {"file_type", gguf::file_type_of(*m)}, {"weight_bytes", gguf::weight_bytes(*m)},
           {"parameters", gguf::parameter_count(*m)}};
  json meta = json::object();
  for (const gguf::kv& e : f.metadata()) meta[valid_utf8_or_hex(e.key)] = value_of(e, max_elems);
  out["metadata"] = meta;
  auto p = gguf::resolve_params(f);
  if (p.ok()) {
    r1::status check = gguf::check_tensors(*p, *m);
    out["params"] = params_json(*p);
    out["tensor_check"] = check.ok() ? "ok" : check.to_string();
    out["kv_bytes_per_token_f16"] = gguf::kv_bytes_per_token(*p);
  } else {
    out["params_error"] = p.error().to_string();
  }
  if (!no_tensors) {
    json ts = json::array();
    for (const gguf::tensor_ref& r : m->tensors()) {
      const gguf::tensor_info& t = *r.info;
      std::vector<uint64_t> shape(t.ne.begin(), t.ne.begin() + t.n_dims);
      ts.push_back({{"name", t.name}, {"type", type_info(t.type).name}, {"shape", shape}, {"shard", r.shard},
                    {"offset", t.file_offset}, {"bytes", t.size}});
    }
    out["tensors"] = ts;
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
