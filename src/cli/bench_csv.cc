#include "cli/bench_csv.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cli/bench_stats.h"

namespace aether::cli::bench {
namespace {

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  for (size_t comma = text.find(',');; comma = text.find(',', start)) {
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string Joined(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) out += CsvField(f) + ",";
  return out;
}

}  // namespace

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Result<std::unique_ptr<CsvWriter>> CsvWriter::Open(const CsvOptions& o) {
  std::vector<std::string> fields = SplitCommas(o.additional_fields);
  std::vector<std::string> header = SplitCommas(o.additional_header);
  if (fields.size() != header.size()) {
    return InvalidArgument("--additional-fields has " + std::to_string(fields.size()) +
                           " value(s) but --additional-header " + std::to_string(header.size()) +
                           ": give one name per value");
  }
  struct stat st {};
  bool has_rows = o.append && ::stat(o.path.c_str(), &st) == 0 && st.st_size > 0;
  std::FILE* f = std::fopen(o.path.c_str(), o.append ? "a" : "w");
  if (f == nullptr) {
    return InvalidArgument("cannot open --output " + o.path + ": " + std::strerror(errno));
  }
  fields.push_back(std::to_string(o.seed));
  header.emplace_back("seed");
  if (!has_rows) {
    std::string line = Joined(header) + "timestamp,elapsed_s,metric,target,value\n";
    std::fputs(line.c_str(), f);
  }
  return std::unique_ptr<CsvWriter>(new CsvWriter(f, Joined(fields)));
}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void CsvWriter::Add(double unix_s, double elapsed_s, std::string_view metric,
                    std::string_view target, std::string_view value) {
  std::string line = prefix_ + Fixed(unix_s, 6) + "," + Fixed(elapsed_s, 6) + "," +
                     CsvField(metric) + "," + CsvField(target) + "," + CsvField(value) + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
}

Status CsvWriter::Close() {
  bool failed = std::ferror(file_) != 0;
  failed |= std::fclose(file_) != 0;
  file_ = nullptr;
  if (failed) return Internal("writing the CSV output failed (is the disk full?)");
  return OkStatus();
}

}  // namespace aether::cli::bench
