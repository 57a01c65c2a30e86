#include "workflow/resources/file_pusher.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "workflow/resources/periodic.h"

namespace aether::workflow::resources {
namespace {

constexpr std::string_view kPusherOutput = "out";

// The files of `dir` (see file_pusher.h), in name order. `skipped` gets
// "name (why)" for every entry left out.
Result<std::vector<std::string>> ReadPusherFiles(const std::string& dir,
                                                 std::vector<std::string>* skipped) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) {
    return Unavailable("file-pusher: cannot open the directory " + dir + ": " +
                       std::strerror(errno));
  }
  std::vector<std::string> names;
  {
    int fd = ::dup(dfd.get());
    DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
    if (d == nullptr) {
      if (fd >= 0) ::close(fd);
      return Unavailable("file-pusher: cannot list the directory " + dir + ": " +
                         std::strerror(errno));
    }
    while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): own DIR
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> files;
  uint64_t total = 0;
  for (const std::string& name : names) {
    if (files.size() >= kFilePusherMaxFiles) {
      skipped->push_back(name + " (more than " + std::to_string(kFilePusherMaxFiles) + " files)");
      continue;
    }
    // O_NOFOLLOW: a symlink is not opened (ELOOP), so nothing outside the
    // directory is read; O_NONBLOCK: a FIFO does not hang the open.
    UniqueFd fd(::openat(dfd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      skipped->push_back(name + (errno == ELOOP ? " (a symlink)" : " (cannot open it)"));
      continue;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      skipped->push_back(name + " (not a regular file)");
      continue;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (size > kFilePusherMaxFileBytes) {
      skipped->push_back(name + " (over " + std::to_string(kFilePusherMaxFileBytes) + " bytes)");
      continue;
    }
    if (total + size > kFilePusherMaxTotalBytes) {
      skipped->push_back(name + " (over " + std::to_string(kFilePusherMaxTotalBytes) +
                         " bytes in all)");
      continue;
    }
    // Read to the end, at most one byte past the limit (the file may grow).
    std::string content;
    char buf[65536];
    bool ok = true;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ok = false;
        break;
      }
      if (n == 0) break;
      content.append(buf, static_cast<size_t>(n));
      if (content.size() > kFilePusherMaxFileBytes) break;
    }
    if (!ok) {
      skipped->push_back(name + " (cannot read it)");
      continue;
    }
    if (content.size() > kFilePusherMaxFileBytes ||
        total + content.size() > kFilePusherMaxTotalBytes) {
      skipped->push_back(name + " (grew past the limit while read)");
      continue;
    }
    total += content.size();
    files.push_back(std::move(content));
  }
  return files;
}

class FilePusher final : public PeriodicResource {
 public:
  FilePusher(ResourceContext ctx, FilePusherConfig config)
      : PeriodicResource("a file-pusher", *ctx.clock, config.period),
        ctx_(std::move(ctx)),
        config_(config) {
    StartTicking();
  }
  ~FilePusher() override { Stop(); }

 private:
  // On the thread, when it starts: the files, read once (as EDGELESS does).
  void Prepare() override {
    std::string dir = (std::filesystem::path(ctx_.data_dir) / kFilePusherDir).string();
    std::vector<std::string> skipped;
    Result<std::vector<std::string>> files = ReadPusherFiles(dir, &skipped);
    if (!skipped.empty()) {
      std::string list;
      for (const std::string& s : skipped) list += (list.empty() ? "" : ", ") + s;
      LOG_WARN("{}: file-pusher skipped {} entr{} of {}: {}", ctx_.instance_id, skipped.size(),
               skipped.size() == 1 ? "y" : "ies", dir, list);
    }
    if (!files.ok()) {
      ctx_.report_failure(files.status().message() +
                          " (an operator puts the files to push there); nothing will be cast");
      return;
    }
    if (files->empty()) {
      ctx_.report_failure("file-pusher: no file to push in " + dir + "; nothing will be cast");
      return;
    }
    for (std::string& f : *files) {
      contents_.push_back(config_.encode_base64 ? Base64Encode(f) : std::move(f));
    }
  }

  void Tick() override {
    if (contents_.empty()) return;
    const std::string& content = contents_[next_file_];
    next_file_ = (next_file_ + 1) % contents_.size();
    std::vector<std::string> outputs = ctx_.outputs();
    if (std::find(outputs.begin(), outputs.end(), kPusherOutput) == outputs.end()) return;
    Status st = ctx_.cast(kPusherOutput, content);
    if (!st.ok()) ctx_.report_failure("file-pusher: cast to \"out\": " + st.message());
  }

  ResourceContext ctx_;
  const FilePusherConfig config_;
  std::vector<std::string> contents_;  // the thread's only
  size_t next_file_ = 0;               // the thread's only
};

}  // namespace

std::unique_ptr<Resource> NewFilePusher(ResourceContext ctx, FilePusherConfig config) {
  return std::make_unique<FilePusher>(std::move(ctx), config);
}

}  // namespace aether::workflow::resources
