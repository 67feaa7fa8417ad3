// The client against a real cpp-httplib server on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "r1/api/client.h"
#include "r1/test_support/registry_fixture.h"

namespace api = r1::api;
using json = nlohmann::json;

TEST(endpoint, parses_host_forms) {
  auto a = api::parse_endpoint("http://example:8080/", true);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "example");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(api::parse_endpoint("0.0.0.0", true)->host, "127.0.0.1");
  EXPECT_EQ(api::parse_endpoint(":9000", true)->port, 9000);
  EXPECT_EQ(api::parse_endpoint("[::1]:7000", true)->host, "::1");
  auto tls = api::parse_endpoint("https://x:8443", true);
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->scheme, "https");
  EXPECT_EQ(tls->port, 8443);
  auto sock = api::parse_endpoint("unix:///run/r1/r1.sock", true);
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(sock->scheme, "unix");
  EXPECT_EQ(sock->socket_path, "/run/r1/r1.sock");
  EXPECT_FALSE(api::parse_endpoint("ftp://x", true).ok());
  EXPECT_FALSE(api::parse_endpoint("x:99999", true).ok());
}

TEST(client, json_streams_and_errors) {
  httplib::Server srv;
  srv.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content(R"({"a":1})", "application/json"); });
  srv.Post("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"error":"model 'x' not found"})", "application/json");
  });
  srv.Post("/busy", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content(R"({"error":"server busy"})", "application/json");
  });
  srv.Post("/stream", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/x-ndjson", [](size_t, httplib::DataSink& sink) {
      for (int i = 0; i < 3; ++i) {
        std::string line = json{{"i", i}}.dump() + "\n";
        sink.write(line.data(), line.size());
      }
      std::string err = R"({"error":"runner died"})" "\n";
      sink.write(err.data(), err.size());
      sink.done();
      return true;
    });
  });
  int port = srv.bind_to_any_port("127.0.0.1");
  std::thread t([&] { srv.listen_after_bind(); });
  api::client_options o;
  o.server.port = port;
  api::client c(o);
  auto ok = c.get("/ok");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["a"], 1);
  auto nf = c.post("/missing", json::object());
  EXPECT_EQ(nf.error().code(), r1::error_code::not_found);
  EXPECT_EQ(nf.error().message(), "model 'x' not found");
  EXPECT_EQ(c.post("/busy", json::object()).error().code(), r1::error_code::unavailable);
  int seen = 0;
  auto st = c.stream("/stream", json::object(), [&](const json& j) {
    EXPECT_EQ(j["i"], seen++);
    return true;
  });
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(st.message(), "runner died");
  srv.stop();
  t.join();
}

TEST(client, refused_connection_says_how_to_start_the_daemon) {
  api::client_options o;
  o.server.port = r1::test_support::free_loopback_port();  // nothing listens there
  o.connect_timeout_s = 2;
  api::client c(o);
  auto r = c.get("/api/tags");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), r1::error_code::unavailable);
  EXPECT_NE(r.error().message().find("r1 serve"), std::string::npos);
}
