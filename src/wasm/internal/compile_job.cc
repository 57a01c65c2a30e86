#include "wasm/internal/compile_job.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasm/internal/c_check.h"
#include "wasm/internal/compiler.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"
#include "wasm/internal/unit_stream.h"

namespace aether::wasm {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status CheckImports(const ModuleInfo& info, const std::vector<FuncImportInfo>& allowed) {
  for (const FuncImportInfo& imp : info.imports) {
    const std::string* signature = nullptr;
    for (const FuncImportInfo& a : allowed) {
      if (a.module == imp.module && a.name == imp.name) {
        signature = &a.signature;
        break;
      }
    }
    RETURN_IF_ERROR(CheckImport(imp, signature));
  }
  return OkStatus();
}

// The fast tier with wasm2c, the check of its C and tcc running at once:
// tcc compiles each checked piece of the unit while wasm2c writes the next
// (compiler.h, unit_stream.h). *started is false when that could not begin
// (Unavailable): the caller then compiles the unit whole.
Result<ModuleInfo> CompileFastStreaming(const WorkerRequest& q, StageTimes& st, bool* started) {
  Translation t;
  Status compiled = CompileWithTccWhile(
      [&](const UnitWriter& write) -> Status {
        *started = true;
        ModuleCheck accept = [&](const ModuleInfo& info) -> Status {
          // Refuse unknown imports before spending time translating.
          if (q.check_imports) RETURN_IF_ERROR(CheckImports(info, q.allowed_imports));
          st.Lap("validate");
          return OkStatus();
        };
        UnitStream unit(write);
        ASSIGN_OR_RETURN(t, TranslateInto(Bytes(q.wasm), q.limits, accept, unit));
        st.Lap("translate");  // and checked, with tcc compiling alongside
        return OkStatus();
      },
      q.out_name);
  RETURN_IF_ERROR(compiled);
  st.Lap("tcc");  // what tcc had left once the unit was written
  return std::move(t.info);
}

// (module (memory (export "memory") 1) (global (mut i32) (i32.const 8))
//   (func $f (param i32 i64 f32 f64) (result i32) loads, stores, a call,
//     a branch) (func (export "_start") (drop (call $f ...)))
//   (data (i32.const 64) "warm"))
// wasm2c writes every part of its output for it: data, globals, memory,
// exports and the runtime's functions.
constexpr uint8_t kWarmUpModule[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x02, 0x60, 0x04, 0x7f, 0x7e,
    0x7d, 0x7c, 0x01, 0x7f, 0x60, 0x00, 0x00, 0x03, 0x03, 0x02, 0x00, 0x01, 0x05, 0x03, 0x01,
    0x00, 0x01, 0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x08, 0x0b, 0x07, 0x13, 0x02, 0x06, 0x6d,
    0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00,
    0x01, 0x0a, 0x4a, 0x02, 0x30, 0x00, 0x20, 0x00, 0x23, 0x00, 0x28, 0x02, 0x00, 0x20, 0x01,
    0xa7, 0x6a, 0x36, 0x02, 0x00, 0x20, 0x02, 0xbb, 0x20, 0x03, 0x63, 0x04, 0x7f, 0x41, 0x01,
    0x05, 0x41, 0x00, 0x42, 0x01, 0x43, 0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0b, 0x0b, 0x17, 0x00, 0x41, 0x10, 0x42, 0x02, 0x43,
    0x00, 0x00, 0x80, 0x3f, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x10, 0x00,
    0x1a, 0x0b, 0x0b, 0x0b, 0x01, 0x00, 0x41, 0xc0, 0x00, 0x0b, 0x04, 0x77, 0x61, 0x72, 0x6d};

}  // namespace

Status WarmUp() {
  WorkerRequest q;
  q.mode = WorkerMode::kFast;
  q.wasm.assign(reinterpret_cast<const char*>(kWarmUpModule), sizeof kWarmUpModule);
  q.out_name = "aether-warm-up.so";
  Result<ModuleInfo> info = RunCompileJob(q);
  if (unlink(q.out_name.c_str()) != 0 && info.ok()) {
    return Internal("warm-up: cannot remove " + q.out_name + ": " + std::strerror(errno));
  }
  return info.status();
}

Result<ModuleInfo> RunCompileJob(const WorkerRequest& q, StageTimes* stages) {
  StageTimes unused;
  StageTimes& st = stages != nullptr ? *stages : unused;
  st.Skip();
  if (q.mode == WorkerMode::kValidate) {
    ASSIGN_OR_RETURN(ModuleInfo info, ValidateInProcess(Bytes(q.wasm), q.limits));
    if (q.check_imports) RETURN_IF_ERROR(CheckImports(info, q.allowed_imports));
    st.Lap("validate");
    return info;
  }
  if (q.out_name.empty() || q.out_name.find('/') != std::string::npos) {
    return InvalidArgument("the output must be a plain file name in the job directory");
  }
  if (q.mode == WorkerMode::kFast) {
    bool started = false;
    Result<ModuleInfo> info = CompileFastStreaming(q, st, &started);
    if (started || info.status().code() != Code::kUnavailable) return info;
  }
  ASSIGN_OR_RETURN(Translation t, TranslateInProcess(Bytes(q.wasm), q.limits));
  // Refuse unknown imports before spending time compiling.
  if (q.check_imports) RETURN_IF_ERROR(CheckImports(t.info, q.allowed_imports));
  st.Lap("translate");
  ASSIGN_OR_RETURN(std::string unit, BuildCompilationUnit(t));
  st.Lap("glue");
  RETURN_IF_ERROR(CheckGeneratedC(unit));
  st.Lap("check");
  if (q.mode == WorkerMode::kFast) {
    RETURN_IF_ERROR(CompileWithTcc(unit, q.out_name));
    st.Lap("tcc");
  } else {
    RETURN_IF_ERROR(CompileWithCc(q.cc, unit, q.out_name));
    st.Lap("cc");
  }
  return std::move(t.info);
}

}  // namespace aether::wasm
