#include "controlplane/clusters.hpp"

#include <set>
#include <vector>

#include "common/diagnostics.hpp"
#include "common/json_reader.hpp"
#include "controlplane/nodes.hpp"
#include "jobspec/environment_parser.hpp"
#include "jobspec/rules.hpp"
#include "protocol/messages.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

using Problems = std::vector<std::string>;

bool is_count(const json& j) {
  return j.is_number_integer() && j.get<std::int64_t>() >= 0 && j.get<std::int64_t>() <= 100000;
}

void check_keys(const json& obj, const std::string& at, const std::set<std::string>& known,
                Problems& p) {
  for (const auto& [key, value] : obj.items()) {
    if (!known.count(key)) p.push_back(at + key + ": is not a known field");
  }
}

void check_scale(json& scale, Problems& p) {
  if (scale.is_null()) return;
  if (!scale.is_object()) return p.push_back("scaleSettings: must be an object");
  check_keys(scale, "scaleSettings.", {"manual", "autoScale"}, p);
  const bool manual = scale.contains("manual") && !scale["manual"].is_null();
  const bool autoscale = scale.contains("autoScale") && !scale["autoScale"].is_null();
  if (manual == autoscale)
    return p.push_back("scaleSettings: set exactly one of manual, autoScale");
  if (manual) {
    json& m = scale["manual"];
    if (!m.is_object()) return p.push_back("scaleSettings.manual: must be an object");
    check_keys(m, "scaleSettings.manual.", {"targetNodeCount", "nodeDeallocationOption"}, p);
    if (!m.contains("targetNodeCount") || !is_count(m["targetNodeCount"])) {
      p.push_back("scaleSettings.manual.targetNodeCount: must be a whole number from 0");
    }
    if (!m.contains("nodeDeallocationOption") || m["nodeDeallocationOption"].is_null()) {
      m["nodeDeallocationOption"] = "requeue";
    }
    static const std::set<std::string> options = {"requeue", "terminate", "waitforjobcompletion"};
    const json& o = m["nodeDeallocationOption"];
    if (!o.is_string() || !options.count(o.get<std::string>())) {
      p.push_back(
          "scaleSettings.manual.nodeDeallocationOption: must be requeue, terminate or "
          "waitforjobcompletion");
    }
  } else {
    json& a = scale["autoScale"];
    if (!a.is_object()) return p.push_back("scaleSettings.autoScale: must be an object");
    check_keys(a, "scaleSettings.autoScale.",
               {"minimumNodeCount", "maximumNodeCount", "initialNodeCount"}, p);
    for (const char* k : {"minimumNodeCount", "maximumNodeCount"}) {
      if (!a.contains(k) || !is_count(a[k])) {
        p.push_back(std::string("scaleSettings.autoScale.") + k + ": must be a whole number");
      }
    }
    if (a.contains("initialNodeCount") && !a["initialNodeCount"].is_null() &&
        !is_count(a["initialNodeCount"])) {
      p.push_back("scaleSettings.autoScale.initialNodeCount: must be a whole number");
    }
  }
}

void check_node_setup(const json& setup, Problems& p) {
  if (setup.is_null()) return;
  if (!setup.is_object()) return p.push_back("nodeSetup: must be an object");
  check_keys(setup, "nodeSetup.", {"mountVolumes", "setupTask", "performanceCountersSettings"}, p);
  if (setup.contains("mountVolumes") && !setup["mountVolumes"].is_null() &&
      !setup["mountVolumes"].is_object()) {
    p.push_back("nodeSetup.mountVolumes: must be an object");
  }
  if (setup.contains("setupTask") && !setup["setupTask"].is_null()) {
    const json& t = setup["setupTask"];
    if (!t.is_object()) return p.push_back("nodeSetup.setupTask: must be an object");
    // The node's own rules (agent/node/node_setup.cpp), so a bad task is a 400 here, not an
    // unusable node later.
    Diagnostics d;
    JsonReader r(t, "nodeSetup.setupTask", d);
    r.nonempty_text("commandLine", true);
    r.nonempty_string("stdOutErrPathPrefix", true);
    if (auto suffix = r.string("stdOutErrPathSuffix"); suffix && !suffix->empty()) {
      if (auto why = check_relative_path(*suffix); !why.empty()) {
        d.error(r.path_of("stdOutErrPathSuffix"), why);
      }
    }
    std::vector<NameValue> variables, secrets;
    read_environment(r, variables, secrets, d);
    for (const auto& e : d.errors()) p.push_back(e.path + ": " + e.message);
  }
}

void check_user_account(const json& u, Problems& p) {
  if (u.is_null()) return;
  if (!u.is_object()) return p.push_back("userAccountSettings: must be an object");
  check_keys(u, "userAccountSettings.",
             {"adminUserName", "adminUserSshPublicKey", "adminUserPassword"}, p);
  if (!u.contains("adminUserName") || !u["adminUserName"].is_string() ||
      u["adminUserName"].get<std::string>().empty()) {
    p.push_back("userAccountSettings.adminUserName: must be a non-empty string");
  }
  for (const char* k : {"adminUserSshPublicKey", "adminUserPassword"}) {
    if (u.contains(k) && !u[k].is_null() && !u[k].is_string()) {
      p.push_back(std::string("userAccountSettings.") + k + ": must be a string");
    }
  }
}

// Shown as given: the machines are whatever joins the cluster, so the image is not acted on.
void check_vm_configuration(const json& v, Problems& p) {
  if (v.is_null()) return;
  if (!v.is_object()) return p.push_back("virtualMachineConfiguration: must be an object");
  check_keys(v, "virtualMachineConfiguration.", {"imageReference"}, p);
  if (!v.contains("imageReference") || v["imageReference"].is_null()) return;
  const json& image = v["imageReference"];
  if (!image.is_object()) {
    return p.push_back("virtualMachineConfiguration.imageReference: must be an object");
  }
  check_keys(image, "virtualMachineConfiguration.imageReference.",
             {"publisher", "offer", "sku", "version", "virtualMachineImageId"}, p);
  for (const auto& [key, value] : image.items()) {
    if (!value.is_null() && (!value.is_string() || value.get<std::string>().size() > 1024)) {
      p.push_back("virtualMachineConfiguration.imageReference." + key +
                  ": must be a string of at most 1024 characters");
    }
  }
}

json take(json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? json(nullptr) : *it;
}

}  // namespace

std::variant<ClusterSettings, ApiError> parse_cluster_settings(const std::string& body) {
  if (body.size() > protocol::kMaxMessageBytes) {
    return bad_request("InvalidRequest", "the request body is too large");
  }
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return bad_request("InvalidRequest", "the request body must be a JSON object");
  }
  if (root.contains("properties") && root["properties"].is_object()) {
    json props = root["properties"];
    root = std::move(props);
  }
  Problems p;
  check_keys(root, "",
             {"nodeSetup", "scaleSettings", "userAccountSettings", "vmSize", "vmPriority",
              "virtualMachineConfiguration", "subnet"},
             p);
  ClusterSettings s;
  s.node_setup = take(root, "nodeSetup");
  s.user_account_settings = take(root, "userAccountSettings");
  s.scale_settings = take(root, "scaleSettings");
  s.vm_size = take(root, "vmSize");
  s.vm_priority = take(root, "vmPriority");
  s.vm_configuration = take(root, "virtualMachineConfiguration");
  check_vm_configuration(s.vm_configuration, p);
  // The nodes are the machines whose agents join the cluster: a subnet chooses none of them.
  const json subnet = take(root, "subnet");
  if (!subnet.is_null() &&
      (!subnet.is_object() || !subnet.contains("id") || !subnet["id"].is_string())) {
    p.push_back("subnet: must be {\"id\": \"<subnet resource id>\"}");
  }
  check_node_setup(s.node_setup, p);
  check_user_account(s.user_account_settings, p);
  check_scale(s.scale_settings, p);
  if (!s.vm_size.is_null() && !s.vm_size.is_string()) p.push_back("vmSize: must be a string");
  if (!s.vm_priority.is_null() && s.vm_priority != "dedicated" && s.vm_priority != "lowpriority") {
    p.push_back("vmPriority: must be dedicated or lowpriority");
  }
  if (!p.empty()) {
    std::string message = "the cluster settings are not valid (" + std::to_string(p.size()) +
                          (p.size() == 1 ? " problem):" : " problems):");
    for (const auto& line : p) message += "\n" + line;
    return bad_request("InvalidClusterSettings", message);
  }
  return s;
}

bool put_cluster(State& s, const std::string& name, const ClusterSettings& settings,
                 std::int64_t now, Events& events) {
  auto it = s.clusters.find(name);
  const bool created = it == s.clusters.end();
  ClusterRecord& c = s.clusters[name];
  if (created) {
    c.name = name;
    c.creation_ms = now;
    c.config_version = 0;
  }
  c.node_setup = settings.node_setup;
  c.user_account_settings = settings.user_account_settings;
  c.scale_settings = settings.scale_settings;
  c.vm_size = settings.vm_size;
  c.vm_priority = settings.vm_priority;
  c.vm_configuration = settings.vm_configuration;
  c.modified_ms = now;
  ++c.config_version;
  events.push_back("cluster " + name + (created ? ": created" : ": updated") + " (config version " +
                   std::to_string(c.config_version) + ")");
  // Its nodes learn of the new configuration with their next desired state.
  for (auto& [id, n] : s.nodes) {
    if (n.cluster == name) bump(n);
  }
  plan_scale_down(s, c, events);
  return created;
}

}  // namespace batchai::cp
