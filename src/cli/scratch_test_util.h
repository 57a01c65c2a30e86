// A scratch directory for the CLI's unit tests: files created on demand,
// everything removed afterwards.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace aether::cli::testing {

class Scratch {
 public:
  Scratch() {
    std::string pattern =
        std::filesystem::temp_directory_path().string() + "/aether-cli-test-XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Writes `content` (bytes as they are) to `rel`, creating directories.
  std::string Touch(const std::string& rel, const std::string& content = "x") const {
    std::filesystem::path p = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace aether::cli::testing
