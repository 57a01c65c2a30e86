// Shared plumbing of the commands that talk to a control plane: the global
// flags (--control, --token, --json, --cli-config, --ca-file), where the URL
// and token come from, one HTTP call whose failures become one-line messages,
// and the exit codes.
//
// Single-threaded: a command resolves one Remote and calls it from main's
// thread.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/result.h"

namespace aether::cli {

inline constexpr int kExitError = 1;  // the server said no, or it could not be reached
inline constexpr int kExitUsage = 2;  // the command line was wrong (nothing was sent)

inline constexpr std::string_view kDefaultControlUrl = "http://127.0.0.1:9090";

// Usage errors are InvalidArgument; everything a remote call returns uses
// other codes (see Remote::Call), so the exit code follows from the Status.
inline Status UsageError(std::string message) { return InvalidArgument(std::move(message)); }
int ExitCodeFor(const Status& status);
// Prints "aether: <message>" on stderr and returns ExitCodeFor(status).
int Report(const Status& status);

// The flags every remote command accepts. One instance is shared by all
// subcommands: CLI11 parses exactly one leaf, which fills it.
struct RemoteFlags {
  std::string control;
  std::string token;
  std::string cli_config;
  std::string ca_file;
  bool json = false;
};

// Adds --control, --token, --cli-config, --ca-file and --json to `cmd`.
void AddRemoteFlags(CLI::App* cmd, RemoteFlags* flags);

// A client of a control plane: one URL, or its replicas as a list
// ("http://a:9090,http://b:9090") that it fails over between
// (common/endpoint_list.h): GET requests go to the next URL on a
// connection error, a timeout or 500/502/503/504; every other request only
// when it never reached a replica (connection refused, name not resolved),
// because a replica that saw it may have done it.
class Remote {
 public:
  // Resolves the URLs and token: flags, then AETHER_CONTROL / AETHER_TOKEN /
  // AETHER_CA_FILE, then the CLI config file (--cli-config, or
  // $XDG_CONFIG_HOME/aether/cli.toml, default ~/.config/aether/cli.toml;
  // a missing default file is fine), then the defaults: kDefaultControlUrl,
  // and for a control plane on this machine the in-a-box token file
  // ./.aether/control/admin.token (when every URL is on this machine).
  // Errors (usage): a bad URL or list, an unreadable or malformed
  // --cli-config file.
  static Result<Remote> Resolve(const RemoteFlags& flags);
  // A client of `url` with `token`, nothing resolved (for `aether dev`,
  // which knows both).
  static Remote ForUrl(std::string url, std::string token);

  // Sends one request to `path` (e.g. "/api/functions"). A 2xx answer gives
  // the parsed JSON body (null when empty). Failures, as one-line messages
  // (naming every URL tried when it failed over):
  //   Unavailable        no control plane can be reached (with a hint)
  //   DeadlineExceeded   no answer within `timeout`
  //   Unauthenticated    401/403, with where the token came from (never the token)
  //   NotFound           404
  //   FailedPrecondition other 4xx
  //   Internal           5xx or a body that is not JSON
  // The message of an HTTP error is the body's "error" field.
  Result<boost::json::value> Call(
      std::string_view method, std::string_view path, std::string_view body = {},
      std::string_view content_type = "application/json",
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // As Call, but also hands back the raw 2xx body (for --json output).
  Result<boost::json::value> Call(std::string_view method, std::string_view path,
                                  std::string_view body, std::string_view content_type,
                                  std::chrono::milliseconds timeout, std::string* raw_body) const;

  // The request alone: network failures become Status as above, and any
  // HTTP status is a successful Result. For callers that look at an error
  // before giving up (invoke retries a 503 no_ready_node).
  Result<HttpResponse> Send(std::string_view method, std::string_view path, std::string_view body,
                            std::string_view content_type, std::chrono::milliseconds timeout) const;
  // The Status Call returns for a non-2xx response (of the last Send).
  Status ErrorFor(const HttpResponse& response) const;
  // The "code" of a JSON error body ("no_ready_node"); empty when absent.
  static std::string ErrorCode(const HttpResponse& response);

  // The URL that answered last (the first one before any request).
  const std::string& control() const { return urls_->current(); }
  bool json() const { return json_; }

 private:
  // Shared by copies of this Remote, so that they stick to one replica.
  std::shared_ptr<EndpointList> urls_;
  // The URLs the last Send tried, when it tried more than one (for
  // ErrorFor's message); main's thread only.
  mutable std::string tried_;
  std::string token_;         // never printed
  std::string token_source_;  // "--token", "$AETHER_TOKEN", a file path; empty = none
  std::string ca_file_;
  bool json_ = false;
  // Shared by copies of this Remote (a client is thread-safe).
  std::shared_ptr<HttpClient> http_;

  static std::shared_ptr<HttpClient> NewRemoteClient(const std::string& ca_file);
};

// Function names, as the control plane accepts them (protocol/names.h), with
// the CLI's usage message. Checked before sending so that a name never turns into another URL path.
Status CheckFunctionName(std::string_view name);
// Node and domain ids (protocol/ids.h), checked the same way; `what` is
// "node" or "domain".
Status CheckNodeIdArg(std::string_view id, std::string_view what);

// PUT /api/functions/NAME with the raw module; `query` is "" or
// "?env=...&timeout=..." (already encoded). The 201 answer as JSON, and its
// text in *raw_body when given.
Result<boost::json::value> UploadModule(const Remote& remote, std::string_view name,
                                        const std::string& module, const std::string& query,
                                        std::string* raw_body = nullptr);

// Prints a --json answer as the server sent it, ending with a newline.
void PrintRaw(const std::string& body);

// One request of a remote command, start to exit code: resolves `flags`,
// sends, reports a failure, prints the raw answer for --json, else hands
// the parsed answer to `human` (which prints it and returns the exit code).
int Exchange(const RemoteFlags& flags, std::string_view method, const std::string& path,
             const std::string& body,
             const std::function<int(const boost::json::value& answer)>& human);

}  // namespace aether::cli
