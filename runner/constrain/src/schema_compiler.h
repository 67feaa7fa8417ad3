// JSON Schema (plus literal parts) -> grammar nodes. Private to r1::constrain.
#pragma once

#include <cstdint>
#include <vector>

#include "automaton.h"
#include "r1/base/status.h"
#include "r1/constrain/grammar.h"
#include "r1/constrain/spec.h"

namespace r1::constrain::detail {

struct compiled_grammar {
  std::vector<node> nodes;
  uint32_t root = 0;
};

result<compiled_grammar> compile_spec(const spec& s, const compile_options& o);

}  // namespace r1::constrain::detail
