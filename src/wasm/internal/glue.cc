#include "wasm/internal/glue.h"

#include <cctype>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <vector>

#include "wasm/internal/abi_text.h"

namespace aether::wasm {
namespace {

// tcc lacks a few GCC builtins that wasm2c output uses; supply them.
constexpr const char* kTccPrelude = R"C(
#ifdef __TINYC__
static inline int aether_clz32(unsigned x) { int n = 0; if (!x) return 32; while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }
static inline int aether_clz64(unsigned long long x) { int n = 0; if (!x) return 64; while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; } return n; }
static inline int aether_ctz32(unsigned x) { int n = 0; if (!x) return 32; while (!(x & 1u)) { x >>= 1; n++; } return n; }
static inline int aether_ctz64(unsigned long long x) { int n = 0; if (!x) return 64; while (!(x & 1ull)) { x >>= 1; n++; } return n; }
static inline int aether_popcnt32(unsigned x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }
static inline int aether_popcnt64(unsigned long long x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }
#define __builtin_clz(x) aether_clz32(x)
#define __builtin_clzll(x) aether_clz64(x)
#define __builtin_ctz(x) aether_ctz32(x)
#define __builtin_ctzll(x) aether_ctz64(x)
#define __builtin_popcount(x) aether_popcnt32(x)
#define __builtin_popcountll(x) aether_popcnt64(x)
#endif
)C";

constexpr const char* kRuntimeGlue = R"C(
#include <stdarg.h>
#define AETHER_EXPORT __attribute__((visibility("default")))

static const aether_rt_api* aether_api;
static void* const* aether_imports;

AETHER_EXPORT const int aether_abi_version = AETHER_ABI_VERSION;

AETHER_EXPORT void aether_bind(const aether_rt_api* api, void* const* imports) {
  aether_api = api;
  aether_imports = imports;
}

void wasm_rt_trap(wasm_rt_trap_t t) { aether_api->trap((uint32_t)t); }
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t initial, uint32_t max) {
  aether_api->allocate_memory(m, initial, max);
}
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t delta) {
  return aether_api->grow_memory(m, delta);
}
void wasm_rt_free_memory(wasm_rt_memory_t* m) { aether_api->free_memory(m); }
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t n, uint32_t max) {
  aether_api->allocate_funcref_table(t, n, max);
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) { aether_api->free_funcref_table(t); }
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t delta, wasm_rt_funcref_t init) {
  return aether_api->grow_funcref_table(t, delta, &init);
}
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t n, uint32_t max) {
  aether_api->allocate_externref_table(t, n, max);
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) { aether_api->free_externref_table(t); }
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t delta, wasm_rt_externref_t init) {
  return aether_api->grow_externref_table(t, delta, init);
}
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  /* The compiler refuses types with more than 100 params or results
   * (kMaxTypeArity), so this never traps for a module it compiled. */
  uint32_t types[256];
  uint32_t n = params + results;
  if (n > 256) aether_api->trap(WASM_RT_TRAP_CALL_INDIRECT);
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < n; i++) types[i] = (uint32_t)va_arg(ap, int);
  va_end(ap);
  return aether_api->register_func_type(aether_api->self, params, results, types);
}

/* Host calls: keep a stack reserve for host code, mark the host phase for
 * the watchdog, and unwind when the host asked for it. */
#define AETHER_ENTER_HOST(c)                                                   \
  aether_ctx_hdr* h_ = (aether_ctx_hdr*)(void*)(c);                            \
  { char probe_; if ((uintptr_t)&probe_ < h_->stack_floor)                     \
      aether_api->trap(WASM_RT_TRAP_EXHAUSTION); }                             \
  h_->in_host = 1
#define AETHER_LEAVE_HOST(c)                                                   \
  h_->in_host = 0;                                                             \
  if (h_->unwind) aether_api->unwind(h_)
)C";

struct Prototype {
  std::string ret;
  std::string name;
  std::vector<std::string> params;
};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == ';')) s.remove_suffix(1);
  return std::string(s);
}

// Parses "u32 Z_xZ_y(struct Z_x_instance_t*, u32, u64);" (wasm2c's header style).
Result<Prototype> ParsePrototype(std::string_view line) {
  size_t open = line.find('(');
  size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Internal("glue: cannot parse prototype: " + std::string(line));
  }
  std::string head = Trim(line.substr(0, open));
  size_t sp = head.find_last_of(" *");
  if (sp == std::string::npos)
    return Internal("glue: cannot parse prototype: " + std::string(line));
  Prototype p;
  p.name = head.substr(sp + 1);
  p.ret = Trim(head.substr(0, sp + 1));
  std::string_view params = line.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= params.size()) {
    size_t comma = params.find(',', start);
    std::string one = Trim(params.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    // Drop a parameter name if wasm2c printed one ("Z_x_instance_t* instance").
    size_t star = one.rfind('*');
    if (star != std::string::npos && star + 1 < one.size()) one = Trim(one.substr(0, star + 1));
    if (!one.empty() && one != "void") p.params.push_back(one);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return p;
}

struct HeaderEntry {
  std::string kind;    // "import" or "export"
  std::string quoted;  // the names inside the comment, as printed
  std::string prototype;
};

std::vector<HeaderEntry> ScanHeader(const std::string& header, std::string* instantiate_line) {
  std::vector<HeaderEntry> entries;
  std::istringstream in(header);
  std::string line;
  std::string pending_kind;
  std::string pending_names;
  const std::string inst = std::string("void Z_") + kGuestModuleName + "_instantiate(";
  while (std::getline(in, line)) {
    if (line.rfind(inst, 0) == 0) *instantiate_line = line;
    if (line.rfind("/* import: ", 0) == 0) {
      pending_kind = "import";
      pending_names = line.substr(11);
      continue;
    }
    if (line.rfind("/* export: ", 0) == 0) {
      pending_kind = "export";
      pending_names = line.substr(11);
      continue;
    }
    if (!pending_kind.empty()) {
      entries.push_back({pending_kind, pending_names, line});
      pending_kind.clear();
    }
  }
  return entries;
}

void EmitForwarder(std::ostringstream& o, const Prototype& p, size_t index) {
  o << p.ret << " " << p.name << "(" << p.params[0] << " c";
  for (size_t i = 1; i < p.params.size(); ++i) o << ", " << p.params[i] << " a" << i;
  o << ") {\n  AETHER_ENTER_HOST(c);\n  ";
  bool has_result = p.ret != "void";
  if (has_result) o << p.ret << " r = ";
  o << "((" << p.ret << " (*)(void*";
  for (size_t i = 1; i < p.params.size(); ++i) o << ", " << p.params[i];
  o << "))aether_imports[" << index << "])((void*)c";
  for (size_t i = 1; i < p.params.size(); ++i) o << ", a" << i;
  o << ");\n  AETHER_LEAVE_HOST(c);\n";
  if (has_result) o << "  return r;\n";
  o << "}\n";
}

// An exported function the glue can call through a uniform thunk.
struct GlueExport {
  std::string name;       // the wasm export name
  std::string symbol;     // wasm2c's C function
  std::string signature;  // host.h notation
  Prototype prototype;
};

// The host.h signature of an export whose wasm2c prototype has only
// i32/i64 parameters and at most one i32/i64 result; "" for any other.
std::string ExportSignature(const Prototype& p) {
  auto type_char = [](const std::string& c_type) -> char {
    if (c_type == "u32") return 'i';
    if (c_type == "u64") return 'I';
    return 0;
  };
  if (p.params.empty()) return "";  // no instance parameter: not a wasm2c export
  std::string sig;
  if (p.ret == "void") {
    sig = "v";
  } else if (char c = type_char(p.ret)) {
    sig = std::string(1, c);
  } else {
    return "";
  }
  sig += ':';
  for (size_t i = 1; i < p.params.size(); ++i) {
    char c = type_char(p.params[i]);
    if (c == 0) return "";
    sig += c;
  }
  return sig;
}

// `s` as a C string literal; every byte that is not [A-Za-z0-9_:] is an
// octal escape, so export names may hold anything.
std::string CStringLiteral(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (isalnum(ch) || ch == '_' || ch == ':') {
      out += static_cast<char>(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", ch);
      out += buf;
    }
  }
  return out + "\"";
}

// aether_export_void(name): the () -> () exports (_start, _initialize, ...).
// aether_export_fn(name, signature): every supported export as a thunk
// (see aether_export_thunk in abi.h), so the runtime can call any of them
// through one C type with no variadic or mismatched-prototype call.
void EmitExportLookups(std::ostringstream& o, const std::vector<GlueExport>& exports) {
  for (size_t i = 0; i < exports.size(); ++i) {
    const GlueExport& e = exports[i];
    const Prototype& p = e.prototype;
    o << "static void aether_thunk_" << i
      << "(void* inst, const uint64_t* args, uint64_t* result) {\n  (void)args;\n  ";
    if (p.ret == "void") {
      o << "*result = 0;\n  ";
    } else {
      o << "*result = (uint64_t)";
    }
    o << e.symbol << "((" << p.params[0] << ")inst";
    for (size_t k = 1; k < p.params.size(); ++k) {
      o << ", (" << p.params[k] << ")args[" << (k - 1) << "]";
    }
    o << ");\n}\n";
  }
  o << "typedef void (*aether_void_fn)(void*);\n"
    << "AETHER_EXPORT aether_void_fn aether_export_void(const char* name) {\n";
  for (const GlueExport& e : exports) {
    if (e.signature != "v:") continue;
    o << "  if (!strcmp(name, " << CStringLiteral(e.name) << ")) return (aether_void_fn)"
      << e.symbol << ";\n";
  }
  o << "  return 0;\n}\n"
    << "AETHER_EXPORT aether_export_thunk aether_export_fn(const char* name, const char* sig) {\n";
  for (size_t i = 0; i < exports.size(); ++i) {
    o << "  if (!strcmp(name, " << CStringLiteral(exports[i].name) << ") && !strcmp(sig, \""
      << exports[i].signature << "\")) return aether_thunk_" << i << ";\n";
  }
  o << "  return 0;\n}\n";
}

// The <index> of a synthetic name as wasm2c printed it in a comment:
// `prefix` + digits + "' */", below `count`.
Result<size_t> SyntheticIndex(const std::string& quoted, const std::string& prefix, size_t count) {
  if (quoted.rfind(prefix, 0) != 0) return InvalidArgument("not a synthetic name");
  size_t pos = prefix.size();
  size_t index = 0;
  size_t digits = 0;
  while (pos < quoted.size() && std::isdigit(static_cast<unsigned char>(quoted[pos])) &&
         digits < 9) {
    index = index * 10 + static_cast<size_t>(quoted[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0 || quoted.substr(pos) != "' */" || index >= count) {
    return InvalidArgument("not a synthetic name");
  }
  return index;
}

}  // namespace

std::string_view UnitPrelude() { return kTccPrelude; }

std::string GuestHeaderInclude() { return std::string("#include \"") + kGuestModuleName + ".h\""; }

Result<std::string> GlueTail(const Translation& t) {
  std::string instantiate_line;
  std::vector<HeaderEntry> entries = ScanHeader(t.c_header, &instantiate_line);
  if (instantiate_line.empty()) return Internal("glue: no instantiate function in wasm2c output");
  ASSIGN_OR_RETURN(Prototype inst, ParsePrototype(instantiate_line));

  std::ostringstream o;
  o << "\n/* ---- Aether glue ---- */\n" << kAbiHeaderText << kRuntimeGlue;

  size_t import_index = 0;
  std::string memory_symbol;
  std::vector<GlueExport> exports;
  for (const HeaderEntry& e : entries) {
    ASSIGN_OR_RETURN(Prototype p, ParsePrototype(e.prototype));
    if (e.kind == "import") {
      // wasm2c sorts the header's imports by name; the synthetic name
      // 'm' 'i<index>' says which one this is.
      const std::string prefix = std::string("'") + kImportModuleAlias + "' 'i";
      Result<size_t> index = SyntheticIndex(e.quoted, prefix, t.info.imports.size());
      if (!index.ok()) return Internal("glue: unexpected import " + e.quoted);
      if (p.params.empty()) return Internal("glue: import without context parameter");
      EmitForwarder(o, p, *index);
      ++import_index;
    } else {
      Result<size_t> index = SyntheticIndex(e.quoted, "'e", t.export_names.size());
      if (!index.ok()) return Internal("glue: unexpected export " + e.quoted);
      const std::string& name = t.export_names[*index];
      if (name == "memory" && p.ret.find("wasm_rt_memory_t") != std::string::npos) {
        memory_symbol = p.name;
      } else if (std::string sig = ExportSignature(p); !sig.empty()) {
        exports.push_back({name, p.name, sig, std::move(p)});
      }
    }
  }
  if (import_index == 0 && !t.info.imports.empty())
    return Internal("glue: imports missing from the header");

  const std::string prefix = std::string("Z_") + kGuestModuleName;
  o << "AETHER_EXPORT size_t aether_instance_size(void) { return sizeof(" << prefix
    << "_instance_t); }\n"
    << "AETHER_EXPORT void aether_init_module(void) { " << prefix << "_init_module(); }\n"
    << "AETHER_EXPORT void aether_instantiate(void* inst, void* ctx) { " << prefix
    << "_instantiate((" << prefix << "_instance_t*)inst";
  for (size_t i = 1; i < inst.params.size(); ++i) o << ", ctx";
  o << "); }\n"
    << "AETHER_EXPORT void aether_free(void* inst) { " << prefix << "_free((" << prefix
    << "_instance_t*)inst); }\n"
    << "AETHER_EXPORT wasm_rt_memory_t* aether_memory(void* inst) { ";
  if (memory_symbol.empty()) {
    o << "(void)inst; return 0; }\n";
  } else {
    o << "return " << memory_symbol << "((" << prefix << "_instance_t*)inst); }\n";
  }
  EmitExportLookups(o, exports);
  return o.str();
}

Result<std::string> BuildCompilationUnit(const Translation& t) {
  ASSIGN_OR_RETURN(std::string tail, GlueTail(t));
  // Inline the header where the source includes it so the unit is self-contained.
  std::string source = t.c_source;
  std::string include = GuestHeaderInclude();
  size_t at = source.find(include);
  if (at == std::string::npos) return Internal("glue: wasm2c source does not include its header");
  source.replace(at, include.size(), t.c_header);
  std::string unit;
  unit.reserve(UnitPrelude().size() + source.size() + tail.size());
  unit.append(UnitPrelude()).append(source).append(tail);
  return unit;
}

}  // namespace aether::wasm
