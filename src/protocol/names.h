// Names on every wire: functions, workflows and components share one rule,
// `[a-z0-9][a-z0-9_-]{0,62}`, because they end up in URL paths, instance
// ids (<workflow>/<component>/<index>) and file names under data_dir. The
// control plane checks them on the way in, engines again on what they are
// sent, the CLI before it sends; all three call these.
//
// Pure functions: any thread may call them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::protocol {

inline constexpr std::string_view kNamePattern = "[a-z0-9][a-z0-9_-]{0,62}";
inline constexpr size_t kMaxNameLength = 63;
// GET /api/functions/manifest is taken, so no function may be called that.
inline constexpr std::string_view kReservedFunctionName = "manifest";

// Whether `s` matches kNamePattern: a function, workflow or component name.
bool IsName(std::string_view s);

// `name` when it has at most `max` characters (9..kMaxNameLength); else its
// first max - 9 characters, "-" and 8 hex digits of the whole name's
// SHA-256: a generated name that stays short enough and apart from other
// names cut at the same place.
std::string FitName(std::string name, size_t max = kMaxNameLength);

// IsName and not kReservedFunctionName. InvalidArgument says what is wrong
// ("invalid function name \"Fn\": must start with a lower-case letter or a
// digit").
Status ValidateFunctionName(std::string_view name);

// Event types: `[a-z0-9][a-z0-9_.-]{0,63}`. InvalidArgument otherwise.
Status ValidateEventType(std::string_view type);

// The first characters of untrusted input, control bytes as '?', for error
// messages that must stay one short line.
std::string Excerpt(std::string_view s);

}  // namespace aether::protocol
