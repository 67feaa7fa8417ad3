#include "prompt_builder.h"

#include "r1/engine/chat_template.h"
#include "r1/engine/reasoning_splitter.h"
#include "tool_prompt.h"

namespace r1::runner {

namespace rp = runner_protocol;

struct prompt_builder::impl {
  std::optional<engine::chat_template> tmpl;
  engine::tool_call_format format = engine::tool_call_format::deepseek;
  bool reads_tools = false;
};

prompt_builder::prompt_builder(const engine::model& m) : m_(m), impl_(std::make_unique<impl>()) {}
prompt_builder::~prompt_builder() = default;

result<std::unique_ptr<prompt_builder>> prompt_builder::create(const engine::model& m) {
  std::unique_ptr<prompt_builder> b(new prompt_builder(m));
  const std::string& source = m.tok().vocab().chat_template;
  if (!source.empty()) {
    auto t = engine::chat_template::parse(source);
    if (!t.ok()) return t.error().with_context("the model's chat template");
    b->impl_->tmpl.emplace(std::move(*t));
    b->impl_->format = engine::detect_tool_call_format(source);
    b->impl_->reads_tools = template_reads_tools(source);
  }
  return b;
}

bool prompt_builder::has_template() const { return impl_->tmpl.has_value(); }
bool prompt_builder::template_thinks() const { return impl_->tmpl && impl_->tmpl->uses_thinking_tags(); }
engine::tool_call_format prompt_builder::tool_format() const { return impl_->format; }

result<std::string> prompt_builder::render(const std::vector<rp::chat_message>& messages, bool add_generation_prompt,
                                           const rp::json& tools, std::optional<bool> think) const {
  if (!impl_->tmpl) return invalid_argument("the model has no chat template; send a prompt instead of messages");
  engine::chat_inputs in;
  for (const auto& m : messages) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(
        rp::to_json(m).dump(-1, ' ', false, rp::json::error_handler_t::replace), nullptr, false);
    if (j.is_discarded()) return invalid_argument("a message could not be converted");
    // Empty optional fields stay out of the template's view (it tests them with `is defined`).
    for (const char* key : {"reasoning_content", "tool_call_id", "name"}) {
      if (j.contains(key) && j[key].is_string() && j[key].get<std::string>().empty()) j.erase(key);
    }
    if (j.contains("tool_calls") && j["tool_calls"].is_null()) j.erase("tool_calls");
    in.messages.push_back(std::move(j));
  }
  engine::drop_earlier_reasoning(in.messages);
  if (!tools.is_null()) {
    in.tools = nlohmann::ordered_json::parse(tools.dump(-1, ' ', false, rp::json::error_handler_t::replace), nullptr, false);
  }
  prepare_tool_messages(in.messages, in.tools, impl_->format, !impl_->reads_tools);
  in.add_generation_prompt = add_generation_prompt;
  const engine::tokenizer& tok = m_.tok();
  if (tok.bos() >= 0) in.bos_token = tok.token_piece(tok.bos(), true);
  if (tok.eos() >= 0) in.eos_token = tok.token_piece(tok.eos(), true);
  if (think.has_value()) in.extra["enable_thinking"] = *think;
  R1_ASSIGN_OR_RETURN(std::string text, impl_->tmpl->render(in));
  if (think == false && add_generation_prompt && impl_->tmpl->uses_thinking_tags()) prefill_empty_reasoning(text);
  return text;
}

result<built_prompt> prompt_builder::build(const rp::completion_request& r) const {
  built_prompt out;
  const engine::tokenizer& tok = m_.tok();
  const int sources = (r.prompt ? 1 : 0) + (r.prompt_tokens ? 1 : 0) + (r.messages ? 1 : 0);
  if (sources != 1) return invalid_argument("give exactly one of prompt, prompt_tokens or messages");
  if (r.prompt) {
    engine::encode_options o;
    o.add_special = r.add_special;
    o.parse_special = r.parse_special;
    out.tokens = tok.encode(*r.prompt, o);
  } else if (r.prompt_tokens) {
    for (int32_t id : *r.prompt_tokens) {
      if (id < 0 || static_cast<size_t>(id) >= tok.size()) {
        return invalid_argument("prompt token " + std::to_string(id) + " is outside the vocabulary of " +
                                std::to_string(tok.size()));
      }
    }
    out.tokens = *r.prompt_tokens;
  } else {
    R1_ASSIGN_OR_RETURN(out.rendered, render(*r.messages, r.add_generation_prompt, r.tools, r.think));
    out.tokens = engine::encode_rendered_prompt(out.rendered, tok);
    out.reasoning_open = engine::prompt_opens_reasoning(out.rendered);
  }
  if (out.tokens.empty()) return invalid_argument("the prompt has no tokens");
  return out;
}

}  // namespace r1::runner
