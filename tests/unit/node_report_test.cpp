// The node-state decision and the report's assembly (heartbeat/node_report.hpp): which state a
// node reports for each combination of its life and its tasks, and which errors go with it.
#include "heartbeat/node_report.hpp"

#include <gtest/gtest.h>

namespace batchai {
namespace {

protocol::TaskReport task(const std::string& id, const std::string& state,
                          std::vector<JobError> errors = {}) {
  protocol::TaskReport t;
  t.task_id = id;
  t.state = state;
  t.execution_info.errors = std::move(errors);
  return t;
}

TEST(NodeState, PreparingIdleAndRunningFollowTheNodesLifeAndItsTasks) {
  NodeCondition c;
  c.preparing = true;
  EXPECT_EQ(decide_node_state(c, {}).state, "preparing");
  c.preparing = false;
  EXPECT_EQ(decide_node_state(c, {}).state, "idle");
  EXPECT_EQ(decide_node_state(c, {task("t1", "succeeded"), task("t2", "failed")}).state, "idle");
  EXPECT_EQ(decide_node_state(c, {task("t1", "succeeded"), task("t2", "running")}).state,
            "running");
  EXPECT_EQ(decide_node_state(c, {task("t1", "terminating")}).state, "running");
  EXPECT_TRUE(decide_node_state(c, {task("t1", "running")}).errors.empty());
}

TEST(NodeState, LeavingWinsOverRunningAndIdle) {
  NodeCondition c;
  c.leaving = true;
  EXPECT_EQ(decide_node_state(c, {task("t1", "running")}).state, "leaving");
  EXPECT_EQ(decide_node_state(c, {}).state, "leaving");
}

TEST(NodeState, SetUpAndGpuErrorsMakeTheNodeUnusableWithThemInOrder) {
  NodeCondition c;
  c.leaving = true;
  c.setup_errors = {{"AZFMountError", "cannot mount", {}}};
  c.gpu_errors = {{"GPUFailure", "GPU 0 is gone", {}}};
  auto d = decide_node_state(c, {task("t1", "running")});
  EXPECT_EQ(d.state, "unusable");
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].code, "AZFMountError");
  EXPECT_EQ(d.errors[1].code, "GPUFailure");
}

TEST(NodeState, ProcessesThatCannotBeKilledMakeItUnusableOnlyWhileTheirTaskIsNotFinal) {
  NodeCondition c;
  const JobError stuck{"ProcessesNotKilled", "2 processes survived SIGKILL", {}};
  auto d = decide_node_state(c, {task("t1", "terminating", {stuck})});
  EXPECT_EQ(d.state, "unusable");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code, "JobProcessesNotKilled");
  EXPECT_EQ(d.errors[0].message, "task t1: 2 processes survived SIGKILL");
  ASSERT_EQ(d.errors[0].details.size(), 1u);
  EXPECT_EQ(d.errors[0].details[0].name, "taskId");
  EXPECT_EQ(d.errors[0].details[0].value, "t1");
  // Once the task is final its processes are gone: the node is usable again.
  EXPECT_EQ(decide_node_state(c, {task("t1", "failed", {stuck})}).state, "idle");
  // Other errors of a running task say nothing about the node.
  EXPECT_EQ(decide_node_state(c, {task("t1", "running", {{"JobFailed", "exit 1", {}}})}).state,
            "running");
}

TEST(NodeReport, CarriesTheBootIdTheDecisionAndEveryTask) {
  NodeCondition c;
  c.gpu_errors = {{"GPUFailure", "ECC", {}}};
  auto r = assemble_node_report("boot-1", c, {task("t1", "running"), task("t2", "succeeded")});
  EXPECT_EQ(r.boot_id, "boot-1");
  EXPECT_EQ(r.node_state, "unusable");
  ASSERT_EQ(r.errors.size(), 1u);
  ASSERT_EQ(r.tasks.size(), 2u);
  EXPECT_EQ(r.tasks[1].task_id, "t2");
  EXPECT_EQ(r.sequence, 0);  // the reporter numbers what it sends
  EXPECT_TRUE(r.facts.is_null());
}

}  // namespace
}  // namespace batchai
