// The operator dashboard's static files (web/ui/, docs/dashboard.md): the
// set compiled into the binary (EmbeddedUiFiles, generated at build time by
// cmake/embed_files.cmake) and the answer to a GET under /ui/.
//
// Only the embedded set is served: a request names a file by its exact
// path in that table, never a path on disk, so "..", encoded slashes or
// symlinks lead nowhere. Every answer, errors included, carries the
// security headers (UiSecurityHeaders). The files hold no data; every data
// call the dashboard makes goes to the token-protected /api/*.
//
// Pure functions over immutable data; any thread.
#pragma once

#include <span>
#include <string_view>

#include "common/http_server.h"

namespace aether::control {

inline constexpr std::string_view kUiPrefix = "/ui/";

struct UiFile {
  std::string_view path;  // relative to web/ui/: "index.html", "js/api.js"
  std::string_view body;
};

// Generated (build/src/control/ui_files_embedded.cc), sorted by path.
std::span<const UiFile> EmbeddedUiFiles();

// By extension; application/octet-stream for one the dashboard does not use.
std::string_view UiContentType(std::string_view path);

// The headers of every /ui answer: a Content-Security-Policy that allows
// scripts, styles and connections from this origin only (no inline script
// or style, no framing, no plugins), nosniff, no framing, no referrer.
HttpHeaders UiSecurityHeaders();

// The answer to GET `path` (HttpRequest::path, percent-decoded): "/ui/"
// is index.html; "/ui/<file>" a file of `files`; anything else 404 JSON
// not_found. `/ui` without the slash is answered by the route (a redirect).
HttpResponse UiResponse(std::string_view path, std::span<const UiFile> files);

}  // namespace aether::control
