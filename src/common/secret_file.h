// Tokens kept out of the config file: read from a file named by an [auth]
// `*_file` key, or from a systemd credential (`LoadCredential=NAME:PATH`
// in the unit; systemd puts it at $CREDENTIALS_DIRECTORY/NAME, readable
// only by the service). docs/configuration.md, "Tokens from files".
//
// Startup I/O only; any thread may call these. Messages name the key and
// the path, never a byte of the secret.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"
#include "common/result.h"

namespace aether {

// What a secret file holds:
//   kToken      one token alone, without its trailing newline ("\n" or
//               "\r\n"): no space, control character or second line;
//   kFirstLine  a password: its first line (the rest is ignored), which may
//               hold spaces but no control character.
enum class SecretText { kToken, kFirstLine };

// The secret in the file at `path`. `what` names it in errors ("[auth]
// join_token_file /etc/aether/join.token"). InvalidArgument, in one line
// starting with `what`, when the file is missing, unreadable, not a
// regular file, larger than 4 KiB, empty (or its first line is), holds what
// `text` does not allow, or is shorter than `min_length`. Logs a warning
// (without the secret) when every user may read the file.
Result<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                   size_t min_length, SecretText text = SecretText::kToken);

// Fills auth.token, join_token and domain_join_token, each from the first
// that is set of:
//   1. the key itself (ParseConfig refuses a key set together with its _file);
//   2. its `_file` key (`token_file`, ...): the file must exist;
//   3. the systemd credential named like the key (`token`, `join_token`,
//      `domain_join_token`) in `credentials_dir` ($CREDENTIALS_DIRECTORY;
//      empty: none), when that file exists.
// A token read from a file or credential also records where it came from in
// its `_file` key (for the startup banner). `origin` (the config file, may be
// empty) prefixes errors about `_file` keys.
Status LoadAuthSecrets(AuthConfig& auth, std::string_view origin,
                       const std::string& credentials_dir);

// The same for a domain orchestrator's [domain] join_token: the key, else
// `join_token_file`, else the credential `domain_join_token` (the same
// secret as the controller's [auth] domain_join_token).
Status LoadDomainSecret(DomainConfig& domain, std::string_view origin,
                        const std::string& credentials_dir);

}  // namespace aether
