// Model options (Ollama's `options` object and Modelfile PARAMETERs) and their layering:
// built-in defaults < the model's params layer < the request.
//
// One table describes every option (name, kind, range); JSON objects and
// Modelfile text are applied through it, so every numeric value is validated in
// one place. Plain data, no shared state: thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api {

struct model_options {
  // Per request (no reload).
  int32_t num_keep = 4;
  int64_t seed = -1;             // -1: random
  int32_t num_predict = -1;      // -1: until the end of generation or the context is full
  int32_t top_k = 40;
  double top_p = 0.9;
  double min_p = 0.0;
  double typical_p = 1.0;
  int32_t repeat_last_n = 64;
  double temperature = 0.8;
  double repeat_penalty = 1.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  std::vector<std::string> stop;
  int32_t reasoning_budget = -1; // reasoning tokens before "</think>" is forced; -1: unlimited
  // Load time (a different value needs another runner).
  int32_t num_ctx = 0;           // 0: the daemon's default context
  int32_t num_batch = 512;
  int32_t num_gpu = -1;
  int32_t main_gpu = 0;
  int32_t num_thread = 0;        // 0: the daemon's default
  bool use_mmap = true;
};

// Option names, in table order.
std::vector<std::string> option_names();
bool is_load_option(std::string_view name);

// Applies a JSON object of options onto `opts`. A wrong type or a value out of
// range is invalid_argument naming the option; unknown names are skipped and
// appended to `ignored` (may be null). `stop` replaces when `accumulate_stop`
// is false, and is appended to otherwise (the params layer accumulates).
status apply_options(const nlohmann::json& obj, model_options* opts, std::vector<std::string>* ignored,
                     bool accumulate_stop = false);

// Applies one Modelfile PARAMETER (text value). Unknown names are invalid_argument.
// Repeated `stop` accumulates.
status apply_parameter(std::string_view name, std::string_view value, model_options* opts);

// Converts Modelfile parameters (name -> list of text values) into the params-layer
// JSON object (numbers typed, `stop` a list); invalid_argument on unknown names or bad values.
result<nlohmann::json> parameters_to_json(const std::vector<std::pair<std::string, std::string>>& params);

// The params layer's JSON as "name value" lines, as /api/show's `parameters` and
// Modelfiles print them (stop values quoted, one line each).
std::string parameters_text(const nlohmann::json& params_layer);

}  // namespace r1::api
