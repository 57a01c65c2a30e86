#include "wasm/internal/c_check.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace aether::wasm {
namespace {

// Identifiers that make code run when a shared object is loaded, or that
// redirect symbols: no wasm2c output or glue uses them.
constexpr std::array<std::string_view, 20> kDenied = {
    "constructor",   "__constructor__",   "destructor", "__destructor__",
    "init_priority", "__init_priority__", "section",    "__section__",
    "ifunc",         "__ifunc__",         "alias",      "__alias__",
    "weakref",       "__weakref__",       "_init",      "_fini",
    "_Pragma",       "__pragma",          "symver",     "__symver__"};

// Directives wasm2c and the glue emit; anything else (#pragma, #line,
// #include_next, #error, #ident, #embed...) is refused.
constexpr std::array<std::string_view, 9> kDirectives = {
    "include", "define", "undef", "if", "ifdef", "ifndef", "elif", "else", "endif"};

// A table, not <cctype>: the check runs over every byte of a unit of a
// megabyte or more on the path of a module's first response, and the
// locale-aware calls cost most of its time.
enum CharClass : uint8_t { kOther = 0, kIdentStart = 1, kDigit = 2, kRefused = 4 };
constexpr std::array<uint8_t, 256> kClasses = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      t[c] = kIdentStart;
    } else if (c >= '0' && c <= '9') {
      t[c] = kDigit;
    } else if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r' && c != '\f')) {
      t[c] = kRefused;
    }
  }
  return t;
}();
uint8_t ClassOf(char c) { return kClasses[static_cast<unsigned char>(c)]; }
bool IsIdentStart(char c) { return ClassOf(c) == kIdentStart; }
bool IsIdentChar(char c) { return (ClassOf(c) & (kIdentStart | kDigit)) != 0; }

bool Contains(auto& set, std::string_view word) {
  for (std::string_view w : set) {
    if (w == word) return true;
  }
  return false;
}

// The first two characters of kDenied's words, as bits of a table indexed
// by them: most identifiers of a unit (var_i0, w2c_f12, i32_load) are ruled
// out without comparing them with any word. (By first letter alone, every
// w2c_ name was compared with all of them: "weakref".)
constexpr size_t kPrefixBits = 1u << 16;
constexpr std::array<uint64_t, kPrefixBits / 64> kDeniedPrefixes = [] {
  std::array<uint64_t, kPrefixBits / 64> bits{};
  for (std::string_view w : kDenied) {
    size_t key = static_cast<unsigned char>(w[0]) << 8 | static_cast<unsigned char>(w[1]);
    bits[key / 64] |= uint64_t{1} << (key % 64);
  }
  return bits;
}();
bool MayBeDenied(std::string_view word) {
  if (word.size() < 2) return false;  // every denied word is longer
  size_t key = static_cast<unsigned char>(word[0]) << 8 | static_cast<unsigned char>(word[1]);
  return (kDeniedPrefixes[key / 64] >> (key % 64) & 1u) != 0;
}

bool IsRefusedByte(char c) { return ClassOf(c) == kRefused; }

// Whether `text` has a byte the check refuses wherever it is, eight bytes
// at a time: this runs over every byte of the unit, most of which are
// plain ASCII, and a byte at a time cost a third of the check.
bool HasRefusedByte(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, text.data() + i, 8);
    if ((w & kHigh) != 0) return true;
    // Some byte is below 0x20 (exact for bytes below 0x80): a control
    // character, or only the whitespace the check allows; look at each.
    if (((w - kOnes * 0x20) & ~w & kHigh) == 0) continue;
    for (size_t k = i; k < i + 8; ++k) {
      if (IsRefusedByte(text[k])) return true;
    }
  }
  for (; i < text.size(); ++i) {
    if (IsRefusedByte(text[i])) return true;
  }
  return false;
}

// Translation phase 2 of C: backslash-newline joins lines, so a check on
// the text as written could see "constr\<newline>uctor" as two words.
// Empty when the unit has none, so such a unit is checked without a copy.
std::optional<std::string> Splice(std::string_view unit) {
  size_t at = unit.find("\\\n");
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  out.reserve(unit.size());
  size_t from = 0;
  for (; at != std::string_view::npos; at = unit.find("\\\n", from)) {
    out.append(unit.substr(from, at - from));
    from = at + 2;
  }
  out.append(unit.substr(from));
  return out;
}

class Checker {
 public:
  Checker(std::string_view text, size_t first_line) : s_(text), line_(first_line) {}

  Status Run() {
    if (HasRefusedByte(s_)) return Fail("a byte outside printable ASCII");
    if (s_.find("?\?/") != std::string::npos) return Fail("a trigraph");
    bool line_start = true;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
        line_start = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
        ++pos_;
        continue;
      }
      if (c == '/' && Peek(1) == '*') {
        RETURN_IF_ERROR(BlockComment());
        continue;
      }
      if (c == '/' && Peek(1) == '/') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
        continue;
      }
      if (line_start && (c == '#' || (c == '%' && Peek(1) == ':'))) {
        RETURN_IF_ERROR(Directive());
        line_start = false;
        continue;
      }
      line_start = false;
      if (c == '"' || c == '\'') {
        RETURN_IF_ERROR(Literal(c));
        continue;
      }
      if (IsIdentStart(c)) {
        RETURN_IF_ERROR(Identifier());
        continue;
      }
      ++pos_;
    }
    return OkStatus();
  }

 private:
  char Peek(size_t k) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }

  Status Fail(const std::string& what) const {
    return Internal("generated C refused: " + what + " at line " + std::to_string(line_));
  }

  Status BlockComment() {
    size_t end = s_.find("*/", pos_ + 2);
    if (end == std::string::npos) return Fail("an unterminated comment");
    std::string_view body(s_.data() + pos_ + 2, end - pos_ - 2);
    RETURN_IF_ERROR(CheckEntryComment(body));
    for (char ch : body) line_ += ch == '\n';
    pos_ = end + 2;
    return OkStatus();
  }

  // wasm2c announces every import and export with a comment holding its
  // names; after translation they must be the synthetic ones.
  Status CheckEntryComment(std::string_view body) const {
    auto synthetic = [](std::string_view rest, std::string_view prefix) {
      if (rest.substr(0, prefix.size()) != prefix) return false;
      rest.remove_prefix(prefix.size());
      size_t digits = 0;
      while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
        ++digits;
      }
      return digits > 0 && rest.substr(digits) == "' ";
    };
    if (body.substr(0, 9) == " import: " && !synthetic(body.substr(9), "'m' 'i")) {
      return Fail("an import comment with a name that is not synthetic");
    }
    if (body.substr(0, 9) == " export: " && !synthetic(body.substr(9), "'e")) {
      return Fail("an export comment with a name that is not synthetic");
    }
    return OkStatus();
  }

  Status Literal(char quote) {
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '\n') return Fail("a newline in a literal");
      ++pos_;
      if (c == quote) return OkStatus();
    }
    return Fail("an unterminated literal");
  }

  std::string_view Word() {
    size_t start = pos_;
    while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
    return std::string_view(s_).substr(start, pos_ - start);
  }

  Status Identifier() {
    std::string_view word = Word();
    if (MayBeDenied(word) && Contains(kDenied, word)) {
      return Fail("the identifier " + std::string(word));
    }
    if (word == "asm" || word == "__asm" || word == "__asm__") {
      return Fail("inline assembly outside wasm2c's wasm_asm");
    }
    if (word == "wasm_asm") {
      // wasm2c's only use: wasm_asm("" ::"r"(x)), an empty template that
      // pins a value in a register.
      if (s_.compare(pos_, 4, "(\"\" ") != 0) return Fail("a wasm_asm with a template");
    }
    return OkStatus();
  }

  Status Directive() {
    pos_ += s_[pos_] == '#' ? 1 : 2;
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    std::string_view name = Word();
    if (name.empty()) return OkStatus();  // the null directive
    if (!Contains(kDirectives, name)) return Fail("the directive #" + std::string(name));
    size_t eol = s_.find('\n', pos_);
    std::string_view rest = std::string_view(s_).substr(
        pos_, eol == std::string::npos ? std::string::npos : eol - pos_);
    if (name == "include") {
      size_t i = rest.find_first_not_of(" \t");
      bool system = i != std::string_view::npos && rest[i] == '<';
      if (!system &&
          rest.substr(i == std::string_view::npos ? rest.size() : i) != "\"wasm-rt.h\"") {
        return Fail("an #include of a local file");
      }
    }
    // wasm2c defines its asm helper with one of these two lines, whose
    // rest is then skipped; any other definition of it is refused. The rest
    // of every other directive is checked as ordinary tokens below (so
    // `asm` in another macro is refused too).
    if (name == "define") {
      if (rest == " wasm_asm __asm__" || rest == " wasm_asm(X)") {
        pos_ += rest.size();
      } else if (rest.substr(0, 9) == " wasm_asm") {
        return Fail("a redefinition of wasm_asm");
      }
    }
    return OkStatus();
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t line_;
};

}  // namespace

Status CheckGeneratedC(std::string_view unit, size_t first_line) {
  std::optional<std::string> spliced = Splice(unit);
  return Checker(spliced ? std::string_view(*spliced) : unit, first_line).Run();
}

}  // namespace aether::wasm
