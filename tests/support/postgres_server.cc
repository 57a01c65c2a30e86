#include "postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

namespace aether::testing {
namespace {

constexpr const char* kSetpriv = "/usr/bin/setpriv";

// Gives `path` and everything under it to `pw`.
Status ChownAll(const std::string& path, const passwd& pw) {
  if (::chown(path.c_str(), pw.pw_uid, pw.pw_gid) != 0) return Internal("chown " + path);
  for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
    if (::lchown(e.path().c_str(), pw.pw_uid, pw.pw_gid) != 0) {
      return Internal("chown " + e.path().string());
    }
  }
  return OkStatus();
}

}  // namespace

std::string PostgresBinDir() {
  const char* dir = "/usr/lib/postgresql/15/bin";
  std::string initdb = std::string(dir) + "/initdb";
  std::string postgres = std::string(dir) + "/postgres";
  return ::access(initdb.c_str(), X_OK) == 0 && ::access(postgres.c_str(), X_OK) == 0 ? dir : "";
}

std::vector<std::string> PostgresServer::AsServerUser(const std::string& binary,
                                                      std::vector<std::string> args) const {
  if (::geteuid() != 0) {
    args.insert(args.begin(), binary);
    return args;
  }
  std::vector<std::string> out = {
      kSetpriv, "--reuid=postgres", "--regid=postgres", "--clear-groups", "--", binary};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(std::chrono::milliseconds timeout) {
  std::string bin = PostgresBinDir();
  if (bin.empty())
    return Internal("PostgreSQL 15 is not installed (apt-get install postgresql-15)");
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->data_ = s->dir_ / "data";
  s->sockets_ = s->dir_ / "sockets";
  std::filesystem::create_directories(s->sockets_);
  std::string pwfile = s->dir_ / "pwfile";
  { std::ofstream(pwfile) << kPostgresPassword << "\n"; }
  if (::geteuid() == 0) {
    passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) return Internal("running as root and there is no user postgres to run as");
    RETURN_IF_ERROR(ChownAll(s->dir_.path(), *pw));
  }
  std::vector<std::string> initdb =
      s->AsServerUser(bin + "/initdb", {"-D", s->data_, "-U", "aether", "--pwfile", pwfile,
                                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E",
                                        "UTF8", "--no-sync", "--no-instructions"});
  std::string binary = initdb.front();
  initdb.erase(initdb.begin());
  ExitResult r = RunToExit(binary, initdb, std::chrono::seconds(60));
  if (r.exit_code != 0) return Internal("initdb failed: " + r.output);
  s->port_ = FreePort();
  RETURN_IF_ERROR(s->Restart(timeout));
  return s;
}

PostgresServer::~PostgresServer() {
  if (process_ != nullptr && process_->Running()) {
    ::kill(process_->pid(), SIGINT);  // fast shutdown: clients are disconnected
    process_->Stop(std::chrono::seconds(10));
  }
}

std::string PostgresServer::Url(std::string_view user) const {
  return "postgresql://" + std::string(user) + "@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

Result<std::string> PostgresServer::Psql(const std::string& sql) const {
  ExitResult r = RunToExit(
      "/usr/bin/psql", {"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sockets_, "-p",
                        std::to_string(port_), "-U", "aether", "-d", "postgres", "-At", "-c", sql});
  if (r.exit_code != 0) return Internal("psql: " + r.output);
  return r.output;
}

void PostgresServer::Kill() {
  if (process_ == nullptr || !process_->Running()) return;
  ::kill(process_->pid(), SIGQUIT);
  process_->Stop(std::chrono::seconds(10));  // reaps it
}

Status PostgresServer::Restart(std::chrono::milliseconds timeout) {
  Kill();
  std::vector<std::string> args =
      AsServerUser(PostgresBinDir() + "/postgres",
                   {"-D", data_, "-p", std::to_string(port_), "-k", sockets_, "-c",
                    "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off",
                    "-c", "max_connections=20", "-c", "shared_buffers=16MB"});
  std::string binary = args.front();
  args.erase(args.begin());
  uint16_t port = port_;
  auto ready = [port](const std::string& log) -> uint16_t {
    return log.find("database system is ready to accept connections") != std::string::npos ? port
                                                                                           : 0;
  };
  // The log is written by the child's descriptor, opened before it drops
  // root: it may live outside the server's directory.
  std::string log = logs_ / ("postgres-" + std::to_string(++runs_) + ".log");
  ASSIGN_OR_RETURN(process_, ServerProcess::StartWhen(binary, args, log, ready, timeout));
  return OkStatus();
}

}  // namespace aether::testing
