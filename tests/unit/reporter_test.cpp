// The reporter (agent/daemon/reporter.hpp) against a fake control plane and a fake clock: what
// it sends when, its sequence numbers across restarts, its retries, node-status.json.
#include "agent/daemon/reporter.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/fs.hpp"

namespace batchai {
namespace {

using nlohmann::json;

class FakeControlPlane : public ControlPlaneChannel {
 public:
  Result<HttpResponse> request(const std::string& method, const std::string& path,
                               const std::string& body, int) override {
    requests.push_back({method, path, json::parse(body)});
    if (fail_next > 0) {
      --fail_next;
      return HttpResponse{503, "", std::nullopt};
    }
    return HttpResponse{200, "{}", std::nullopt};
  }
  struct Request {
    std::string method;
    std::string path;
    json body;
  };
  std::vector<Request> requests;
  int fail_next = 0;
};

class ReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/reporter-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    config_.state_dir = tmpl;
    config_.node_id = "node-1";
    config_.heartbeat_seconds = 60;
  }
  void TearDown() override { std::filesystem::remove_all(config_.state_dir); }

  Reporter make() {
    return Reporter(
        config_,
        [this] {
          return json{{"cores", ++facts_asked_}};
        },
        [this] { return now_; });
  }
  static protocol::NodeReport report(const std::string& state) {
    protocol::NodeReport r;
    r.boot_id = "boot";
    r.node_state = state;
    return r;
  }

  DaemonConfig config_;
  FakeControlPlane cp_;
  std::int64_t now_ = 1000;
  int facts_asked_ = 0;
};

TEST_F(ReporterTest, SendsAChangeOnceAndTheSameReportAgainOnlyAsAHeartbeat) {
  Reporter r = make();
  r.load_sequence();
  r.send_if_changed(cp_, report("idle"));
  ASSERT_EQ(cp_.requests.size(), 1u);
  EXPECT_EQ(cp_.requests[0].method, "PUT");
  EXPECT_EQ(cp_.requests[0].path, "/v1/nodes/node-1/state");
  EXPECT_EQ(cp_.requests[0].body["nodeState"], "idle");
  EXPECT_EQ(cp_.requests[0].body["facts"]["cores"], 1);
  now_ += 59 * 1000;
  r.send_if_changed(cp_, report("idle"));
  EXPECT_EQ(cp_.requests.size(), 1u) << "nothing changed and no heartbeat is due";
  r.send_if_changed(cp_, report("running"));
  ASSERT_EQ(cp_.requests.size(), 2u);
  EXPECT_EQ(cp_.requests[1].body["nodeState"], "running");
  now_ += 60 * 1000;
  r.send_if_changed(cp_, report("running"));
  ASSERT_EQ(cp_.requests.size(), 3u) << "the heartbeat";
  EXPECT_EQ(facts_asked_, 3) << "facts are gathered for what is sent only";
  EXPECT_LT(cp_.requests[1].body["sequence"].get<std::int64_t>(),
            cp_.requests[2].body["sequence"].get<std::int64_t>());
}

TEST_F(ReporterTest, RetriesAFailedReportAfterItsBackoffAndNotBefore) {
  Reporter r = make();
  cp_.fail_next = 1;
  r.send_if_changed(cp_, report("idle"));
  EXPECT_FALSE(r.acknowledged());
  r.send_if_changed(cp_, report("running"));
  EXPECT_EQ(cp_.requests.size(), 1u) << "a retry waits for its backoff";
  now_ += 121 * 1000;  // more than the longest backoff
  r.send_if_changed(cp_, report("running"));
  ASSERT_EQ(cp_.requests.size(), 2u);
  EXPECT_EQ(cp_.requests[1].body["nodeState"], "running");
  EXPECT_TRUE(r.acknowledged());
}

TEST_F(ReporterTest, AReportWaitingOutABackoffGoesOutSoonAfterAPollIsAnswered) {
  Reporter r = make();
  cp_.fail_next = 13;
  for (int i = 0; i < 12; ++i) {  // the backoff grows to its 2-minute cap
    r.send_if_changed(cp_, report("idle"));
    now_ += 121 * 1000;
  }
  r.send_if_changed(cp_, report("running"));  // fails too: now waits up to 2 minutes
  ASSERT_EQ(cp_.requests.size(), 13u);
  r.control_plane_answered(now_ + 1);  // a poll answered after the failure
  now_ += 251;                         // at most the first step's jitter later
  r.send_if_changed(cp_, report("running"));
  ASSERT_EQ(cp_.requests.size(), 14u);
  EXPECT_EQ(cp_.requests.back().body["nodeState"], "running");
  EXPECT_TRUE(r.acknowledged());
}

TEST(BackoffTest, WaitsAtMostFourSecondsWhileThePeerCannotBeReached) {
  Backoff unreachable, failing;
  std::int64_t longest_unreachable = 0, longest_failing = 0;
  for (int i = 0; i < 200; ++i) {
    longest_unreachable = std::max(longest_unreachable, unreachable.next_ms(0, true));
    longest_failing = std::max(longest_failing, failing.next_ms(0, false));
  }
  EXPECT_LE(longest_unreachable, 4000);
  EXPECT_GT(longest_failing, 4000);
  EXPECT_LE(longest_failing, 120000);
  EXPECT_EQ(unreachable.next_ms(5000, true), 5000) << "a floor (Retry-After) still holds";
}

TEST_F(ReporterTest, SequenceNumbersGrowAcrossRestartsEvenWhenASaveIsLost) {
  std::int64_t last = 0;
  {
    Reporter r = make();
    r.load_sequence();
    r.send_if_changed(cp_, report("idle"));
    last = cp_.requests.back().body["sequence"];
    auto saved = json::parse(*read_file(config_.state_dir + "/node.json", 4096));
    EXPECT_EQ(saved["sequence"], last);
  }
  Reporter again = make();
  again.load_sequence();
  again.send_if_changed(cp_, report("idle"));
  EXPECT_GE(cp_.requests.back().body["sequence"].get<std::int64_t>(), last + 1000);
}

TEST_F(ReporterTest, KeepsNodeStatusJsonForTheStatusCommandWithoutTheBootId) {
  Reporter r = make();
  cp_.fail_next = 1;  // written whether or not the control plane has it
  auto rep = report("unusable");
  rep.errors = {{"GPUFailure", "GPU 0 is gone", {}}};
  r.send_if_changed(cp_, rep);
  auto local = json::parse(*read_file(config_.state_dir + "/node-status.json", 1 << 20));
  EXPECT_EQ(local["nodeState"], "unusable");
  EXPECT_EQ(local["errors"][0]["code"], "GPUFailure");
  EXPECT_TRUE(local.contains("updated"));
  EXPECT_FALSE(local.contains("bootId"));
  EXPECT_FALSE(local.contains("sequence"));
}

}  // namespace
}  // namespace batchai
