#include "workflow/resources/file_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <utility>

#include "common/log.h"

namespace aether::workflow::resources {
namespace {

std::string Errno(int err) { return ::strerror(err); }

// "2026-11-23T22:30:01.123Z " for EDGELESS's add-timestamp.
std::string TimestampPrefix() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler imagines in the fields
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Defence in depth: the control plane validated both, but this resource
// turns them into a path and must never leave its directory.
bool SafeComponent(std::string_view s, bool filename) {
  if (s.empty() || s.size() > (filename ? 250u : 63u) || s.front() == '.') return false;
  if (!filename && s.front() == '-') return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (filename && ((c >= 'A' && c <= 'Z') || c == '.'));
    if (!ok) return false;
  }
  return true;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return Unavailable("file-log: cannot stat " + path + ": " + Errno(errno));
    }
    if (!S_ISDIR(st.st_mode)) return Unavailable("file-log: " + path + " is not a directory");
    return OkStatus();
  }
  return Unavailable("file-log: cannot create " + path + ": " + Errno(errno));
}

class FileLog final : public Resource {
 public:
  FileLog(std::string path, FileLogConfig config)
      : path_(std::move(path)), config_(std::move(config)) {}
  ~FileLog() override { Stop(); }

  Status Open() {
    std::lock_guard lock(mu_);
    return OpenLocked();
  }

  Status Cast(std::string_view source, std::string_view payload) override {
    return Append(source, payload);
  }

  Result<std::string> Call(std::string_view source, std::string_view payload,
                           std::chrono::milliseconds /*timeout*/) override {
    RETURN_IF_ERROR(Append(source, payload));
    return std::string("ok");
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    stopped_ = true;
    CloseLocked();
  }

 private:
  Status Append(std::string_view source, std::string_view payload) {
    // EDGELESS's order: timestamp, source, payload.
    std::string line = config_.add_timestamp ? TimestampPrefix() : std::string();
    if (config_.add_source_id) line.append(source).push_back(' ');
    line += FileLogLine(payload);
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (stopped_) return FailedPrecondition("file-log: the resource is stopped");
    if (fd_ < 0) RETURN_IF_ERROR(OpenLocked());  // a failed rotation left it closed
    if (size_ > 0 && size_ + line.size() > config_.max_bytes) {
      // The size is what this resource wrote; confirm before rotating, in
      // case someone truncated the file (copytruncate) meanwhile.
      struct stat st;
      if (::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
      if (size_ > 0 && size_ + line.size() > config_.max_bytes) RETURN_IF_ERROR(RotateLocked());
    }
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Unavailable("file-log: cannot write " + path_ + ": " + Errno(errno));
      }
      p += n;
      left -= static_cast<size_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    return OkStatus();
  }

  Status OpenLocked() {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) return Unavailable("file-log: cannot open " + path_ + ": " + Errno(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Unavailable("file-log: " + path_ + " is not a regular file");
    }
    fd_ = fd;
    size_ = static_cast<uint64_t>(st.st_size);
    return OkStatus();
  }

  Status RotateLocked() {
    CloseLocked();
    std::string old = path_ + ".1";
    if (::rename(path_.c_str(), old.c_str()) != 0 && errno != ENOENT) {
      Status st = Unavailable("file-log: cannot rotate " + path_ + ": " + Errno(errno));
      (void)OpenLocked();  // keep appending to the big file rather than losing lines
      return st;
    }
    return OpenLocked();
  }

  void CloseLocked() {
    if (fd_ < 0) return;
    if (::fdatasync(fd_) != 0) LOG_WARN("file-log: fdatasync {}: {}", path_, Errno(errno));
    ::close(fd_);
    fd_ = -1;
  }

  const std::string path_;
  const FileLogConfig config_;
  std::mutex mu_;  // guards everything below
  int fd_ = -1;
  uint64_t size_ = 0;
  bool stopped_ = false;
};

}  // namespace

std::string FileLogLine(std::string_view payload) {
  if (payload.ends_with("\r\n")) {
    payload.remove_suffix(2);
  } else if (payload.ends_with('\n')) {
    payload.remove_suffix(1);
  }
  std::string out;
  out.reserve(payload.size() + 2);
  for (char c : payload) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::unique_ptr<Resource>> NewFileLog(ResourceContext ctx, FileLogConfig config) {
  if (!SafeComponent(ctx.workflow, /*filename=*/false)) {
    return InvalidArgument("file-log: the workflow id \"" + ctx.workflow +
                           "\" is not a safe directory name");
  }
  if (!SafeComponent(config.filename, /*filename=*/true)) {
    return InvalidArgument("file-log: filename \"" + config.filename +
                           "\" must be [A-Za-z0-9._-] without a leading '.'");
  }
  if (ctx.data_dir.empty()) return FailedPrecondition("file-log: the engine has no data dir");
  std::string dir = ctx.data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  RETURN_IF_ERROR(MakeDir(dir));
  dir += "/workflows";
  RETURN_IF_ERROR(MakeDir(dir));
  dir += "/" + ctx.workflow;
  RETURN_IF_ERROR(MakeDir(dir));
  auto log = std::make_unique<FileLog>(dir + "/" + config.filename, std::move(config));
  RETURN_IF_ERROR(log->Open());
  return std::unique_ptr<Resource>(std::move(log));
}

}  // namespace aether::workflow::resources
