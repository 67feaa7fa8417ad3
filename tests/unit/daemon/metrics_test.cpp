// The metrics registry: exposition text format 0.0.4, label escaping,
// histogram buckets against sums computed here, and concurrent updates.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "metrics.h"

namespace d = r1::daemon;

TEST(metrics, counter_and_gauge_exposition) {
  d::metrics_registry reg;
  auto& c = reg.counter("r1_test_total", "a test counter", {"route", "status"});
  auto& g = reg.gauge("r1_test_depth", "a gauge");
  c.inc({"/api/chat", "200"});
  c.inc({"/api/chat", "200"}, 2);
  c.inc({"/api/tags", "404"});
  c.inc({"/api/tags", "404"}, -5);  // counters never go down
  g.set({}, 7);
  g.add({}, -2.5);
  std::string text = reg.expose();
  EXPECT_NE(text.find("# HELP r1_test_total a test counter\n# TYPE r1_test_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_test_total{route=\"/api/chat\",status=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_test_total{route=\"/api/tags\",status=\"404\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE r1_test_depth gauge\nr1_test_depth 4.5\n"), std::string::npos) << text;
  EXPECT_EQ(c.value({"/api/chat", "200"}), 3);
  g.clear();
  EXPECT_EQ(reg.expose().find("\nr1_test_depth "), std::string::npos);  // HELP and TYPE stay, samples go
}

TEST(metrics, label_values_are_escaped) {
  d::metrics_registry reg;
  auto& c = reg.counter("r1_x_total", "help with \\ and\nnewline", {"model"});
  c.inc({"we\"ird\\name\nx"});
  std::string text = reg.expose();
  EXPECT_NE(text.find("r1_x_total{model=\"we\\\"ird\\\\name\\nx\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP r1_x_total help with \\\\ and\\nnewline\n"), std::string::npos) << text;
}

TEST(metrics, histogram_buckets_are_cumulative) {
  d::metrics_registry reg;
  auto& h = reg.histogram("r1_lat_seconds", "latency", {"model"}, {0.1, 1, 10});
  std::vector<double> obs = {0.05, 0.1, 0.5, 2, 3, 20, 0.01};
  double sum = 0;
  for (double v : obs) {
    h.observe({"m"}, v);
    sum += v;
  }
  std::string text = reg.expose();
  // Bucket counts computed by hand: <=0.1: 0.05, 0.1, 0.01; <=1: + 0.5; <=10: + 2, 3; +Inf: + 20.
  EXPECT_NE(text.find("r1_lat_seconds_bucket{model=\"m\",le=\"0.1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_lat_seconds_bucket{model=\"m\",le=\"1\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_lat_seconds_bucket{model=\"m\",le=\"10\"} 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_lat_seconds_bucket{model=\"m\",le=\"+Inf\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_lat_seconds_count{model=\"m\"} 7\n"), std::string::npos) << text;
  EXPECT_DOUBLE_EQ(h.sum({"m"}), sum);
  EXPECT_EQ(h.count({"m"}), 7u);
}

TEST(metrics, format_values) {
  EXPECT_EQ(d::format_metric_value(3), "3");
  EXPECT_EQ(d::format_metric_value(-2), "-2");
  EXPECT_EQ(d::format_metric_value(0.5), "0.5");
  EXPECT_EQ(d::format_metric_value(0.005), "0.005");
  EXPECT_EQ(d::format_metric_value(0.1 + 0.2), "0.30000000000000004");  // exact when %.15g would round
  EXPECT_EQ(d::format_metric_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(d::format_metric_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(d::format_metric_value(0.0 / 0.0), "NaN");
}

TEST(metrics, collectors_run_before_exposition) {
  d::metrics_registry reg;
  auto& g = reg.gauge("r1_live", "computed at scrape");
  int calls = 0;
  reg.on_collect([&] { g.set({}, ++calls); });
  EXPECT_NE(reg.expose().find("r1_live 1\n"), std::string::npos);
  EXPECT_NE(reg.expose().find("r1_live 2\n"), std::string::npos);
}

TEST(metrics, concurrent_increments_are_not_lost) {
  d::metrics_registry reg;
  auto& c = reg.counter("r1_conc_total", "concurrency", {"t"});
  auto& h = reg.histogram("r1_conc_seconds", "concurrency", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        c.inc({t % 2 ? "odd" : "even"});
        h.observe({}, 0.5);
        if (i % 500 == 0) (void)reg.expose();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.value({"odd"}) + c.value({"even"}), 40000);
  EXPECT_EQ(h.count({}), 40000u);
}

TEST(metrics, route_templates_bound_cardinality) {
  EXPECT_EQ(d::route_template("/api/chat"), "/api/chat");
  EXPECT_EQ(d::route_template("/api/blobs/sha256:abcd"), "/api/blobs/:digest");
  EXPECT_EQ(d::route_template("/v1/models/deepseek-r1:7b"), "/v1/models/:model");
  EXPECT_EQ(d::route_template("/api/keys/0123456789abcdef"), "/api/keys/:id");
  EXPECT_EQ(d::route_template("/wp-admin/../../etc/passwd"), "unmatched");
  EXPECT_EQ(d::route_template("/api/chatx"), "unmatched");
}
