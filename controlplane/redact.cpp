#include "controlplane/redact.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

// Sets obj[key] to null when obj is an object that has key.
void null_field(json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key)) obj[key] = nullptr;
}

void redact_secret_list(json& list) {
  if (!list.is_array()) return;
  for (auto& entry : list) {
    null_field(entry, "value");
    null_field(entry, "valueSecretReference");
  }
}

void redact_mount_volumes(json& volumes) {
  if (!volumes.is_object()) return;
  for (const char* kind : {"azureFileShares", "azureBlobFileSystems"}) {
    auto it = volumes.find(kind);
    if (it == volumes.end() || !it->is_array()) continue;
    for (auto& v : *it) {
      if (v.is_object() && v.contains("credentials")) {
        null_field(v["credentials"], "accountKey");
        null_field(v["credentials"], "accountKeySecretReference");
      }
    }
  }
}

}  // namespace

json redact_job_properties(json props) {
  if (!props.is_object()) return props;
  if (props.contains("secrets")) redact_secret_list(props["secrets"]);
  if (props.contains("mountVolumes")) redact_mount_volumes(props["mountVolumes"]);
  if (props.contains("containerSettings") && props["containerSettings"].is_object()) {
    json& c = props["containerSettings"];
    if (c.contains("imageSourceRegistry") && c["imageSourceRegistry"].is_object()) {
      json& reg = c["imageSourceRegistry"];
      if (reg.contains("credentials")) {
        null_field(reg["credentials"], "password");
        null_field(reg["credentials"], "passwordSecretReference");
      }
    }
  }
  return props;
}

json redact_node_setup(json node_setup) {
  if (!node_setup.is_object()) return node_setup;
  if (node_setup.contains("mountVolumes")) redact_mount_volumes(node_setup["mountVolumes"]);
  if (node_setup.contains("setupTask") && node_setup["setupTask"].is_object() &&
      node_setup["setupTask"].contains("secrets")) {
    redact_secret_list(node_setup["setupTask"]["secrets"]);
  }
  return node_setup;
}

json redact_user_account(json settings) {
  null_field(settings, "adminUserPassword");
  return settings;
}

}  // namespace batchai::cp
