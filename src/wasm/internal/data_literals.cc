#include "wasm/internal/data_literals.h"

#include <cctype>
#include <optional>
#include <vector>

namespace aether::wasm {
namespace {

constexpr std::string_view kInitializerStart = "[] = {";
constexpr size_t kBytesPerLine = 96;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes of the list `0xHH, 0xHH, ... }` from `pos` (just past the
// `{`), and past its `};` in `end`; nullopt for anything else.
std::optional<std::vector<unsigned char>> ParseList(std::string_view c, size_t pos, size_t* end) {
  std::vector<unsigned char> bytes;
  for (;;) {
    while (pos < c.size() && (c[pos] == ' ' || c[pos] == '\n')) ++pos;
    if (pos >= c.size()) return std::nullopt;
    if (c[pos] == '}') {
      if (c.substr(pos, 2) != "};") return std::nullopt;
      *end = pos + 2;
      return bytes;
    }
    if (c.substr(pos, 2) != "0x" || pos + 5 > c.size() || c[pos + 4] != ',') return std::nullopt;
    int hi = HexDigit(c[pos + 2]);
    int lo = HexDigit(c[pos + 3]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<unsigned char>(hi << 4 | lo));
    pos += 5;
  }
}

// Printable bytes as themselves, except those C gives a meaning in a
// literal (" and \) and ? (trigraphs); the rest as three-digit octal
// escapes, which end after three digits whatever follows (\x would swallow
// a following hex digit).
void AppendLiteral(std::string& out, const std::vector<unsigned char>& bytes) {
  static constexpr char kOctal[] = "01234567";
  out += '\n';
  for (size_t i = 0; i < bytes.size(); i += kBytesPerLine) {
    out += "  \"";
    for (size_t j = i; j < bytes.size() && j < i + kBytesPerLine; ++j) {
      unsigned char b = bytes[j];
      if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\' && b != '?') {
        out += static_cast<char>(b);
      } else {
        out += '\\';
        out += kOctal[b >> 6];
        out += kOctal[(b >> 3) & 7];
        out += kOctal[b & 7];
      }
    }
    out += "\"\n";
  }
  out += ';';
}

}  // namespace

std::string DataArraysAsStrings(std::string_view c) {
  std::string out;
  out.reserve(c.size());
  size_t from = 0;
  for (size_t at = c.find(kDataArrayStart); at != std::string_view::npos;
       at = c.find(kDataArrayStart, from)) {
    size_t name_end = at + kDataArrayStart.size();
    while (name_end < c.size() &&
           (std::isalnum(static_cast<unsigned char>(c[name_end])) || c[name_end] == '_')) {
      ++name_end;
    }
    size_t list_end = 0;
    std::optional<std::vector<unsigned char>> bytes;
    if (c.substr(name_end, kInitializerStart.size()) == kInitializerStart) {
      bytes = ParseList(c, name_end + kInitializerStart.size(), &list_end);
    }
    if (!bytes || bytes->empty()) {  // not the shape we know: as written
      out.append(c.substr(from, name_end - from));
      from = name_end;
      continue;
    }
    // Up to and including "[] = ", the "{" left out.
    out.append(c.substr(from, name_end + kInitializerStart.size() - 1 - from));
    AppendLiteral(out, *bytes);
    from = list_end;
  }
  out.append(c.substr(from));
  return out;
}

}  // namespace aether::wasm
