// `aether functions ls|show|rm|rollback`: the function registry of the
// control plane.
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct FunctionsArgs {
  RemoteFlags remote;
  std::string name;
  std::string version;
};

// Lists come as a bare array or wrapped in {"<key>": [...]}; accept both so
// the CLI does not break if the wrapper gains fields.
const json::array* ListIn(const json::value& v, std::string_view key) {
  if (v.is_array()) return &v.as_array();
  if (v.is_object()) {
    const json::value* inner = v.as_object().if_contains(key);
    if (inner != nullptr && inner->is_array()) return &inner->as_array();
  }
  return nullptr;
}

// Sizes are bytes ("size"); the manifest's "size_kb" is the fallback.
std::string SizeCell(const json::object& f) {
  int64_t bytes = IntField(f, "size", -1);
  if (bytes < 0) bytes = IntField(f, "size_bytes", -1);
  if (bytes < 0 && f.contains("size_kb")) bytes = IntField(f, "size_kb") * 1024;
  return bytes < 0 ? "-" : HumanBytes(static_cast<uint64_t>(bytes));
}

const json::value* UpdatedAt(const json::object& f) {
  for (const char* key : {"updated_at", "deployed_at", "uploaded_at"}) {
    if (const json::value* v = f.if_contains(key)) return v;
  }
  return nullptr;
}

// Runs one GET/POST/DELETE and handles --json; `human` prints the table.
int Exchange(const FunctionsArgs& a, std::string_view method, const std::string& path,
             const std::string& body, const std::function<int(const json::value&)>& human) {
  return cli::Exchange(a.remote, method, path, body, human);
}

int List(const FunctionsArgs& a) {
  return Exchange(a, "GET", "/api/functions", "", [](const json::value& v) {
    const json::array* list = ListIn(v, "functions");
    if (list == nullptr) return Report(Internal("unexpected answer from the control plane"));
    Table t({"NAME", "VERSION", "SHA256", "SIZE", "UPDATED"});
    for (const json::value& item : *list) {
      if (!item.is_object()) continue;
      const json::object& f = item.as_object();
      t.AddRow({Field(f, "name"), Field(f, "version"), ShortHash(Field(f, "sha256")), SizeCell(f),
                AgeCell(UpdatedAt(f))});
    }
    if (t.empty()) {
      std::printf("no functions deployed (try: aether deploy NAME FILE.wasm)\n");
    } else {
      t.Print(stdout);
    }
    return 0;
  });
}

std::string EnvText(const json::value* env) {
  if (env == nullptr || !env->is_object() || env->as_object().empty()) return "-";
  std::string out;
  for (const auto& [k, v] : env->as_object()) {
    if (!out.empty()) out += ' ';
    out += std::string(k) + "=" + Cell(&v);
  }
  return out;
}

std::string LimitsText(const json::object& f) {
  const json::object* limits = &f;
  if (const json::value* l = f.if_contains("limits"); l != nullptr && l->is_object()) {
    limits = &l->as_object();
  }
  std::string memory = Field(*limits, "memory_limit");
  std::string timeout = Field(*limits, "timeout");
  auto shown = [](const std::string& s) { return s == "-" || s == "0" ? "node default" : s; };
  return "memory " + shown(memory) + ", timeout " + shown(timeout);
}

int Show(const FunctionsArgs& a) {
  if (Status st = CheckFunctionName(a.name); !st.ok()) return Report(st);
  return Exchange(a, "GET", "/api/functions/" + UrlEncode(a.name), "", [](const json::value& v) {
    if (!v.is_object()) return Report(Internal("unexpected answer from the control plane"));
    const json::object& f = v.as_object();
    std::printf("name:     %s\n", Field(f, "name").c_str());
    std::printf("version:  %s\n", Field(f, "version").c_str());
    std::printf("sha256:   %s\n", Field(f, "sha256").c_str());
    std::printf("size:     %s\n", SizeCell(f).c_str());
    std::printf("env:      %s\n", EnvText(f.if_contains("env")).c_str());
    std::printf("limits:   %s\n", LimitsText(f).c_str());
    if (const json::value* versions = f.if_contains("versions");
        versions != nullptr && versions->is_array()) {
      std::printf("\n");
      Table t({"VERSION", "SHA256", "SIZE", "DEPLOYED"});
      for (const json::value& item : versions->as_array()) {
        if (!item.is_object()) continue;
        const json::object& ver = item.as_object();
        const json::value* current = ver.if_contains("current");
        bool is_current = current != nullptr && current->is_bool()
                              ? current->as_bool()
                              : IntField(ver, "version") == IntField(f, "version");
        std::string mark = is_current ? " (current)" : "";
        t.AddRow({Field(ver, "version") + mark, ShortHash(Field(ver, "sha256")), SizeCell(ver),
                  TimeCell(UpdatedAt(ver))});
      }
      t.Print(stdout);
    }
    if (const json::value* nodes = f.if_contains("nodes"); nodes != nullptr && nodes->is_array()) {
      std::printf("\n");
      if (nodes->as_array().empty()) {
        std::printf("no nodes registered\n");
        return 0;
      }
      Table t({"NODE", "STATE", "READY", "SHA256"});
      for (const json::value& item : nodes->as_array()) {
        if (!item.is_object()) continue;
        const json::object& n = item.as_object();
        t.AddRow({Field(n, "node_id"), Field(n, "state"), Field(n, "ready"),
                  ShortHash(Field(n, "sha256"))});
      }
      t.Print(stdout);
    }
    return 0;
  });
}

int Remove(const FunctionsArgs& a) {
  if (Status st = CheckFunctionName(a.name); !st.ok()) return Report(st);
  return Exchange(a, "DELETE", "/api/functions/" + UrlEncode(a.name), "",
                  [&a](const json::value& v) {
                    int64_t n = v.is_object() ? IntField(v.as_object(), "versions_removed", 0) : 0;
                    std::string versions = n == 1  ? " (1 version)"
                                           : n > 1 ? " (" + std::to_string(n) + " versions)"
                                                   : "";
                    std::printf("deleted %s%s\n", a.name.c_str(), versions.c_str());
                    return 0;
                  });
}

int Rollback(const FunctionsArgs& a) {
  if (Status st = CheckFunctionName(a.name); !st.ok()) return Report(st);
  char* end = nullptr;
  long long version = std::strtoll(a.version.c_str(), &end, 10);
  if (a.version.empty() || *end != '\0' || version < 1) {
    return Report(UsageError("VERSION must be a version number (1, 2, ...), got \"" +
                             SanitizeUtf8(a.version) + "\""));
  }
  json::object body{{"version", version}};
  return Exchange(a, "POST", "/api/functions/" + UrlEncode(a.name) + "/rollback", ToJson(body),
                  [&a, version](const json::value& v) {
                    std::string sha;
                    if (v.is_object() && v.as_object().contains("sha256")) {
                      sha = " (sha256 " + ShortHash(Field(v.as_object(), "sha256")) + ")";
                    }
                    std::printf("rolled back %s to version %lld%s\n", a.name.c_str(), version,
                                sha.c_str());
                    return 0;
                  });
}

}  // namespace

void AddFunctionsCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<FunctionsArgs>();
  CLI::App* functions =
      app.add_subcommand("functions", "List, inspect, remove and roll back functions");
  functions->require_subcommand(1);

  CLI::App* ls = functions->add_subcommand("ls", "List deployed functions");
  AddRemoteFlags(ls, &args->remote);
  ls->callback([args, exit_code] { *exit_code = List(*args); });

  CLI::App* show = functions->add_subcommand("show", "A function's versions, settings and nodes");
  show->add_option("name", args->name, "Function name")->required();
  AddRemoteFlags(show, &args->remote);
  show->callback([args, exit_code] { *exit_code = Show(*args); });

  CLI::App* rm = functions->add_subcommand("rm", "Delete a function and all its versions");
  rm->add_option("name", args->name, "Function name")->required();
  AddRemoteFlags(rm, &args->remote);
  rm->callback([args, exit_code] { *exit_code = Remove(*args); });

  CLI::App* rollback =
      functions->add_subcommand("rollback", "Make an earlier version the current one");
  rollback->add_option("name", args->name, "Function name")->required();
  rollback->add_option("version", args->version, "Version number to return to")->required();
  AddRemoteFlags(rollback, &args->remote);
  rollback->callback([args, exit_code] { *exit_code = Rollback(*args); });
}

}  // namespace aether::cli
