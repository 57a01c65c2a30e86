// A domain orchestrator's link to its cluster controller ([domain] role =
// "domain", docs/domains.md): registers the domain (the domain join token
// once; afterwards the credential the controller issued, kept in
// <data dir>/domain.credential) and heartbeats its capabilities every
// interval the controller asks for. When a beat's answer says the
// controller's functions or workflows moved, it mirrors them here
// (DomainLocal): the functions' modules from /node/artifacts (checked
// against their sha256), then this domain's part of each workflow from
// /domain/workflows. After every beat it reports what its engines say of
// those workflows' instances (/domain/workflows/status). A controller that forgot the domain
// (404) is joined again with the join token; one that refuses the
// credential (403: an operator removed the domain) is logged and retried
// slowly, in case the operator re-admits it.
//
// Thread-safety: Start/Stop from the controlling thread; the getters from
// any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/node_identity.h"
#include "common/result.h"
#include "control/domains/domain_local.h"
#include "protocol/domain.h"

namespace aether::control {

struct DomainAgentOptions {
  std::vector<std::string> controller;  // checked (CheckEndpointUrls)
  std::string domain_id;
  std::string url;  // where the controller reaches this domain
  std::map<std::string, std::string> labels;
  std::string join_token;  // may be empty once a credential is saved
  std::string data_dir;    // holds domain.credential
  std::string ca_file;     // https controllers: the CA to trust (else the system's)
  // The largest answer taken: a module (the controller's [runtime]
  // max_module_size, which the domain's own mirrors) or a manifest.
  uint64_t max_response_bytes = 64ull << 20;
  // This control plane: what it reports, where it mirrors to. Outlives
  // the agent.
  DomainLocal* local = nullptr;
  // Between failed attempts (doubling up to 10 s).
  std::chrono::milliseconds retry{500};
};

class DomainAgent {
 public:
  // Errors: InvalidArgument (no controller URL, a bad domain id), Internal
  // (an unreadable domain.credential).
  static Result<std::unique_ptr<DomainAgent>> Create(DomainAgentOptions options);
  ~DomainAgent();  // Stop()s

  void Start();
  void Stop();  // idempotent; a request in flight is cancelled

  // Whether the controller has taken the last registration or beat.
  bool connected() const;
  // The last failure, "" while connected.
  std::string last_error() const;

 private:
  explicit DomainAgent(DomainAgentOptions options);
  void Run(const std::stop_token& stop);
  Status Register(const std::stop_token& stop);
  Status Beat(const std::stop_token& stop);
  // After a beat: mirrors what moved at the controller, reports instances.
  Status Sync(const std::stop_token& stop);
  Result<HttpResponse> Get(const std::stop_token& stop, std::string path);
  Result<HttpResponse> Post(const std::stop_token& stop, std::string path, const std::string& body,
                            bool with_credential, Retry retry);
  void SetState(bool connected, std::string error);

  DomainAgentOptions options_;
  std::unique_ptr<NodeIdentity> identity_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<EndpointList> endpoints_;
  std::chrono::milliseconds interval_{2000};  // the agent's thread only
  // The agent's thread only: the controller's revisions as of the last
  // beat, and those mirrored (-1: not yet).
  int64_t functions_seen_ = 0, workflows_seen_ = 0;
  int64_t functions_synced_ = -1, workflows_synced_ = -1;
  mutable std::mutex mu_;
  bool connected_ = false;  // under mu_
  std::string error_;       // under mu_
  std::jthread thread_;
};

}  // namespace aether::control
