#include "common/internal/connection_limiter.h"

namespace aether::http_internal {

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::move(other.limiter_);
    key_ = other.key_;
  }
  return *this;
}

ConnectionLimiter::Slot::~Slot() { Release(); }

void ConnectionLimiter::Slot::Release() {
  if (limiter_) limiter_->Release(key_);
  limiter_.reset();
}

ConnectionLimiter::ClientKey ConnectionLimiter::KeyOf(const boost::asio::ip::address& client) {
  namespace ip = boost::asio::ip;
  ip::address_v6 v6 =
      client.is_v4() ? ip::make_address_v6(ip::v4_mapped, client.to_v4()) : client.to_v6();
  ClientKey key = v6.to_bytes();
  if (!v6.is_v4_mapped()) {
    for (size_t i = 8; i < key.size(); ++i) key[i] = 0;  // the /64
  }
  return key;
}

std::optional<ConnectionLimiter::Slot> ConnectionLimiter::TryAcquire(
    const boost::asio::ip::address& client, std::string_view* refused) {
  ClientKey key = KeyOf(client);
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) {
    *refused = "server_limit";
    return std::nullopt;
  }
  size_t& n = per_client_[key];
  if (max_per_client_ != 0 && n >= max_per_client_) {
    *refused = "client_limit";
    return std::nullopt;
  }
  ++n;
  ++total_;
  return Slot(shared_from_this(), key);
}

void ConnectionLimiter::Release(const ClientKey& key) {
  std::lock_guard lock(mu_);
  --total_;
  auto it = per_client_.find(key);
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

size_t ConnectionLimiter::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

size_t ConnectionLimiter::ForClient(const boost::asio::ip::address& client) const {
  std::lock_guard lock(mu_);
  auto it = per_client_.find(KeyOf(client));
  return it == per_client_.end() ? 0 : it->second;
}

}  // namespace aether::http_internal
