#include "r1/constrain/grammar.h"

#include "grammar_impl.h"
#include "schema_compiler.h"

namespace r1::constrain {

grammar::grammar() : impl_(std::make_unique<impl>()) {}
grammar::~grammar() = default;

result<std::shared_ptr<const grammar>> grammar::compile(const spec& s, const compile_options& o) {
  R1_ASSIGN_OR_RETURN(detail::compiled_grammar c, detail::compile_spec(s, o));
  std::shared_ptr<grammar> g(new grammar());
  g->impl_->nodes = std::move(c.nodes);
  g->impl_->root = c.root;
  detail::automaton a(g->impl_->nodes, g->impl_->root);
  detail::config start;
  a.initial(start);
  if (start.empty()) {
    // Only a schema that recurses into itself without writing anything gets here.
    return invalid_argument("the schema admits no finite JSON value (a $ref that only refers to itself?)");
  }
  return std::shared_ptr<const grammar>(std::move(g));
}

size_t grammar::node_count() const { return impl_->nodes.size(); }

bool grammar::accepts_prefix(std::string_view bytes) const { return run(bytes, false); }
bool grammar::accepts(std::string_view bytes) const { return run(bytes, true); }

bool grammar::run(std::string_view bytes, bool need_complete) const {
  detail::automaton a(impl_->nodes, impl_->root);
  detail::config cur, next;
  a.initial(cur);
  for (char c : bytes) {
    a.advance(cur, static_cast<uint8_t>(c), next);
    if (next.empty()) return false;
    std::swap(cur, next);
  }
  return !need_complete || cur.complete();
}

}  // namespace r1::constrain
