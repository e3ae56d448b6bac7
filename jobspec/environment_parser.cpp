#include "jobspec/environment_parser.hpp"

#include <set>

#include "jobspec/rules.hpp"

namespace batchai {

using nlohmann::json;

namespace {

void read_name_values(JsonReader& parent, const std::string& key, bool secret,
                      std::vector<NameValue>& out, std::set<std::string>& seen, Diagnostics& d) {
  const json* list = parent.array(key);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string at = parent.path_of(key) + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) {
      d.error(at, "must be an object, not " + json_type_name((*list)[i]));
      continue;
    }
    JsonReader r((*list)[i], at, d);
    auto name = r.string("name", true);
    std::optional<std::string> value = r.text("value", !secret);
    if (secret && r.has("valueSecretReference")) {
      r.accept("valueSecretReference");
      d.error(r.path_of("valueSecretReference"),
              "Key Vault references are resolved by the control plane; the node needs the value");
    } else if (secret && !value) {
      d.error(r.path_of("value"), "is required");
    }
    r.warn_unknown();
    if (!name) continue;
    if (auto why = check_env_name(*name); !why.empty()) {
      d.error(r.path_of("name"), why);
      continue;
    }
    if (name->starts_with("AZ_BATCHAI_") || name->starts_with("AZ_BATCH_") ||
        *name == "TF_CONFIG") {
      d.error(r.path_of("name"),
              quote_value(*name) + " is set by the agent and cannot be overridden");
      continue;
    }
    if (!seen.insert(*name).second) {
      d.error(r.path_of("name"), quote_value(*name) + " is defined more than once");
      continue;
    }
    if (value) out.push_back({*name, *value});
  }
}

}  // namespace

void read_environment(JsonReader& parent, std::vector<NameValue>& variables,
                      std::vector<NameValue>& secrets, Diagnostics& d) {
  std::set<std::string> names;
  read_name_values(parent, "environmentVariables", false, variables, names, d);
  read_name_values(parent, "secrets", true, secrets, names, d);
}

}  // namespace batchai
