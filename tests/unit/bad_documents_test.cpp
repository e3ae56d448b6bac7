// The corpus of bad job documents in tests/data/bad: for each NAME.json, NAME.expected holds the
// exact error lines ("path: message", as Diagnostics::render prints them) the parser must give.
// Every expected line must be among the errors, and there must be no other error.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "jobspec/job_parser.hpp"

namespace batchai {
namespace {

const std::string kBadDir = std::string(TEST_DATA_DIR) + "/bad";

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// NAME for every NAME.json in the corpus, sorted.
std::vector<std::string> corpus_names() {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(kBadDir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string file = e->d_name;
      if (file.size() > 5 && file.ends_with(".json"))
        names.push_back(file.substr(0, file.size() - 5));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Checks the parser's errors for text against the expected lines.
void expect_errors(const std::string& text, const std::vector<std::string>& expected) {
  ParsedJob parsed = parse_job_document(text);
  const std::string rendered = Diagnostics::render(parsed.diagnostics.errors());
  const std::vector<std::string> actual = lines_of(rendered);
  ASSERT_FALSE(expected.empty()) << "the .expected file is empty";
  for (const auto& line : expected) {
    EXPECT_NE(std::find(actual.begin(), actual.end(), line), actual.end())
        << "missing error line:\n  " << line << "\nactual errors:\n"
        << rendered;
  }
  EXPECT_EQ(parsed.diagnostics.errors().size(), expected.size()) << "actual errors:\n" << rendered;
}

TEST(BadDocumentCorpus, IsLargeAndEveryDocumentHasItsExpectedLines) {
  const auto names = corpus_names();
  EXPECT_GE(names.size(), 30u) << "corpus directory: " << kBadDir;
  for (const auto& name : names) {
    std::ifstream f(kBadDir + "/" + name + ".expected");
    EXPECT_TRUE(f.good()) << name << ".json has no " << name << ".expected";
  }
}

class BadDocument : public ::testing::TestWithParam<std::string> {};

TEST_P(BadDocument, GivesExactlyTheExpectedErrors) {
  const std::string name = GetParam();
  SCOPED_TRACE(kBadDir + "/" + name + ".json");
  const std::string text = read_text(kBadDir + "/" + name + ".json");
  ASSERT_FALSE(text.empty());
  expect_errors(text, lines_of(read_text(kBadDir + "/" + name + ".expected")));
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadDocument, ::testing::ValuesIn(corpus_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string id = info.param;
                           for (char& c : id) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return id;
                         });

// Generated here rather than committed: documents too big or with raw bytes.

const std::string kSmallValidDocument = R"({
  "nodeCount": 1,
  "customToolkitSettings": {"commandLine": "echo hi"},
  "stdOutErrPathPrefix": "/logs"
})";

TEST(BadDocumentGenerated, OverTheSizeLimit) {
  std::string text = kSmallValidDocument;
  text.insert(1, std::string(kMaxJobDocumentBytes - text.size() + 1, ' '));
  ASSERT_EQ(text.size(), kMaxJobDocumentBytes + 1);
  expect_errors(text, {"the document is 4194305 bytes, more than the limit of 4194304"});
}

TEST(BadDocumentGenerated, ExactlyAtTheSizeLimitIsFine) {
  std::string text = kSmallValidDocument;
  text.insert(1, std::string(kMaxJobDocumentBytes - text.size(), ' '));
  ASSERT_EQ(text.size(), kMaxJobDocumentBytes);
  ParsedJob parsed = parse_job_document(text);
  EXPECT_FALSE(parsed.diagnostics.has_errors()) << Diagnostics::render(parsed.diagnostics.errors());
}

TEST(BadDocumentGenerated, ARawNulByte) {
  std::string text = kSmallValidDocument;
  text.insert(text.find("echo") + 4, std::string(1, '\0'));
  expect_errors(text, {"the document contains a NUL byte"});
}

TEST(BadDocumentGenerated, EscapedNulsAreFoundAnywhere) {
  const std::string text = R"({
    "nodeCount": 1,
    "customToolkitSettings": {"commandLine": "echo hi"},
    "stdOutErrPathPrefix": "/logs",
    "environmentVariables": [{"name": "A", "value": "x\u0000y"}],
    "mountVolumes": {"unmanagedFileSystems": [
      {"mountCommand": "mount\u0000", "relativeMountPath": "m"}]}
  })";
  expect_errors(text, {"properties.environmentVariables[0].value: contains a NUL character",
                       "properties.mountVolumes.unmanagedFileSystems[0].mountCommand: contains "
                       "a NUL character"});
}

TEST(BadDocumentGenerated, EmptyText) {
  ParsedJob parsed = parse_job_document("");
  ASSERT_EQ(parsed.diagnostics.errors().size(), 1u);
  EXPECT_TRUE(parsed.diagnostics.errors()[0].message.starts_with("not valid JSON: "))
      << parsed.diagnostics.errors()[0].message;
}

}  // namespace
}  // namespace batchai
