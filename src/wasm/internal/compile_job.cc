#include "wasm/internal/compile_job.h"

#include "wasm/internal/c_check.h"
#include "wasm/internal/compiler.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"

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

}  // namespace

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
