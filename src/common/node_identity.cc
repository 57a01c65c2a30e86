#include "common/node_identity.h"

#include <boost/json.hpp>

#include "common/file_io.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/node_credential.h"

namespace aether {
namespace {

namespace json = boost::json;

// 64 lower-case hex digits, as the control plane issues them.
bool IsSecret(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string NodeCredentialPath(const std::string& data_dir) {
  return data_dir + "/node.credential";
}

Result<std::unique_ptr<NodeIdentity>> NodeIdentity::Open(const std::string& data_dir,
                                                         std::string node_id,
                                                         std::string_view file_name) {
  std::string path = data_dir + "/" + std::string(file_name);
  Result<std::string> text = ReadWholeFile<std::string>(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return std::make_unique<NodeIdentity>(std::move(node_id), std::move(path));
    }
    return text.status();
  }
  Result<json::object> o = ParseJsonObject(*text, file_name);
  Result<std::string> saved_id =
      o.ok() ? GetString(*o, "node_id") : Result<std::string>(o.status());
  Result<std::string> secret = o.ok() ? GetString(*o, "secret") : Result<std::string>(o.status());
  if (!saved_id.ok() || !secret.ok() || !IsSecret(*secret)) {
    LOG_WARN("ignoring {}: not a node credential; this engine joins as a new node", path);
    return std::make_unique<NodeIdentity>(std::move(node_id), std::move(path));
  }
  if (*saved_id != node_id) {
    LOG_WARN("{} holds the credential of node {}, not {}; this engine joins as a new node", path,
             *saved_id, node_id);
    return std::make_unique<NodeIdentity>(std::move(node_id), std::move(path));
  }
  return std::make_unique<NodeIdentity>(std::move(node_id), std::move(path), std::move(*secret));
}

NodeIdentity::NodeIdentity(std::string node_id, std::string path, std::string secret)
    : node_id_(std::move(node_id)), path_(std::move(path)), secret_(std::move(secret)) {
  if (!secret_.empty()) dataplane_key_ = DataplaneKey(secret_);
}

std::string NodeIdentity::secret() const {
  std::lock_guard lock(mu_);
  return secret_;
}

std::string NodeIdentity::dataplane_key() const {
  std::lock_guard lock(mu_);
  return dataplane_key_;
}

Status NodeIdentity::Set(std::string secret) {
  {
    std::lock_guard lock(mu_);
    secret_ = secret;
    dataplane_key_ = DataplaneKey(secret_);
  }
  cv_.notify_all();
  if (path_.empty()) return OkStatus();
  // Owner-only, like the control plane's token files: anyone who reads it
  // can act as this node.
  return WriteFileAtomically(
      path_, ToJson(json::object{{"node_id", node_id_}, {"secret", std::move(secret)}}) + "\n");
}

void NodeIdentity::Forget() {
  std::lock_guard lock(mu_);
  secret_.clear();
  dataplane_key_.clear();
}

std::string NodeIdentity::WaitForSecret(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !secret_.empty(); });
  return secret_;
}

}  // namespace aether
