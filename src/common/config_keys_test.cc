// The templates `aether config template` prints, and docs/configuration.md,
// name every key the server of that role reads: an operator who copies the
// template must see every knob (the template once lacked the engine's
// join_token and heartbeat_interval, and the control plane's TLS, tokens and
// idle_timeout). A key the parser learns fails here until both list it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "common/config.h"

namespace aether {
namespace {

// "section.key" for every key line of a template, commented out or not
// ("# key = ..." counts: it shows the key and an example value).
std::set<std::string> TemplateKeyLines(const std::string& text) {
  static const std::regex kSection(R"(^#?\s*\[\[?([a-z_.]+)\]\]?)");
  static const std::regex kKey(R"(^#?\s*([a-z_]+)\s*=)");
  std::set<std::string> keys;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kSection)) {
      section = m[1];
      // An array of tables is a key of its parent section.
      if (line.find("[[") != std::string::npos) keys.insert(section);
    } else if (std::regex_search(line, m, kKey) && !section.empty()) {
      keys.insert(fmt::format("{}.{}", section, m[1].str()));
    }
  }
  return keys;
}

bool InUnusedSection(const std::string& key, const std::set<std::string>& sections) {
  return sections.count(key.substr(0, key.find('.'))) > 0;
}

// What a role does not read, by section or by key.
struct RoleKeyUse {
  const char* role;
  std::set<std::string> unused_sections;
  std::set<std::string> unused_keys;
};

const RoleKeyUse kRoleKeyUse[] = {
    {"engine",
     {"database", "store", "cluster", "gateway", "domain"},
     {"registry.node_timeout", "auth.token", "auth.domain_join_token", "auth.token_file",
      "auth.domain_join_token_file", "workflow.placement", "runtime.max_module_size",
      "runtime.max_env_vars", "runtime.max_env_size"}},
    {"control",
     {"control", "nats"},
     {"server.public_url", "runtime.memory_limit", "runtime.cache_size", "runtime.cache_disk_limit",
      "runtime.functions_dir", "runtime.data_dir", "runtime.workers", "runtime.queue_length",
      "runtime.inline_budget", "runtime.max_input", "runtime.max_output", "runtime.optimize",
      "runtime.cc"}},
};

TEST(ConfigKeysTest, EachTemplateNamesEveryKeyItsServerReads) {
  const std::set<std::string> known = KnownConfigKeys();
  ASSERT_GT(known.size(), 50u);
  for (const RoleKeyUse& r : kRoleKeyUse) {
    Result<std::string> text = ConfigTemplate(r.role);
    ASSERT_TRUE(text.ok());
    std::set<std::string> shown = TemplateKeyLines(*text);
    for (const std::string& key : known) {
      bool unused = InUnusedSection(key, r.unused_sections) || r.unused_keys.count(key) > 0;
      if (key.starts_with("workflow.") && std::string(r.role) == "control") {
        unused = key != "workflow.placement";
      }
      if (!unused) {
        EXPECT_TRUE(shown.count(key)) << r.role << " template lacks " << key;
      }
    }
    for (const std::string& key : shown) {
      EXPECT_TRUE(known.count(key) || key.find('.', key.find('.') + 1) != std::string::npos ||
                  known.count(key.substr(0, key.rfind('.'))))
          << r.role << " template shows " << key << ", which the parser does not know";
    }
  }
}

TEST(ConfigKeysTest, TheReferenceDocumentsEveryKey) {
  std::ifstream in(std::string(AETHER_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md";
  std::stringstream doc;
  doc << in.rdbuf();
  for (const std::string& key : KnownConfigKeys()) {
    size_t dot = key.find('.');
    std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    // The tables write "`[section] key`" or list keys after it: "`[section] a`, `b`".
    const std::string text = doc.str();
    auto has = [&](const std::string& s) { return text.find(s) != std::string::npos; };
    bool found = has(fmt::format("[{}] {}`", section, name)) ||
                 has(fmt::format("[[{}.{}]]", section, name)) ||
                 (has(fmt::format("[{}]", section)) && has(fmt::format("`{}`", name)));
    EXPECT_TRUE(found) << "docs/configuration.md does not document " << key;
  }
}

}  // namespace
}  // namespace aether
