#include "r1/base/paths.h"

#include <filesystem>
#include <system_error>

namespace r1 {

std::string default_models_dir(const std::string& xdg_data_home, const std::string& home) {
  if (!xdg_data_home.empty()) return xdg_data_home + "/r1/models";
  if (!home.empty()) return home + "/.local/share/r1/models";
  return "./r1-models";
}

bool make_dirs(const std::string& path, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    if (error) *error = path + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace r1
