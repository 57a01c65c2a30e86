// One aether-engine serving a temp functions_dir (no control plane), for
// tests that drive /execute end to end: engine_test.cc, hostile_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/testing/eventually.h"
#include "process.h"

namespace aether::testing {

inline const std::string kEngineBinary = std::string(AETHER_BIN_DIR) + "/aether-engine";

inline std::string GuestPath(const std::string& name) {
  return std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm";
}

// One engine with its own functions_dir and data_dir.
class LocalEngine {
 public:
  // `runtime` holds extra [runtime] lines, e.g. "workers = 1".
  // `relative_data_dir`: data_dir is given relative to the test's working
  // directory (the engine runs in the same one).
  explicit LocalEngine(const std::vector<std::string>& guests, const std::string& runtime = "",
                       bool optimize = false, bool relative_data_dir = false) {
    std::string data_dir = dir_ / "data";
    if (relative_data_dir) {
      data_dir = std::filesystem::relative(data_dir, std::filesystem::current_path()).string();
    }
    std::filesystem::create_directories(functions_dir());
    for (const auto& g : guests)
      std::filesystem::copy_file(GuestPath(g), functions_dir() + "/" + g + ".wasm");
    std::string config = "[runtime]\nfunctions_dir = \"" + functions_dir() + "\"\n" +
                         "data_dir = \"" + data_dir + "\"\n" +
                         "optimize = " + (optimize ? "true" : "false") + "\n" + runtime + "\n";
    WriteFile(dir_ / "engine.toml", config);
    auto p = ServerProcess::Start(kEngineBinary, {"--config", dir_ / "engine.toml", "--port", "0"},
                                  dir_ / "engine.log");
    if (!p.ok()) {
      ADD_FAILURE() << p.status().message();
      return;
    }
    process_ = std::move(p).value();
  }

  bool ok() const { return process_ != nullptr; }
  ServerProcess& process() { return *process_; }
  std::string functions_dir() const { return dir_ / "functions"; }
  std::string url(std::string_view path) const { return process_->url() + std::string(path); }

  HttpResponse Post(std::string_view body) {
    auto r = Http("POST", url("/execute"), body);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      HttpResponse failed;
      failed.status = 0;
      return failed;
    }
    return *r;
  }
  HttpResponse Call(const std::string& function, const std::string& input_json = "") {
    std::string body = "{\"function\":\"" + function + "\"";
    if (!input_json.empty()) body += ",\"input\":" + input_json;
    return Post(body + "}");
  }
  HttpResponse Get(std::string_view path) {
    auto r = Http("GET", url(path));
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      HttpResponse failed;
      failed.status = 0;
      return failed;
    }
    return *r;
  }
  // True once GET /functions reports `function` "ready" (compiled and
  // loaded), for tests that time an execution and not its module's load,
  // which is much slower in a sanitizer build.
  bool WaitReady(const std::string& function,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return Eventually(
        [&] {
          auto r = Http("GET", url("/functions"));
          boost::system::error_code ec;
          boost::json::value v = boost::json::parse(r.ok() ? r->body : "", ec);
          if (ec || !v.is_object() || !v.as_object().contains("functions")) return false;
          for (const auto& f : v.as_object().at("functions").as_array()) {
            const auto& o = f.as_object();
            if (o.at("name") == function.c_str()) return o.at("state") == "ready";
          }
          return false;
        },
        timeout);
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServerProcess> process_;  // after dir_: stopped before it is removed
};

inline boost::json::object Body(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

inline std::string Output(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  boost::json::object o = Body(r);
  return o.contains("output") ? std::string(o["output"].as_string()) : "<no output>";
}

}  // namespace aether::testing
