#include "webdriver.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "common/base64.h"
#include "common/json_util.h"

namespace aether::testing {
namespace {

namespace json = boost::json;

// The W3C name of an element reference in JSON.
constexpr std::string_view kElementKey = "element-6066-11e4-a52e-4f735466cecf";

// Parent pid of every process, from /proc/<pid>/stat (the field after the
// command name, which may itself hold spaces and parentheses).
std::map<pid_t, pid_t> ParentPids() {
  std::map<pid_t, pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    // A process that exits meanwhile fails the read, which libstdc++'s
    // ifstream reports by throwing: it is just left out.
    std::string stat;
    try {
      std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
      stat.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {
      continue;
    }
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 4 > stat.size()) continue;
    // ") S 1234 ..."
    long ppid = std::strtol(stat.c_str() + close + 4, nullptr, 10);
    out[static_cast<pid_t>(pid)] = static_cast<pid_t>(ppid);
  }
  ::closedir(proc);
  return out;
}

std::vector<pid_t> Descendants(pid_t root) {
  std::map<pid_t, pid_t> parents = ParentPids();
  std::set<pid_t> found{root};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [pid, ppid] : parents) {
      if (found.contains(ppid) && found.insert(pid).second) grew = true;
    }
  }
  found.erase(root);
  return {found.begin(), found.end()};
}

Status DriverError(const json::value& value, int status) {
  std::string error, message;
  if (const json::object* o = value.if_object()) {
    if (auto* e = o->if_contains("error"); e && e->is_string()) error = e->as_string();
    if (auto* m = o->if_contains("message"); m && m->is_string()) message = m->as_string();
  }
  // The first line: chromedriver appends a long stack trace.
  message = message.substr(0, message.find('\n'));
  if (error == "no such element") return NotFound(message);
  return Internal("webdriver " + std::to_string(status) + " " + error + ": " + message);
}

}  // namespace

std::string MissingBrowser(const WebDriverOptions& o) {
  std::string missing;
  if (::access(o.chromium.c_str(), X_OK) != 0) missing += o.chromium + " ";
  if (::access(o.chromedriver.c_str(), X_OK) != 0) missing += o.chromedriver + " ";
  return missing;
}

Result<std::unique_ptr<WebDriver>> WebDriver::Start(WebDriverOptions o) {
  std::unique_ptr<WebDriver> d(new WebDriver());
  std::string log = o.log_path.empty() ? d->dir_ / "chromedriver.log" : o.log_path;
  uint16_t port = FreePort();
  if (port == 0) return Unavailable("no free port for chromedriver");
  std::regex started(R"(ChromeDriver was started successfully on port (\d+))");
  ASSIGN_OR_RETURN(d->driver_,
                   ServerProcess::StartWhen(o.chromedriver, {"--port=" + std::to_string(port)}, log,
                                            [&](const std::string& text) -> uint16_t {
                                              std::smatch m;
                                              if (!std::regex_search(text, m, started)) return 0;
                                              return static_cast<uint16_t>(std::stoi(m[1].str()));
                                            }));
  d->base_ = "http://127.0.0.1:" + std::to_string(d->driver_->port());
  json::array args{"--headless",
                   "--no-sandbox",
                   "--disable-gpu",
                   "--disable-quic",
                   "--no-first-run",
                   "--disable-background-networking",
                   "--disable-component-update",
                   "--disable-sync",
                   "--disable-dev-shm-usage",
                   "--window-size=" + std::to_string(o.width) + "," + std::to_string(o.height),
                   "--user-data-dir=" + d->dir_ / "profile"};
  json::object caps{
      {"capabilities",
       {{"alwaysMatch",
         {{"browserName", "chrome"},
          {"goog:loggingPrefs", {{"browser", "ALL"}}},
          {"goog:chromeOptions", {{"binary", o.chromium}, {"args", std::move(args)}}}}}}}};
  Result<json::value> session = d->Command("POST", "/session", caps, std::chrono::seconds(60));
  if (!session.ok()) {
    return Unavailable("cannot start a browser session: " + session.status().message() +
                       "\nchromedriver log:\n" + d->driver_->Log());
  }
  const json::object* s = session->if_object();
  if (s == nullptr || !s->contains("sessionId") || !s->at("sessionId").is_string()) {
    return Unavailable("chromedriver answered no session id: " + json::serialize(*session));
  }
  d->session_ = s->at("sessionId").as_string();
  return d;
}

WebDriver::~WebDriver() {
  if (!session_.empty()) {
    (void)Command("DELETE", "", nullptr, std::chrono::seconds(10));
    session_.clear();
  }
  KillBrowserProcesses();
  driver_.reset();  // SIGTERM, then SIGKILL, by PID
}

void WebDriver::KillBrowserProcesses() {
  if (driver_ == nullptr) return;
  for (pid_t pid : Descendants(driver_->pid())) ::kill(pid, SIGKILL);
}

Result<json::value> WebDriver::Command(std::string_view method, const std::string& path,
                                       const json::value& body, std::chrono::milliseconds timeout) {
  std::string url = base_ + (path == "/session" ? path : "/session/" + session_ + path);
  std::string text = body.is_null() ? (method == "POST" ? "{}" : "") : json::serialize(body);
  ASSIGN_OR_RETURN(HttpResponse r,
                   http_->Fetch(method, url, text,
                                {{"Content-Type", "application/json; charset=utf-8"}}, timeout));
  Result<json::value> v = ParseJson(r.body);
  if (!v.ok()) return Internal("webdriver answered " + std::to_string(r.status) + ": " + r.body);
  json::value value = v->is_object() && v->as_object().contains("value")
                          ? v->as_object().at("value")
                          : json::value(nullptr);
  if (r.status != 200) return DriverError(value, r.status);
  return value;
}

Status WebDriver::Navigate(const std::string& url) {
  return Command("POST", "/url", json::object{{"url", url}}).status();
}

Result<std::string> WebDriver::Find(const std::string& css) {
  ASSIGN_OR_RETURN(json::value v, Command("POST", "/element",
                                          json::object{{"using", "css selector"}, {"value", css}}));
  const json::object* o = v.if_object();
  if (o == nullptr || !o->contains(kElementKey)) return Internal("no element reference for " + css);
  return std::string(o->at(kElementKey).as_string());
}

Result<std::vector<std::string>> WebDriver::FindAll(const std::string& css) {
  ASSIGN_OR_RETURN(json::value v, Command("POST", "/elements",
                                          json::object{{"using", "css selector"}, {"value", css}}));
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const json::value& e : v.as_array()) {
    if (const json::object* o = e.if_object(); o && o->contains(kElementKey)) {
      out.emplace_back(o->at(kElementKey).as_string());
    }
  }
  return out;
}

Status WebDriver::Click(const std::string& element) {
  return Command("POST", "/element/" + element + "/click").status();
}

Status WebDriver::SendKeys(const std::string& element, const std::string& text) {
  return Command("POST", "/element/" + element + "/value", json::object{{"text", text}}).status();
}

Status WebDriver::Clear(const std::string& element) {
  return Command("POST", "/element/" + element + "/clear").status();
}

Result<std::string> WebDriver::Text(const std::string& element) {
  ASSIGN_OR_RETURN(json::value v, Command("GET", "/element/" + element + "/text"));
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

Result<json::value> WebDriver::Execute(const std::string& script, json::array args) {
  return Command("POST", "/execute/sync",
                 json::object{{"script", script}, {"args", std::move(args)}});
}

Status WebDriver::Screenshot(const std::string& path) {
  ASSIGN_OR_RETURN(json::value v, Command("GET", "/screenshot"));
  if (!v.is_string()) return Internal("the screenshot is not a string");
  ASSIGN_OR_RETURN(std::string png, Base64Decode(v.as_string()));
  WriteFile(path, png);
  return OkStatus();
}

Result<std::vector<std::string>> WebDriver::ConsoleMessages() {
  ASSIGN_OR_RETURN(json::value v, Command("POST", "/se/log", json::object{{"type", "browser"}}));
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const json::value& e : v.as_array()) {
    const json::object* o = e.if_object();
    if (o == nullptr) continue;
    auto text = [&](std::string_view key) {
      const json::value* f = o->if_contains(key);
      return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    out.push_back(text("level") + " " + text("message"));
  }
  return out;
}

Status WebDriver::ClickCss(const std::string& css) {
  ASSIGN_OR_RETURN(std::string e, Find(css));
  return Click(e);
}

Status WebDriver::TypeCss(const std::string& css, const std::string& text) {
  ASSIGN_OR_RETURN(std::string e, Find(css));
  return SendKeys(e, text);
}

Result<std::string> WebDriver::TextCss(const std::string& css) {
  ASSIGN_OR_RETURN(std::string e, Find(css));
  return Text(e);
}

}  // namespace aether::testing
