// Private to the HTTP server: the caps on open connections, in all and per
// client address. The acceptor takes a Slot for each connection it accepts;
// the connection holds it and gives it back when destroyed.
//
// A client is an IPv4 address or an IPv6 /64 (one host usually has a whole
// /64, so counting single IPv6 addresses would cap nothing); an IPv4-mapped
// IPv6 address counts as its IPv4 address.
//
// Thread-safety: any thread (one mutex; a Slot may be released on another
// thread than the one that took it).
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace aether::http_internal {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  using ClientKey = std::array<unsigned char, 16>;

  // One open connection's place in the counts; move-only, released on
  // destruction. Holds the limiter alive.
  class Slot {
   public:
    Slot(Slot&& other) noexcept = default;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();

   private:
    friend class ConnectionLimiter;
    Slot(std::shared_ptr<ConnectionLimiter> limiter, ClientKey key)
        : limiter_(std::move(limiter)), key_(key) {}
    void Release();

    std::shared_ptr<ConnectionLimiter> limiter_;  // null once released or moved from
    ClientKey key_;
  };

  // `max_per_client` 0 = no per-client cap. Create with std::make_shared.
  ConnectionLimiter(size_t max_total, size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // A slot for a connection from `client`, or nullopt with the cap that
  // refused it in *refused ("server_limit" or "client_limit": the metric
  // label).
  std::optional<Slot> TryAcquire(const boost::asio::ip::address& client, std::string_view* refused);

  size_t total() const;
  size_t ForClient(const boost::asio::ip::address& client) const;

  static ClientKey KeyOf(const boost::asio::ip::address& client);

 private:
  void Release(const ClientKey& key);

  const size_t max_total_;
  const size_t max_per_client_;
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::map<ClientKey, size_t> per_client_;  // only clients with open connections
};

}  // namespace aether::http_internal
