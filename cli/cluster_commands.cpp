// batchai cluster show | create
#include "cli/commands.hpp"
#include "cli/local_document.hpp"
#include "cli/output.hpp"
#include "cli/storage_account.hpp"

namespace batchai::cli {

using nlohmann::json;

int cluster_show(Context& ctx, const std::string& name) {
  json cluster;
  if (auto f = get_resource(ctx, cluster_target(ctx.workspace, name), &cluster)) {
    return report("cluster show " + name, *f);
  }
  print_json(cluster);
  return kExitOk;
}

int cluster_create(Context& ctx, const ClusterCreateArgs& args) {
  const std::string what = "cluster create " + args.name;
  json doc = json::object();
  if (!args.file.empty()) {
    auto read = read_json_document(args.file);
    if (!read) return report(what, fail(kExitUsage, read.error().message));
    doc = std::move(*read);
  }
  // --target-node-count makes the scale manual; without it a document that says nothing about
  // scaling gets one node, as `az batchai cluster create` does.
  json& settings = settings_of(doc);
  if (args.target_node_count || !settings.contains("scaleSettings")) {
    json manual = field(settings, "scaleSettings.manual");
    if (!manual.is_object()) manual = json::object();
    if (args.target_node_count) manual["targetNodeCount"] = *args.target_node_count;
    if (!manual.contains("targetNodeCount")) manual["targetNodeCount"] = 1;
    if (!manual.contains("nodeDeallocationOption")) manual["nodeDeallocationOption"] = "requeue";
    settings["scaleSettings"] = {{"manual", manual}};
  }
  if (settings.contains("nodeSetup") && settings["nodeSetup"].is_object() &&
      settings["nodeSetup"].contains("mountVolumes")) {
    if (auto s = fill_storage_account(settings["nodeSetup"]["mountVolumes"],
                                      "nodeSetup.mountVolumes", storage_account_from_environment());
        !s) {
      return report(what, fail(kExitUsage, s.error().message));
    }
  }
  json cluster;
  if (auto f = call(ctx, "PUT", cluster_target(ctx.workspace, args.name), &doc, &cluster)) {
    return report(what, *f);
  }
  print_json(flatten_resource(cluster));
  return kExitOk;
}

}  // namespace batchai::cli
