// `aether invoke NAME`: runs a function through the control plane's
// gateway (POST /api/invoke/NAME) and prints what it wrote to stdout.
#include <cctype>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/remote.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct InvokeArgs {
  RemoteFlags remote;
  std::string name;
  std::string input;       // --input JSON, or "-" for stdin
  std::string positional;  // the same, as a second positional argument
  std::string raw;         // --raw TEXT: sent as a JSON string
  bool has_input = false;
  bool has_positional = false;
  bool has_raw = false;
};

std::string ReadStdin() {
  std::ostringstream s;
  s << std::cin.rdbuf();
  return s.str();
}

// A bare word is the usual mistake: the shell has eaten the quotes of
// '"hello"'. Say how to send it instead of just "invalid JSON".
Status CheckInput(const std::string& text, std::string_view what) {
  auto v = ParseJson(text);
  if (v.ok()) return OkStatus();
  std::string t = text;  // `echo hello |` adds a newline
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  std::string shown = t.size() > 40 ? t.substr(0, 40) + "..." : t;
  bool word = !t.empty();
  for (unsigned char c : t) word = word && (std::isalnum(c) || c == '_' || c == '-' || c == ' ');
  if (word && what != "--input") {
    return UsageError(std::string(what) + " must be JSON; to send it as a string use --raw -");
  }
  if (word) {
    return UsageError(std::string(what) + " must be JSON; to send the string " + shown +
                      " quote it: --input '\"" + shown + "\"' (or use --raw " + shown + ")");
  }
  return UsageError(std::string(what) + " is not valid JSON: " + v.status().message());
}

// The JSON text of the "input" field; nullopt when nothing was given. The
// user's text is sent as written once it parses: re-serializing would turn
// 2.5 into 2.5E0 and reorder nothing useful.
Result<std::optional<std::string>> BuildInput(const InvokeArgs& a) {
  int given = a.has_input + a.has_positional + a.has_raw;
  if (given > 1) return UsageError("give the input once: --input JSON, -, or --raw TEXT");
  if (given == 0) return std::optional<std::string>();
  if (a.has_raw) {
    return std::optional<std::string>(JsonEscape(a.raw == "-" ? ReadStdin() : a.raw));
  }
  const std::string& spec = a.has_input ? a.input : a.positional;
  std::string what = spec == "-" ? "the input on stdin" : "--input";
  std::string text = spec == "-" ? ReadStdin() : spec;
  RETURN_IF_ERROR(CheckInput(text, what));
  return std::optional<std::string>(std::move(text));
}

// Right after a deploy the engines are still fetching and compiling, and
// the gateway answers 503 no_ready_node (with Retry-After: 1). `aether
// deploy x && aether invoke x` should just work, so wait a little for it.
constexpr auto kReadyWait = std::chrono::seconds(10);
constexpr auto kReadyPoll = std::chrono::milliseconds(100);

Result<HttpResponse> Send(const Remote& remote, const std::string& name, const std::string& body) {
  auto deadline = std::chrono::steady_clock::now() + kReadyWait;
  for (;;) {
    // Longer than any sane function timeout, so the gateway's own timeout
    // error is what the user sees.
    ASSIGN_OR_RETURN(HttpResponse r, remote.Send("POST", "/api/invoke/" + UrlEncode(name), body,
                                                 "application/json", std::chrono::minutes(5)));
    if (r.status != 503 || Remote::ErrorCode(r) != "no_ready_node" ||
        std::chrono::steady_clock::now() + kReadyPoll > deadline) {
      return r;
    }
    std::this_thread::sleep_for(kReadyPoll);
  }
}

int Invoke(const InvokeArgs& a) {
  if (Status st = CheckFunctionName(a.name); !st.ok()) return Report(st);
  auto input = BuildInput(a);
  if (!input.ok()) return Report(input.status());
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());

  std::string body = input->has_value() ? "{\"input\":" + **input + "}" : "{}";
  auto answer = Send(*remote, a.name, body);
  if (!answer.ok()) return Report(answer.status());
  if (answer->status < 200 || answer->status >= 300) return Report(remote->ErrorFor(*answer));
  if (remote->json()) {
    PrintRaw(answer->body);
    return 0;
  }
  auto parsed = ParseJson(answer->body);
  if (!parsed.ok() || !parsed->is_object()) {
    return Report(Internal("the control plane sent an answer that is not a JSON object"));
  }
  const json::value* output = parsed->as_object().if_contains("output");
  std::string text = output == nullptr     ? ""
                     : output->is_string() ? std::string(output->as_string())
                                           : ToJson(*output);
  // The output as the guest wrote it; a newline is added only when it
  // lacks one, so that the shell prompt starts on its own line.
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace

void AddInvokeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<InvokeArgs>();
  CLI::App* cmd = app.add_subcommand("invoke", "Run a deployed function and print its output");
  cmd->add_option("name", args->name, "Function name")->required();
  cmd->add_option("input", args->positional, "Input as JSON, or - to read it from stdin");
  cmd->add_option("--input,-i", args->input,
                  "Input as JSON (quote strings: '\"world\"'), or - to read JSON from stdin");
  cmd->add_option("--raw", args->raw, "Input text sent as a JSON string (- reads stdin)");
  AddRemoteFlags(cmd, &args->remote);
  cmd->callback([args, exit_code, cmd] {
    args->has_input = cmd->count("--input") > 0;
    args->has_positional = cmd->count("input") > 0;
    args->has_raw = cmd->count("--raw") > 0;
    *exit_code = Invoke(*args);
  });
}

}  // namespace aether::cli
