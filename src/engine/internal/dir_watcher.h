// Watches one directory for files that were written, moved in, deleted or
// moved out, on a thread of its own. With inotify unavailable (or disabled)
// it asks for a full rescan every poll interval instead.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace aether::engine {

struct DirWatcherCallbacks {
  // A file was written and closed, or moved into the directory. `file` is
  // the base name.
  std::function<void(const std::string& file)> changed;
  // A file was deleted or moved out.
  std::function<void(const std::string& file)> removed;
  // Events may have been lost (queue overflow, polling mode): compare the
  // whole directory with what you know.
  std::function<void()> rescan;
};

// The callbacks run on the watcher's thread, one at a time.
class DirWatcher {
 public:
  virtual ~DirWatcher() = default;  // stops the thread and waits for it
};

// Errors: Internal when the thread or the watch cannot be set up; with
// `use_inotify` a failure to create the watch falls back to polling (logged).
Result<std::unique_ptr<DirWatcher>> StartDirWatcher(std::string dir, DirWatcherCallbacks callbacks,
                                                    bool use_inotify,
                                                    std::chrono::milliseconds poll_interval);

}  // namespace aether::engine
