// The job document parser on good documents: both forms, both API versions, defaults, and
// every field reaching JobSpec. Bad documents are in bad_documents_test.cpp.
#include "jobspec/job_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace batchai {
namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

std::string errors_of(const ParsedJob& p) {
  return Diagnostics::render(p.diagnostics.errors());
}
std::string warnings_of(const ParsedJob& p) {
  return Diagnostics::render(p.diagnostics.warnings());
}

// Parses text and expects neither errors nor warnings.
JobSpec parse_clean(const std::string& text) {
  ParsedJob p = parse_job_document(text);
  EXPECT_FALSE(p.diagnostics.has_errors()) << errors_of(p);
  EXPECT_TRUE(p.diagnostics.warnings().empty()) << warnings_of(p);
  return p.spec;
}

std::set<std::string> paths_of(const std::vector<Diagnostic>& list) {
  std::set<std::string> out;
  for (const auto& d : list) out.insert(d.path);
  return out;
}

// The seeds' job.json (the CNTK quickstart), with the storage account details filled in as the
// CLI does from --storage-account-name before it sends the job.
const char* const kSeedBody = R"({
    "nodeCount": 1,
    "cntkSettings": {
        "pythonScriptFilePath": "$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/cntk/ConvNet_MNIST.py",
        "commandLineArgs": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data/mnist_cntk $AZ_BATCHAI_OUTPUT_MODEL"
    },
    "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
    "outputDirectories": [{
        "id": "MODEL",
        "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs"
    }],
    "mountVolumes": {
        "azureFileShares": [
            {
                "accountName": "quickstartstore",
                "credentials": {"accountKey": "a2V5MQ=="},
                "azureFileUrl": "https://quickstartstore.file.core.windows.net/logs",
                "relativeMountPath": "logs"
            },
            {
                "accountName": "quickstartstore",
                "credentials": {"accountKey": "a2V5MQ=="},
                "azureFileUrl": "https://quickstartstore.file.core.windows.net/scripts",
                "relativeMountPath": "scripts"
            }
        ],
        "azureBlobFileSystems": [
            {
                "accountName": "quickstartstore",
                "credentials": {"accountKey": "a2V5MQ=="},
                "containerName": "data",
                "relativeMountPath": "data"
            }
        ]
    }
})";

void expect_seed_spec(const JobSpec& s) {
  EXPECT_EQ(s.node_count, 1);
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCntk);
  EXPECT_FALSE(s.toolkit.brainscript);
  EXPECT_EQ(s.toolkit.python_script, "$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/cntk/ConvNet_MNIST.py");
  EXPECT_EQ(s.toolkit.command_line_args,
            "$AZ_BATCHAI_JOB_MOUNT_ROOT/data/mnist_cntk $AZ_BATCHAI_OUTPUT_MODEL");
  EXPECT_EQ(s.toolkit.process_count, 1);
  EXPECT_EQ(s.std_out_err_path_prefix, "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs");
  ASSERT_EQ(s.output_directories.size(), 1u);
  EXPECT_EQ(s.output_directories[0].id, "MODEL");
  EXPECT_EQ(s.output_directories[0].path_prefix, "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs");
  EXPECT_FALSE(s.output_directories[0].path_suffix.has_value());
  EXPECT_TRUE(s.output_directories[0].create_new);
  ASSERT_EQ(s.mount_volumes.size(), 3u);
  EXPECT_EQ(s.mount_volumes[0].kind, VolumeKind::kAzureFileShare);
  EXPECT_EQ(s.mount_volumes[0].relative_mount_path, "logs");
  EXPECT_EQ(s.mount_volumes[1].relative_mount_path, "scripts");
  EXPECT_EQ(s.mount_volumes[2].kind, VolumeKind::kAzureBlob);
  EXPECT_EQ(s.mount_volumes[2].container_name, "data");
  EXPECT_EQ(s.max_wall_clock_ms, 7 * kDayMs);
  EXPECT_FALSE(s.container.has_value());
  EXPECT_FALSE(s.job_preparation.has_value());
}

TEST(JobParser, SeedFormParses) {
  const std::string text = std::string(R"({
    "$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-03-01/cntk.json",
    "properties": )") + kSeedBody +
                           "}";
  JobSpec s = parse_clean(text);
  EXPECT_EQ(s.api_version, ApiVersion::k2018_03_01);
  expect_seed_spec(s);
}

TEST(JobParser, BareFormParses) {
  JobSpec s = parse_clean(kSeedBody);
  EXPECT_EQ(s.api_version, ApiVersion::k2018_05_01);  // nothing says otherwise
  expect_seed_spec(s);
}

TEST(JobParser, DigitsExampleParsesWithoutErrorsOrWarnings) {
  std::ifstream f(std::string(EXAMPLES_DIR) + "/digits/job.json");
  ASSERT_TRUE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  JobSpec s = parse_clean(ss.str());
  EXPECT_EQ(s.api_version, ApiVersion::k2018_05_01);
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCustomToolkit);
  EXPECT_NE(s.toolkit.command_line.find("digits_mlp.py"), std::string::npos);
  EXPECT_EQ(s.max_wall_clock_ms, 10 * 60 * 1000);
  ASSERT_EQ(s.output_directories.size(), 1u);
  EXPECT_EQ(s.output_directories[0].id, "MODEL");
  ASSERT_EQ(s.mount_volumes.size(), 2u);
  EXPECT_EQ(s.mount_volumes[0].kind, VolumeKind::kUnmanaged);
  EXPECT_EQ(s.mount_volumes[0].mount_command, "mount --bind -o ro $DEMO_DIR/scripts");
  EXPECT_EQ(s.mount_volumes[0].json_path, "properties.mountVolumes.unmanagedFileSystems[0]");
  EXPECT_EQ(s.mount_volumes[1].relative_mount_path, "data");
}

// A minimal valid body to which tests add fields.
std::string body(
    const std::string& extra = "",
    const std::string& toolkit = R"("customToolkitSettings": {"commandLine": "true"})") {
  return R"({"nodeCount": 1, "stdOutErrPathPrefix": "/logs", )" + toolkit +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string with_schema(const std::string& version, const std::string& props) {
  return R"({"$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/)" +
         version + R"(/job.json", "properties": )" + props + "}";
}

TEST(JobParser, ApiVersionFromSchema) {
  EXPECT_EQ(parse_clean(with_schema("2018-05-01", body())).api_version, ApiVersion::k2018_05_01);
  EXPECT_EQ(parse_clean(with_schema("2018-03-01", body())).api_version, ApiVersion::k2018_03_01);
  EXPECT_EQ(to_string(ApiVersion::k2018_03_01), "2018-03-01");
  EXPECT_EQ(to_string(ApiVersion::k2018_05_01), "2018-05-01");
}

TEST(JobParser, SchemaInTheBareFormCounts) {
  const std::string text =
      R"({"$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-03-01/job.json",
          "nodeCount": 1, "stdOutErrPathPrefix": "/logs",
          "customToolkitSettings": {"commandLine": "true"}})";
  EXPECT_EQ(parse_clean(text).api_version, ApiVersion::k2018_03_01);
}

TEST(JobParser, ApiVersionInferredForTheBareForm) {
  EXPECT_EQ(parse_clean(body()).api_version, ApiVersion::k2018_05_01);
  EXPECT_EQ(parse_clean(body(R"("schedulingPriority": "high")")).api_version,
            ApiVersion::k2018_05_01);
  EXPECT_EQ(parse_clean(body(R"("experimentName": "e1")")).api_version, ApiVersion::k2018_03_01);
  EXPECT_EQ(parse_clean(body(R"("priority": 10)")).api_version, ApiVersion::k2018_03_01);
  EXPECT_EQ(
      parse_clean(
          body(R"("outputDirectories": [{"id": "M", "pathPrefix": "/o", "createNew": true}])"))
          .api_version,
      ApiVersion::k2018_03_01);
  EXPECT_EQ(parse_clean(body("", R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py"})"))
                .api_version,
            ApiVersion::k2018_05_01);
}

TEST(JobParser, OutputTypeAndCreateNewAcceptedIn20180301) {
  const std::string outputs = R"("outputDirectories": [
      {"id": "MODEL", "pathPrefix": "/o", "pathSuffix": "models", "type": "model, Logs", "createNew": false},
      {"id": "LOGS", "pathPrefix": "/l", "type": "custom"}])";
  JobSpec s = parse_clean(with_schema("2018-03-01", body(outputs)));
  ASSERT_EQ(s.output_directories.size(), 2u);
  EXPECT_FALSE(s.output_directories[0].create_new);
  EXPECT_EQ(s.output_directories[0].path_suffix, "models");
  EXPECT_TRUE(s.output_directories[1].create_new);  // the default

  ParsedJob refused = parse_job_document(with_schema("2018-05-01", body(outputs)));
  EXPECT_EQ(errors_of(refused),
            "properties.outputDirectories[0].type: exists only in API 2018-03-01, not in "
            "2018-05-01\n"
            "properties.outputDirectories[0].createNew: exists only in API 2018-03-01, not in "
            "2018-05-01\n"
            "properties.outputDirectories[1].type: exists only in API 2018-03-01, not in "
            "2018-05-01\n");
}

TEST(JobParser, NewToolkitsRefusedIn20180301) {
  for (const std::string toolkit : {R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py"})",
                                    R"("customMpiSettings": {"commandLine": "hostname"})"}) {
    SCOPED_TRACE(toolkit);
    ParsedJob p = parse_job_document(with_schema("2018-03-01", body("", toolkit)));
    ASSERT_EQ(p.diagnostics.errors().size(), 1u) << errors_of(p);
    EXPECT_EQ(p.diagnostics.errors()[0].message,
              "exists only in API 2018-05-01, not in 2018-03-01");
    EXPECT_TRUE(p.diagnostics.errors()[0].path == "properties.horovodSettings" ||
                p.diagnostics.errors()[0].path == "properties.customMpiSettings");
    // The same document is fine in 2018-05-01.
    EXPECT_FALSE(
        parse_job_document(with_schema("2018-05-01", body("", toolkit))).diagnostics.has_errors());
  }
}

// What `az batchai job show -o json` prints: the properties flattened next to the resource's
// id, name and type, with every absent field as null, read-only fields, and timedelta strings.
// Users copy it back into job files.
const char* const kCliOutput = R"({
  "caffe2Settings": null,
  "caffeSettings": null,
  "chainerSettings": null,
  "cluster": {
    "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batchai.quickstart/providers/Microsoft.BatchAI/workspaces/quickstart/clusters/nc6",
    "resourceGroup": "batchai.quickstart"
  },
  "cntkSettings": {
    "commandLineArgs": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data/mnist_cntk $AZ_BATCHAI_OUTPUT_MODEL",
    "configFilePath": null,
    "languageType": "Python",
    "processCount": 1,
    "pythonInterpreterPath": null,
    "pythonScriptFilePath": "$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/cntk/ConvNet_MNIST.py"
  },
  "constraints": {
    "maxWallClockTime": "7 days, 0:00:00"
  },
  "containerSettings": null,
  "creationTime": "2018-06-14T22:22:59.838000+00:00",
  "customMpiSettings": null,
  "customToolkitSettings": null,
  "environmentVariables": null,
  "executionInfo": {
    "endTime": "2018-06-14T22:26:48.710000+00:00",
    "errors": null,
    "exitCode": 0,
    "startTime": "2018-06-14T22:23:12.412000+00:00"
  },
  "executionState": "succeeded",
  "executionStateTransitionTime": "2018-06-14T22:26:48.710000+00:00",
  "horovodSettings": null,
  "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batchai.quickstart/providers/Microsoft.BatchAI/workspaces/quickstart/experiments/quickstart/jobs/cntk_python_1",
  "inputDirectories": null,
  "jobOutputDirectoryPathSegment": "00000000-0000-0000-0000-000000000000/batchai.quickstart/workspaces/quickstart/experiments/quickstart/jobs/cntk_python_1/0b0e7f0c-0000-0000-0000-000000000000",
  "jobPreparation": null,
  "mountVolumes": {
    "azureBlobFileSystems": [
      {
        "accountName": "quickstartstore",
        "containerName": "data",
        "credentials": {"accountKey": "a2V5MQ==", "accountKeySecretReference": null},
        "mountOptions": null,
        "relativeMountPath": "data"
      }
    ],
    "azureFileShares": [
      {
        "accountName": "quickstartstore",
        "azureFileUrl": "https://quickstartstore.file.core.windows.net/logs",
        "credentials": {"accountKey": "a2V5MQ==", "accountKeySecretReference": null},
        "directoryMode": "0777",
        "fileMode": "0777",
        "relativeMountPath": "logs"
      }
    ],
    "fileServers": null,
    "unmanagedFileSystems": null
  },
  "name": "cntk_python_1",
  "nodeCount": 1,
  "outputDirectories": [
    {"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs", "pathSuffix": null}
  ],
  "provisioningState": "succeeded",
  "provisioningStateTransitionTime": "2018-06-14T22:22:59.838000+00:00",
  "pyTorchSettings": null,
  "resourceGroup": "batchai.quickstart",
  "schedulingPriority": "normal",
  "secrets": null,
  "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
  "tensorFlowSettings": null,
  "toolType": "cntk",
  "type": "Microsoft.BatchAI/workspaces/experiments/jobs"
})";

TEST(JobParser, NullFieldsCountAsAbsent) {
  ParsedJob p = parse_job_document(kCliOutput);
  ASSERT_FALSE(p.diagnostics.has_errors()) << errors_of(p);
  const JobSpec& s = p.spec;
  EXPECT_EQ(s.api_version, ApiVersion::k2018_05_01);
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCntk);  // not "more than one toolkit"
  EXPECT_FALSE(s.toolkit.python_interpreter.has_value());
  EXPECT_FALSE(s.toolkit.config_file.has_value());
  EXPECT_FALSE(s.container.has_value());
  EXPECT_FALSE(s.job_preparation.has_value());
  EXPECT_TRUE(s.environment_variables.empty());
  EXPECT_TRUE(s.secrets.empty());
  EXPECT_TRUE(s.input_directories.empty());
  EXPECT_EQ(s.max_wall_clock_ms, 7 * kDayMs);
  ASSERT_EQ(s.output_directories.size(), 1u);
  EXPECT_FALSE(s.output_directories[0].path_suffix.has_value());
  ASSERT_EQ(s.mount_volumes.size(), 2u);
  EXPECT_EQ(s.mount_volumes[0].kind, VolumeKind::kAzureFileShare);
  EXPECT_EQ(s.mount_volumes[1].kind, VolumeKind::kAzureBlob);
  EXPECT_FALSE(s.mount_volumes[1].mount_options.has_value());

  // Read-only fields are unknown to a job document: warnings, each with its path. No null field
  // is among them.
  const std::set<std::string> expected = {"properties.creationTime",
                                          "properties.executionInfo",
                                          "properties.executionState",
                                          "properties.executionStateTransitionTime",
                                          "properties.id",
                                          "properties.jobOutputDirectoryPathSegment",
                                          "properties.name",
                                          "properties.provisioningState",
                                          "properties.provisioningStateTransitionTime",
                                          "properties.resourceGroup",
                                          "properties.toolType",
                                          "properties.type"};
  EXPECT_EQ(paths_of(p.diagnostics.warnings()), expected) << warnings_of(p);
  for (const auto& w : p.diagnostics.warnings()) EXPECT_EQ(w.message, "unknown field, ignored");
}

TEST(JobParser, NullToolkitNextToARealOneIsNotASecondToolkit) {
  JobSpec s = parse_clean(body(R"("pyTorchSettings": null, "tensorFlowSettings": null)"));
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCustomToolkit);
  EXPECT_EQ(s.toolkit.command_line, "true");
}

TEST(JobParser, NullRequiredFieldIsMissing) {
  ParsedJob p = parse_job_document(
      R"({"nodeCount": 1, "stdOutErrPathPrefix": null, "customToolkitSettings": {"commandLine": "x"},
          "jobPreparation": {"commandLine": null}})");
  EXPECT_EQ(errors_of(p),
            "properties.stdOutErrPathPrefix: is required\n"
            "properties.jobPreparation.commandLine: is required\n");
}

TEST(JobParser, UnknownFieldsAreWarningsWithPathsNotErrors) {
  const std::string text = R"({
    "$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json",
    "name": "job1", "id": "/x", "type": "t", "location": "eastus", "tags": {"a": "b"},
    "comment": "top-level",
    "properties": {
      "nodeCount": 1,
      "stdOutErrPathPrefix": "/logs",
      "customToolkitSettings": {"commandLine": "true", "shell": "zsh"},
      "outputDirectories": [{"id": "M", "pathPrefix": "/o", "pathSufix": "typo"}],
      "constraints": {"maxWallClockTime": "PT1H", "maxRetries": 3},
      "mountVolumes": {
        "unmanagedFileSystems": [{"mountCommand": "true", "relativeMountPath": "m", "opts": 1}],
        "nfs": []
      },
      "cluster": {"id": "/subscriptions/x/clusters/c"},
      "nodCount": 2
    }
  })";
  ParsedJob p = parse_job_document(text);
  EXPECT_FALSE(p.diagnostics.has_errors()) << errors_of(p);
  const std::set<std::string> expected = {"comment",
                                          "properties.customToolkitSettings.shell",
                                          "properties.outputDirectories[0].pathSufix",
                                          "properties.constraints.maxRetries",
                                          "properties.mountVolumes.unmanagedFileSystems[0].opts",
                                          "properties.mountVolumes.nfs",
                                          "properties.nodCount"};
  EXPECT_EQ(paths_of(p.diagnostics.warnings()), expected) << warnings_of(p);
  EXPECT_EQ(p.diagnostics.warnings().size(), expected.size());
  EXPECT_EQ(p.spec.max_wall_clock_ms, 3600 * 1000);
}

TEST(JobParser, Defaults) {
  JobSpec s = parse_clean(body());
  EXPECT_EQ(s.max_wall_clock_ms, 7 * kDayMs);
  EXPECT_FALSE(s.container.has_value());
  EXPECT_TRUE(s.mount_volumes.empty());

  const std::string four = R"({"nodeCount": 4, "stdOutErrPathPrefix": "/logs", )";
  for (const std::string toolkit : {R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py"})",
                                    R"("chainerSettings": {"pythonScriptFilePath": "/s/t.py"})",
                                    R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py"})",
                                    R"("cntkSettings": {"pythonScriptFilePath": "/s/t.py"})",
                                    R"("caffeSettings": {"configFilePath": "/s/solver.prototxt"})",
                                    R"("customMpiSettings": {"commandLine": "hostname"})"}) {
    SCOPED_TRACE(toolkit);
    JobSpec t = parse_clean(four + toolkit + "}");
    EXPECT_EQ(t.node_count, 4);
    EXPECT_EQ(t.toolkit.process_count, 4);  // processCount defaults to nodeCount
  }

  JobSpec tf = parse_clean(four + R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py"}})");
  EXPECT_EQ(tf.toolkit.worker_count, 4);  // workerCount defaults to nodeCount
  EXPECT_EQ(tf.toolkit.parameter_server_count, 0);
  EXPECT_FALSE(tf.toolkit.master_args.has_value());
  EXPECT_EQ(tf.toolkit.worker_args, "");

  JobSpec cntk = parse_clean(body("", R"("cntkSettings": {"pythonScriptFilePath": "/s/t.py"})"));
  EXPECT_FALSE(cntk.toolkit.brainscript);  // languageType defaults to Python

  JobSpec out = parse_clean(body(R"("outputDirectories": [{"id": "M", "pathPrefix": "/o"}])"));
  EXPECT_TRUE(out.output_directories[0].create_new);
}

TEST(JobParser, ExplicitCountsOverrideDefaults) {
  JobSpec s = parse_clean(R"({"nodeCount": 2, "stdOutErrPathPrefix": "/l",
      "pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 8}})");
  EXPECT_EQ(s.toolkit.process_count, 8);
  JobSpec tf = parse_clean(R"({"nodeCount": 2, "stdOutErrPathPrefix": "/l",
      "tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py", "workerCount": 3,
                             "parameterServerCount": 1}})");
  EXPECT_EQ(tf.toolkit.worker_count, 3);
  EXPECT_EQ(tf.toolkit.parameter_server_count, 1);
}

TEST(JobParser, MaxWallClockTimeFormats) {
  EXPECT_EQ(
      parse_clean(body(R"("constraints": {"maxWallClockTime": "PT1H30M"})")).max_wall_clock_ms,
      90 * 60 * 1000);
  EXPECT_EQ(
      parse_clean(body(R"("constraints": {"maxWallClockTime": "1.00:00:00"})")).max_wall_clock_ms,
      kDayMs);
  EXPECT_EQ(parse_clean(body(R"("constraints": {})")).max_wall_clock_ms, 7 * kDayMs);
}

// Every toolkit with every field it has.

JobSpec parse_toolkit(const std::string& toolkit) {
  return parse_clean(with_schema("2018-05-01", body("", toolkit)));
}

TEST(JobParserToolkits, CustomToolkit) {
  JobSpec s = parse_toolkit(R"("customToolkitSettings": {"commandLine": "echo $HOME > x"})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCustomToolkit);
  EXPECT_EQ(s.toolkit.command_line, "echo $HOME > x");
}

TEST(JobParserToolkits, CustomMpi) {
  JobSpec s =
      parse_toolkit(R"("customMpiSettings": {"commandLine": "hostname", "processCount": 3})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCustomMpi);
  EXPECT_EQ(s.toolkit.command_line, "hostname");
  EXPECT_EQ(s.toolkit.process_count, 3);
}

TEST(JobParserToolkits, PyTorch) {
  JobSpec s = parse_toolkit(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/opt/py/bin/python", "commandLineArgs": "--epochs 2",
      "processCount": 2, "communicationBackend": "gloo"})");
  const auto& t = s.toolkit;
  EXPECT_EQ(t.kind, Toolkit::kPyTorch);
  EXPECT_EQ(t.python_script, "/s/t.py");
  EXPECT_EQ(t.python_interpreter, "/opt/py/bin/python");
  EXPECT_EQ(t.command_line_args, "--epochs 2");
  EXPECT_EQ(t.process_count, 2);
  EXPECT_EQ(t.communication_backend, "gloo");
}

TEST(JobParserToolkits, TensorFlow) {
  JobSpec s = parse_toolkit(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/usr/bin/python3", "masterCommandLineArgs": "--m",
      "workerCommandLineArgs": "--w", "parameterServerCommandLineArgs": "--p",
      "workerCount": 2, "parameterServerCount": 1})");
  const auto& t = s.toolkit;
  EXPECT_EQ(t.kind, Toolkit::kTensorFlow);
  EXPECT_EQ(t.python_script, "/s/t.py");
  EXPECT_EQ(t.python_interpreter, "/usr/bin/python3");
  EXPECT_EQ(t.master_args, "--m");
  EXPECT_EQ(t.worker_args, "--w");
  EXPECT_EQ(t.parameter_server_args, "--p");
  EXPECT_EQ(t.worker_count, 2);
  EXPECT_EQ(t.parameter_server_count, 1);
}

TEST(JobParserToolkits, CntkPython) {
  JobSpec s = parse_toolkit(R"("cntkSettings": {"languageType": "Python",
      "pythonScriptFilePath": "/s/t.py", "pythonInterpreterPath": "/p", "commandLineArgs": "a b",
      "processCount": 1})");
  const auto& t = s.toolkit;
  EXPECT_EQ(t.kind, Toolkit::kCntk);
  EXPECT_FALSE(t.brainscript);
  EXPECT_EQ(t.python_script, "/s/t.py");
  EXPECT_EQ(t.python_interpreter, "/p");
  EXPECT_EQ(t.command_line_args, "a b");
  EXPECT_FALSE(t.config_file.has_value());
}

TEST(JobParserToolkits, CntkBrainScript) {
  JobSpec s = parse_toolkit(R"("cntkSettings": {"languageType": "BrainScript",
      "configFilePath": "/s/a.cntk", "commandLineArgs": "x=1", "processCount": 2})");
  const auto& t = s.toolkit;
  EXPECT_TRUE(t.brainscript);
  EXPECT_EQ(t.config_file, "/s/a.cntk");
  EXPECT_EQ(t.command_line_args, "x=1");
  EXPECT_EQ(t.process_count, 2);
  EXPECT_FALSE(t.python_script.has_value());
}

TEST(JobParserToolkits, CaffeWithSolver) {
  JobSpec s = parse_toolkit(R"("caffeSettings": {"configFilePath": "/s/solver.prototxt",
      "commandLineArgs": "-gpu all", "processCount": 1})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCaffe);
  EXPECT_EQ(s.toolkit.config_file, "/s/solver.prototxt");
  EXPECT_EQ(s.toolkit.command_line_args, "-gpu all");
  EXPECT_FALSE(s.toolkit.python_script.has_value());
}

TEST(JobParserToolkits, CaffeWithPython) {
  JobSpec s = parse_toolkit(R"("caffeSettings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/p", "commandLineArgs": "-x"})");
  EXPECT_EQ(s.toolkit.python_script, "/s/t.py");
  EXPECT_EQ(s.toolkit.python_interpreter, "/p");
  EXPECT_FALSE(s.toolkit.config_file.has_value());
}

TEST(JobParserToolkits, Caffe2) {
  JobSpec s = parse_toolkit(R"("caffe2Settings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/p", "commandLineArgs": "--c2"})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kCaffe2);
  EXPECT_EQ(s.toolkit.python_script, "/s/t.py");
  EXPECT_EQ(s.toolkit.python_interpreter, "/p");
  EXPECT_EQ(s.toolkit.command_line_args, "--c2");
}

TEST(JobParserToolkits, Chainer) {
  JobSpec s = parse_toolkit(R"("chainerSettings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/p", "commandLineArgs": "--ch", "processCount": 2})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kChainer);
  EXPECT_EQ(s.toolkit.python_script, "/s/t.py");
  EXPECT_EQ(s.toolkit.python_interpreter, "/p");
  EXPECT_EQ(s.toolkit.command_line_args, "--ch");
  EXPECT_EQ(s.toolkit.process_count, 2);
}

TEST(JobParserToolkits, Horovod) {
  JobSpec s = parse_toolkit(R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py",
      "pythonInterpreterPath": "/p", "commandLineArgs": "--hv", "processCount": 4})");
  EXPECT_EQ(s.toolkit.kind, Toolkit::kHorovod);
  EXPECT_EQ(s.toolkit.python_script, "/s/t.py");
  EXPECT_EQ(s.toolkit.python_interpreter, "/p");
  EXPECT_EQ(s.toolkit.command_line_args, "--hv");
  EXPECT_EQ(s.toolkit.process_count, 4);
}

TEST(JobParserToolkits, SettingsFieldNames) {
  EXPECT_EQ(settings_field(Toolkit::kCntk), "cntkSettings");
  EXPECT_EQ(settings_field(Toolkit::kPyTorch), "pyTorchSettings");
  EXPECT_EQ(settings_field(Toolkit::kTensorFlow), "tensorFlowSettings");
  EXPECT_EQ(settings_field(Toolkit::kCaffe), "caffeSettings");
  EXPECT_EQ(settings_field(Toolkit::kCaffe2), "caffe2Settings");
  EXPECT_EQ(settings_field(Toolkit::kChainer), "chainerSettings");
  EXPECT_EQ(settings_field(Toolkit::kCustomToolkit), "customToolkitSettings");
  EXPECT_EQ(settings_field(Toolkit::kCustomMpi), "customMpiSettings");
  EXPECT_EQ(settings_field(Toolkit::kHorovod), "horovodSettings");
}

TEST(JobParser, OtherFieldsLandInJobSpec) {
  JobSpec s = parse_clean(with_schema("2018-05-01", body(R"(
      "schedulingPriority": "low",
      "jobPreparation": {"commandLine": "apt-get install -y jq"},
      "inputDirectories": [{"id": "DATA", "path": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data"}],
      "outputDirectories": [{"id": "MODEL_2", "pathPrefix": "/o", "pathSuffix": "m/v1"}],
      "environmentVariables": [{"name": "EPOCHS", "value": "3"}, {"name": "_x", "value": ""}],
      "secrets": [{"name": "TOKEN", "value": "t0k"}],
      "containerSettings": {
        "imageSourceRegistry": {"serverUrl": "me.azurecr.io", "image": "me.azurecr.io/train:1.0",
                                "credentials": {"username": "me", "password": "pw"}},
        "shmSize": "16gb"},
      "constraints": {"maxWallClockTime": "P1D"})")));
  EXPECT_EQ(s.job_preparation, "apt-get install -y jq");
  ASSERT_EQ(s.input_directories.size(), 1u);
  EXPECT_EQ(s.input_directories[0].id, "DATA");
  EXPECT_EQ(s.input_directories[0].path, "$AZ_BATCHAI_JOB_MOUNT_ROOT/data");
  ASSERT_EQ(s.output_directories.size(), 1u);
  EXPECT_EQ(s.output_directories[0].id, "MODEL_2");
  EXPECT_EQ(s.output_directories[0].path_suffix, "m/v1");
  ASSERT_EQ(s.environment_variables.size(), 2u);
  EXPECT_EQ(s.environment_variables[0].name, "EPOCHS");
  EXPECT_EQ(s.environment_variables[0].value, "3");
  EXPECT_EQ(s.environment_variables[1].value, "");
  ASSERT_EQ(s.secrets.size(), 1u);
  EXPECT_EQ(s.secrets[0].name, "TOKEN");
  EXPECT_EQ(s.secrets[0].value, "t0k");
  ASSERT_TRUE(s.container.has_value());
  EXPECT_EQ(s.container->image, "me.azurecr.io/train:1.0");
  EXPECT_EQ(s.container->server_url, "me.azurecr.io");
  EXPECT_EQ(s.container->username, "me");
  EXPECT_EQ(s.container->password, "pw");
  EXPECT_EQ(s.container->shm_size_bytes, 16LL << 30);
  EXPECT_EQ(s.max_wall_clock_ms, kDayMs);
}

TEST(JobParser, SameIdForAnInputAndAnOutputIsFine) {
  // They become different variables: AZ_BATCHAI_INPUT_X and AZ_BATCHAI_OUTPUT_X.
  JobSpec s = parse_clean(body(R"("inputDirectories": [{"id": "X", "path": "/i"}],
                                  "outputDirectories": [{"id": "X", "pathPrefix": "/o"}])"));
  EXPECT_EQ(s.input_directories.size(), 1u);
  EXPECT_EQ(s.output_directories.size(), 1u);
}

// Mount volumes: all four kinds with all their fields.

TEST(JobParserVolumes, AllFourKinds) {
  JobSpec s = parse_clean(body(R"("mountVolumes": {
      "azureFileShares": [{"accountName": "acct", "azureFileUrl": "https://acct.file.core.windows.net/share",
                           "credentials": {"accountKey": "a2V5"}, "relativeMountPath": "afs",
                           "fileMode": "0644", "directoryMode": "755"}],
      "azureBlobFileSystems": [{"accountName": "acct2", "containerName": "my-data",
                                "credentials": {"accountKey": "a2V5Mg=="}, "relativeMountPath": "bfs",
                                "mountOptions": "-o ro"}],
      "fileServers": [{"fileServer": {"id": "/subscriptions/x/fileservers/nfs1"},
                       "sourceDirectory": "/exports/data", "relativeMountPath": "nfs/data",
                       "mountOptions": "rw,hard"}],
      "unmanagedFileSystems": [{"mountCommand": "mount -t tmpfs -o 'size=1m' none",
                                "relativeMountPath": "tmp"}]})"));
  ASSERT_EQ(s.mount_volumes.size(), 4u);

  const MountVolume& afs = s.mount_volumes[0];
  EXPECT_EQ(afs.kind, VolumeKind::kAzureFileShare);
  EXPECT_EQ(afs.json_path, "properties.mountVolumes.azureFileShares[0]");
  EXPECT_EQ(afs.relative_mount_path, "afs");
  EXPECT_EQ(afs.account_name, "acct");
  EXPECT_EQ(afs.azure_file_url, "https://acct.file.core.windows.net/share");
  EXPECT_EQ(afs.account_key, "a2V5");
  EXPECT_EQ(afs.file_mode, "0644");
  EXPECT_EQ(afs.directory_mode, "755");

  const MountVolume& bfs = s.mount_volumes[1];
  EXPECT_EQ(bfs.kind, VolumeKind::kAzureBlob);
  EXPECT_EQ(bfs.json_path, "properties.mountVolumes.azureBlobFileSystems[0]");
  EXPECT_EQ(bfs.relative_mount_path, "bfs");
  EXPECT_EQ(bfs.account_name, "acct2");
  EXPECT_EQ(bfs.container_name, "my-data");
  EXPECT_EQ(bfs.account_key, "a2V5Mg==");
  EXPECT_EQ(bfs.mount_options, "-o ro");

  const MountVolume& nfs = s.mount_volumes[2];
  EXPECT_EQ(nfs.kind, VolumeKind::kFileServer);
  EXPECT_EQ(nfs.json_path, "properties.mountVolumes.fileServers[0]");
  EXPECT_EQ(nfs.relative_mount_path, "nfs/data");
  EXPECT_EQ(nfs.file_server_id, "/subscriptions/x/fileservers/nfs1");
  EXPECT_EQ(nfs.source_directory, "/exports/data");
  EXPECT_EQ(nfs.mount_options, "rw,hard");

  const MountVolume& um = s.mount_volumes[3];
  EXPECT_EQ(um.kind, VolumeKind::kUnmanaged);
  EXPECT_EQ(um.json_path, "properties.mountVolumes.unmanagedFileSystems[0]");
  EXPECT_EQ(um.relative_mount_path, "tmp");
  EXPECT_EQ(um.mount_command, "mount -t tmpfs -o 'size=1m' none");
}

TEST(JobParserVolumes, AzureFileModesDefaultTo0777) {
  JobSpec s = parse_clean(body(R"("mountVolumes": {"azureFileShares": [{"accountName": "acct",
      "azureFileUrl": "https://acct.file.core.windows.net/share", "credentials": {"accountKey": "a2V5"},
      "relativeMountPath": "afs"}]})"));
  ASSERT_EQ(s.mount_volumes.size(), 1u);
  EXPECT_EQ(s.mount_volumes[0].file_mode, "0777");
  EXPECT_EQ(s.mount_volumes[0].directory_mode, "0777");
}

TEST(JobParserVolumes, SiblingPathsThatShareAPrefixDoNotOverlap) {
  JobSpec s = parse_clean(body(R"("mountVolumes": {"unmanagedFileSystems": [
      {"mountCommand": "true", "relativeMountPath": "data"},
      {"mountCommand": "true", "relativeMountPath": "data2"},
      {"mountCommand": "true", "relativeMountPath": "d/ata"}]})"));
  EXPECT_EQ(s.mount_volumes.size(), 3u);
}

TEST(JobParserVolumes, FieldNames) {
  EXPECT_EQ(volume_field(VolumeKind::kAzureFileShare), "azureFileShares");
  EXPECT_EQ(volume_field(VolumeKind::kAzureBlob), "azureBlobFileSystems");
  EXPECT_EQ(volume_field(VolumeKind::kFileServer), "fileServers");
  EXPECT_EQ(volume_field(VolumeKind::kUnmanaged), "unmanagedFileSystems");
}

TEST(JobParser, AllErrorsAreReportedAtOnce) {
  ParsedJob p = parse_job_document(R"({"nodeCount": 0, "stdOutErrPathPrefix": "",
      "customToolkitSettings": {"commandLine": ""},
      "outputDirectories": [{"id": "a b", "pathPrefix": "/o"}]})");
  EXPECT_EQ(p.diagnostics.errors().size(), 4u) << errors_of(p);
  EXPECT_EQ(paths_of(p.diagnostics.errors()),
            (std::set<std::string>{"properties.nodeCount", "properties.stdOutErrPathPrefix",
                                   "properties.customToolkitSettings.commandLine",
                                   "properties.outputDirectories[0].id"}));
}

}  // namespace
}  // namespace batchai
