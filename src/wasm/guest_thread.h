// Threads that run guests.
#pragma once

#include <pthread.h>

#include <functional>

namespace aether::wasm {

// A thread with a stack suited to guests: 8 MiB with a 1 MiB guard below
// it, so deep recursion faults on the guard and becomes a trap. Joined on
// destruction.
class GuestThread {
 public:
  explicit GuestThread(std::function<void()> fn);
  ~GuestThread();
  GuestThread(const GuestThread&) = delete;
  GuestThread& operator=(const GuestThread&) = delete;
  void Join();

 private:
  pthread_t thread_{};
  bool joinable_ = false;
};

// True on a thread a GuestThread started: one where a guest may run.
bool OnGuestThread();

}  // namespace aether::wasm
