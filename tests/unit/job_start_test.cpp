// The job-start pipeline's refusals (agent/job/job_start.hpp): a job that is refused, or a start
// interrupted before it began, changes nothing on the node. What a start does is tested
// end to end (tests/e2e, tests/daemon), as root.
#include "agent/job/job_start.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "jobspec/job_parser.hpp"

namespace batchai {
namespace {

class JobStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/job-start-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    request_.names.job = "j";
    request_.names.job_uuid = "00000000-0000-0000-0000-000000000001";
    request_.base_env = JobEnvironment::node_base();
    request_.site.root = dir_ + "/root";
    request_.state_dir = dir_ + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  bool touched() const {
    return std::filesystem::exists(request_.site.root) ||
           std::filesystem::exists(request_.state_dir);
  }

  std::string dir_;
  JobStartRequest request_;
};

const char* kJob = R"({"nodeCount": 1, "stdOutErrPathPrefix": "/tmp",
                       "customToolkitSettings": {"commandLine": "true"}})";

TEST_F(JobStartTest, ADocumentWithErrorsIsRefusedBeforeAnythingIsDone) {
  ParsedJob parsed = parse_job_document(kJob);
  ASSERT_FALSE(parsed.diagnostics.has_errors());
  parsed.diagnostics.error("--name", "is not a valid name");
  auto result = start_job(parsed.spec, parsed.diagnostics, request_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code, "InvalidJobSpec");
  ASSERT_EQ(result.error->details.size(), 1u);
  EXPECT_EQ(result.error->details[0].name, "--name");
  EXPECT_FALSE(result.job);
  EXPECT_EQ(result.supervisor, 0);
  EXPECT_FALSE(touched());
}

TEST_F(JobStartTest, APlanThatCannotBeMadeIsRefusedWithItsFields) {
  ParsedJob parsed = parse_job_document(
      R"({"nodeCount": 2, "stdOutErrPathPrefix": "$UNDEFINED_PREFIX",
          "customToolkitSettings": {"commandLine": "true"}})");
  ASSERT_FALSE(parsed.diagnostics.has_errors());
  auto result = start_job(parsed.spec, parsed.diagnostics, request_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code, "InvalidJobSpec");
  std::vector<std::string> fields;
  for (const auto& d : result.error->details) fields.push_back(d.name);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"properties.nodeCount", "properties.stdOutErrPathPrefix"}));
  EXPECT_FALSE(touched());
}

TEST_F(JobStartTest, AStartInterruptedBeforeItBeganSaysSoAndDoesNothing) {
  ParsedJob parsed = parse_job_document(kJob);
  request_.interrupted = [] { return 7; };
  auto result = start_job(parsed.spec, parsed.diagnostics, request_);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code, "JobTerminate");
  EXPECT_EQ(result.interrupted_by, 7);
  EXPECT_FALSE(touched());
}

}  // namespace
}  // namespace batchai
