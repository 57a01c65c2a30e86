// The fast tier's compilation unit, built and checked while wasm2c writes
// the source, so that tcc can compile its first functions while wasm2c
// writes the last ones (internal/compile_job.cc). The text it emits is, in
// order and byte for byte, BuildCompilationUnit's unit (glue.h): prelude,
// source with the header inlined and data arrays as string literals
// (data_literals.h), glue.
//
// Every emitted piece has passed CheckGeneratedC before it is emitted, and
// ends at a line end that is not a backslash-newline, which is what makes
// checking the unit in pieces sound (c_check.h). A unit that fails the
// check has had only the pieces before the offending one emitted: the
// consumer must throw its work away when Finish (or a Write) fails.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "wasm/internal/translate.h"

namespace aether::wasm {

// Where a buffer of C source can be cut so that each side is checked and
// transformed as in the whole: the end of a line that is not a
// backslash-newline, with every block comment and data array begun before
// it also ended before it. 0 when there is no such place. Conservative: a
// "/*" inside a literal or a line comment only moves the cut earlier.
size_t SafeCut(std::string_view text);

class UnitStream final : public SourceSink {
 public:
  // `last` is true for the piece that ends the unit.
  using Emit = std::function<Status(std::string_view checked, bool last)>;

  // Emits pieces of about `piece_bytes` (more when no safe cut comes
  // sooner).
  explicit UnitStream(Emit emit, size_t piece_bytes = size_t{64} * 1024);

  Status Begin(const Translation& t) override;
  Status Write(std::string_view piece) override;
  // The rest of the source and the glue, as the last piece.
  Status End(const Translation& t) override;

  // How many times the buffer was searched for a cut: for the test that a
  // long data array (a big data segment) is not searched once per piece.
  size_t searches() const { return searches_; }

 private:
  // Emits buf_ up to SafeCut (all of it when `last`).
  Status Drain(bool last, std::string_view tail = {});

  Emit emit_;
  size_t piece_bytes_;
  std::string header_;
  std::string include_;
  bool inlined_ = false;
  std::string buf_;
  size_t next_drain_ = 0;  // buf_'s size at which Write drains it
  size_t line_ = 1;        // the unit's line at buf_'s first byte
  size_t searches_ = 0;
};

}  // namespace aether::wasm
