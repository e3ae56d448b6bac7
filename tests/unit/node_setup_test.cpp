// The cluster's nodeSetup read whole (agent/node/node_setup.hpp): each part's errors, the setup
// task's environment under the same rules as a job's, its configuration id.
#include "agent/node/node_setup.hpp"

#include <gtest/gtest.h>

namespace batchai {
namespace {

using nlohmann::json;

const json kTask = {{"commandLine", "echo hi"}, {"stdOutErrPathPrefix", "/mnt/logs"}};

TEST(NodeSetup, NoneIsNothingToDo) {
  auto p = parse_node_setup(json());
  EXPECT_TRUE(p.errors.empty());
  EXPECT_TRUE(p.setup.mount_volumes.empty());
  EXPECT_FALSE(p.setup.setup_task);
  EXPECT_FALSE(p.setup.admin_account);
}

TEST(NodeSetup, ReadsVolumesAccountAndTask) {
  json task = kTask;
  task["environmentVariables"] = json::array({{{"name", "A"}, {"value", "1"}}});
  task["secrets"] = json::array({{{"name", "B"}, {"value", "2"}}});
  json setup = {
      {"mountVolumes",
       {{"unmanagedFileSystems", json::array({{{"mountCommand", "mount -t tmpfs none"},
                                               {"relativeMountPath", "scratch"}}})}}},
      {"userAccountSettings", {{"adminUserName", "batchadmin"}, {"adminUserPassword", "s3cret"}}},
      {"setupTask", task}};
  auto p = parse_node_setup(setup);
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].message;
  ASSERT_EQ(p.setup.mount_volumes.size(), 1u);
  EXPECT_EQ(p.setup.mount_volumes[0].relative_mount_path, "scratch");
  ASSERT_TRUE(p.setup.admin_account);
  EXPECT_EQ(p.setup.admin_account->user, "batchadmin");
  ASSERT_TRUE(p.setup.setup_task);
  EXPECT_EQ(p.setup.setup_task->command_line, "echo hi");
  EXPECT_EQ(p.setup.setup_task->std_out_err_path_suffix, "setup");
  ASSERT_EQ(p.setup.setup_task->environment_variables.size(), 1u);
  ASSERT_EQ(p.setup.setup_task->secrets.size(), 1u);
  EXPECT_EQ(p.setup.setup_task->secrets[0].name, "B");
}

TEST(NodeSetup, EveryPartsErrorsAreFoundBeforeAnythingIsDone) {
  json setup = {{"mountVolumes", {{"unmanagedFileSystems", json::array({{{"mountCommand", 5}}})}}},
                {"userAccountSettings", {{"adminUserName", "root"}, {"adminUserPassword", "x"}}},
                {"setupTask", {{"stdOutErrPathPrefix", "/mnt/logs"}}}};
  auto p = parse_node_setup(setup);
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0].code, "InvalidNodeSetup");
  EXPECT_EQ(p.errors[0].message, "the cluster's nodeSetup.mountVolumes is not valid");
  EXPECT_EQ(p.errors[1].code, "AdminAccountFailed");
  EXPECT_EQ(p.errors[2].code, "InvalidNodeSetup");
  ASSERT_FALSE(p.errors[2].details.empty());
  EXPECT_EQ(p.errors[2].details[0].name, "nodeSetup.setupTask.commandLine");
}

TEST(NodeSetup, TheSetupTasksEnvironmentFollowsTheJobsRules) {
  auto task = json(kTask);
  task["environmentVariables"] = json::array(
      {{{"name", "AZ_BATCHAI_MOUNT_ROOT"}, {"value", "/x"}}, {{"name", "X"}, {"value", "1"}}});
  task["secrets"] =
      json::array({{{"name", "X"}, {"value", "2"}}, {{"name", "1BAD"}, {"value", ""}}});
  auto p = parse_node_setup({{"setupTask", task}});
  ASSERT_EQ(p.errors.size(), 1u);
  std::vector<std::string> fields;
  for (const auto& d : p.errors[0].details) fields.push_back(d.name);
  EXPECT_EQ(fields, (std::vector<std::string>{"nodeSetup.setupTask.environmentVariables[0].name",
                                              "nodeSetup.setupTask.secrets[0].name",
                                              "nodeSetup.setupTask.secrets[1].name"}));
  EXPECT_NE(p.errors[0].details[0].value.find("set by the agent"), std::string::npos);
  EXPECT_NE(p.errors[0].details[1].value.find("more than once"), std::string::npos);
}

TEST(NodeSetup, TheConfigurationIdChangesWithTheTask) {
  auto a = parse_node_setup({{"setupTask", kTask}});
  auto task = json(kTask);
  task["commandLine"] = "echo other";
  auto b = parse_node_setup({{"setupTask", task}});
  ASSERT_TRUE(a.setup.setup_task && b.setup.setup_task);
  EXPECT_EQ(a.setup.setup_task->config_id,
            parse_node_setup({{"setupTask", kTask}}).setup.setup_task->config_id);
  EXPECT_NE(a.setup.setup_task->config_id, b.setup.setup_task->config_id);
}

}  // namespace
}  // namespace batchai
