// Modelfile: the text `r1 create -f` reads (Ollama's format).
//
//   FROM <model name | ./file.gguf | /abs/file.gguf>     (required)
//   PARAMETER <name> <value>                            (any model option; `stop` repeats)
//   TEMPLATE """..."""   SYSTEM """..."""   LICENSE """..."""   (LICENSE may repeat)
//   MESSAGE <system|user|assistant> <text>
//   ADAPTER, REQUIRES, RENDERER, PARSER, DRAFT          (parsed; ADAPTER/DRAFT refused at create)
//
// Instructions are case-insensitive, `#` starts a comment line, values may be
// quoted ("...") or triple-quoted ("""...""" spanning lines). Parsing is
// bounded (input size, instruction count) and never throws. Plain data.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/api/ollama.h"
#include "r1/base/status.h"

namespace r1::api {

struct modelfile {
  std::string from;
  std::vector<std::pair<std::string, std::string>> parameters;  // in order, names lower-cased
  std::optional<std::string> template_text;
  std::optional<std::string> system;
  std::vector<std::string> license;
  std::vector<message> messages;
  std::vector<std::string> adapters;
  std::string requires_version;
};

// invalid_argument with the line number for an unknown instruction, a missing
// argument, an unterminated """, a bad MESSAGE role, or a missing FROM.
result<modelfile> parse_modelfile(std::string_view text);

// Writes a Modelfile back (FROM first), quoting values with """ when needed.
std::string format_modelfile(const modelfile& mf);

// True when FROM names a local file (starts with '.', '/' or '~', or ends in .gguf).
bool from_is_path(std::string_view from);

}  // namespace r1::api
