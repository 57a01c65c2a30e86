#include "common/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/unique_fd.h"

namespace aether {
namespace {

// A token is one line; anything larger than this is the wrong file.
constexpr size_t kMaxSecretFileSize = 4096;

Status SecretFileError(std::string_view what, const std::string& why) {
  return InvalidArgument(std::string(what) + ": " + why);
}

}  // namespace

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                   size_t min_length, SecretText text) {
  // O_NONBLOCK: a FIFO put there by mistake must not hang the start; it is
  // refused below as not a regular file.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0)
    return SecretFileError(what, std::string("cannot open it: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return SecretFileError(what, "is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxSecretFileSize) {
    return SecretFileError(what, "is larger than 4 KiB; it must hold one token");
  }
  std::string data;
  char buf[kMaxSecretFileSize + 1];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      return SecretFileError(what, std::string("cannot read it: ") + std::strerror(err));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxSecretFileSize) {
      return SecretFileError(what, "is larger than 4 KiB; it must hold one token");
    }
  }
  if ((st.st_mode & S_IROTH) != 0) {
    LOG_WARN("{} is readable by every user; chmod o-r it", what);
  }
  if (text == SecretText::kFirstLine) {
    if (size_t eol = data.find('\n'); eol != std::string::npos) data.resize(eol);
    if (data.ends_with('\r')) data.pop_back();
    if (data.empty()) return SecretFileError(what, "has an empty first line (the password)");
    for (char c : data) {
      if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
        return SecretFileError(what, "holds a control character in its first line");
      }
    }
  } else {
    // `echo TOKEN > file` and editors end the line; that newline is not
    // part of the token.
    if (data.ends_with("\r\n")) {
      data.resize(data.size() - 2);
    } else if (data.ends_with('\n')) {
      data.pop_back();
    }
    if (data.empty()) return SecretFileError(what, "is empty; it must hold the token");
    for (char c : data) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        return SecretFileError(what,
                               "holds a space, a control character or more than one line; it "
                               "must hold the token alone");
      }
    }
  }
  if (data.size() < min_length) {
    return SecretFileError(
        what, "holds " + std::to_string(data.size()) + " characters; a token must be at least " +
                  std::to_string(min_length) + " (generate one with: openssl rand -hex 32)");
  }
  return data;
}

namespace {

// One token: `key` of `section`, from its `_file` or from the credential
// named `credential`, unless the config set it.
Status LoadSecret(std::string_view section, const char* key, const char* credential,
                  std::string* token, std::string* file, std::string_view origin,
                  const std::string& credentials_dir) {
  if (!token->empty()) return OkStatus();  // in the config itself
  std::string what;
  if (!file->empty()) {
    what = std::string(origin.empty() ? "" : std::string(origin) + ": ") + "[" +
           std::string(section) + "] " + key + "_file " + *file;
  } else if (!credentials_dir.empty()) {
    std::string path = credentials_dir + "/" + credential;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return OkStatus();  // not passed
    what = std::string("systemd credential ") + credential + " (" + path + ")";
    *file = path;
  } else {
    return OkStatus();
  }
  ASSIGN_OR_RETURN(*token, ReadSecretFile(*file, what, kMinTokenLength));
  return OkStatus();
}

}  // namespace

Status LoadAuthSecrets(AuthConfig& auth, std::string_view origin,
                       const std::string& credentials_dir) {
  struct Entry {
    const char* key;
    std::string* token;
    std::string* file;
  };
  const Entry entries[] = {
      {"token", &auth.token, &auth.token_file},
      {"join_token", &auth.join_token, &auth.join_token_file},
      {"domain_join_token", &auth.domain_join_token, &auth.domain_join_token_file}};
  for (const Entry& e : entries) {
    RETURN_IF_ERROR(LoadSecret("auth", e.key, e.key, e.token, e.file, origin, credentials_dir));
  }
  return OkStatus();
}

Status LoadDomainSecret(DomainConfig& domain, std::string_view origin,
                        const std::string& credentials_dir) {
  return LoadSecret("domain", "join_token", "domain_join_token", &domain.join_token,
                    &domain.join_token_file, origin, credentials_dir);
}

}  // namespace aether
