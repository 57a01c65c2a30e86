#include "wasm/internal/worker_protocol.h"

#include <cstring>

namespace aether::wasm {
namespace {

constexpr uint64_t kRequestMagic = 0x31514552'57454541ull;  // "AEEWREQ1"
constexpr uint64_t kResultMagic = 0x32534552'57454541ull;   // "AEEWRES2"
constexpr uint64_t kSidecarMagic = 0x32434453'57454541ull;  // "AEEWSDC2"
// Sizes in these messages come from the other end or from disk; bound them
// before allocating.
constexpr uint64_t kMaxCount = 1'000'000;

void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void PutStr(std::string& out, const std::string& s) {
  PutU64(out, s.size());
  out.append(s);
}

class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool U64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    std::memcpy(v, data_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n = 0;
    if (!U64(&n) || data_.size() - pos_ < n) return false;
    s->assign(data_, pos_, n);
    pos_ += n;
    return true;
  }
  bool Count(uint64_t* n) { return U64(n) && *n <= kMaxCount; }
  bool done() const { return pos_ == data_.size(); }

 private:
  const std::string& data_;
  size_t pos_ = 0;
};

void PutImports(std::string& out, const std::vector<FuncImportInfo>& imports) {
  PutU64(out, imports.size());
  for (const auto& i : imports) {
    PutStr(out, i.module);
    PutStr(out, i.name);
    PutStr(out, i.signature);
  }
}

bool GetImports(Reader& r, std::vector<FuncImportInfo>* imports) {
  uint64_t n = 0;
  if (!r.Count(&n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    FuncImportInfo imp;
    if (!r.Str(&imp.module) || !r.Str(&imp.name) || !r.Str(&imp.signature)) return false;
    imports->push_back(std::move(imp));
  }
  return true;
}

void PutInfo(std::string& out, const ModuleInfo& info) {
  PutImports(out, info.imports);
  PutU64(out, info.export_funcs.size());
  for (const auto& [name, sig] : info.export_funcs) {
    PutStr(out, name);
    PutStr(out, sig);
  }
  PutU64(out, info.exports_memory ? 1 : 0);
  PutU64(out, info.initial_pages);
  PutU64(out, info.has_memory ? 1 : 0);
}

bool GetInfo(Reader& r, ModuleInfo* info) {
  if (!GetImports(r, &info->imports)) return false;
  uint64_t n = 0;
  if (!r.Count(&n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string name, sig;
    if (!r.Str(&name) || !r.Str(&sig)) return false;
    info->export_funcs.emplace_back(std::move(name), std::move(sig));
  }
  uint64_t mem = 0, pages = 0, has_mem = 0;
  if (!r.U64(&mem) || !r.U64(&pages) || !r.U64(&has_mem)) return false;
  info->exports_memory = mem != 0;
  info->initial_pages = pages;
  info->has_memory = has_mem != 0;
  return true;
}

}  // namespace

std::string EncodeRequest(const WorkerRequest& q) {
  std::string out;
  PutU64(out, kRequestMagic);
  PutU64(out, static_cast<uint64_t>(q.mode));
  PutU64(out, q.limits.max_functions);
  PutU64(out, q.limits.max_function_locals);
  PutU64(out, q.limits.max_module_locals);
  PutU64(out, q.limits.max_function_size);
  PutU64(out, q.limits.max_code_size);
  PutU64(out, q.check_imports ? 1 : 0);
  PutImports(out, q.allowed_imports);
  PutStr(out, q.cc);
  PutStr(out, q.out_name);
  PutStr(out, q.wasm);
  return out;
}

Result<WorkerRequest> DecodeRequest(const std::string& data) {
  Reader r(data);
  Status bad = InvalidArgument("not an Aether compiler request (version mismatch?)");
  WorkerRequest q;
  uint64_t magic = 0, mode = 0, check = 0;
  if (!r.U64(&magic) || magic != kRequestMagic || !r.U64(&mode) || mode < 1 || mode > 3) {
    return bad;
  }
  q.mode = static_cast<WorkerMode>(mode);
  if (!r.U64(&q.limits.max_functions) || !r.U64(&q.limits.max_function_locals) ||
      !r.U64(&q.limits.max_module_locals) || !r.U64(&q.limits.max_function_size) ||
      !r.U64(&q.limits.max_code_size) || !r.U64(&check) || !GetImports(r, &q.allowed_imports) ||
      !r.Str(&q.cc) || !r.Str(&q.out_name) || !r.Str(&q.wasm) || !r.done()) {
    return bad;
  }
  q.check_imports = check != 0;
  return q;
}

std::string EncodeResult(const Result<ModuleInfo>& result, const WorkerTimings& timings) {
  std::string out;
  PutU64(out, kResultMagic);
  PutU64(out, static_cast<uint64_t>(timings.main_ns));
  PutU64(out, timings.stages.size());
  for (const auto& [name, ms] : timings.stages) {
    PutStr(out, name);
    PutU64(out, static_cast<uint64_t>(ms * 1000));  // microseconds
  }
  if (!result.ok()) {
    PutU64(out, static_cast<uint64_t>(result.status().code()));
    PutStr(out, result.status().message());
    return out;
  }
  PutU64(out, 0);
  PutInfo(out, *result);
  return out;
}

Result<ModuleInfo> DecodeResult(const std::string& data, WorkerTimings* timings) {
  Reader r(data);
  Status corrupt = Internal("the compiler process returned a malformed answer");
  uint64_t magic = 0, main_ns = 0, stages = 0, code = 0;
  if (!r.U64(&magic) || magic != kResultMagic || !r.U64(&main_ns) || !r.Count(&stages)) {
    return corrupt;
  }
  WorkerTimings t;
  t.main_ns = static_cast<int64_t>(main_ns);
  for (uint64_t i = 0; i < stages; ++i) {
    std::string name;
    uint64_t us = 0;
    if (!r.Str(&name) || !r.U64(&us)) return corrupt;
    t.stages.emplace_back(std::move(name), static_cast<double>(us) / 1000);
  }
  if (timings != nullptr) *timings = std::move(t);
  if (!r.U64(&code)) return corrupt;
  if (code != 0) {
    std::string message;
    if (!r.Str(&message) || code > static_cast<uint64_t>(Code::kInternal)) return corrupt;
    return Status(static_cast<Code>(code), message);
  }
  ModuleInfo info;
  if (!GetInfo(r, &info) || !r.done()) return corrupt;
  return info;
}

std::string EncodeSidecar(const ModuleInfo& info, const std::string& so_sha256) {
  std::string out;
  PutU64(out, kSidecarMagic);
  PutStr(out, so_sha256);
  PutInfo(out, info);
  return out;
}

Result<Sidecar> DecodeSidecar(const std::string& data) {
  Reader r(data);
  Sidecar s;
  uint64_t magic = 0;
  if (!r.U64(&magic) || magic != kSidecarMagic || !r.Str(&s.so_sha256) ||
      s.so_sha256.size() != 64 || !GetInfo(r, &s.info) || !r.done()) {
    return InvalidArgument("not a module cache sidecar of this version");
  }
  return s;
}

}  // namespace aether::wasm
