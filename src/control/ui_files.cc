#include "control/ui_files.h"

#include <algorithm>
#include <utility>

namespace aether::control {

namespace {

// 'self' only. No 'unsafe-inline' anywhere: a string that slipped into
// the page as markup still could not run or restyle it. data: images are
// for nothing the dashboard ships; they stay out too. form-action 'none':
// the login form is handled by script, never submitted.
constexpr std::string_view kUiCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

std::string_view UiContentType(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (path.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

HttpHeaders UiSecurityHeaders() {
  return {
      {"Content-Security-Policy", std::string(kUiCsp)},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      // A new build's files are fetched again (they are small); nothing
      // stale survives an upgrade.
      {"Cache-Control", "no-cache"},
  };
}

HttpResponse UiResponse(std::string_view path, std::span<const UiFile> files) {
  std::string_view name;
  if (path.starts_with(kUiPrefix)) name = path.substr(kUiPrefix.size());
  if (name.empty()) name = "index.html";
  auto it =
      std::find_if(files.begin(), files.end(), [&](const UiFile& f) { return f.path == name; });
  HttpResponse r;
  if (!path.starts_with(kUiPrefix) || it == files.end()) {
    r = JsonError(404, "not_found", "no such dashboard file");
  } else {
    r.content_type = std::string(UiContentType(it->path));
    r.body = std::string(it->body);
  }
  for (auto& h : UiSecurityHeaders()) r.headers.push_back(std::move(h));
  return r;
}

}  // namespace aether::control
