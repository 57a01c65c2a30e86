// Helpers for sandbox tests: read guests, run code on a GuestThread.
#pragma once

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "wasm/guest_thread.h"

namespace aether::wasm::testing {

inline std::vector<uint8_t> ReadGuest(const std::string& name) {
  std::ifstream in(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A crafted module from tests/hostile/, assembled by wat2wasm at build time.
inline std::vector<uint8_t> ReadHostile(const std::string& name) {
  std::ifstream in(std::string(AETHER_HOSTILE_DIR) + "/" + name + ".wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Guests must run on a GuestThread (its guard page turns deep recursion
// into a trap); gtest assertions inside `fn` work as usual.
inline void OnGuestThread(const std::function<void()>& fn) {
  GuestThread t(fn);
  t.Join();
}

}  // namespace aether::wasm::testing
