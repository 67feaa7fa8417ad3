// Chat templates rendered by r1 against Python's Jinja2 (configured as
// Hugging Face transformers configures it): byte-identical text for every
// template and conversation, and an error wherever Jinja2 raises one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "r1/engine/chat_template.h"
#include "test_support.h"

namespace r1::engine {
namespace {

using nlohmann::ordered_json;

struct render_data {
  ordered_json templates, conversations, expected;
  std::string skip_reason;
};

const render_data& data() {
  static const render_data d = [] {
    render_data r;
    const std::string dir = test::source_path("tests/unit/engine_text/templates");
    r.templates = ordered_json::parse(test::slurp(dir + "/templates.json"), nullptr, false);
    r.conversations = ordered_json::parse(test::slurp(dir + "/conversations.json"), nullptr, false);
    if (!test::have_program("python3") || test::run_command("python3 -c 'import jinja2' 2>/dev/null") != 0) {
      r.skip_reason = "python3 with jinja2 is not installed (Debian: python3-jinja2)";
      return r;
    }
    const std::string out = test::work_dir() + "/jinja2_renders.json";
    if (test::run_command("python3 '" + test::source_path("tests/unit/engine_text/render_templates.py") + "' '" + dir +
                          "' '" + out + "'") != 0) {
      r.skip_reason = "render_templates.py failed";
      return r;
    }
    r.expected = ordered_json::parse(test::slurp(out), nullptr, false);
    return r;
  }();
  return d;
}

TEST(reference_templates, byte_identical_to_jinja2) {
  const render_data& d = data();
  ASSERT_FALSE(d.templates.is_discarded());
  ASSERT_FALSE(d.conversations.is_discarded());
  if (!d.skip_reason.empty()) GTEST_SKIP() << d.skip_reason;
  ASSERT_FALSE(d.expected.is_discarded());
  std::size_t compared = 0, errors_matched = 0;
  for (const auto& [name, spec] : d.templates.items()) {
    SCOPED_TRACE("template " + name);
    const std::string source =
        test::slurp(test::source_path("tests/unit/engine_text/templates/" + spec["file"].get<std::string>()));
    auto tmpl = chat_template::parse(source);
    ASSERT_TRUE(tmpl.ok()) << tmpl.error().to_string();
    for (const auto& conv : d.conversations) {
      const std::string conv_name = conv["name"].get<std::string>();
      chat_inputs in;
      in.messages = conv["messages"];
      if (conv.contains("tools")) in.tools = conv["tools"];
      in.add_generation_prompt = conv.value("add_generation_prompt", true);
      in.bos_token = spec["bos_token"].get<std::string>();
      in.eos_token = spec["eos_token"].get<std::string>();
      if (conv.contains("extra")) in.extra = conv["extra"];
      const auto rendered = tmpl->render(in);
      const ordered_json& want = d.expected[name][conv_name];
      if (want.contains("error")) {
        EXPECT_FALSE(rendered.ok()) << conv_name << ": Jinja2 failed (" << want["error"].get<std::string>()
                                    << ") but r1 rendered:\n" << rendered.value();
        if (!rendered.ok()) ++errors_matched;
        continue;
      }
      ASSERT_TRUE(rendered.ok()) << conv_name << ": " << rendered.error().to_string();
      EXPECT_EQ(rendered.value(), want["text"].get<std::string>()) << conv_name;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100u);
  EXPECT_GT(errors_matched, 3u);
}

}  // namespace
}  // namespace r1::engine
