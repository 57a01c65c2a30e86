// The operator dashboard's embedded files under /ui/ (ui_files.h; no
// token: they hold no data). docs/dashboard.md.
#include "control/api.h"
#include "control/ui_files.h"

namespace aether::control {

void ControlApi::RegisterUi(HttpServer& server) {
  // Relative URLs in index.html ("app.js") resolve against /ui/, not /.
  server.Route("GET", "/ui",
               Inline("GET /ui", Access::kOpen, [](HttpRequest&&, const Responder& respond) {
                 HttpResponse r = UiResponse("/ui/", EmbeddedUiFiles());
                 r.status = 308;
                 r.content_type.clear();
                 r.body.clear();
                 r.headers.emplace_back("Location", "/ui/");
                 respond(std::move(r));
               }));
  server.RoutePrefix(
      "GET", kUiPrefix,
      Inline("GET /ui/{file}", Access::kOpen, [](HttpRequest&& req, const Responder& respond) {
        respond(UiResponse(req.path, EmbeddedUiFiles()));
      }));
}

}  // namespace aether::control
