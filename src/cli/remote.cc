#include "cli/remote.h"

#include <toml++/toml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/http_client.h"
#include "common/json_util.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string DefaultCliConfigPath() {
  std::string xdg = Env("XDG_CONFIG_HOME");
  if (!xdg.empty()) return xdg + "/aether/cli.toml";
  std::string home = Env("HOME");
  if (!home.empty()) return home + "/.config/aether/cli.toml";
  return "";
}

struct CliFile {
  std::string control;  // "u1" or "u1,u2" (a TOML list is joined)
  std::string token;
  std::string ca_file;
};

// The CLI config file. An unknown key is an error naming it, as in the
// servers' configuration: a typo must not silently fall back to a default.
Result<CliFile> LoadCliFile(const std::string& path, bool required) {
  CliFile file;
  std::error_code ec;
  if (path.empty() || (!required && !std::filesystem::exists(path, ec))) return file;
  std::ifstream in(path);
  if (!in) return UsageError("cannot read CLI config " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  toml::table doc;
  try {
    doc = toml::parse(text.str(), std::string_view(path));
  } catch (const toml::parse_error& e) {
    return UsageError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
  for (const auto& [key, node] : doc) {
    std::string* target = nullptr;
    if (key == "control") target = &file.control;
    if (key == "token") target = &file.token;
    if (key == "ca_file") target = &file.ca_file;
    if (target == nullptr) {
      return UsageError(path + ": unknown key \"" + std::string(key.str()) +
                        "\" (the CLI config knows control, token and ca_file)");
    }
    if (target == &file.control && node.is_array()) {
      for (const toml::node& u : *node.as_array()) {
        if (!u.is_string()) return UsageError(path + ": \"control\" must be a list of strings");
        *target += (target->empty() ? "" : ",") + std::string(*u.as_string());
      }
      continue;
    }
    if (!node.is_string()) {
      return UsageError(path + ": \"" + std::string(key.str()) + "\" must be a string");
    }
    *target = std::string(*node.as_string());
  }
  return file;
}

// The in-a-box token is only a sensible guess when the control plane runs
// on this machine (as `aether dev` does); never send it anywhere else.
bool IsLocalHost(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return false;
  std::string host = parsed->host_type() == boost::urls::host_type::ipv6
                         ? std::string(parsed->host_address())
                         : std::string(parsed->host());
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "0.0.0.0";
}

// Requests that change nothing may be sent again to another replica
// whatever happened to them; the others only when none saw them.
Retry RetryFor(std::string_view method) {
  return method == "GET" || method == "HEAD" ? Retry::kSafe : Retry::kIfNotSent;
}

std::string ErrorMessageOf(const HttpResponse& r) {
  auto body = ParseJson(r.body);
  if (body.ok() && body->is_object()) {
    if (const json::value* e = body->as_object().if_contains("error"); e && e->is_string()) {
      // Guest stderr can span lines; errors here are one line.
      std::string m = Trim(std::string(e->as_string()));
      std::string out;
      for (size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\r') continue;
        out += m[i] == '\n' ? std::string("; ") : std::string(1, m[i]);
      }
      return out;
    }
  }
  std::string text = r.body.substr(0, 200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  text = Trim(text);
  return "HTTP " + std::to_string(r.status) + (text.empty() ? "" : ": " + text);
}

}  // namespace

int ExitCodeFor(const Status& status) {
  if (status.ok()) return 0;
  return status.code() == Code::kInvalidArgument ? kExitUsage : kExitError;
}

int Report(const Status& status) {
  std::fprintf(stderr, "aether: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

void AddRemoteFlags(CLI::App* cmd, RemoteFlags* flags) {
  cmd->add_option("--control", flags->control,
                  "Control plane URL (default: $AETHER_CONTROL, the CLI config, " +
                      std::string(kDefaultControlUrl) + ")");
  cmd->add_option("--token", flags->token,
                  "Admin token (default: $AETHER_TOKEN, the CLI config, or the aether dev token)");
  cmd->add_option("--cli-config", flags->cli_config,
                  "CLI config file (default: ~/.config/aether/cli.toml)");
  cmd->add_option("--ca-file", flags->ca_file,
                  "PEM file to trust for an https control plane (default: $AETHER_CA_FILE)");
  cmd->add_flag("--json", flags->json, "Print the server's JSON answer instead of a table");
}

std::shared_ptr<HttpClient> Remote::NewRemoteClient(const std::string& ca_file) {
  // One kept connection: a command's requests (an upload, then polls for
  // readiness) go one after the other.
  return NewHttpClient({.max_idle_per_host = 1, .ca_file = ca_file});
}

Result<Remote> Remote::Resolve(const RemoteFlags& flags) {
  bool explicit_file = !flags.cli_config.empty();
  std::string file_path = explicit_file ? flags.cli_config : DefaultCliConfigPath();
  ASSIGN_OR_RETURN(CliFile file, LoadCliFile(file_path, explicit_file));

  Remote r;
  r.json_ = flags.json;
  std::string env_control = Env("AETHER_CONTROL");
  auto [control, source] =
      !flags.control.empty()  ? std::pair{flags.control, std::string("--control")}
      : !env_control.empty()  ? std::pair{env_control, std::string("$AETHER_CONTROL")}
      : !file.control.empty() ? std::pair{file.control, file_path + ": control"}
                              : std::pair{std::string(kDefaultControlUrl), std::string("default")};
  Result<std::vector<std::string>> urls = ParseEndpointList(control, source);
  if (!urls.ok()) return UsageError(urls.status().message());
  const bool local = std::all_of(urls->begin(), urls->end(), IsLocalHost);
  r.urls_ =
      std::make_shared<EndpointList>(std::move(*urls), EndpointListOptions{.log_switches = false});

  std::string env_token = Env("AETHER_TOKEN");
  if (!flags.token.empty()) {
    r.token_ = flags.token;
    r.token_source_ = "--token";
  } else if (!env_token.empty()) {
    r.token_ = env_token;
    r.token_source_ = "$AETHER_TOKEN";
  } else if (!file.token.empty()) {
    r.token_ = file.token;
    r.token_source_ = file_path;
  } else if (local) {
    const std::string kBoxToken = ".aether/control/admin.token";
    std::ifstream in(kBoxToken);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      r.token_ = Trim(text.str());
      if (!r.token_.empty()) r.token_source_ = "./" + kBoxToken;
    }
  }

  std::string env_ca = Env("AETHER_CA_FILE");
  r.ca_file_ = !flags.ca_file.empty() ? flags.ca_file : !env_ca.empty() ? env_ca : file.ca_file;
  r.http_ = NewRemoteClient(r.ca_file_);
  return r;
}

Remote Remote::ForUrl(std::string url, std::string token) {
  Remote r;
  r.urls_ = std::make_shared<EndpointList>(std::vector<std::string>{std::move(url)},
                                           EndpointListOptions{.log_switches = false});
  r.token_ = std::move(token);
  r.token_source_ = "aether dev";
  r.http_ = NewRemoteClient("");
  return r;
}

Result<json::value> Remote::Call(std::string_view method, std::string_view path,
                                 std::string_view body, std::string_view content_type,
                                 std::chrono::milliseconds timeout) const {
  return Call(method, path, body, content_type, timeout, nullptr);
}

Result<HttpResponse> Remote::Send(std::string_view method, std::string_view path,
                                  std::string_view body, std::string_view content_type,
                                  std::chrono::milliseconds timeout) const {
  HttpHeaders headers;
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  if (!body.empty()) headers.emplace_back("Content-Type", std::string(content_type));
  headers.emplace_back("Accept", "application/json");
  EndpointAttempts tried;
  Result<HttpResponse> r = urls_->Send(*http_,
                                       {.method = std::string(method),
                                        .url = std::string(path),
                                        .body = body,
                                        .headers = std::move(headers),
                                        .timeout = timeout},
                                       {.retry = RetryFor(method)}, &tried);
  tried_ = tried.tried.size() > 1 ? JoinUrls(tried.tried) : "";
  if (r.ok()) return r;
  // The last URL's own error, without the list's summary (said here).
  const std::string& m = tried.last_error.message();
  std::string where = tried.tried.size() > 1 ? "any of " + JoinUrls(tried.tried) : tried.url;
  if (tried.last_error.code() == Code::kDeadlineExceeded) {
    return DeadlineExceeded("the control plane at " + where + " did not answer within " +
                            std::to_string(timeout.count() / 1000) + " s");
  }
  if (m.find("Connection refused") != std::string::npos) {
    return Unavailable("cannot reach the control plane at " + where +
                       " (is it running? start one with `aether dev`)");
  }
  return Unavailable("cannot reach the control plane at " + where + ": " + m);
}

Status Remote::ErrorFor(const HttpResponse& r) const {
  if (r.status == 401 || r.status == 403) {
    std::string hint = token_source_.empty()
                           ? "no token was sent: pass --token, set AETHER_TOKEN, or put token = "
                             "\"...\" in ~/.config/aether/cli.toml"
                           : "the token came from " + token_source_;
    return Unauthenticated(ErrorMessageOf(r) + "; " + hint);
  }
  if (r.status == 404) return NotFound(ErrorMessageOf(r));
  if (r.status >= 400 && r.status < 500) return FailedPrecondition(ErrorMessageOf(r));
  if (!tried_.empty()) return Internal(ErrorMessageOf(r) + " (tried " + tried_ + ")");
  return Internal(ErrorMessageOf(r));
}

std::string Remote::ErrorCode(const HttpResponse& r) {
  auto body = ParseJson(r.body);
  if (!body.ok() || !body->is_object()) return "";
  const json::value* c = body->as_object().if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : "";
}

Result<json::value> Remote::Call(std::string_view method, std::string_view path,
                                 std::string_view body, std::string_view content_type,
                                 std::chrono::milliseconds timeout, std::string* raw_body) const {
  ASSIGN_OR_RETURN(HttpResponse r, Send(method, path, body, content_type, timeout));
  if (r.status < 200 || r.status >= 300) return ErrorFor(r);
  if (raw_body != nullptr) *raw_body = r.body;
  if (Trim(r.body).empty()) return json::value(nullptr);
  auto parsed = ParseJson(r.body);
  if (!parsed.ok()) {
    return Internal("the control plane at " + control() + " sent a response that is not JSON (" +
                    parsed.status().message() + ")");
  }
  return std::move(parsed).value();
}

Status CheckFunctionName(std::string_view name) {
  bool ok = protocol::IsName(name);
  if (ok && name == protocol::kReservedFunctionName) {
    return UsageError("\"manifest\" cannot be a function name (the API uses that path)");
  }
  if (ok) return OkStatus();
  return UsageError("invalid function name \"" + SanitizeUtf8(name) +
                    "\": use 1 to 63 characters a-z, 0-9, _ and -, starting with a letter or "
                    "digit");
}

Status CheckNodeIdArg(std::string_view id, std::string_view what) {
  if (protocol::IsNodeId(id)) return OkStatus();
  return UsageError("invalid " + std::string(what) + " id \"" + SanitizeUtf8(id.substr(0, 128)) +
                    "\": letters, digits, '.', '_' and '-', starting with a letter or digit, "
                    "at most 128");
}

Result<json::value> UploadModule(const Remote& remote, std::string_view name,
                                 const std::string& module, const std::string& query,
                                 std::string* raw_body) {
  // Generous: validation and an fsynced write of up to 64 MiB on a slow disk.
  return remote.Call("PUT", "/api/functions/" + UrlEncode(name) + query, module, "application/wasm",
                     std::chrono::minutes(5), raw_body);
}

void PrintRaw(const std::string& body) {
  std::fwrite(body.data(), 1, body.size(), stdout);
  if (body.empty() || body.back() != '\n') std::fputc('\n', stdout);
}

int Exchange(const RemoteFlags& flags, std::string_view method, const std::string& path,
             const std::string& body,
             const std::function<int(const boost::json::value& answer)>& human) {
  auto remote = Remote::Resolve(flags);
  if (!remote.ok()) return Report(remote.status());
  std::string raw;
  auto answer =
      remote->Call(method, path, body, "application/json", std::chrono::seconds(30), &raw);
  if (!answer.ok()) return Report(answer.status());
  if (remote->json()) {
    PrintRaw(raw);
    return 0;
  }
  return human(*answer);
}

}  // namespace aether::cli
