#include "agent/node/node_setup.hpp"

#include "common/diagnostics.hpp"
#include "common/hash.hpp"
#include "common/json_reader.hpp"
#include "jobspec/environment_parser.hpp"
#include "jobspec/volume_parser.hpp"

namespace batchai {

namespace {

using nlohmann::json;

JobError invalid(const std::string& field, const Diagnostics& d) {
  JobError e{"InvalidNodeSetup", "the cluster's " + field + " is not valid", {}};
  for (const auto& p : d.errors()) e.details.push_back({p.path, p.message});
  return e;
}

void read_volumes(const json& node_setup, ParsedNodeSetup& out) {
  Diagnostics d;
  JsonReader r(node_setup, "nodeSetup", d);
  read_mount_volumes(r, out.setup.mount_volumes, d);
  if (d.has_errors()) out.errors.push_back(invalid("nodeSetup.mountVolumes", d));
}

void read_setup_task(const json& node_setup, ParsedNodeSetup& out) {
  if (!node_setup.contains("setupTask") || node_setup["setupTask"].is_null()) return;
  Diagnostics d;
  const json& task = node_setup["setupTask"];
  if (!task.is_object()) {
    d.error("nodeSetup.setupTask", "must be an object");
    out.errors.push_back(invalid("nodeSetup.setupTask", d));
    return;
  }
  JsonReader r(task, "nodeSetup.setupTask", d);
  SetupTaskSpec spec;
  spec.command_line = r.nonempty_text("commandLine", true).value_or("");
  spec.std_out_err_path_prefix = r.nonempty_string("stdOutErrPathPrefix", true).value_or("");
  spec.std_out_err_path_suffix = r.string("stdOutErrPathSuffix").value_or("setup");
  read_environment(r, spec.environment_variables, spec.secrets, d);
  r.warn_unknown();
  if (d.has_errors()) {
    out.errors.push_back(invalid("nodeSetup.setupTask", d));
    return;
  }
  spec.config_id = fnv1a_hex(task.dump());
  out.setup.setup_task = std::move(spec);
}

void read_admin_account(const json& node_setup, ParsedNodeSetup& out) {
  auto account = admin_account_from(node_setup);
  if (!account) {
    out.errors.push_back({"AdminAccountFailed", account.error().message, {}});
    return;
  }
  out.setup.admin_account = std::move(*account);
}

}  // namespace

ParsedNodeSetup parse_node_setup(const json& node_setup) {
  ParsedNodeSetup out;
  if (node_setup.is_null()) return out;
  if (!node_setup.is_object()) {
    Diagnostics d;
    d.error("nodeSetup", "must be an object");
    out.errors.push_back(invalid("nodeSetup", d));
    return out;
  }
  read_volumes(node_setup, out);
  read_admin_account(node_setup, out);
  read_setup_task(node_setup, out);
  return out;
}

}  // namespace batchai
