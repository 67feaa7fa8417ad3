#include "constraint_setup.h"

#include <chrono>

#include "r1/base/log.h"

namespace r1::runner {

std::shared_ptr<const constrain::vocab_index> build_vocab_index(const engine::tokenizer& tok) {
  std::vector<std::string> pieces(tok.size());
  for (size_t i = 0; i < pieces.size(); ++i) pieces[i] = tok.token_piece(static_cast<engine::token_id>(i), false);
  return constrain::vocab_index::build(pieces, tok.vocab().eog);
}

std::shared_ptr<const constrain::vocab_index> constraint_cache::vocab(const engine::tokenizer& tok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!index_) {
    const auto t0 = std::chrono::steady_clock::now();
    index_ = build_vocab_index(tok);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    R1_LOG(info, "runner") << "constraint vocabulary index: " << index_->size() << " tokens, "
                           << index_->safe_ids().size() << " string-safe, built in " << ms << " ms";
  }
  return index_;
}

status apply_constraint(const constrain::spec& s, constraint_cache& cache, const engine::tokenizer& tok,
                        engine::generation_params& p) {
  R1_ASSIGN_OR_RETURN(auto g, constrain::grammar::compile(s));
  p.grammar = std::move(g);
  p.grammar_vocab = cache.vocab(tok);
  return ok_status();
}

status apply_request_constraint(const runner_protocol::completion_request& r, constraint_cache& cache,
                                const engine::tokenizer& tok, engine::generation_params& p) {
  if (r.constraint.is_null()) return ok_status();
  R1_ASSIGN_OR_RETURN(constrain::spec s, constrain::spec_from_json(r.constraint));
  return apply_constraint(s, cache, tok, p);
}

}  // namespace r1::runner
