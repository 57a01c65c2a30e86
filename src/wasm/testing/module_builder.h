// Binary wasm modules built byte by byte, for tests that need shapes no
// toolchain emits and WAT cannot say compactly (ten million locals in a
// 54-byte module). Test-only; header-only.
#pragma once

#include <cstdint>
#include <string>

namespace aether::wasm::testing {

inline void PutLeb(std::string& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v != 0);
}

inline void PutSection(std::string& out, uint8_t id, const std::string& content) {
  out.push_back(static_cast<char>(id));
  PutLeb(out, content.size());
  out += content;
}

// A WASI-command-shaped module: `functions` functions of type () -> (), each
// declaring `locals` i32 locals and a body of `nops` nop instructions;
// function 0 is exported as "_start", a one-page memory as "memory".
inline std::string ModuleWithLocals(uint32_t functions, uint64_t locals, uint64_t nops = 0) {
  std::string m("\0asm\1\0\0\0", 8);
  PutSection(m, 1, std::string("\x01\x60\x00\x00", 4));  // one type: () -> ()
  std::string funcs;
  PutLeb(funcs, functions);
  for (uint32_t i = 0; i < functions; ++i) funcs.push_back(0);
  PutSection(m, 3, funcs);
  PutSection(m, 5, std::string("\x01\x00\x01", 3));  // memory, min 1 page
  std::string exports;
  PutLeb(exports, 2);
  exports += std::string("\x06_start\x00\x00", 9);
  exports += std::string("\x06memory\x02\x00", 9);
  PutSection(m, 7, exports);
  std::string body;
  if (locals > 0) {
    PutLeb(body, 1);
    PutLeb(body, locals);
    body.push_back(0x7f);  // i32
  } else {
    PutLeb(body, 0);
  }
  body += std::string(nops, '\x01');
  body.push_back(0x0b);  // end
  std::string code;
  PutLeb(code, functions);
  for (uint32_t i = 0; i < functions; ++i) {
    PutLeb(code, body.size());
    code += body;
  }
  PutSection(m, 10, code);
  return m;
}

}  // namespace aether::wasm::testing
