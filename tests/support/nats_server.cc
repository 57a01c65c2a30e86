#include "nats_server.h"

#include <signal.h>
#include <unistd.h>

#include <regex>

namespace aether::testing {

std::string NatsServerBinary() {
  for (const char* path :
       {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

Result<std::unique_ptr<NatsServer>> NatsServer::Start(NatsServerOptions options,
                                                      std::chrono::milliseconds timeout) {
  if (options.store_dir.empty()) return InvalidArgument("NatsServerOptions::store_dir is required");
  std::unique_ptr<NatsServer> server(new NatsServer(std::move(options)));
  RETURN_IF_ERROR(server->Restart(timeout));
  return server;
}

NatsServer::~NatsServer() { Stop(); }

void NatsServer::Kill() {
  if (process_ == nullptr || !process_->Running()) return;
  ::kill(process_->pid(), SIGKILL);
  process_->Stop();  // reaps it
}

void NatsServer::Stop() {
  if (process_ != nullptr) process_->Stop();
}

Status NatsServer::Restart(std::chrono::milliseconds timeout) {
  std::string binary = NatsServerBinary();
  if (binary.empty()) return Internal("nats-server is not installed (apt-get install nats-server)");
  Stop();
  // -p -1: a free port on the first run; the same one afterwards.
  std::vector<std::string> args = {"-a",
                                   "127.0.0.1",
                                   "-p",
                                   options_.port == 0 ? "-1" : std::to_string(options_.port),
                                   "-js",
                                   "-sd",
                                   options_.store_dir};
  if (!options_.user.empty()) {
    args.insert(args.end(), {"--user", options_.user, "--pass", options_.password});
  }
  static const std::regex kListening(R"(Listening for client connections on [0-9.]+:([0-9]+))");
  auto ready = [](const std::string& log) -> uint16_t {
    std::smatch m;
    if (log.find("Server is ready") == std::string::npos ||
        !std::regex_search(log, m, kListening)) {
      return 0;
    }
    return static_cast<uint16_t>(std::stoi(m[1]));
  };
  std::string log = logs_ / ("nats-" + std::to_string(++runs_) + ".log");
  ASSIGN_OR_RETURN(process_, ServerProcess::StartWhen(binary, args, log, ready, timeout));
  options_.port = process_->port();
  return OkStatus();
}

}  // namespace aether::testing
