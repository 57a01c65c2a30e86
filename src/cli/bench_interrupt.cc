#include "cli/bench_interrupt.h"

#include <pthread.h>

#include <ctime>

namespace aether::cli::bench {

InterruptWatch::InterruptWatch() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  thread_ = std::jthread([this](const std::stop_token& stop) {
    // Short waits, so that destruction never waits long for this thread.
    const timespec tick{0, 100'000'000};
    while (!stop.stop_requested()) {
      if (sigtimedwait(&set_, nullptr, &tick) > 0) interrupted_.store(true);
    }
  });
}

InterruptWatch::~InterruptWatch() {
  thread_.request_stop();
  thread_.join();
  // A signal that came after the last wait stays pending and would act on
  // unblocking (ending the process): the run is over by now, so that is
  // what the user asked for.
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace aether::cli::bench
