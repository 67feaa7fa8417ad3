#include "r1/registry/model_name.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "r1/registry/digest.h"

namespace r1::registry {

namespace {

bool is_alnum_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// `s` (at most `max` characters) in single quotes. Built by appending: `"'" + std::string(s)`
// draws a false -Wrestrict from GCC 12 at -O3, which breaks Release builds with -Werror.
std::string quoted(std::string_view s, size_t max = std::string_view::npos) {
  std::string q = "'";
  q.append(s.substr(0, max));
  q += '\'';
  return q;
}

// Checks `part` against [A-Za-z0-9_][A-Za-z0-9_<extra>]* and a maximum length.
status check_part(std::string_view what, std::string_view part, std::string_view extra, size_t max_len,
                  std::string_view whole) {
  auto ctx = [&](const std::string& msg) {
    return invalid_argument("model name '" + std::string(whole.substr(0, 200)) + "': " + std::string(what) +
                            " " + msg);
  };
  if (part.empty()) return ctx("is empty");
  if (part.size() > max_len) return ctx("is longer than " + std::to_string(max_len) + " characters");
  if (!is_alnum_(part[0])) return ctx(quoted(part) + " must start with a letter, digit or '_'");
  for (char c : part) {
    if (!is_alnum_(c) && extra.find(c) == std::string_view::npos) {
      std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + std::to_string(static_cast<unsigned char>(c));
      std::string allowed = "letters, digits, '_'";
      if (!extra.empty()) allowed.append(", ").append(quoted(extra));
      return ctx(quoted(part, 100) + " contains " + quoted(shown) + " (allowed: " + allowed + ")");
    }
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

constexpr std::string_view digest_tag_prefix = "sha256-";

// Splits a trailing "@sha256:<hex>" off `text` into `digest`.
status split_digest(std::string_view* text, std::string* digest, std::string_view whole) {
  const size_t at = text->find('@');
  if (at == std::string_view::npos) return {};
  std::string_view d = text->substr(at + 1);
  auto ctx = [&](const std::string& msg) {
    return invalid_argument("model name '" + std::string(whole.substr(0, 200)) + "': digest " + msg);
  };
  if (d.find('@') != std::string_view::npos) return ctx("follows a second '@'");
  if (d.empty()) return ctx("after '@' is empty");
  if (!d.starts_with("sha256:")) return ctx(quoted(d, 80) + " must be sha256:<64 hex digits>");
  if (!is_valid_digest(d)) return ctx(quoted(d, 80) + " must be sha256: followed by 64 lower-case hex digits");
  *digest = std::string(d);
  text->remove_suffix(text->size() - at);
  if (text->empty()) return ctx("has no model name before '@'");
  return {};
}

}  // namespace

result<model_name> model_name::parse(std::string_view text) {
  const std::string_view whole = text;
  if (text.empty()) return invalid_argument("model name is empty");
  if (text.size() > 600) return invalid_argument("model name is longer than 600 characters");
  model_name n;
  if (size_t p = text.find("://"); p != std::string_view::npos) {
    std::string scheme = lower(text.substr(0, p));
    if (scheme != "http" && scheme != "https")
      return invalid_argument("model name '" + std::string(whole) + "': scheme must be http or https");
    n.scheme = scheme;
    text.remove_prefix(p + 3);
  }
  R1_RETURN_IF_ERROR(split_digest(&text, &n.digest, whole));
  // The tag follows the last ':' only if that colon is after the last '/'.
  size_t last_slash = text.rfind('/');
  size_t last_colon = text.rfind(':');
  std::string_view rest = text;
  if (last_colon != std::string_view::npos && (last_slash == std::string_view::npos || last_colon > last_slash)) {
    n.tag = std::string(text.substr(last_colon + 1));
    rest = text.substr(0, last_colon);
    if (n.tag.empty()) return invalid_argument("model name '" + std::string(whole) + "': tag after ':' is empty");
  } else if (n.digest.empty()) {
    n.tag = std::string(default_tag);
  }
  // Up to two '/' splits from the right: model, namespace, host.
  std::vector<std::string_view> parts;
  while (true) {
    size_t s = rest.rfind('/');
    if (s == std::string_view::npos || parts.size() == 2) {
      parts.push_back(rest);
      break;
    }
    parts.push_back(rest.substr(s + 1));
    rest = rest.substr(0, s);
  }
  if (parts.size() == 3 && parts[2].find('/') != std::string_view::npos)
    return invalid_argument("model name '" + std::string(whole) + "': too many '/' (expected [host/][namespace/]model)");
  n.model = std::string(parts[0]);
  n.name_space = parts.size() >= 2 ? std::string(parts[1]) : std::string(default_namespace);
  n.host = parts.size() == 3 ? std::string(parts[2]) : std::string(default_host);
  if (!n.scheme.empty() && parts.size() < 3)
    return invalid_argument("model name '" + std::string(whole) + "': a scheme needs a host");
  R1_RETURN_IF_ERROR(check_part("host", n.host, ".:-", 350, whole));
  R1_RETURN_IF_ERROR(check_part("namespace", n.name_space, "-", 80, whole));
  R1_RETURN_IF_ERROR(check_part("model", n.model, ".-", 80, whole));
  if (!n.tag.empty()) R1_RETURN_IF_ERROR(check_part("tag", n.tag, ".-", 80, whole));
  // The store's spelling of a digest name ("sha256-<hex>" as the tag) is the digest form.
  if (n.digest.empty() && n.tag.starts_with(digest_tag_prefix) &&
      is_valid_digest("sha256:" + n.tag.substr(digest_tag_prefix.size()))) {
    n.digest = "sha256:" + n.tag.substr(digest_tag_prefix.size());
    n.tag.clear();
  }
  // Parts become directory names: refuse the two special ones outright.
  for (const std::string* p : {&n.host, &n.model, &n.tag}) {
    if (*p == "." || *p == ".." || p->find("..") != std::string::npos)
      return invalid_argument("model name '" + std::string(whole) + "': '..' is not allowed");
  }
  return n;
}

std::string model_name::display() const {
  std::string out;
  if (lower(host) != default_host) out += host + "/" + name_space + "/";
  else if (lower(name_space) != default_namespace) out += name_space + "/";
  out += model;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string model_name::full() const {
  std::string out = host + "/" + name_space + "/" + model;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string model_name::reference() const { return digest.empty() ? tag : digest; }

std::string model_name::repository() const {
  // OCI repository names are lower case; Hugging Face repository ids keep theirs.
  const std::string h = lower(host);
  if (h == "hf.co" || h == "huggingface.co") return name_space + "/" + model;
  return lower(name_space) + "/" + lower(model);
}

std::string model_name::manifest_rel_path() const {
  const std::string leaf = digest.empty() ? tag : std::string(digest_tag_prefix) + digest.substr(7);
  return "manifests/" + host + "/" + name_space + "/" + model + "/" + leaf;
}

bool model_name::same_as(const model_name& o) const {
  if (lower(host) != lower(o.host) || lower(name_space) != lower(o.name_space) || lower(model) != lower(o.model))
    return false;
  if (!digest.empty() || !o.digest.empty()) return digest == o.digest;
  return lower(tag) == lower(o.tag);
}

bool is_loopback_host(std::string_view host) {
  std::string h = lower(host);
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    return close != std::string::npos && h.substr(1, close - 1) == "::1";
  }
  if (size_t colon = h.rfind(':'); colon != std::string::npos) h.resize(colon);
  if (h == "localhost" || (h.size() > 10 && h.ends_with(".localhost"))) return true;
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace r1::registry
