// Test fixture for the WASI host: a 1 MiB guest memory, a registry with the
// WASI functions, and calls that check the C signature against the
// registered one.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "wasm/wasi/wasi.h"

namespace aether::wasm::testing {

inline constexpr const char* kWasi = "wasi_snapshot_preview1";

class WasiFixture : public ::testing::Test {
 protected:
  static constexpr uint32_t kMemSize = 1 << 20;

  WasiFixture() : mem_(kMemSize) {
    RegisterWasi(registry_);
    memory_.data = mem_.data();
    memory_.pages = kMemSize / 65536;
    memory_.max_pages = memory_.pages;
    memory_.size = kMemSize;
    ctx_.memory = &memory_;
  }

  void Init(const WasiOptions& options) {
    auto r = WasiCtx::Create(options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    wasi_ = std::move(r.value());
    ctx_.wasi = wasi_.get();
  }

  template <typename T>
  static char SigChar() {
    static_assert(std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>);
    return std::is_same_v<T, uint32_t> ? 'i' : 'I';
  }

  // Calls `name` with exactly the C types the glue would use.
  template <typename... A>
  uint32_t Call(const char* name, A... args) {
    const HostFunction* f = registry_.Find(kWasi, name);
    if (f == nullptr) {
      ADD_FAILURE() << "not registered: " << name;
      return 0xffff;
    }
    std::string sig = "i:";
    ((sig += SigChar<A>()), ...);
    EXPECT_EQ(f->signature, sig) << name;
    using Fn = uint32_t (*)(void*, A...);
    return reinterpret_cast<Fn>(f->fn)(&ctx_, args...);
  }

  // Bump-allocates guest memory (8-byte aligned) and copies `bytes` in.
  uint32_t Alloc(uint32_t size) {
    uint32_t p = next_;
    next_ = (next_ + size + 7) & ~7u;
    EXPECT_LE(next_, kMemSize);
    std::memset(mem_.data() + p, 0, size);
    return p;
  }
  uint32_t Put(std::string_view bytes) {
    uint32_t p = Alloc(static_cast<uint32_t>(bytes.size()));
    std::memcpy(mem_.data() + p, bytes.data(), bytes.size());
    return p;
  }
  // An iovec array of one buffer.
  uint32_t Iov(uint32_t buf, uint32_t len) {
    uint32_t p = Alloc(8);
    SetU32(p, buf);
    SetU32(p + 4, len);
    return p;
  }
  uint32_t U32(uint32_t p) const {
    uint32_t v;
    std::memcpy(&v, mem_.data() + p, 4);
    return v;
  }
  uint64_t U64(uint32_t p) const {
    uint64_t v;
    std::memcpy(&v, mem_.data() + p, 8);
    return v;
  }
  void SetU32(uint32_t p, uint32_t v) { std::memcpy(mem_.data() + p, &v, 4); }
  void SetU64(uint32_t p, uint64_t v) { std::memcpy(mem_.data() + p, &v, 8); }
  std::string Str(uint32_t p, uint32_t len) const {
    return std::string(reinterpret_cast<const char*>(mem_.data() + p), len);
  }

  // Writes `s` to `fd`; returns the errno, *n the count written.
  uint32_t Write(uint32_t fd, std::string_view s, uint32_t* n = nullptr) {
    uint32_t out = Alloc(4);
    uint32_t err = Call("fd_write", fd, Iov(Put(s), static_cast<uint32_t>(s.size())), 1u, out);
    if (n != nullptr) *n = U32(out);
    return err;
  }
  // Reads up to `max` bytes from `fd`.
  std::string Read(uint32_t fd, uint32_t max, uint32_t* err = nullptr) {
    uint32_t buf = Alloc(max), out = Alloc(4);
    uint32_t e = Call("fd_read", fd, Iov(buf, max), 1u, out);
    if (err != nullptr) *err = e;
    return e == 0 ? Str(buf, U32(out)) : std::string();
  }

  HostRegistry registry_;
  std::vector<uint8_t> mem_;
  wasm_rt_memory_t memory_{};
  ExecContext ctx_;
  std::unique_ptr<WasiCtx> wasi_;
  uint32_t next_ = 64;  // keep 0 unused, like a real guest's null page
};

}  // namespace aether::wasm::testing
