#include "control/auth.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/sha256.h"

namespace aether::control {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Reads the token at `path`, creating it first when absent. O_EXCL makes two
// processes starting at once agree on one token: the loser reads the
// winner's file.
Result<std::string> ReadOrCreate(const std::string& path, std::string_view what) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ASSIGN_OR_RETURN(std::string token, GenerateToken());
      std::string line = token + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                ::fsync(fd) == 0;
      ::close(fd);
      if (!ok) {
        ::unlink(path.c_str());
        return Unavailable("cannot write the " + std::string(what) + " file " + path);
      }
      return token;
    }
    if (errno != EEXIST) {
      return Unavailable("cannot create the " + std::string(what) + " file " + path + ": " +
                         std::strerror(errno));
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      LOG_WARN("{} file {} is readable by other users; chmod 600 it", what, path);
    }
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = Trim(ss.str());
    if (!in.good() && !in.eof())
      return Unavailable("cannot read the " + std::string(what) + " file " + path);
    if (!token.empty() && token.size() < kMinTokenLength) {
      return InvalidArgument(
          "the " + std::string(what) + " file " + path + " holds " + std::to_string(token.size()) +
          " characters; a token must be at least " + std::to_string(kMinTokenLength) +
          " (delete the file to have one generated)");
    }
    if (!token.empty()) return token;
    // An empty file: a crash between create and write. Start over once.
    ::unlink(path.c_str());
  }
  return Unavailable("the " + std::string(what) + " file " + path + " is empty");
}

}  // namespace

Result<std::string> GenerateToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Internal("the random generator failed");
  return HexLower(bytes);
}

namespace {

// An expected token with zeros after it up to a multiple of 8 bytes (at
// least 8), so that it can be read a word at a time. The same two or three
// tokens are checked on every request, so the copies are kept per thread;
// the lookup compares the process's own tokens with each other, never with
// what a client sent.
const std::string& Padded(std::string_view expected) {
  struct Entry {
    std::string token;
    std::string padded;
  };
  thread_local std::array<Entry, 4> memo;
  thread_local size_t next = 0;
  for (const Entry& e : memo) {
    if (!e.token.empty() && e.token == expected) return e.padded;
  }
  Entry& e = memo[next++ % memo.size()];
  e.token.assign(expected);
  e.padded.assign(expected);
  e.padded.resize(std::max<size_t>(8, (expected.size() + 7) / 8 * 8), '\0');
  return e.padded;
}

uint64_t LoadWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

}  // namespace

bool TokenEquals(std::string_view given, std::string_view expected) {
  // Word by word over what the client sent, its last word filled with
  // zeros, against the expected token filled the same way and read as zeros
  // past its end, plus the lengths as numbers. The time taken depends on
  // the length of what was sent only: not on where the tokens differ, nor
  // on the expected token's length (where to read it is chosen by masks,
  // not a branch). Hashing both sides did the same at ~10% of the
  // gateway's CPU per invocation; a byte at a time, at ~5%.
  const size_t n = expected.size();
  if (n == 0) return false;  // an empty token never authenticates
  const std::string& padded = Padded(expected);
  const size_t plen = padded.size();
  const size_t m = given.size();
  uint64_t diff = m ^ n;
  for (size_t i = 0; i < m; i += 8) {
    uint64_t g = 0;
    if (i + 8 <= m) {
      g = LoadWord(given.data() + i);
    } else {
      std::memcpy(&g, given.data() + i, m - i);
    }
    const uint64_t inside = uint64_t{0} - static_cast<uint64_t>(i < plen);  // all ones inside
    const size_t at = (i & inside) | ((plen - 8) & ~inside);
    diff |= g ^ (LoadWord(padded.data() + at) & inside);
  }
  return diff == 0;
}

Result<Tokens> LoadOrCreateTokens(const AuthConfig& auth, const std::string& data_dir,
                                  bool domain_join) {
  Tokens t;
  if (auth.token.empty() || auth.join_token.empty() || domain_join) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
      return Unavailable("cannot create the data directory " + data_dir + ": " + ec.message());
  }
  if (!auth.token.empty()) {
    t.admin = auth.token;
    t.admin_file = auth.token_file;  // read from a file or credential, or empty
  } else {
    t.admin_file = data_dir + "/admin.token";
    ASSIGN_OR_RETURN(t.admin, ReadOrCreate(t.admin_file, "admin token"));
  }
  if (!auth.join_token.empty()) {
    t.join = auth.join_token;
    t.join_file = auth.join_token_file;  // read from a file or credential, or empty
  } else {
    t.join_file = data_dir + "/join.token";
    ASSIGN_OR_RETURN(t.join, ReadOrCreate(t.join_file, "join token"));
  }
  if (!domain_join) return t;
  if (!auth.domain_join_token.empty()) {
    t.domain_join = auth.domain_join_token;
    t.domain_join_file = auth.domain_join_token_file;  // read from a file or credential, or empty
  } else {
    t.domain_join_file = data_dir + "/domain_join.token";
    ASSIGN_OR_RETURN(t.domain_join, ReadOrCreate(t.domain_join_file, "domain join token"));
  }
  return t;
}

Result<std::string_view> BearerToken(const HttpRequest& req) {
  std::string_view h = req.Header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  // The scheme is case-insensitive ASCII: a letter's lower case is its
  // 0x20 bit set (std::tolower, a call per byte, was ~4% of an invocation).
  auto same = [](char want, char got) { return (got | (want == ' ' ? 0 : 0x20)) == want; };
  if (h.size() <= kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), h.begin(), same)) {
    return Unauthenticated("missing bearer token (send Authorization: Bearer <token>)");
  }
  std::string_view given = h.substr(kScheme.size());
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  return given;
}

Status CheckBearer(const HttpRequest& req, std::initializer_list<const std::string*> accepted) {
  ASSIGN_OR_RETURN(std::string_view given, BearerToken(req));
  bool ok = false;
  // Every candidate is compared, so timing does not reveal which matched.
  for (const std::string* t : accepted) ok |= TokenEquals(given, *t);
  if (!ok) return PermissionDenied("invalid token");
  return OkStatus();
}

}  // namespace aether::control
