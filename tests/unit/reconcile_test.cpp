// Reconcile's decisions (agent/daemon/reconcile.hpp), one rule at a time.
#include "agent/daemon/reconcile.hpp"

#include <gtest/gtest.h>

namespace batchai {
namespace {

using Kind = TaskAction::Kind;

protocol::TaskAssignment assignment(const std::string& id, bool terminate = false) {
  protocol::TaskAssignment a;
  a.task_id = id;
  a.job_name = "job-" + id;
  a.terminate = terminate;
  return a;
}

protocol::DesiredState desired(std::vector<protocol::TaskAssignment> tasks) {
  protocol::DesiredState d;
  d.tasks = std::move(tasks);
  return d;
}

// "start t1", "terminate t2", ... in the decision's order.
std::vector<std::string> actions(const ReconcileDecision& d) {
  std::vector<std::string> out;
  for (const auto& a : d.actions) {
    const char* kind = a.kind == Kind::kStart        ? "start "
                       : a.kind == Kind::kNotStarted ? "not started "
                                                     : "terminate ";
    out.push_back(kind + a.task_id);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(Reconcile, StartsNewTasksAndLeavesKnownOnesAlone) {
  NodeAdmission node;
  node.final_by_task = {{"t1", false}};
  std::set<std::string> missing;
  auto d = decide_reconcile(desired({assignment("t1"), assignment("t2")}), node, missing);
  EXPECT_EQ(actions(d), (Strings{"start t2"}));
  EXPECT_EQ(d.wanted, (std::set<std::string>{"t1", "t2"}));
  EXPECT_FALSE(d.leave);
  EXPECT_FALSE(d.reconfigure);
}

TEST(Reconcile, AnUnusableNodeStartsNothingNewButKeepsWhatRuns) {
  NodeAdmission node;
  node.unusable = true;
  node.final_by_task = {{"t1", false}};
  std::set<std::string> missing;
  auto d = decide_reconcile(desired({assignment("t1"), assignment("t2")}), node, missing);
  EXPECT_EQ(actions(d), (Strings{"not started t2"}));
  EXPECT_EQ(d.actions[0].why, "the node is unusable");
}

TEST(Reconcile, TerminateReachesATaskThatIsNotFinalAndOneJustStarted) {
  NodeAdmission node;
  node.final_by_task = {{"running", false}, {"ended", true}};
  std::set<std::string> missing;
  auto d = decide_reconcile(
      desired({assignment("running", true), assignment("ended", true), assignment("new", true)}),
      node, missing);
  EXPECT_EQ(actions(d), (Strings{"terminate running", "start new", "terminate new"}));
}

TEST(Reconcile, ATaskMissingFromTwoDesiredStatesInARowIsTerminated) {
  NodeAdmission node;
  node.final_by_task = {{"t1", false}, {"done", true}};
  std::set<std::string> missing;
  EXPECT_TRUE(actions(decide_reconcile(desired({}), node, missing)).empty());
  EXPECT_EQ(missing, (std::set<std::string>{"t1"}));
  // Back in the next one: the count starts again.
  EXPECT_TRUE(actions(decide_reconcile(desired({assignment("t1")}), node, missing)).empty());
  EXPECT_TRUE(missing.empty());
  EXPECT_TRUE(actions(decide_reconcile(desired({}), node, missing)).empty());
  auto d = decide_reconcile(desired({}), node, missing);
  EXPECT_EQ(actions(d), (Strings{"terminate t1"}));
  EXPECT_EQ(d.actions[0].why, "no longer wanted by the control plane");
}

TEST(Reconcile, LeavingWithRequeueOrTerminateStopsRunningTasksAndStartsNone) {
  for (const char* option : {"requeue", "terminate"}) {
    NodeAdmission node;
    node.final_by_task = {{"running", false}, {"ended", true}};
    std::set<std::string> missing;
    auto state = desired({assignment("running"), assignment("ended"), assignment("new")});
    state.leave = option;
    auto d = decide_reconcile(state, node, missing);
    ASSERT_TRUE(d.leave) << option;
    EXPECT_EQ(*d.leave, option);
    EXPECT_EQ(actions(d), (Strings{"terminate running", "not started new"})) << option;
  }
}

TEST(Reconcile, LeavingWithWaitForJobCompletionLetsTasksFinish) {
  NodeAdmission node;
  node.final_by_task = {{"running", false}};
  std::set<std::string> missing;
  auto state = desired({assignment("running"), assignment("new")});
  state.leave = "waitforjobcompletion";
  auto d = decide_reconcile(state, node, missing);
  EXPECT_EQ(actions(d), (Strings{"not started new"}));
  // Once leaving, a later desired state does not start leaving again.
  node.leaving = "waitforjobcompletion";
  EXPECT_FALSE(decide_reconcile(state, node, missing).leave);
}

TEST(Reconcile, ANewerClusterConfigurationIsSetUpOnce) {
  NodeAdmission node;
  node.cluster_config_version = 3;
  std::set<std::string> missing;
  auto state = desired({});
  state.cluster_config_version = 3;
  EXPECT_FALSE(decide_reconcile(state, node, missing).reconfigure);
  state.cluster_config_version = 4;
  EXPECT_TRUE(decide_reconcile(state, node, missing).reconfigure);
  node.reconfigure_pending = true;
  EXPECT_FALSE(decide_reconcile(state, node, missing).reconfigure);
}

}  // namespace
}  // namespace batchai
