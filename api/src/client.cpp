#include "r1/api/client.h"

#include <fstream>
#include <vector>

#include <httplib.h>

#include "r1/api/http_line_reader.h"
#include "r1/api/json_util.h"
#include "unix_bridge.h"

namespace r1::api {

namespace {

std::string error_text(const json& j) {
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
  }
  return "";
}

status connect_error(const endpoint& ep, httplib::Error err) {
  std::string where = ep.scheme == "http" ? ep.host + ":" + std::to_string(ep.port) : ep.to_string();
  if (ep.scheme == "unix") {
    auto probe = connect_unix(ep.socket_path);
    if (!probe.ok())
      return unavailable("could not connect to the r1 daemon at " + where + ": " + probe.error().message() +
                         " (is r1d running with unix_socket set, and may this user open the socket?)");
  }
  if (err == httplib::Error::SSLServerVerification)
    return unavailable("the TLS certificate of the r1 daemon at " + where +
                       " could not be verified: set R1_CA_FILE to the CA that signed it");
  if (err == httplib::Error::Connection)
    return unavailable("could not connect to the r1 daemon at " + where +
                       ": the daemon is not running, start it with `r1 serve`");
  return unavailable("request to the r1 daemon at " + where + " failed: " + httplib::to_string(err));
}

}  // namespace

status status_from_http(int http_status, std::string_view body) {
  std::string msg;
  auto j = parse_json(body, "error body");
  if (j.ok()) msg = error_text(*j);
  if (msg.empty()) msg = std::string(body.substr(0, 512));
  if (msg.empty()) msg = "HTTP " + std::to_string(http_status);
  switch (http_status) {
    case 400: case 413: case 422: return invalid_argument(msg);
    case 401: case 403: return permission_denied(msg);
    case 404: return not_found(msg);
    case 409: return already_exists(msg);
    case 429: case 503: return unavailable(msg);
    case 499: return cancelled(msg);
    default: return internal_error(msg);
  }
}

std::string endpoint::to_string() const {
  if (scheme == "unix") return "unix://" + socket_path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

result<endpoint> parse_endpoint(std::string_view text, bool for_connect) {
  endpoint ep;
  std::string s(text);
  if (auto p = s.find("://"); p != std::string::npos) {
    std::string scheme = s.substr(0, p);
    if (scheme == "unix") {
      ep.scheme = "unix";
      ep.socket_path = s.substr(p + 3);
      if (ep.socket_path.empty() || ep.socket_path[0] != '/')
        return invalid_argument("host '" + std::string(text) + "': a unix socket needs an absolute path (unix:///run/r1/r1.sock)");
      return ep;
    }
    if (scheme != "http" && scheme != "https")
      return invalid_argument("host '" + std::string(text) + "': the scheme must be http, https or unix");
    ep.scheme = scheme;
    s = s.substr(p + 3);
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string host = s, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return invalid_argument("host '" + std::string(text) + "': missing ]");
    host = s.substr(1, close - 1);
    if (close + 1 < s.size() && s[close + 1] == ':') port = s.substr(close + 2);
  } else if (auto c = s.rfind(':'); c != std::string::npos && s.find(':') == c) {
    host = s.substr(0, c);
    port = s.substr(c + 1);
  }
  if (!host.empty()) ep.host = host;
  if (!port.empty()) {
    int p = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9' || p > 65535) return invalid_argument("host '" + std::string(text) + "': bad port");
      p = p * 10 + (ch - '0');
    }
    if (p > 65535) return invalid_argument("host '" + std::string(text) + "': bad port");
    ep.port = p;
  }
  if (for_connect && (ep.host == "0.0.0.0" || ep.host == "::")) ep.host = ep.host == "::" ? "::1" : "127.0.0.1";
  return ep;
}

struct client::impl {
  explicit impl(const client_options& o) {
    const endpoint& ep = o.server;
    if (ep.scheme == "unix") {
      auto b = unix_bridge::start(ep.socket_path);
      if (b.ok()) bridge = std::move(*b);
      // Without a bridge the client points at a port nothing listens on; calls report the socket's state.
      http = std::make_unique<httplib::Client>("127.0.0.1", bridge ? bridge->port() : 0);
      if (bridge) http->set_socket_options([br = bridge.get()](socket_t sock) { br->reserve(sock); });
    } else if (ep.scheme == "https") {
      std::string h = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
      http = std::make_unique<httplib::Client>("https://" + h + ":" + std::to_string(ep.port));
      if (!o.ca_file.empty()) http->set_ca_cert_path(o.ca_file.c_str());
      http->enable_server_certificate_verification(true);
    } else {
      http = std::make_unique<httplib::Client>(ep.host, ep.port);
    }
    http->set_connection_timeout(o.connect_timeout_s, 0);
    http->set_read_timeout(o.read_timeout_s, 0);
    http->set_write_timeout(o.read_timeout_s, 0);
    http->set_keep_alive(true);
    if (!o.api_key.empty()) http->set_bearer_token_auth(o.api_key);
  }
  std::unique_ptr<unix_bridge> bridge;  // scheme unix; outlives `http` (declared first)
  std::unique_ptr<httplib::Client> http;
};

client::client(client_options opts) : impl_(std::make_unique<impl>(opts)), opts_(std::move(opts)) {}
client::~client() = default;

static result<json> json_reply(const httplib::Result& res, const endpoint& ep) {
  if (!res) return connect_error(ep, res.error());
  if (res->status < 200 || res->status >= 300) return status_from_http(res->status, res->body);
  if (res->body.empty()) return json::object();
  return parse_json(res->body, "daemon reply");
}

result<json> client::get(const std::string& path) { return json_reply(impl_->http->Get(path), opts_.server); }

result<std::string> client::get_text(const std::string& path) {
  auto res = impl_->http->Get(path);
  if (!res) return connect_error(opts_.server, res.error());
  if (res->status < 200 || res->status >= 300) return status_from_http(res->status, res->body);
  return res->body;
}

result<json> client::post(const std::string& path, const json& body) {
  return json_reply(impl_->http->Post(path, dump(body), "application/json"), opts_.server);
}

result<json> client::del(const std::string& path, const json& body) {
  return json_reply(impl_->http->Delete(path, dump(body), "application/json"), opts_.server);
}

result<int> client::head(const std::string& path) {
  auto res = impl_->http->Head(path);
  if (!res) return connect_error(opts_.server, res.error());
  return res->status;
}

result<int> client::post_file(const std::string& path, const std::string& file) {
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  if (!*in) return errno_status("open " + file, errno);
  in->seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in->tellg());
  in->seekg(0);
  auto res = impl_->http->Post(
      path, size,
      [in](size_t, size_t length, httplib::DataSink& sink) {
        std::vector<char> buf(std::min<size_t>(length, 1 << 20));
        in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto got = in->gcount();
        if (got <= 0) return false;
        return sink.write(buf.data(), static_cast<size_t>(got));
      },
      "application/octet-stream");
  if (!res) return connect_error(opts_.server, res.error());
  if (res->status < 200 || res->status >= 300) return status_from_http(res->status, res->body);
  return res->status;
}

namespace {

// Sends a POST whose reply is read line by line; `on_line` gets each complete line.
status post_lines(httplib::Client& http, const endpoint& ep, const std::string& path, const json& body,
                  const std::function<bool(std::string_view)>& on_line) {
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = dump(body);
  req.set_header("Content-Type", "application/json");
  http_line_reader lines(on_line);
  lines.attach(req);
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = http.send(req, res, err);
  if (lines.stopped()) return cancelled("stopped by the caller");
  if (!ok) return connect_error(ep, err);
  if (!lines.ok_status()) return status_from_http(lines.http_status(), lines.error_body());
  if (!lines.rest().empty() && !on_line(lines.rest())) return cancelled("stopped by the caller");
  return {};
}

}  // namespace

status client::stream(const std::string& path, const json& body, const std::function<bool(const json&)>& on_object) {
  status inner;
  auto st = post_lines(*impl_->http, opts_.server, path, body, [&](std::string_view line) {
    auto j = parse_json(line, "stream line");
    if (!j.ok()) {
      inner = j.error();
      return false;
    }
    if (std::string e = error_text(*j); !e.empty()) {
      inner = internal_error(e);
      return false;
    }
    return on_object(*j);
  });
  if (!inner.ok()) return inner;
  return st;
}

status client::stream_sse(const std::string& path, const json& body,
                          const std::function<bool(std::string_view)>& on_data) {
  return post_lines(*impl_->http, opts_.server, path, body, [&](std::string_view line) {
    if (line.rfind("data:", 0) != 0) return true;  // comments, event names, blank lines
    line.remove_prefix(5);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return on_data(line);
  });
}

}  // namespace r1::api
