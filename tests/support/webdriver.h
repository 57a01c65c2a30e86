// A small W3C WebDriver client for browser tests (tests/browser/): starts
// chromedriver on 127.0.0.1 (a free port) and one headless Chromium session
// in a fresh profile, then drives it over chromedriver's HTTP API with the
// project's HttpClient (Boost.Beast) and Boost.JSON.
//
// Cleanup is by PID, also when a test fails half-way: the destructor ends
// the session (chromedriver quits the browser), SIGKILLs any process still
// descending from chromedriver, then stops chromedriver itself.
//
// Thread-safety: one thread drives a WebDriver.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/result.h"
#include "process.h"

namespace aether::testing {

struct WebDriverOptions {
  std::string chromium = "/usr/bin/chromium";
  std::string chromedriver = "/usr/bin/chromedriver";
  int width = 1400;
  int height = 1000;
  // chromedriver's own output goes here (a file in a temp dir when empty).
  std::string log_path;
};

// What is missing to run a browser test ("" when chromium and chromedriver
// are both installed), for GTEST_SKIP.
std::string MissingBrowser(const WebDriverOptions& options = {});

class WebDriver {
 public:
  // Errors: Unavailable when chromedriver does not start or the session
  // cannot be created (the message has chromedriver's answer).
  static Result<std::unique_ptr<WebDriver>> Start(WebDriverOptions options = {});
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  Status Navigate(const std::string& url);
  // An element's WebDriver id. NotFound when nothing matches `css`.
  Result<std::string> Find(const std::string& css);
  Result<std::vector<std::string>> FindAll(const std::string& css);
  Status Click(const std::string& element);
  // Types `text` into the element; for an <input type=file> the text is a
  // file's absolute path, which selects that file.
  Status SendKeys(const std::string& element, const std::string& text);
  Status Clear(const std::string& element);
  // The rendered text of the element (innerText, as a user sees it).
  Result<std::string> Text(const std::string& element);
  // Runs `script` (a function body; `arguments` holds `args`) in the page
  // and returns what it returns.
  Result<boost::json::value> Execute(const std::string& script, boost::json::array args = {});
  // A PNG of the viewport, written to `path`.
  Status Screenshot(const std::string& path);
  // The browser console's messages since the last call ("LEVEL message"),
  // uncaught exceptions and Content-Security-Policy refusals included
  // (chromedriver's log endpoint).
  Result<std::vector<std::string>> ConsoleMessages();

  // Shorthands by CSS selector.
  Status ClickCss(const std::string& css);
  Status TypeCss(const std::string& css, const std::string& text);
  // The text of the first match; NotFound when nothing matches.
  Result<std::string> TextCss(const std::string& css);

 private:
  WebDriver() = default;
  // One command; `value` of the answer. WebDriver errors: NotFound for
  // "no such element", else Internal with the driver's error and message.
  Result<boost::json::value> Command(std::string_view method, const std::string& path,
                                     const boost::json::value& body = nullptr,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void KillBrowserProcesses();

  TempDir dir_;  // the profile and chromedriver's log
  std::unique_ptr<ServerProcess> driver_;
  std::unique_ptr<HttpClient> http_ = NewHttpClient();
  std::string base_;     // http://127.0.0.1:PORT
  std::string session_;  // empty until created
};

}  // namespace aether::testing
