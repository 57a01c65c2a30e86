#include "wasm/internal/unit_stream.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

#include "wasm/internal/c_check.h"
#include "wasm/internal/data_literals.h"
#include "wasm/internal/glue.h"

namespace aether::wasm {
namespace {

// True when `piece` may be followed by another checked piece (c_check.h).
bool EndsCleanly(std::string_view piece) {
  return !piece.empty() && piece.back() == '\n' &&
         (piece.size() < 2 || piece[piece.size() - 2] != '\\');
}

// Where the last "/*" of `text` starts; npos if none. By memchr on '/',
// which is rare in wasm2c's C: string_view::rfind compares at every byte.
size_t LastCommentOpen(std::string_view text) {
  size_t last = std::string_view::npos;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    const auto* slash = static_cast<const char*>(std::memchr(p, '/', static_cast<size_t>(end - p)));
    if (slash == nullptr) break;
    if (slash + 1 < end && slash[1] == '*') last = static_cast<size_t>(slash - text.data());
    p = slash + 1;
  }
  return last;
}

size_t LastDataArray(std::string_view text) {
  static const std::boyer_moore_horspool_searcher kSearcher(kDataArrayStart.begin(),
                                                            kDataArrayStart.end());
  size_t last = std::string_view::npos;
  for (auto it = std::search(text.begin(), text.end(), kSearcher); it != text.end();
       it = std::search(it + 1, text.end(), kSearcher)) {
    last = static_cast<size_t>(it - text.begin());
  }
  return last;
}

}  // namespace

size_t SafeCut(std::string_view text) {
  size_t nl = text.rfind('\n');
  if (nl == std::string_view::npos) return 0;
  size_t end = nl + 1;
  // Found once in the whole text: walking back only ever moves the cut
  // before these, where they no longer count.
  size_t open = LastCommentOpen(text.substr(0, end));
  size_t array = LastDataArray(text.substr(0, end));
  for (;;) {
    std::string_view head = text.substr(0, end);
    if (open != std::string_view::npos && open >= end) open = LastCommentOpen(head);
    if (array != std::string_view::npos && array >= end) array = LastDataArray(head);
    size_t limit = end;
    if (open != std::string_view::npos && head.find("*/", open + 2) == std::string_view::npos) {
      limit = open;
    }
    if (array != std::string_view::npos && head.find("};", array) == std::string_view::npos) {
      limit = std::min(limit, array);
    }
    if (!EndsCleanly(head)) limit = std::min(limit, end - 1);
    if (limit == end) return end;
    if (limit == 0) return 0;
    nl = head.rfind('\n', limit - 1);
    if (nl == std::string_view::npos) return 0;
    end = nl + 1;
  }
}

UnitStream::UnitStream(Emit emit, size_t piece_bytes)
    : emit_(std::move(emit)), piece_bytes_(std::max<size_t>(piece_bytes, 1)) {}

Status UnitStream::Begin(const Translation& t) {
  header_ = t.c_header;
  include_ = GuestHeaderInclude();
  buf_.assign(UnitPrelude());
  next_drain_ = piece_bytes_;
  return OkStatus();
}

Status UnitStream::Write(std::string_view piece) {
  buf_.append(piece);
  if (buf_.size() < next_drain_) return OkStatus();
  return Drain(false);
}

Status UnitStream::End(const Translation& t) {
  ASSIGN_OR_RETURN(std::string tail, GlueTail(t));
  return Drain(true, tail);
}

Status UnitStream::Drain(bool last, std::string_view tail) {
  if (!last) ++searches_;
  size_t cut = last ? buf_.size() : SafeCut(buf_);
  if (cut == 0 && !last) {
    // Nowhere to cut yet (a long comment or a data array: megabytes for a
    // big data segment). Wait for as much again: SafeCut reads the whole
    // buffer, so a fixed step would make the wait quadratic (a 4 MiB
    // segment took 1.7 s instead of 0.4 s).
    next_drain_ = std::max(buf_.size() + piece_bytes_, buf_.size() * 2);
    return OkStatus();
  }
  next_drain_ = piece_bytes_;
  // As BuildCompilationUnit: data arrays of the source, then the header.
  std::string piece = DataArraysAsStrings(std::string_view(buf_).substr(0, cut));
  buf_.erase(0, cut);
  if (!inlined_) {
    size_t at = piece.find(include_);
    if (at != std::string::npos) {
      piece.replace(at, include_.size(), header_);
      inlined_ = true;
    } else if (last) {
      return Internal("glue: wasm2c source does not include its header");
    }
  }
  if (last) {
    piece.append(tail);
  } else if (!EndsCleanly(piece)) {
    // SafeCut's cut, changed by the header: checking on would not be sound.
    return Internal("unit stream: a piece of generated C does not end at a clean line end");
  }
  RETURN_IF_ERROR(CheckGeneratedC(piece, line_));
  line_ += static_cast<size_t>(std::count(piece.begin(), piece.end(), '\n'));
  return emit_(piece, last);
}

}  // namespace aether::wasm
