// A control plane and engines for integration tests: the real
// aether-control and aether-engine binaries on 127.0.0.1 (free ports, temp
// data dirs), with short timings (heartbeat 200 ms, node_timeout 1 s).
// Every process is stopped or killed by its PID (process.h).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "exposition.h"
#include "process.h"

namespace aether::testing {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline const std::string kControl = std::string(AETHER_BIN_DIR) + "/aether-control";
inline const std::string kEngine = std::string(AETHER_BIN_DIR) + "/aether-engine";

inline std::string GuestBytes(const std::string& name) {
  return ReadFile(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm");
}

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline json::object Obj(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

inline std::string Str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : "";
}

// The lines of a text file (none when it does not exist).
inline std::vector<std::string> FileLines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Polls `cond` every 20 ms until it holds or `limit` passes.
inline bool WaitFor(const std::function<bool()>& cond, milliseconds limit = seconds(10)) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return cond();
}

// One aether-control; restartable on the same data dir and port.
class Control {
 public:
  // `extra` is appended to the config file (sections not used above).
  explicit Control(const std::string& extra = "") {
    config_ = dir_ / "control.toml";
    WriteFile(config_, "[database]\npath = \"" + dir_ / "data/aether.db" + "\"\n" +
                           "[registry]\nnode_timeout = \"1s\"\nheartbeat_interval = \"200ms\"\n" +
                           "[runtime]\nexec_timeout = \"2s\"\n" + extra);
    Start();
  }

  void Start() {
    std::string port = port_ == 0 ? "0" : std::to_string(port_);
    auto p = ServerProcess::Start(kControl, {"--config", config_, "--port", port},
                                  dir_ / ("control-" + std::to_string(starts_++) + ".log"));
    ASSERT_TRUE(p.ok()) << p.status().message();
    process_ = std::move(p).value();
    port_ = process_->port();
    url_ = process_->url();
    admin_ = Trim(ReadFile(dir_ / "data/admin.token"));
    join_ = Trim(ReadFile(dir_ / "data/join.token"));
    // A cluster controller's ([domain] role = "cluster").
    if (std::filesystem::exists(dir_ / "data/domain_join.token")) {
      domain_join_ = Trim(ReadFile(dir_ / "data/domain_join.token"));
    }
  }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }

  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  const std::string& admin() const { return admin_; }
  const std::string& join() const { return join_; }
  const std::string& domain_join() const { return domain_join_; }
  std::string data_dir() const { return dir_ / "data"; }
  bool running() const { return process_ != nullptr; }

  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    HttpHeaders headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + admin_);
    auto r = http_->Fetch(method, url_ + path, body, std::move(headers));
    if (!r.ok()) {
      ADD_FAILURE() << method << " " << path << ": " << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }

  HttpResponse Deploy(const std::string& name, const std::string& guest,
                      const std::string& query = "") {
    return Call("PUT", "/api/functions/" + name + query, GuestBytes(guest),
                {{"Content-Type", "application/wasm"}});
  }

  // The node's entry in GET /api/functions/{name}: "ready:<sha>" when the
  // node has the current version ready, "state" otherwise.
  bool Ready(const std::string& name, const std::string& node, const std::string& sha) {
    json::object f = Obj(Call("GET", "/api/functions/" + name));
    if (!f.contains("nodes") || Str(f["sha256"]) != sha) return false;
    for (const json::value& n : f["nodes"].as_array()) {
      const json::object& o = n.as_object();
      if (Str(o.at("node_id")) == node) return o.at("ready").as_bool();
    }
    return false;
  }

  std::string NodeState(const std::string& node) {
    json::object list = Obj(Call("GET", "/api/nodes"));
    if (!list.contains("nodes")) return "";
    for (const json::value& n : list["nodes"].as_array()) {
      if (Str(n.at("node_id")) == node) return Str(n.at("state"));
    }
    return "";
  }

  // Events of `type` from `source` so far.
  std::vector<json::object> Events(const std::string& type, const std::string& source) {
    std::vector<json::object> out;
    json::object r = Obj(Call("GET", "/api/events?type=" + type + "&limit=1000"));
    if (!r.contains("events")) return out;
    for (const json::value& e : r["events"].as_array()) {
      if (Str(e.at("source")) == source) out.push_back(e.as_object());
    }
    return out;
  }

  HttpResponse Invoke(const std::string& name, std::string_view body) {
    return Call("POST", "/api/invoke/" + name, body);
  }

 private:
  TempDir dir_;
  std::string config_;
  int starts_ = 0;
  uint16_t port_ = 0;
  std::string url_, admin_, join_, domain_join_;
  std::unique_ptr<ServerProcess> process_;
  // A connection per request: the process may be restarted between two.
  std::unique_ptr<HttpClient> http_ = NewHttpClient();
};

// `aether ARGS` against `control`, with its URL and admin token.
inline CliRun ControlCli(const Control& control, std::vector<std::string> args) {
  for (const std::string& f :
       {std::string("--control"), control.url(), std::string("--token"), control.admin()}) {
    args.push_back(f);
  }
  CliOptions o;
  o.timeout = std::chrono::seconds(60);
  return RunCli(args, o);
}

// One aether-engine joined to `control`; restartable on the same data dir.
class Engine {
 public:
  // `labels` is a TOML inline table body ("zone = \"eu\""); `extra` is
  // appended to the config file, `control_extra` to its [control] table.
  Engine(const Control& control, std::string node_id, const std::string& labels = "zone = \"test\"",
         const std::string& extra = "", const std::string& control_extra = "")
      : node_id_(std::move(node_id)) {
    WriteFile(dir_ / "engine.toml",
              "[runtime]\ndata_dir = \"" + dir_ / "data" + "\"\noptimize = false\n" +
                  "exec_timeout = \"2s\"\n" + "[control]\nurl = \"" + control.url() +
                  "\"\nnode_id = \"" + node_id_ + "\"\nlabels = { " + labels + " }\n" +
                  control_extra + "\n" + "[auth]\njoin_token = \"" + control.join() + "\"\n" +
                  "[registry]\nheartbeat_interval = \"200ms\"\n" + extra);
    Start();
  }

  void Start() {
    auto p = ServerProcess::Start(kEngine, {"--config", dir_ / "engine.toml", "--port", "0"},
                                  dir_ / ("engine-" + std::to_string(starts_++) + ".log"));
    ASSERT_TRUE(p.ok()) << p.status().message();
    process_ = std::move(p).value();
  }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }
  ServerProcess& process() { return *process_; }
  const std::string& data_dir_root() const { return dir_.path(); }
  const std::string& node_id() const { return node_id_; }
  std::string Logs() const {
    std::string all;
    for (int i = 0; i < starts_; ++i)
      all += ReadFile(dir_ / ("engine-" + std::to_string(i) + ".log"));
    return all;
  }

  HttpResponse Execute(const std::string& function, const std::string& input_json = "null") {
    auto r = http_->Fetch("POST", process_->url() + "/execute",
                          "{\"function\":\"" + function + "\",\"input\":" + input_json + "}");
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }
  // GET /metrics, parsed.
  Exposition Metrics() {
    auto r = http_->Fetch("GET", process_->url() + "/metrics", "");
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return {};
    }
    return ParseExposition(r->body);
  }
  std::string Output(const std::string& function, const std::string& input_json = "null") {
    HttpResponse r = Execute(function, input_json);
    if (r.status != 200) return "HTTP " + std::to_string(r.status) + ": " + r.body;
    return Str(Obj(r)["output"]);
  }

 private:
  TempDir dir_;
  std::string node_id_;
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<HttpClient> http_ = NewHttpClient();  // a connection per request
};

}  // namespace aether::testing
