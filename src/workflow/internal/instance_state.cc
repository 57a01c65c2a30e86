#include "workflow/internal/instance_state.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "common/file_io.h"
#include "protocol/ids.h"
#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_names.h"

namespace aether::workflow::internal {
namespace {

Status StateTooLarge(size_t size) {
  return InvalidArgument("instance state: " + std::to_string(size) + " bytes synced, at most " +
                         std::to_string(kMaxInstanceState) + " are kept");
}

class KvInstanceState final : public InstanceState {
 public:
  KvInstanceState(std::unique_ptr<KvBucket> bucket, std::string key, std::string where)
      : bucket_(std::move(bucket)), key_(std::move(key)), where_(std::move(where)) {}

  Result<std::optional<std::string>> Load() override {
    ASSIGN_OR_RETURN(std::optional<KvItem> item, bucket_->Get(key_));
    if (!item) return std::optional<std::string>();
    return std::optional<std::string>(std::move(item->value));
  }

  Status Save(std::string_view state) override {
    if (state.size() > kMaxInstanceState) return StateTooLarge(state.size());
    return bucket_->Put(key_, state).status();
  }

  std::string where() const override { return where_; }

 private:
  const std::unique_ptr<KvBucket> bucket_;
  const std::string key_;  // as the bucket takes it: KvBucket encodes it for JetStream
  const std::string where_;
};

// mkdir that accepts a directory already there (and nothing else).
Status MakeStateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) {
    return Unavailable("instance state: cannot create " + path + ": " + ::strerror(errno));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Unavailable("instance state: " + path + " is not a directory");
  }
  return OkStatus();
}

class FileInstanceState final : public InstanceState {
 public:
  // `dirs`: the directories to make before the file, outermost first.
  FileInstanceState(std::vector<std::string> dirs, std::string path)
      : dirs_(std::move(dirs)), path_(std::move(path)) {}

  Result<std::optional<std::string>> Load() override {
    Result<std::string> data = ReadWholeFile<std::string>(path_);
    if (data.ok()) return std::optional<std::string>(std::move(*data));
    if (data.status().code() == Code::kNotFound) return std::optional<std::string>();
    return data.status();
  }

  Status Save(std::string_view state) override {
    if (state.size() > kMaxInstanceState) return StateTooLarge(state.size());
    // The directories are made only when a write fails: on the first save,
    // and again if someone removed them meanwhile; every later save costs
    // no more than the write itself.
    if (WriteFileAtomically(path_, state, FileSync::kNoSync).ok()) return OkStatus();
    for (const std::string& dir : dirs_) RETURN_IF_ERROR(MakeStateDir(dir));
    return WriteFileAtomically(path_, state, FileSync::kNoSync);
  }

  std::string where() const override { return "file " + path_; }

 private:
  const std::vector<std::string> dirs_;
  const std::string path_;
};

}  // namespace

Result<std::unique_ptr<InstanceState>> OpenInstanceState(const WorkflowHostOptions& options,
                                                         const InstanceAssignment& a) {
  // Defence in depth: the names become a path or a bucket name, and the
  // control plane has checked them already.
  std::optional<protocol::InstanceIdParts> id = protocol::ParseInstanceId(a.id);
  if (!id || id->workflow != a.workflow || id->component != a.component) {
    return InvalidArgument("instance state: \"" + a.id + "\" is not an instance id of " +
                           a.workflow + "/" + a.component);
  }
  if (a.incarnation < 0) {
    return InvalidArgument("instance state: negative incarnation " + std::to_string(a.incarnation) +
                           " of " + a.id);
  }
  const std::string index = std::to_string(id->index);

  if (options.kv_buckets != nullptr) {
    WorkflowRef ref(a.workflow, a.incarnation);
    ASSIGN_OR_RETURN(std::unique_ptr<KvBucket> bucket,
                     options.kv_buckets->Open(ref, a.component, kMaxInstanceState));
    std::string key = "state." + index;
    // KvBuckets does not say its [nats] prefix: the name shows where it goes.
    std::string where =
        "JetStream KV bucket " + KvBucketNameOf("<prefix>", ref, a.component) + ", key " + key;
    return std::unique_ptr<InstanceState>(
        std::make_unique<KvInstanceState>(std::move(bucket), std::move(key), std::move(where)));
  }

  if (options.data_dir.empty()) {
    return FailedPrecondition("instance state: the engine has neither [nats] nor a data dir for " +
                              a.id);
  }
  std::string root = options.data_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::vector<std::string> dirs{root, root + "/workflows", root + "/workflows/" + a.workflow};
  dirs.push_back(dirs.back() + "/.state");
  std::string path = dirs.back() + "/" + a.component + "." + index;
  if (a.incarnation != 0) path += ".I" + std::to_string(a.incarnation);
  return std::unique_ptr<InstanceState>(
      std::make_unique<FileInstanceState>(std::move(dirs), std::move(path)));
}

}  // namespace aether::workflow::internal
