// grammar::impl (private): the compiled nodes and the root.
#pragma once

#include "automaton.h"
#include "r1/constrain/grammar.h"

namespace r1::constrain {

struct grammar::impl {
  std::vector<detail::node> nodes;
  uint32_t root = 0;
};

}  // namespace r1::constrain
