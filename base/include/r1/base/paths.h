// Default locations, computed from values passed in (never read later from the environment).
#pragma once

#include <string>

namespace r1 {

// $XDG_DATA_HOME/r1/models, else $HOME/.local/share/r1/models. Arguments may be empty.
std::string default_models_dir(const std::string& xdg_data_home, const std::string& home);

// Creates a directory and its parents (mode 0755); ok if it exists.
bool make_dirs(const std::string& path, std::string* error);

}  // namespace r1
