#include "r1/registry/manifest.h"

#include <nlohmann/json.hpp>

#include "r1/registry/digest.h"

namespace r1::registry {

namespace {

using json = nlohmann::json;
constexpr int max_json_depth = 32;
constexpr uint64_t max_json_safe_int = (uint64_t{1} << 53);

// Depth of bracket nesting outside strings; refuses deep input before the
// parser (and the recursive destructor) ever sees it.
bool depth_within(std::string_view s, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

result<std::string> get_string(const json& obj, const char* key, bool required, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return corrupt("manifest: " + where + ": missing \"" + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return corrupt("manifest: " + where + ": \"" + key + "\" is not a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > 4096) return corrupt("manifest: " + where + ": \"" + key + "\" is too long");
  return s;
}

result<descriptor> parse_descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return corrupt("manifest: " + where + " is not an object");
  descriptor d;
  R1_ASSIGN_OR_RETURN(d.media_type, get_string(j, "mediaType", true, where));
  R1_ASSIGN_OR_RETURN(std::string digest, get_string(j, "digest", true, where));
  auto valid = validate_digest(digest);
  if (!valid.ok()) return corrupt("manifest: " + where + ": " + valid.error().message());
  d.digest = std::move(digest);
  auto size = j.find("size");
  if (size == j.end()) return corrupt("manifest: " + where + ": missing \"size\"");
  if (!size->is_number_integer()) return corrupt("manifest: " + where + ": \"size\" is not an integer");
  if (size->is_number_unsigned()) {
    d.size = size->get<uint64_t>();
  } else {
    int64_t v = size->get<int64_t>();
    if (v < 0) return corrupt("manifest: " + where + ": \"size\" is negative");
    d.size = static_cast<uint64_t>(v);
  }
  if (d.size >= max_json_safe_int) return corrupt("manifest: " + where + ": \"size\" is too large");
  R1_ASSIGN_OR_RETURN(d.from, get_string(j, "from", false, where));
  if (auto ann = j.find("annotations"); ann != j.end() && !ann->is_null()) {
    if (!ann->is_object()) return corrupt("manifest: " + where + ": \"annotations\" is not an object");
    if (ann->size() > 256) return corrupt("manifest: " + where + ": too many annotations");
    for (auto it = ann->begin(); it != ann->end(); ++it) {
      if (!it->is_string()) return corrupt("manifest: " + where + ": annotation \"" + it.key() + "\" is not a string");
      d.annotations[it.key()] = it->get<std::string>();
    }
  }
  return d;
}

json descriptor_json(const descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.from.empty()) j["from"] = d.from;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

}  // namespace

std::string_view manifest_accept_header() {
  static const std::string v = std::string(media_type::oci_manifest) + ", " + std::string(media_type::docker_manifest) +
                               ", " + std::string(media_type::oci_index) + ", " +
                               std::string(media_type::docker_manifest_list);
  return v;
}

result<manifest> manifest::parse(std::string_view bytes) {
  if (bytes.size() > max_manifest_bytes)
    return resource_exhausted("manifest is " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
                              std::to_string(max_manifest_bytes));
  if (!depth_within(bytes, max_json_depth)) return corrupt("manifest: JSON nested deeper than 32 levels");
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt("manifest: not valid JSON");
  if (!j.is_object()) return corrupt("manifest: top level is not an object");
  manifest m;
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    return corrupt("manifest: \"schemaVersion\" must be 2");
  m.schema_version = 2;
  R1_ASSIGN_OR_RETURN(m.media_type, get_string(j, "mediaType", false, "top level"));
  if (m.media_type == media_type::oci_index || m.media_type == media_type::docker_manifest_list)
    return corrupt("manifest: got an image index (" + m.media_type + "), not a model manifest");
  if (!m.media_type.empty() && m.media_type != media_type::docker_manifest && m.media_type != media_type::oci_manifest)
    return corrupt("manifest: unsupported media type '" + m.media_type + "'");
  auto cfg = j.find("config");
  if (cfg == j.end()) return corrupt("manifest: missing \"config\"");
  R1_ASSIGN_OR_RETURN(m.config, parse_descriptor(*cfg, "config"));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return corrupt("manifest: \"layers\" is missing or not an array");
  if (layers->size() > max_layers) return corrupt("manifest: more than " + std::to_string(max_layers) + " layers");
  for (size_t i = 0; i < layers->size(); ++i) {
    R1_ASSIGN_OR_RETURN(descriptor d, parse_descriptor((*layers)[i], "layer " + std::to_string(i)));
    m.layers.push_back(std::move(d));
  }
  return m;
}

std::string manifest::serialize() const {
  json j;
  j["schemaVersion"] = schema_version;
  j["mediaType"] = media_type;
  j["config"] = descriptor_json(config);
  j["layers"] = json::array();
  for (const auto& l : layers) j["layers"].push_back(descriptor_json(l));
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<descriptor> manifest::blobs() const {
  std::vector<descriptor> out;
  out.reserve(layers.size() + 1);
  out.push_back(config);
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

uint64_t manifest::total_size() const {
  uint64_t total = config.size;
  for (const auto& l : layers) total = (total + l.size < total) ? UINT64_MAX : total + l.size;
  return total;
}

std::vector<descriptor> manifest::layers_of(std::string_view type) const {
  std::vector<descriptor> out;
  for (const auto& l : layers)
    if (l.media_type == type) out.push_back(l);
  return out;
}

}  // namespace r1::registry
