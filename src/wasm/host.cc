#include "wasm/host.h"

#include <algorithm>

namespace aether::wasm {
namespace {
std::string Key(std::string_view module, std::string_view name) {
  std::string k(module);
  k.push_back('\0');
  k.append(name);
  return k;
}
}  // namespace

void HostRegistry::Add(HostFunction f) {
  std::string key = Key(f.module, f.name);
  functions_[key] = std::move(f);
}

const HostFunction* HostRegistry::Find(std::string_view module, std::string_view name) const {
  auto it = functions_.find(Key(module, name));
  return it == functions_.end() ? nullptr : &it->second;
}

std::vector<const HostFunction*> HostRegistry::All() const {
  std::vector<const HostFunction*> all;
  for (const auto& [key, f] : functions_) all.push_back(&f);
  return all;
}

std::vector<std::string> HostRegistry::NamesIn(std::string_view module) const {
  std::vector<std::string> names;
  for (const auto& [key, f] : functions_) {
    if (f.module == module) names.push_back(f.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace aether::wasm
