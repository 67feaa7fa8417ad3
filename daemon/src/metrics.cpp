#include "metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "r1/base/assert.h"

namespace r1::daemon {

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    // The shortest of %.15g / %.17g that reads back as the same double ("0.1", not "0.10000000000000001").
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {
// HELP text escapes only backslash and newline.
std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
}  // namespace

void metric_family::expose(std::string* out) const {
  *out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  *out += "# TYPE " + name_ + " " + type_ + "\n";
  std::lock_guard<std::mutex> lk(mu_);
  samples(out);
}

std::string metric_family::label_text(const label_values& values, const std::string& extra_name,
                                      const std::string& extra_value) const {
  if (label_names_.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (i) out += ',';
    out += label_names_[i] + "=\"" + escape_label_value(i < values.size() ? values[i] : "") + "\"";
  }
  if (!extra_name.empty()) {
    if (!label_names_.empty()) out += ',';
    out += extra_name + "=\"" + escape_label_value(extra_value) + "\"";
  }
  return out + "}";
}

double scalar_family::value(const label_values& labels) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void scalar_family::samples(std::string* out) const {
  for (const auto& [labels, v] : values_) *out += name() + label_text(labels) + " " + format_metric_value(v) + "\n";
}

void counter_family::inc(const label_values& labels, double by) {
  if (!(by >= 0)) return;  // counters never go down (and NaN is dropped)
  std::lock_guard<std::mutex> lk(mu_);
  values_[labels] += by;
}

void gauge_family::set(const label_values& labels, double v) {
  std::lock_guard<std::mutex> lk(mu_);
  values_[labels] = v;
}

void gauge_family::add(const label_values& labels, double by) {
  std::lock_guard<std::mutex> lk(mu_);
  values_[labels] += by;
}

void gauge_family::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  values_.clear();
}

histogram_family::histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                                   std::vector<double> bounds)
    : metric_family(std::move(name), std::move(help), "histogram", std::move(labels)), bounds_(std::move(bounds)) {
  for (size_t i = 1; i < bounds_.size(); ++i) R1_ASSERT(bounds_[i - 1] < bounds_[i]);
}

void histogram_family::observe(const label_values& labels, double v) {
  if (std::isnan(v)) return;
  std::lock_guard<std::mutex> lk(mu_);
  series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
  ++s.count;
  s.sum += v;
}

uint64_t histogram_family::count(const label_values& labels) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

double histogram_family::sum(const label_values& labels) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.sum;
}

void histogram_family::samples(std::string* out) const {
  for (const auto& [labels, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      *out += name() + "_bucket" + label_text(labels, "le", format_metric_value(bounds_[i])) + " " +
              std::to_string(cumulative) + "\n";
    }
    *out += name() + "_bucket" + label_text(labels, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
    *out += name() + "_sum" + label_text(labels) + " " + format_metric_value(s.sum) + "\n";
    *out += name() + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
  }
}

counter_family& metrics_registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  auto f = std::make_unique<counter_family>(std::move(name), std::move(help), std::move(labels));
  auto& ref = *f;
  std::lock_guard<std::mutex> lk(mu_);
  families_.push_back(std::move(f));
  return ref;
}

gauge_family& metrics_registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  auto f = std::make_unique<gauge_family>(std::move(name), std::move(help), std::move(labels));
  auto& ref = *f;
  std::lock_guard<std::mutex> lk(mu_);
  families_.push_back(std::move(f));
  return ref;
}

histogram_family& metrics_registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  auto f = std::make_unique<histogram_family>(std::move(name), std::move(help), std::move(labels), std::move(bounds));
  auto& ref = *f;
  std::lock_guard<std::mutex> lk(mu_);
  families_.push_back(std::move(f));
  return ref;
}

void metrics_registry::on_collect(std::function<void()> fn) {
  std::lock_guard<std::mutex> lk(mu_);
  collectors_.push_back(std::move(fn));
}

std::string metrics_registry::expose() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lk(mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::string out;
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& f : families_) f->expose(&out);
  return out;
}

namespace {
const std::vector<double> k_seconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
const std::vector<double> k_rates = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
}  // namespace

daemon_metrics::daemon_metrics()
    : http_requests(registry.counter("r1_http_requests_total", "HTTP requests answered", {"route", "method", "status"})),
      http_duration(registry.histogram("r1_http_request_duration_seconds",
                                       "time from request start to the end of the response (streams included)",
                                       {"route"}, k_seconds)),
      prompt_tokens(registry.counter("r1_prompt_tokens_total", "prompt tokens of finished completions", {"model"})),
      generated_tokens(registry.counter("r1_generated_tokens_total", "tokens generated by finished completions", {"model"})),
      time_to_first_token(registry.histogram("r1_time_to_first_token_seconds",
                                             "time from the request reaching the runner to its first generated token",
                                             {"model"}, k_seconds)),
      tokens_per_second(registry.histogram("r1_tokens_per_second", "generation speed of finished completions",
                                           {"model"}, k_rates)),
      load_duration(registry.histogram("r1_model_load_duration_seconds", "time to start a runner and load a model",
                                       {"model"}, k_seconds)),
      load_failures(registry.counter("r1_model_load_failures_total", "model loads that failed", {"model"})),
      queue_depth(registry.gauge("r1_queue_depth", "requests waiting for a runner slot", {"model"})),
      in_flight(registry.gauge("r1_requests_in_flight", "requests running on a runner", {"model"})),
      loaded_models(registry.gauge("r1_loaded_models", "models with a runner (loading or ready)")),
      runner_memory(registry.gauge("r1_runner_memory_bytes", "memory in use by each runner", {"model", "device"})),
      pull_bytes(registry.counter("r1_pull_bytes_total", "blob bytes downloaded by pulls")),
      pulls(registry.counter("r1_pulls_total", "finished pulls by result", {"result"})),
      pull_failures(registry.counter("r1_pull_failures_total", "pulls that failed")),
      auth_failures(registry.counter("r1_auth_failures_total", "requests refused by authentication", {"reason"})),
      rate_limited(registry.counter("r1_rate_limited_total", "requests refused by a rate limit (429)", {"scope"})) {}

std::string route_template(const std::string& path) {
  static const char* fixed[] = {
      "/", "/metrics", "/api/version", "/api/tags", "/api/show", "/api/copy", "/api/delete", "/api/ps",
      "/api/pull", "/api/push", "/api/create", "/api/generate", "/api/chat", "/api/embed", "/api/embeddings",
      "/api/export", "/api/import", "/api/keys", "/api/bench", "/v1/chat/completions", "/v1/completions", "/v1/models",
      "/v1/embeddings", "/v1/messages", "/chat/completions", "/completions", "/models", "/embeddings"};
  for (const char* f : fixed)
    if (path == f) return f;
  struct prefix {
    const char* p;
    const char* tmpl;
  };
  static const prefix prefixes[] = {{"/api/blobs/", "/api/blobs/:digest"},
                                    {"/api/keys/", "/api/keys/:id"},
                                    {"/v1/models/", "/v1/models/:model"},
                                    {"/models/", "/models/:model"}};
  for (const auto& p : prefixes)
    if (path.rfind(p.p, 0) == 0) return p.tmpl;
  return "unmatched";
}

}  // namespace r1::daemon
