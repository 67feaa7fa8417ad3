// A Jinja2 subset, sufficient for the chat templates real model files carry
// (DeepSeek-R1 and its distills, Qwen2/3, Llama-3.x, DeepSeek-V3).
//
// Semantics follow Python Jinja2 as Hugging Face transformers configures it
// for chat templates: trim_blocks and lstrip_blocks on, a tojson filter with
// ensure_ascii=False and unsorted keys, the loopcontrols extension, Python
// str() for printed values. Supported: text, {{ }}, {% %}, {# #}, whitespace
// control (- and +), if/elif/else, for (with else, filter, loop.*, tuple
// unpacking), set (plain, attribute, block), macro, break/continue,
// generation blocks (rendered as their body), and the filters, tests and
// str/list/dict methods listed in docs/dev/tokenizer.md.
//
// A parsed template is immutable; render() may be called from several
// threads at once. Rendering untrusted templates is bounded: nesting depth,
// loop iterations and output size have limits, and running past one is a
// resource_exhausted error, never a crash or a hang.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::engine::jinja {

struct options {
  bool trim_blocks = true;             // drop the first newline after a block tag
  bool lstrip_blocks = true;           // drop spaces/tabs before a block tag that starts a line
  bool keep_trailing_newline = false;  // Jinja2's default drops one final newline
  std::size_t max_output_bytes = std::size_t{8} << 20;
  std::size_t max_loop_iterations = 1'000'000;  // over the whole render
  std::size_t max_depth = 256;                  // parser nesting and macro call depth
};

namespace detail {
struct program;
}

class template_program {
 public:
  // Parses source. Errors: invalid_argument "template line N: ..." for syntax
  // errors, resource_exhausted when nesting exceeds max_depth.
  static result<template_program> parse(std::string_view source, const options& opts = {});

  // Renders with the given variables (a JSON object: messages, tools, ...)
  // plus the globals namespace(), range(), raise_exception(), dict() and
  // strftime_now(). Errors: invalid_argument for type errors, undefined
  // attributes and raise_exception() (the message is the template's),
  // resource_exhausted for the limits above.
  result<std::string> render(const nlohmann::ordered_json& variables) const;

 private:
  std::shared_ptr<const detail::program> program_;
};

}  // namespace r1::engine::jinja
