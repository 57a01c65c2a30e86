#include "etcd_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

namespace aether::testing {

std::string EtcdBinary() {
  for (const char* path : {"/usr/bin/etcd", "/usr/local/bin/etcd", "/usr/sbin/etcd"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(size_t members,
                                                        std::chrono::milliseconds timeout,
                                                        std::optional<EtcdTls> tls) {
  if (EtcdBinary().empty()) return Internal("etcd is not installed (apt-get install etcd-server)");
  std::unique_ptr<EtcdCluster> c(new EtcdCluster());
  c->tls_ = std::move(tls);
  for (size_t i = 0; i < members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.client_port = FreePort();
    m.peer_port = FreePort();
    if (!c->initial_cluster_.empty()) c->initial_cluster_ += ",";
    c->initial_cluster_ += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    c->members_.push_back(std::move(m));
  }
  // Members of a new cluster wait for each other (quorum) before they
  // serve: start them all at once.
  std::vector<Status> started(members);
  std::vector<std::thread> threads;
  threads.reserve(members);
  for (size_t i = 0; i < members; ++i) {
    threads.emplace_back([&, i] { started[i] = c->Launch(i, true, timeout); });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : started) RETURN_IF_ERROR(s);
  return c;
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) {
    if (m.process != nullptr) {
      ::kill(m.process->pid(), SIGCONT);  // a test may have left it stopped
      m.process->Stop();
    }
  }
}

std::string EtcdCluster::ClientUrl(const Member& m) const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(m.client_port);
}

std::string EtcdCluster::endpoint(size_t i) const { return ClientUrl(members_[i]); }

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < members_.size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::Logs() const {
  std::string out;
  for (const Member& m : members_) {
    if (m.process != nullptr) out += "--- etcd " + m.name + "\n" + m.process->Log();
  }
  return out;
}

void EtcdCluster::Kill(size_t i) {
  Member& m = members_[i];
  if (m.process == nullptr || !m.process->Running()) return;
  ::kill(m.process->pid(), SIGKILL);
  m.process->Stop();  // reaps it
}

void EtcdCluster::Stop(size_t i) {
  if (members_[i].process != nullptr) members_[i].process->Stop();
}

Status EtcdCluster::Restart(size_t i, std::chrono::milliseconds timeout) {
  Stop(i);
  return Launch(i, false, timeout);
}

Status EtcdCluster::Launch(size_t i, bool initial, std::chrono::milliseconds timeout) {
  Member& m = members_[i];
  std::string client = ClientUrl(m);
  std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::vector<std::string> args = {
      "--name", m.name, "--data-dir", dir_ / m.name, "--listen-client-urls", client,
      "--advertise-client-urls", client, "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", initial ? "new" : "existing", "--initial-cluster-token",
      "aether-test",
      // Tests kill members: elections within a
      // second rather than the default ~1-2 s.
      "--heartbeat-interval", "50", "--election-timeout", "500"};
  if (tls_) {
    for (std::string a :
         {"--cert-file", tls_->cert_file.c_str(), "--key-file", tls_->key_file.c_str()}) {
      args.push_back(std::move(a));
    }
    if (!tls_->client_ca_file.empty()) {
      for (std::string a :
           {"--client-cert-auth", "--trusted-ca-file", tls_->client_ca_file.c_str()}) {
        args.push_back(std::move(a));
      }
    }
  }
  uint16_t port = m.client_port;
  auto ready = [port](const std::string& log) -> uint16_t {
    return log.find("ready to serve client requests") != std::string::npos ? port : 0;
  };
  std::string log = dir_ / (m.name + "-" + std::to_string(++m.runs) + ".log");
  ASSIGN_OR_RETURN(m.process, ServerProcess::StartWhen(EtcdBinary(), args, log, ready, timeout));
  return OkStatus();
}

}  // namespace aether::testing
