// A compiled constraint: a grammar over BYTES (a recursive transition network with a stack)
// built from a spec (literal texts and JSON Schemas). Immutable after compile(); share it with
// shared_ptr across threads and generations. Per-generation progress lives in a matcher.
//
// What a schema compiles to (docs/dev/constrain.md has the details):
//   - objects list their properties in key order (as the JSON library stores them): required
//     ones always, optional ones may be left out; other keys are never generated (the output stays valid for any
//     additionalProperties). An object without properties takes any keys (values per
//     additionalProperties, or any JSON).
//   - anyOf and oneOf are both alternatives (oneOf is not checked for exclusivity).
//   - numbers: at most 15 integer digits, 15 fraction digits, 2 exponent digits.
//   - at most max_whitespace whitespace bytes between tokens, one leading run before a value.
//   - strings: valid UTF-8 and JSON escapes (no \u surrogates); min/maxLength count code points.
// Keywords that constrain values in ways we do not enforce (pattern, minimum, multipleOf,
// uniqueItems: true, ...) are refused with invalid_argument naming the keyword and its path,
// never silently ignored. Annotations (title, description, default, examples, $comment, ...)
// are accepted.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "r1/base/status.h"
#include "r1/constrain/spec.h"

namespace r1::constrain {

struct compile_options {
  uint32_t max_whitespace = 2;   // whitespace bytes allowed in one gap between JSON tokens
  uint32_t max_nodes = 200000;   // a schema that needs more grammar nodes is refused
};

class grammar {
 public:
  // Errors: invalid_argument naming the unsupported keyword or malformed value with its JSON
  // pointer (e.g. "/properties/age/minimum"), resource_exhausted for a schema too large.
  static result<std::shared_ptr<const grammar>> compile(const spec& s, const compile_options& o = {});
  ~grammar();
  grammar(const grammar&) = delete;
  grammar& operator=(const grammar&) = delete;

  // Whole-string checks (tests, tools): the bytes are a complete match / a prefix of one.
  bool accepts(std::string_view bytes) const;
  bool accepts_prefix(std::string_view bytes) const;
  size_t node_count() const;

  struct impl;
  const impl& internals() const { return *impl_; }

 private:
  grammar();
  bool run(std::string_view bytes, bool need_complete) const;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::constrain
