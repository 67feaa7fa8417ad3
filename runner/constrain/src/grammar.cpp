#include "r1/constrain/grammar.h"

#include "grammar_impl.h"
#include "schema_compiler.h"

namespace r1::constrain {

grammar::grammar() : impl_(std::make_unique<impl>()) {}
grammar::~grammar() = default;

namespace {

// Keeps only what can finish: a node is productive when it derives some finite byte string.
// Alternatives lose their unproductive branches and repeats of an unproductive item allow none,
// so generation can never enter a branch it cannot leave (e.g. an object that requires itself).
bool prune_unproductive(std::vector<detail::node>& nodes, uint32_t root) {
  using detail::node_kind;
  std::vector<char> ok(nodes.size(), 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (ok[i]) continue;
      const detail::node& n = nodes[i];
      bool p = false;
      switch (n.kind) {
        case node_kind::bytes:
        case node_kind::literal:
        case node_kind::str_chars: p = true; break;
        case node_kind::seq:
          p = true;
          for (uint32_t k : n.kids) p = p && ok[k];
          break;
        case node_kind::alt:
          for (uint32_t k : n.kids) p = p || ok[k];
          break;
        case node_kind::repeat:
          p = n.min == 0 || (ok[n.kids[0]] && (n.min < 2 || n.kids[1] == detail::no_node || ok[n.kids[1]]));
          break;
      }
      if (p) ok[i] = changed = true;
    }
  }
  for (detail::node& n : nodes) {
    if (n.kind == node_kind::alt) {
      std::erase_if(n.kids, [&](uint32_t k) { return !ok[k]; });
    } else if (n.kind == node_kind::repeat && !ok[n.kids[0]]) {
      n.max = 0;
    }
  }
  return ok[root];
}

}  // namespace

result<std::shared_ptr<const grammar>> grammar::compile(const spec& s, const compile_options& o) {
  R1_ASSIGN_OR_RETURN(detail::compiled_grammar c, detail::compile_spec(s, o));
  if (!prune_unproductive(c.nodes, c.root)) {
    return invalid_argument("the schema admits no finite JSON value (a $ref or required property that only leads back to itself?)");
  }
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
