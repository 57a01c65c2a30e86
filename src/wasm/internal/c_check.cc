#include "wasm/internal/c_check.h"

#include <array>
#include <cctype>
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

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool Contains(auto& set, std::string_view word) {
  for (std::string_view w : set) {
    if (w == word) return true;
  }
  return false;
}

// Translation phase 2 of C: backslash-newline joins lines, so a check on
// the text as written could see "constr\<newline>uctor" as two words.
std::string Splice(std::string_view unit) {
  std::string out;
  out.reserve(unit.size());
  for (size_t i = 0; i < unit.size(); ++i) {
    if (unit[i] == '\\' && i + 1 < unit.size() && unit[i + 1] == '\n') {
      ++i;
      continue;
    }
    out.push_back(unit[i]);
  }
  return out;
}

class Checker {
 public:
  explicit Checker(std::string text) : s_(std::move(text)) {}

  Status Run() {
    for (unsigned char c : s_) {
      if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r' && c != '\f')) {
        return Fail("a byte outside printable ASCII");
      }
    }
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
    if (Contains(kDenied, word)) return Fail("the identifier " + std::string(word));
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

  std::string s_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

}  // namespace

Status CheckGeneratedC(std::string_view unit) { return Checker(Splice(unit)).Run(); }

}  // namespace aether::wasm
