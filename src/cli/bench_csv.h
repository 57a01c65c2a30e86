// `aether bench --output FILE`: the run's events as CSV, one row per event
// in EDGELESS's long form (docs/cli.md lists the metrics):
//   [additional header...,]seed,timestamp,elapsed_s,metric,target,value
// Main thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::cli::bench {

// Members have initializers so that designated initializers may name any
// subset.
struct CsvOptions {
  std::string path{};  // "" = no CSV
  bool append = false;
  std::string additional_fields{};  // "a,b": the same values on every row
  std::string additional_header{};  // "h_a,h_b": their column names
  uint64_t seed = 0;
};

// One field as RFC 4180 wants it: quoted (with quotes doubled) when it
// holds a comma, a quote or a line break.
std::string CsvField(std::string_view text);

class CsvWriter {
 public:
  // Opens (truncates, or appends to) the file and writes the header unless
  // appending to a file that has rows. InvalidArgument for additional
  // fields and header of different lengths, or a file that cannot be opened.
  static Result<std::unique_ptr<CsvWriter>> Open(const CsvOptions& options);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  // `unix_s`: wall-clock time of the event; `elapsed_s`: since the run began.
  void Add(double unix_s, double elapsed_s, std::string_view metric, std::string_view target,
           std::string_view value);
  // Flushes; Internal when a write failed (a full disk).
  Status Close();

 private:
  CsvWriter(std::FILE* file, std::string prefix) : file_(file), prefix_(std::move(prefix)) {}
  std::FILE* file_;
  std::string prefix_;  // the additional fields and the seed, each followed by ','
};

}  // namespace aether::cli::bench
