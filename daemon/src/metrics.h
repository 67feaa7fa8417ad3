// A small Prometheus metrics registry: counter, gauge and histogram families
// with labels, written in the text exposition format 0.0.4 (what /metrics
// serves).
//
// Families are created once at start (metrics_registry::counter/gauge/
// histogram) and live as long as the registry; callers keep the returned
// reference. Label values are given in the order of the family's label names;
// callers keep their cardinality bounded (route templates, model names of the
// store, never raw paths or user text).
//
// Thread safety: every method may be called from any thread; each family has
// its own mutex. expose() takes a consistent snapshot per family.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace r1::daemon {

using label_values = std::vector<std::string>;

class metric_family {
 public:
  metric_family(std::string name, std::string help, std::string type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(std::move(type)), label_names_(std::move(label_names)) {}
  virtual ~metric_family() = default;
  const std::string& name() const { return name_; }
  // Appends "# HELP", "# TYPE" and one line per sample.
  void expose(std::string* out) const;

 protected:
  virtual void samples(std::string* out) const = 0;
  // `{a="x",b="y"}` (with an extra label pair appended when `extra` is set), escaped.
  std::string label_text(const label_values& values, const std::string& extra_name = "",
                         const std::string& extra_value = "") const;
  mutable std::mutex mu_;

 private:
  std::string name_, help_, type_;
  std::vector<std::string> label_names_;
};

// One number per label set (the common part of counters and gauges).
class scalar_family : public metric_family {
 public:
  using metric_family::metric_family;
  double value(const label_values& labels) const;

 protected:
  void samples(std::string* out) const override;
  std::map<label_values, double> values_;
};

// A monotonically increasing value per label set.
class counter_family : public scalar_family {
 public:
  counter_family(std::string name, std::string help, std::vector<std::string> labels)
      : scalar_family(std::move(name), std::move(help), "counter", std::move(labels)) {}
  // Negative and NaN increments are ignored.
  void inc(const label_values& labels, double by = 1);
};

// A value that goes up and down. clear() drops every label set (gauges that
// are recomputed at each scrape, such as the loaded models).
class gauge_family : public scalar_family {
 public:
  gauge_family(std::string name, std::string help, std::vector<std::string> labels)
      : scalar_family(std::move(name), std::move(help), "gauge", std::move(labels)) {}
  void set(const label_values& labels, double v);
  void add(const label_values& labels, double by);
  void clear();
};

// Observations counted into cumulative buckets (upper bounds, ascending; +Inf
// is implicit), with _sum and _count.
class histogram_family : public metric_family {
 public:
  histogram_family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds);
  void observe(const label_values& labels, double v);
  uint64_t count(const label_values& labels) const;
  double sum(const label_values& labels) const;

 protected:
  void samples(std::string* out) const override;

 private:
  struct series {
    std::vector<uint64_t> buckets;  // per bound, not cumulative; +Inf is count
    uint64_t count = 0;
    double sum = 0;
  };
  std::vector<double> bounds_;
  std::map<label_values, series> series_;
};

class metrics_registry {
 public:
  counter_family& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  gauge_family& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  histogram_family& histogram(std::string name, std::string help, std::vector<std::string> labels,
                              std::vector<double> bounds);
  // Runs before each exposition (under no lock of the registry): refreshes gauges
  // computed from live state.
  void on_collect(std::function<void()> fn);
  // The whole registry in text format 0.0.4.
  std::string expose() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<metric_family>> families_;
  std::vector<std::function<void()>> collectors_;
};

// The daemon's metric families (names as docs/api.md lists them).
struct daemon_metrics {
  daemon_metrics();
  metrics_registry registry;
  counter_family& http_requests;          // {route, method, status}
  histogram_family& http_duration;        // {route} seconds, whole response including streaming
  counter_family& prompt_tokens;          // {model}
  counter_family& generated_tokens;       // {model}
  histogram_family& time_to_first_token;  // {model} seconds, request start to first generated token
  histogram_family& tokens_per_second;    // {model} generation speed of a finished completion
  histogram_family& load_duration;        // {model} seconds to start a runner and load the model
  counter_family& load_failures;          // {model}
  gauge_family& queue_depth;              // {model} requests waiting for a slot
  gauge_family& in_flight;                // {model} requests running on a runner
  gauge_family& loaded_models;            // {}
  gauge_family& runner_memory;            // {model, device} bytes in use per runner
  counter_family& pull_bytes;             // {} blob bytes downloaded by pulls
  counter_family& pulls;                  // {result} success / failure
  counter_family& pull_failures;          // {}
  counter_family& auth_failures;          // {reason}
  counter_family& rate_limited;           // {scope}
};

// The route label for a request path: the registered route's template
// ("/api/blobs/:digest", "/v1/models/:model"), or "unmatched".
std::string route_template(const std::string& path);

// Formats a sample value as Prometheus expects: integers without a fraction,
// +Inf/-Inf/NaN spelled out.
std::string format_metric_value(double v);
// Escapes a label value (backslash, double quote, newline).
std::string escape_label_value(const std::string& v);

}  // namespace r1::daemon
