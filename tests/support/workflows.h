// Workflows through the control plane's API, for tests that run the real
// binaries (tests/support/cluster.h): apply a spec, wait for a state, read
// the placement and the ingress URL, post to an ingress, read a file-log.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cluster.h"
#include "common/testing/http_fetch.h"

namespace aether::testing {

// Control-plane calls for workflows.
struct Workflows {
  Control& control;

  std::string Apply(const std::string& spec) {
    HttpResponse r = control.Call("POST", "/api/workflows", spec);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Obj(r)["id"]);
  }
  json::object Show(const std::string& id) {
    return Obj(control.Call("GET", "/api/workflows/" + id));
  }
  std::string State(const std::string& id) { return Str(Show(id)["state"]); }
  bool WaitState(const std::string& id, const std::string& state,
                 milliseconds limit = seconds(15)) {
    return WaitFor([&] { return State(id) == state; }, limit);
  }
  // instance id -> node id
  std::map<std::string, std::string> Placement(const std::string& id) {
    std::map<std::string, std::string> out;
    json::object w = Show(id);
    if (!w.contains("instances")) return out;
    for (const json::value& i : w["instances"].as_array()) {
      out[Str(i.at("id"))] = Str(i.at("node_id"));
    }
    return out;
  }
  // A cluster controller's: instance id -> domain.
  std::map<std::string, std::string> Domains(const std::string& id) {
    std::map<std::string, std::string> out;
    json::object w = Show(id);
    if (!w.contains("instances")) return out;
    for (const json::value& i : w["instances"].as_array()) {
      const json::value* d = i.as_object().if_contains("domain");
      out[Str(i.at("id"))] = d != nullptr ? Str(*d) : "";
    }
    return out;
  }
  json::object Instance(const std::string& id, const std::string& instance) {
    json::object w = Show(id);
    if (!w.contains("instances")) return {};
    for (const json::value& i : w["instances"].as_array()) {
      if (Str(i.at("id")) == instance) return i.as_object();
    }
    return {};
  }
  std::string IngressUrl(const std::string& id) {
    json::object w = Show(id);
    if (!w.contains("ingress") || w["ingress"].as_array().empty()) return "";
    return Str(w["ingress"].as_array()[0].at("url"));
  }
};

// One POST on a connection of its own; status 0 (and the error as the
// body) when there was no answer.
inline HttpResponse Post(const std::string& url, std::string_view body) {
  auto r = HttpFetch("POST", url, body, {}, std::chrono::seconds(10));
  if (!r.ok()) return HttpResponse{0, r.status().message(), "", {}};
  return std::move(r).value();
}

// The file-log of workflow `id`, component file `name`, on whichever engine has it.
inline std::vector<std::string> LogLines(const std::vector<Engine*>& engines, const std::string& id,
                                         const std::string& name) {
  std::vector<std::string> all;
  for (Engine* e : engines) {
    std::string p = e->data_dir_root();
    p.append("/data/workflows/").append(id).append("/").append(name);
    for (std::string& l : FileLines(p)) all.push_back(std::move(l));
  }
  return all;
}

}  // namespace aether::testing
