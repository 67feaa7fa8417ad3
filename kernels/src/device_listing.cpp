// list_devices_json() (plugin_loader.h): what `r1-runner --list-devices` prints and r1d reads.
#include <nlohmann/json.hpp>

#include "r1/kernels/plugin_loader.h"

namespace r1::kernels {

namespace {

nlohmann::json device_json(const device_info& d) {
  nlohmann::json j = {{"backend", d.backend},
                      {"index", d.index},
                      {"name", d.name},
                      {"type", device_type_name(d.type)},
                      {"total_memory", d.total_memory},
                      {"free_memory", d.free_memory}};
  if (!d.compute_capability.empty()) j["compute_capability"] = d.compute_capability;
  if (!d.driver.empty()) j["driver"] = d.driver;
  return j;
}

}  // namespace

std::string list_devices_json(const backend_registry& r, const std::vector<plugin_report>& plugins,
                              const std::string& backend_dir) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& b : r.backends()) {
    for (size_t i = 0; i < b->device_count(); ++i) devices.push_back(device_json(b->device_at(i).info()));
  }
  nlohmann::json unavail = nlohmann::json::array();
  for (const auto& u : r.unavailable()) unavail.push_back({{"backend", u.name}, {"error", u.why.message()}});
  nlohmann::json plug = nlohmann::json::array();
  for (const plugin_report& p : plugins) {
    nlohmann::json j = {{"name", p.name}, {"path", p.path}, {"loaded", p.loaded}};
    if (!p.error.empty()) j["error"] = p.error;
    plug.push_back(std::move(j));
  }
  nlohmann::json out = {{"devices", devices}, {"unavailable", unavail}, {"plugins", plug}};
  if (!backend_dir.empty()) out["backend_dir"] = backend_dir;
  // Driver strings, dlerror() texts and paths are not guaranteed UTF-8: replace bad bytes rather
  // than throw.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string list_devices_json(const loaded_backends& b) {
  return list_devices_json(b.registry, b.plugins, b.dir);
}

}  // namespace r1::kernels
