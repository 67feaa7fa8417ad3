#include "r1/registry/model_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "r1/base/log.h"
#include "r1/base/paths.h"
#include "r1/base/raii.h"
#include "r1/registry/digest.h"

namespace r1::registry {

namespace fs = std::filesystem;

namespace {

struct stored_manifest {
  model_name name;
  std::string path;
};

// Sub-directories (or files, when `files`) of `dir`; hidden and temp entries skipped.
std::vector<std::string> entries_of(const std::string& dir, bool files) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.empty() || n[0] == '.' || n.find(".tmp-") != std::string::npos) continue;
    std::error_code ec2;
    bool is_dir = it->is_directory(ec2);
    bool is_file = it->is_regular_file(ec2);
    if ((files && is_file) || (!files && is_dir)) out.push_back(n);
  }
  return out;
}

// Every manifest file manifests/<host>/<ns>/<model>/<tag> whose parts form a valid name.
std::vector<stored_manifest> all_manifests(const std::string& root) {
  std::vector<stored_manifest> out;
  const std::string base = root + "/manifests";
  for (const auto& host : entries_of(base, false))
    for (const auto& ns : entries_of(base + "/" + host, false))
      for (const auto& model : entries_of(base + "/" + host + "/" + ns, false))
        for (const auto& tag : entries_of(base + "/" + host + "/" + ns + "/" + model, true)) {
          auto name = model_name::parse(host + "/" + ns + "/" + model + ":" + tag);
          if (!name.ok()) continue;
          out.push_back({std::move(name).value(), base + "/" + host + "/" + ns + "/" + model + "/" + tag});
        }
  return out;
}

int64_t mtime_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

// Removes now-empty parent directories of a manifest up to (not including) manifests/.
void remove_empty_parents(const std::string& root, const std::string& manifest_path) {
  fs::path stop = fs::path(root) / "manifests";
  fs::path p = fs::path(manifest_path).parent_path();
  while (p != stop && p.string().size() > stop.string().size()) {
    if (::rmdir(p.c_str()) != 0) break;
    p = p.parent_path();
  }
}

}  // namespace

result<std::unique_ptr<model_store>> model_store::open(const std::string& root) {
  R1_ASSIGN_OR_RETURN(blob_store blobs, blob_store::open(root + "/blobs"));
  std::string err;
  if (!make_dirs(root + "/manifests", &err)) return io_error("create manifest directory " + err);
  return std::unique_ptr<model_store>(new model_store(root, std::move(blobs)));
}

result<std::string> model_store::find_manifest_path(const model_name& name) const {
  std::string exact = root_ + "/" + name.manifest_rel_path();
  struct stat st;
  if (::stat(exact.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return exact;
  for (const auto& m : all_manifests(root_))
    if (m.name.same_as(name)) return m.path;
  return not_found("model '" + name.display() + "' is not in the store");
}

result<std::string> model_store::read_manifest_bytes(const model_name& name) const {
  R1_ASSIGN_OR_RETURN(std::string path, find_manifest_path(name));
  auto bytes = read_file(path, max_manifest_bytes);
  if (!bytes.ok()) return bytes.error().with_context("manifest of " + name.display());
  return bytes;
}

result<manifest> model_store::read_manifest(const model_name& name) const {
  R1_ASSIGN_OR_RETURN(std::string bytes, read_manifest_bytes(name));
  auto m = manifest::parse(bytes);
  if (!m.ok()) return m.error().with_context(name.display());
  return m;
}

bool model_store::has_model(const model_name& name) const { return find_manifest_path(name).ok(); }

status model_store::write_manifest(const model_name& name, std::string_view bytes) {
  if (!name.digest.empty() && sha256_of(bytes) != name.digest)
    return invalid_argument("model '" + name.display() + "': the manifest's sha256 is " + sha256_of(bytes) +
                            ", not the digest in the name");
  R1_ASSIGN_OR_RETURN(manifest m, manifest::parse(bytes));
  for (const auto& d : m.blobs()) {
    auto size = blobs_.size_of(d.digest);
    if (!size.ok()) return not_found("model '" + name.display() + "': blob " + d.digest + " is not in the store");
    if (*size != d.size)
      return corrupt("model '" + name.display() + "': blob " + d.digest + " has " + std::to_string(*size) +
                     " bytes, the manifest says " + std::to_string(d.size));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto old = find_manifest_path(name);
  const std::string path = root_ + "/" + name.manifest_rel_path();
  std::string err;
  if (!make_dirs(fs::path(path).parent_path().string(), &err)) return io_error("create " + err);
  R1_RETURN_IF_ERROR(write_file_atomic(path, bytes));
  if (old.ok() && *old != path) {  // same name, other spelling: keep one
    ::unlink(old->c_str());
    remove_empty_parents(root_, *old);
  }
  return {};
}

result<std::vector<model_info>> model_store::list() const {
  std::vector<model_info> out;
  for (const auto& m : all_manifests(root_)) {
    auto bytes = read_file(m.path, max_manifest_bytes);
    if (!bytes.ok()) {
      R1_LOG(warn, "registry") << "skipping manifest " << m.name.display() << ": " << bytes.error().to_string();
      continue;
    }
    auto parsed = manifest::parse(*bytes);
    if (!parsed.ok()) {
      R1_LOG(warn, "registry") << "skipping manifest " << m.name.display() << ": " << parsed.error().to_string();
      continue;
    }
    out.push_back({m.name, sha256_of(*bytes), parsed->total_size(), mtime_of(m.path)});
  }
  std::sort(out.begin(), out.end(), [](const model_info& a, const model_info& b) {
    return a.modified_unix != b.modified_unix ? a.modified_unix > b.modified_unix : a.name.full() < b.name.full();
  });
  return out;
}

result<model_details> model_store::show(const model_name& name) const {
  R1_ASSIGN_OR_RETURN(std::string path, find_manifest_path(name));
  model_details d;
  auto bytes = read_file(path, max_manifest_bytes);
  if (!bytes.ok()) return bytes.error().with_context("manifest of " + name.display());
  d.manifest_bytes = std::move(bytes).value();
  auto m = manifest::parse(d.manifest_bytes);
  if (!m.ok()) return m.error().with_context(name.display());
  d.man = std::move(m).value();
  d.info = {name, sha256_of(d.manifest_bytes), d.man.total_size(), mtime_of(path)};
  R1_ASSIGN_OR_RETURN(std::string cfg_path, blobs_.path_for(d.man.config.digest));
  if (d.man.config.size <= max_manifest_bytes) {
    auto cfg = read_file(cfg_path, max_manifest_bytes);
    if (cfg.ok()) d.config_bytes = std::move(cfg).value();
  }
  for (const auto& l : d.man.layers) {
    R1_ASSIGN_OR_RETURN(std::string p, blobs_.path_for(l.digest));
    d.layer_paths.push_back(std::move(p));
  }
  return d;
}

result<std::vector<std::string>> model_store::referenced_digests() const {
  std::set<std::string> refs;
  for (const auto& m : all_manifests(root_)) {
    auto bytes = read_file(m.path, max_manifest_bytes);
    if (!bytes.ok()) return bytes.error().with_context("manifest of " + m.name.display());
    auto parsed = manifest::parse(*bytes);
    if (!parsed.ok()) return parsed.error().with_context("manifest of " + m.name.display());
    for (const auto& d : parsed->blobs()) refs.insert(d.digest);
  }
  return std::vector<std::string>(refs.begin(), refs.end());
}

status model_store::remove(const model_name& name) {
  std::lock_guard<std::mutex> lock(mu_);
  R1_ASSIGN_OR_RETURN(std::string path, find_manifest_path(name));
  auto bytes = read_file(path, max_manifest_bytes);
  std::vector<descriptor> blobs;
  if (bytes.ok())
    if (auto m = manifest::parse(*bytes); m.ok()) blobs = m->blobs();
  if (::unlink(path.c_str()) != 0) return errno_status("remove manifest " + path, errno);
  remove_empty_parents(root_, path);
  auto refs = referenced_digests();
  if (!refs.ok()) {
    R1_LOG(warn, "registry") << "removed " << name.display() << " but kept its blobs: " << refs.error().to_string();
    return {};
  }
  std::set<std::string> still(refs->begin(), refs->end());
  for (const auto& d : blobs)
    if (!still.count(d.digest)) R1_RETURN_IF_ERROR(blobs_.remove(d.digest));
  return {};
}

status model_store::copy(const model_name& src, const model_name& dst) {
  R1_ASSIGN_OR_RETURN(std::string bytes, read_manifest_bytes(src));
  return write_manifest(dst, bytes);
}

result<prune_report> model_store::prune(int64_t grace_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto refs = referenced_digests();
  if (!refs.ok()) return corrupt("prune skipped, a manifest is unreadable: " + refs.error().message());
  std::set<std::string> used(refs->begin(), refs->end());
  prune_report report;
  const int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - grace_seconds;
  std::error_code ec;
  for (fs::directory_iterator it(blobs_.dir(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string path = it->path().string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // ctime too: a hard-linked local GGUF keeps its old mtime, but link() and
    // rename() update the inode's ctime, so a fresh import is not pruned.
    if (std::max<int64_t>(st.st_mtime, st.st_ctime) > cutoff) continue;
    bool committed = name.size() == 71 && is_valid_digest("sha256:" + name.substr(7)) && name.compare(0, 7, "sha256-") == 0;
    if (committed) {
      if (used.count("sha256:" + name.substr(7))) continue;
      report.removed_blobs.push_back("sha256:" + name.substr(7));
    } else {
      report.removed_partials.push_back(name);
    }
    if (::unlink(path.c_str()) != 0) return errno_status("prune " + path, errno);
    report.bytes_freed += static_cast<uint64_t>(st.st_size);
  }
  return report;
}

result<disk_usage_report> model_store::disk_usage() const {
  disk_usage_report r;
  R1_ASSIGN_OR_RETURN(auto refs, referenced_digests());
  std::set<std::string> used(refs.begin(), refs.end());
  R1_ASSIGN_OR_RETURN(auto blobs, blobs_.list());
  for (const auto& b : blobs) {
    r.blob_bytes += b.size;
    ++r.blob_count;
    if (!used.count(b.digest)) r.unreferenced_bytes += b.size;
  }
  std::error_code ec;
  for (fs::directory_iterator it(blobs_.dir(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    struct stat st;
    if (name.find("-partial") == std::string::npos && name.find(".tmp-") == std::string::npos) continue;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      r.partial_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  r.model_count = all_manifests(root_).size();
  return r;
}

result<manifest> model_store::create_model(const model_name& name, const std::vector<layer_source>& layers,
                                           std::string_view config_json_extra) {
  using json = nlohmann::json;
  json cfg = json::object();
  if (!config_json_extra.empty()) {
    cfg = json::parse(config_json_extra.begin(), config_json_extra.end(), nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object()) return invalid_argument("create " + name.display() + ": config is not a JSON object");
  }
  manifest m;
  json diff_ids = json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& src = layers[i];
    if (src.media_type.empty() || src.media_type.size() > 256)
      return invalid_argument("create " + name.display() + ": layer " + std::to_string(i) + " has no valid media type");
    descriptor d;
    d.media_type = src.media_type;
    if (!src.digest.empty()) {
      R1_ASSIGN_OR_RETURN(d.digest, validate_digest(src.digest));
      auto size = blobs_.size_of(d.digest);
      if (!size.ok()) return not_found("create " + name.display() + ": blob " + d.digest + " is not in the store");
      d.size = *size;
    } else {
      R1_ASSIGN_OR_RETURN(d.digest, blobs_.put_bytes(src.bytes));
      d.size = src.bytes.size();
    }
    diff_ids.push_back(d.digest);
    m.layers.push_back(std::move(d));
  }
  if (!cfg.contains("model_format")) cfg["model_format"] = "gguf";
  cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  std::string cfg_bytes = cfg.dump(-1, ' ', false, json::error_handler_t::replace);
  R1_ASSIGN_OR_RETURN(m.config.digest, blobs_.put_bytes(cfg_bytes));
  m.config.media_type = std::string(media_type::docker_config);
  m.config.size = cfg_bytes.size();
  R1_RETURN_IF_ERROR(write_manifest(name, m.serialize()));
  return m;
}

status model_store::verify(const model_name& name) const {
  R1_ASSIGN_OR_RETURN(manifest m, read_manifest(name));
  for (const auto& d : m.blobs()) {
    R1_ASSIGN_OR_RETURN(std::string path, blobs_.path_for(d.digest));
    auto actual = sha256_of_file(path);
    if (!actual.ok()) return actual.error().with_context("verify " + name.display());
    if (*actual != d.digest)
      return corrupt("verify " + name.display() + ": blob " + d.digest + " now hashes to " + *actual);
  }
  return {};
}

result<descriptor> model_store::import_local_gguf(const std::string& path) {
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
    char magic[4] = {};
    if (::pread(fd.get(), magic, 4, 0) != 4 || std::string_view(magic, 4) != "GGUF")
      return invalid_argument(path + " is not a GGUF file (bad magic)");
  }
  R1_ASSIGN_OR_RETURN(std::string digest, blobs_.put_file_link(path));
  R1_ASSIGN_OR_RETURN(uint64_t size, blobs_.size_of(digest));
  descriptor d;
  d.media_type = std::string(media_type::model);
  d.digest = digest;
  d.size = size;
  return d;
}

}  // namespace r1::registry
