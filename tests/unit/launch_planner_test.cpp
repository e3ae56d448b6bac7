// plan_job on parsed documents: the environment of reference §3, where output goes (§5), how
// each toolkit is launched (§4), and the problems found while expanding.
#include "agent/job/launch_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jobspec/job_parser.hpp"

namespace batchai {
namespace {

const std::string kUuid = "0b0e7f0c-1111-2222-3333-444455556666";
const std::string kSegment = "local/run-job/workspaces/local/experiments/local/jobs/job1/" + kUuid;
const std::string kJobMountRoot = "/tmp/x/shared/LS_root/jobs/local/local/job1/mounts";
const std::string kMountRoot = "/tmp/x/shared/LS_root/mounts";
const std::string kJobTemp = "/tmp/x/tmp/job-" + kUuid;
const std::string kSharedJobTemp = "/tmp/x/tmp/shared-" + kUuid;
const std::string kSecretValue = "v4lu3-0f-th3-s3cr3t";

PlanContext make_context(JobEnvironment base = JobEnvironment::node_base()) {
  PlanContext ctx;
  ctx.names.job = "job1";
  ctx.names.job_uuid = kUuid;
  ctx.layout = make_job_layout("/tmp/x", ctx.names);
  ctx.base_env = std::move(base);
  ctx.gpu_count = 2;
  ctx.node_ip = "10.0.0.4";
  ctx.start_wall_ms = 1'000'000;
  return ctx;
}

std::string base_path() {
  for (const auto& e : JobEnvironment::node_base().to_envp()) {
    if (e.starts_with("PATH=")) return e.substr(5);
  }
  return "";
}

std::string program_path(const std::string& name) {
  auto p = find_program(name, base_path());
  EXPECT_TRUE(p.has_value()) << name << " is not on " << base_path();
  return p.value_or("<" + name + " not found>");
}

// The value of NAME in a task's environment, if present exactly once.
std::optional<std::string> env_of(const TaskSpec& t, const std::string& name) {
  std::optional<std::string> found;
  for (const auto& e : t.env) {
    if (e.starts_with(name + "=")) {
      EXPECT_FALSE(found.has_value()) << name << " is in the environment twice";
      found = e.substr(name.size() + 1);
    }
  }
  return found;
}

JobSpec parse(const std::string& text) {
  ParsedJob p = parse_job_document(text);
  EXPECT_FALSE(p.diagnostics.has_errors()) << Diagnostics::render(p.diagnostics.errors());
  return p.spec;
}

// A bare 2018-05-01 document with the given toolkit and extra fields.
std::string doc(const std::string& toolkit, const std::string& extra = "",
                const std::string& prefix = "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs") {
  return R"({"nodeCount": 1, "stdOutErrPathPrefix": ")" + prefix + "\", " + toolkit +
         (extra.empty() ? "" : ", " + extra) + "}";
}

const std::string kSh = R"("pythonInterpreterPath": "/bin/sh")";

struct Planned {
  std::optional<PlannedJob> job;
  Diagnostics d;
  std::string errors() const { return Diagnostics::render(d.errors()); }
};

// Note: the spec is gone on return, so PlannedMount::volume must not be used on the result.
Planned plan(const std::string& text, const PlanContext& ctx = make_context()) {
  Planned out;
  JobSpec spec = parse(text);
  out.job = plan_job(spec, ctx, out.d);
  return out;
}

// Plans and expects success; returns the job step.
PlannedJob plan_ok(const std::string& text, const PlanContext& ctx = make_context()) {
  Planned p = plan(text, ctx);
  EXPECT_TRUE(p.job.has_value()) << p.errors();
  EXPECT_FALSE(p.d.has_errors()) << p.errors();
  return p.job.value_or(PlannedJob{});
}

const StepSpec& job_step(const PlannedJob& j) {
  static const StepSpec empty;
  if (j.plan.steps.empty()) {
    ADD_FAILURE() << "no steps";
    return empty;
  }
  return j.plan.steps.back();
}

// Plans and expects failure with exactly these "path: message" lines.
void expect_plan_errors(const std::string& text, const std::string& expected,
                        const PlanContext& ctx = make_context()) {
  Planned p = plan(text, ctx);
  EXPECT_FALSE(p.job.has_value());
  EXPECT_EQ(p.errors(), expected);
}

TEST(LaunchPlanner, Section3Environment) {
  const std::string text = doc(R"("customToolkitSettings": {"commandLine": "true"})", R"(
      "inputDirectories": [{"id": "DATA", "path": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data"}],
      "outputDirectories": [{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/out",
                             "pathSuffix": "models/$RUN"},
                            {"id": "LOGS", "pathPrefix": "$AZ_BATCHAI_JOB_TEMP/logs/"}],
      "environmentVariables": [{"name": "RUN", "value": "r-$AZ_BATCHAI_NUM_GPUS"}],
      "constraints": {"maxWallClockTime": "PT1H"})");
  PlannedJob j = plan_ok(text);
  const std::string stdouterr = kJobMountRoot + "/logs/" + kSegment + "/stdouterr";
  const std::string model = kMountRoot + "/out/" + kSegment + "/outputs/models/r-2";
  const std::string logs = kJobTemp + "/logs/" + kSegment + "/outputs";
  EXPECT_EQ(j.stdouterr_dir, stdouterr);
  ASSERT_EQ(j.outputs.size(), 2u);
  EXPECT_EQ(j.outputs[0].id, "MODEL");
  EXPECT_EQ(j.outputs[0].path, model);
  EXPECT_EQ(j.outputs[1].path, logs);

  const auto& step = job_step(j);
  ASSERT_EQ(step.tasks.size(), 1u);
  const TaskSpec& t = step.tasks[0];
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"AZ_BATCHAI_MOUNT_ROOT", kMountRoot},
      {"AZ_BATCHAI_JOB_MOUNT_ROOT", kJobMountRoot},
      {"AZ_BATCHAI_JOB_TEMP_DIR", "/tmp/x/tmp"},
      {"AZ_BATCHAI_JOB_TEMP", kJobTemp},
      {"AZ_BATCHAI_SHARED_JOB_TEMP", kSharedJobTemp},
      {"AZ_BATCHAI_JOB_NAME", "job1"},
      {"AZ_BATCHAI_NODE_IP", "10.0.0.4"},
      {"AZ_BATCHAI_JOB_MASTER_NODE_IP", "10.0.0.4"},
      {"AZ_BATCHAI_IS_CURRENT_NODE_MASTER", "true"},
      {"AZ_BATCH_HOST_LIST", "10.0.0.4"},
      {"AZ_BATCHAI_NUM_GPUS", "2"},
      {"AZ_BATCHAI_GPU_COUNT_FOUND", "2"},
      {"AZ_BATCHAI_MPI_HOST_FILE", kJobTemp + "/hostfile"},
      {"AZ_BATCHAI_INPUT_DATA", kJobMountRoot + "/data"},
      {"AZ_BATCHAI_OUTPUT_MODEL", model},
      {"AZ_BATCHAI_OUTPUT_LOGS", logs},
      {"AZ_BATCHAI_STDOUTERR_DIR", stdouterr},
      {"RUN", "r-2"},
      {"PYTHONUNBUFFERED", "1"},
      {"PATH", base_path()},
  };
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(env_of(t, name), value) << name;
  }
  EXPECT_EQ(t.cwd, kJobTemp);
  EXPECT_EQ(t.stdout_path, stdouterr + "/stdout.txt");
  EXPECT_EQ(t.stderr_path, stdouterr + "/stderr.txt");
  EXPECT_TRUE(t.primary);

  EXPECT_EQ(j.hostfile, kJobTemp + "/hostfile");
  EXPECT_EQ(j.hostfile_content, "10.0.0.4 slots=1\n");
  EXPECT_EQ(j.plan.job_id, kUuid);
  EXPECT_EQ(j.plan.job_name, "job1");
  EXPECT_EQ(j.plan.execution_log, stdouterr + "/execution.log");
  EXPECT_EQ(j.plan.deadline_wall_ms, 1'000'000 + 3600 * 1000);
  EXPECT_EQ(j.plan.max_wall_clock_ms, 3600 * 1000);
  ASSERT_EQ(j.plan.steps.size(), 1u);
  EXPECT_EQ(step.name, "job");
  EXPECT_EQ(step.failure_code, "JobFailed");
  // The planned environment is what the tasks get.
  EXPECT_EQ(j.env.to_envp(), t.env);
}

TEST(LaunchPlanner, GpuCountComesFromTheContext) {
  PlanContext ctx = make_context();
  ctx.gpu_count = 0;
  PlannedJob j = plan_ok(doc(R"("customToolkitSettings": {"commandLine": "true"})"), ctx);
  EXPECT_EQ(env_of(job_step(j).tasks.at(0), "AZ_BATCHAI_NUM_GPUS"), "0");
}

TEST(LaunchPlanner, OutputWithoutCreateNewIsThePrefixAsGiven) {
  const std::string text =
      R"({"$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-03-01/job.json",
          "properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
          "customToolkitSettings": {"commandLine": "true"},
          "outputDirectories": [{"id": "M", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/models", "pathSuffix": "v1", "createNew": false}]}})";
  PlannedJob j = plan_ok(text);
  ASSERT_EQ(j.outputs.size(), 1u);
  EXPECT_EQ(j.outputs[0].path, kMountRoot + "/models/v1");
}

TEST(LaunchPlanner, CustomToolkitRunsBashWithTheCommandLineUnexpanded) {
  const std::string command =
      "python3 $AZ_BATCHAI_JOB_MOUNT_ROOT/s.py \"$AZ_BATCHAI_OUTPUT_M\" ${NOT_KNOWN_TO_AGENT} | "
      "tee x";
  PlannedJob j = plan_ok(
      doc(R"("customToolkitSettings": {"commandLine": )" + nlohmann::json(command).dump() + "}",
          R"("outputDirectories": [{"id": "M", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/o"}])"));
  const auto& step = job_step(j);
  ASSERT_EQ(step.tasks.size(), 1u);
  EXPECT_EQ(step.tasks[0].name, "main");
  EXPECT_EQ(step.tasks[0].argv, (std::vector<std::string>{program_path("bash"), "-c", command}));
}

TEST(LaunchPlanner, PyTorchOneTaskPerProcess) {
  PlannedJob j = plan_ok(doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/train.py",
      "commandLineArgs": "--epochs 1", "processCount": 3, "communicationBackend": "gloo", )" +
                             kSh + "}"));
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 3u);
  const std::string stdouterr = kJobMountRoot + "/logs/" + kSegment + "/stdouterr";
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::string n = std::to_string(i);
    EXPECT_EQ(tasks[i].name, n);
    EXPECT_EQ(tasks[i].stdout_path, stdouterr + "/stdout-" + n + ".txt");
    EXPECT_EQ(tasks[i].stderr_path, stdouterr + "/stderr-" + n + ".txt");
    EXPECT_EQ(env_of(tasks[i], "AZ_BATCHAI_TASK_INDEX"), n);
    EXPECT_EQ(env_of(tasks[i], "AZ_BATCHAI_PYTORCH_INIT_METHOD"),
              "file://" + kSharedJobTemp + "/pytorch_init");
    EXPECT_EQ(env_of(tasks[i], "AZ_BATCHAI_PYTORCH_BACKEND"), "gloo");
    EXPECT_EQ(tasks[i].argv, (std::vector<std::string>{"/bin/sh", "/s/train.py", "--epochs", "1"}));
    EXPECT_TRUE(tasks[i].primary);
  }
  EXPECT_EQ(j.hostfile_content, "10.0.0.4 slots=3\n");
}

TEST(LaunchPlanner, PythonDefaultsToPython3OnThePath) {
  if (!find_program("python3", base_path())) GTEST_SKIP() << "no python3 on " << base_path();
  PlannedJob j = plan_ok(doc(R"("caffe2Settings": {"pythonScriptFilePath": "/s/t.py"})"));
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "0");
  EXPECT_TRUE(tasks[0].stdout_path.ends_with("/stdout-0.txt"));
  EXPECT_EQ(env_of(tasks[0], "AZ_BATCHAI_TASK_INDEX"), "0");
  EXPECT_EQ(tasks[0].argv, (std::vector<std::string>{program_path("python3"), "/s/t.py"}));
}

TEST(LaunchPlanner, ScriptPathIsExpanded) {
  PlannedJob j = plan_ok(doc(
      R"("chainerSettings": {"pythonScriptFilePath": "$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/t.py", )" +
      kSh + "}"));
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "main");
  EXPECT_EQ(tasks[0].argv, (std::vector<std::string>{"/bin/sh", kJobMountRoot + "/scripts/t.py"}));
}

nlohmann::json tf_config_of(const TaskSpec& t) {
  auto text = env_of(t, "TF_CONFIG");
  EXPECT_TRUE(text.has_value()) << t.name;
  return nlohmann::json::parse(text.value_or("{}"));
}

TEST(LaunchPlanner, TensorFlowWorkersAndParameterServers) {
  PlannedJob j = plan_ok(
      doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/tf.py",
      "masterCommandLineArgs": "--role master --out $AZ_BATCHAI_OUTPUT_M",
      "workerCommandLineArgs": "--role worker", "parameterServerCommandLineArgs": "--role ps",
      "workerCount": 2, "parameterServerCount": 1, )" +
              kSh + "}",
          R"("outputDirectories": [{"id": "M", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/o"}])"));
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 3u);
  const std::string stdouterr = kJobMountRoot + "/logs/" + kSegment + "/stdouterr";
  const std::vector<std::string> workers = {"10.0.0.4:2222", "10.0.0.4:2223"};
  const std::vector<std::string> ps = {"10.0.0.4:2224"};
  const std::vector<std::string> head = {"/bin/sh", "/s/tf.py"};
  auto argv = [&](std::vector<std::string> args) {
    std::vector<std::string> v = head;
    v.insert(v.end(), args.begin(), args.end());
    return v;
  };

  struct Expect {
    std::string name, file, type;
    int index;
    bool primary;
    std::vector<std::string> argv;
  };
  const Expect expected[] = {
      {"wk-0", "wk-0", "worker", 0, true,
       argv({"--role", "master", "--out", kMountRoot + "/o/" + kSegment + "/outputs"})},
      {"wk-1", "wk-1", "worker", 1, true, argv({"--role", "worker"})},
      {"ps-0", "ps-0", "ps", 0, false, argv({"--role", "ps"})},
  };
  for (std::size_t i = 0; i < 3; ++i) {
    const Expect& e = expected[i];
    const TaskSpec& t = tasks[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(t.name, e.name);
    EXPECT_EQ(t.stdout_path, stdouterr + "/stdout-" + e.file + ".txt");
    EXPECT_EQ(t.stderr_path, stdouterr + "/stderr-" + e.file + ".txt");
    EXPECT_EQ(t.primary, e.primary);
    EXPECT_EQ(t.argv, e.argv);
    EXPECT_EQ(env_of(t, "AZ_BATCHAI_TASK_INDEX"), std::to_string(e.index));
    EXPECT_EQ(env_of(t, "AZ_BATCHAI_WORKER_HOSTS"), "10.0.0.4:2222,10.0.0.4:2223");
    EXPECT_EQ(env_of(t, "AZ_BATCHAI_PS_HOSTS"), "10.0.0.4:2224");
    nlohmann::json c = tf_config_of(t);
    EXPECT_EQ(c["cluster"]["worker"], nlohmann::json(workers));
    EXPECT_EQ(c["cluster"]["ps"], nlohmann::json(ps));
    EXPECT_EQ(c["task"]["type"], e.type);
    EXPECT_EQ(c["task"]["index"], e.index);
    EXPECT_EQ(c["environment"], "cloud");
  }
  EXPECT_EQ(j.hostfile_content, "10.0.0.4 slots=3\n");
}

TEST(LaunchPlanner, TensorFlowWithoutMasterArgsGivesWorkerZeroTheWorkerArgs) {
  PlannedJob j = plan_ok(doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/tf.py",
      "workerCommandLineArgs": "--w", "workerCount": 2, )" +
                             kSh + "}"));
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].argv, (std::vector<std::string>{"/bin/sh", "/s/tf.py", "--w"}));
  EXPECT_EQ(tasks[1].argv, (std::vector<std::string>{"/bin/sh", "/s/tf.py", "--w"}));
  nlohmann::json c = tf_config_of(tasks[1]);
  EXPECT_EQ(c["cluster"]["ps"], nlohmann::json::array());
  EXPECT_EQ(env_of(tasks[0], "AZ_BATCHAI_PS_HOSTS"), "");
}

TEST(LaunchPlanner, JobPreparationRunsFirst) {
  const std::string prep = "apt-get install -y jq && echo $AZ_BATCHAI_JOB_TEMP";
  PlannedJob j =
      plan_ok(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                  R"("jobPreparation": {"commandLine": )" + nlohmann::json(prep).dump() + "}"));
  ASSERT_EQ(j.plan.steps.size(), 2u);
  const StepSpec& first = j.plan.steps[0];
  EXPECT_EQ(first.name, "jobPreparation");
  EXPECT_EQ(first.failure_code, "JobPreparationFailed");
  ASSERT_EQ(first.tasks.size(), 1u);
  const TaskSpec& t = first.tasks[0];
  EXPECT_EQ(t.name, "job_prep");
  EXPECT_EQ(t.argv, (std::vector<std::string>{program_path("bash"), "-c", prep}));
  const std::string stdouterr = kJobMountRoot + "/logs/" + kSegment + "/stdouterr";
  EXPECT_EQ(t.stdout_path, stdouterr + "/stdout-job_prep.txt");
  EXPECT_EQ(t.stderr_path, stdouterr + "/stderr-job_prep.txt");
  EXPECT_EQ(t.cwd, kJobTemp);
  EXPECT_EQ(env_of(t, "AZ_BATCHAI_JOB_TEMP"), kJobTemp);
  EXPECT_EQ(j.plan.steps[1].name, "job");
  EXPECT_EQ(j.plan.steps[1].tasks.at(0).name, "main");
}

TEST(LaunchPlanner, JobPreparationGetsTheJobWideToolkitVariablesButNoTaskIndex) {
  PlannedJob j = plan_ok(doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py",
                                                       "workerCount": 2, "parameterServerCount": 1,
                                                       "pythonInterpreterPath": "/bin/sh"})",
                             R"("jobPreparation": {"commandLine": "true"})"));
  ASSERT_EQ(j.plan.steps.size(), 2u);
  const TaskSpec& prep = j.plan.steps[0].tasks.at(0);
  EXPECT_EQ(env_of(prep, "AZ_BATCHAI_WORKER_HOSTS"), "10.0.0.4:2222,10.0.0.4:2223");
  EXPECT_EQ(env_of(prep, "AZ_BATCHAI_PS_HOSTS"), "10.0.0.4:2224");
  EXPECT_EQ(env_of(prep, "AZ_BATCHAI_TASK_INDEX"), std::nullopt);
  EXPECT_EQ(env_of(prep, "TF_CONFIG"), std::nullopt);
  EXPECT_FALSE(j.env.has("AZ_BATCHAI_TASK_INDEX"));
}

TEST(LaunchPlanner, CommandLineArgsBecomeArgvEntries) {
  PlannedJob j = plan_ok(doc(
      R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", )" + kSh +
          R"(, "commandLineArgs": "--out \"$AZ_BATCHAI_OUTPUT_MODEL\" --tag 'two words' --raw $AZ_BATCHAI_OUTPUT_MODEL --lit '$AZ_BATCHAI_OUTPUT_MODEL' --n=${N}"})",
      R"("outputDirectories": [{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/my data"}],
             "environmentVariables": [{"name": "N", "value": "3"}])"));
  const std::string model = kMountRoot + "/my data/" + kSegment + "/outputs";
  const auto& tasks = job_step(j).tasks;
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].argv, (std::vector<std::string>{"/bin/sh", "/s/t.py", "--out", model, "--tag",
                                                     "two words", "--raw", model, "--lit",
                                                     "$AZ_BATCHAI_OUTPUT_MODEL", "--n=3"}));
}

TEST(LaunchPlanner, SecretsReachTheEnvironmentButNeverArgv) {
  const std::string secrets =
      R"("secrets": [{"name": "TOKEN", "value": ")" + kSecretValue + R"("}])";
  for (const std::string& text :
       {doc(R"("customToolkitSettings": {"commandLine": "curl -H \"Authorization: $TOKEN\" x"})",
            secrets + R"(, "jobPreparation": {"commandLine": "echo $TOKEN"})"),
        doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 2, )" + kSh +
                R"(, "commandLineArgs": "--token-var TOKEN '$TOKEN'"})",
            secrets)}) {
    SCOPED_TRACE(text);
    PlannedJob j = plan_ok(text);
    std::size_t tasks = 0;
    for (const auto& step : j.plan.steps) {
      for (const auto& t : step.tasks) {
        ++tasks;
        EXPECT_EQ(env_of(t, "TOKEN"), kSecretValue) << t.name;
        for (const auto& a : t.argv) {
          EXPECT_EQ(a.find(kSecretValue), std::string::npos) << t.name << ": " << a;
        }
        EXPECT_EQ(t.stdout_path.find(kSecretValue), std::string::npos);
      }
    }
    EXPECT_EQ(tasks, 2u);
    // The planned environment names it without its value.
    const auto names = j.env.names();
    EXPECT_NE(std::find(names.begin(), names.end(), "TOKEN"), names.end());
  }
}

TEST(LaunchPlanner, SecretInArgumentsIsAnError) {
  Planned p = plan(doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", )" + kSh +
                           R"(, "commandLineArgs": "--key $TOKEN"})",
                       R"("secrets": [{"name": "TOKEN", "value": ")" + kSecretValue + R"("}])"));
  EXPECT_FALSE(p.job.has_value());
  ASSERT_EQ(p.d.errors().size(), 1u) << p.errors();
  EXPECT_EQ(p.d.errors()[0].path, "properties.pyTorchSettings.commandLineArgs");
  EXPECT_EQ(p.d.errors()[0].message,
            "$TOKEN is a secret: secrets reach the job only as environment variables, never in "
            "arguments or paths");
  EXPECT_EQ(p.errors().find(kSecretValue), std::string::npos);
}

TEST(LaunchPlanner, SecretInPathsIsAnError) {
  const std::string secret = R"("secrets": [{"name": "K", "value": ")" + kSecretValue + R"("}])";
  const std::string msg =
      ": $K is a secret: secrets reach the job only as environment variables, never in arguments "
      "or paths\n";
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                         secret + R"(, "inputDirectories": [{"id": "D", "path": "/data/$K"}],
                            "outputDirectories": [{"id": "O", "pathPrefix": "/o/${K}"},
                                                  {"id": "P", "pathPrefix": "$AZ_BATCHAI_JOB_TEMP/o", "pathSuffix": "$K"}])",
                         "/logs/$K"),
                     "properties.inputDirectories[0].path" + msg +
                         "properties.stdOutErrPathPrefix" + msg +
                         "properties.outputDirectories[0].pathPrefix" + msg +
                         "properties.outputDirectories[1].pathSuffix" + msg);
  expect_plan_errors(
      doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/$K/t.py", )" + kSh + "}", secret),
      "properties.pyTorchSettings.pythonScriptFilePath" + msg);
}

TEST(LaunchPlanner, UndefinedVariableInStdOutErrPathPrefixIsAnErrorNamingIt) {
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})", "",
                         "$AZ_BATCHAI_MOUNT_ROOT/$LOG_SHARE/logs"),
                     "properties.stdOutErrPathPrefix: $LOG_SHARE is not defined\n");
}

TEST(LaunchPlanner, RelativePathAfterExpansionIsAnError) {
  expect_plan_errors(
      doc(R"("customToolkitSettings": {"commandLine": "true"})",
          R"("environmentVariables": [{"name": "REL", "value": "rel"}])", "$REL/logs"),
      "properties.stdOutErrPathPrefix: \"rel/logs\" is not an absolute path "
      "(expanded from \"$REL/logs\")\n");
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                         R"("outputDirectories": [{"id": "O", "pathPrefix": "/o/../etc"}])"),
                     "properties.outputDirectories[0].pathPrefix: \"/o/../etc\" must not contain "
                     "\"..\" components\n");
}

TEST(LaunchPlanner, WhereAJobWritesMustLieBelowTheNodeRoot) {
  const std::string outside =
      " is outside the node's root /tmp/x: a job writes below $AZ_BATCHAI_MOUNT_ROOT, "
      "$AZ_BATCHAI_JOB_MOUNT_ROOT or $AZ_BATCHAI_JOB_TEMP\n";
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                         R"("outputDirectories": [{"id": "O", "pathPrefix": "/run"}])", "/etc"),
                     "properties.stdOutErrPathPrefix: \"/etc\"" + outside +
                         "properties.outputDirectories[0].pathPrefix: \"/run\"" + outside);
  // Also once expanded: a variable may not lead out of the root either.
  expect_plan_errors(
      doc(R"("customToolkitSettings": {"commandLine": "true"})",
          R"("environmentVariables": [{"name": "P", "value": "/tmp/xy"}])", "$P"),
      "properties.stdOutErrPathPrefix: \"/tmp/xy\" (expanded from \"$P\")" + outside);
}

TEST(LaunchPlanner, AContainerSeesInputsBelowTheRootOrAnAllowedRootNeverTheNodesOwn) {
  const std::string container =
      R"("containerSettings": {"imageSourceRegistry": {"image": "ubuntu"}}, )";
  auto inputs = [&](const std::string& path) -> std::string {
    return doc(R"("customToolkitSettings": {"commandLine": "true"})",
               container + R"("inputDirectories": [{"id": "IN", "path": ")" + path + "\"}]");
  };
  PlanContext ctx = make_context();
  ctx.container_socket = "/var/run/docker.sock";
  ctx.container_input_roots = {"/data", "/"};
  // Nor a directory that holds one: /var holds the engine's socket.
  for (const char* path : {"/var/run/docker.sock", "/etc", "/etc/ssl", "/root/.ssh", "/proc/1",
                           "/sys", "/dev/sda", "/", "/var", "/var/run", "/var/lib/docker/x"}) {
    Planned p = plan(inputs(path), ctx);
    EXPECT_FALSE(p.job.has_value()) << path;
    EXPECT_NE(p.errors().find("properties.inputDirectories[0].path: "), std::string::npos)
        << p.errors();
    EXPECT_NE(p.errors().find("never given to a job"), std::string::npos) << p.errors();
  }
  ctx.container_input_roots = {"/data"};
  EXPECT_TRUE(plan(inputs("/data/mnist"), ctx).job.has_value());
  EXPECT_TRUE(plan(inputs(kMountRoot + "/data"), ctx).job.has_value());
  Planned p = plan(inputs("/srv/data"), ctx);
  EXPECT_FALSE(p.job.has_value());
  EXPECT_NE(p.errors().find("containerInputRoots"), std::string::npos) << p.errors();
  // A job without a container runs on the node, and reads what the node has.
  EXPECT_TRUE(plan(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                       R"("inputDirectories": [{"id": "IN", "path": "/srv/data"}])"),
                   ctx)
                  .job.has_value());
}

TEST(LaunchPlanner, UndefinedVariableInUserEnvironmentIsAnError) {
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                         R"("environmentVariables": [{"name": "A", "value": "x"},
                                                     {"name": "B", "value": "$MISSING/y"}])"),
                     "properties.environmentVariables[1].value: $MISSING is not defined\n");
}

TEST(LaunchPlanner, SecretInUserEnvironmentValueIsNamedAsASecret) {
  Planned p = plan(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                       R"("secrets": [{"name": "S", "value": ")" + kSecretValue + R"("}],
                          "environmentVariables": [{"name": "B", "value": "x$S"}])"));
  EXPECT_FALSE(p.job.has_value());
  EXPECT_NE(p.errors().find("properties.environmentVariables[0].value: $S is a secret"),
            std::string::npos)
      << p.errors();
  EXPECT_EQ(p.errors().find(kSecretValue), std::string::npos);
}

TEST(LaunchPlanner, InterpreterPathIsExpanded) {
  JobEnvironment base = JobEnvironment::node_base();
  base.set("BIN", "/bin");
  PlannedJob j = plan_ok(doc(R"("chainerSettings": {"pythonScriptFilePath": "/s/t.py",
                                                    "pythonInterpreterPath": "$BIN/sh"})"),
                         make_context(base));
  ASSERT_EQ(job_step(j).tasks.size(), 1u);
  EXPECT_EQ(job_step(j).tasks[0].argv[0], "/bin/sh");
}

// "/bin/sh /s/t.py" and the arguments: what the tests below run.
std::vector<std::string> script_argv(std::vector<std::string> args) {
  std::vector<std::string> v = {"/bin/sh", "/s/t.py"};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

TEST(LaunchPlanner, BadTensorFlowArgumentsAreReportedOnce) {
  // A secret in an argument is an error however many tasks expand the string.
  expect_plan_errors(
      doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py", "workerCount": 3,
                                    "parameterServerCount": 2, "workerCommandLineArgs": "$K",
                                    "pythonInterpreterPath": "/bin/sh"})",
          R"("secrets": [{"name": "K", "value": "v"}])"),
      "properties.tensorFlowSettings.workerCommandLineArgs: $K is a secret: secrets reach the "
      "job only as environment variables, never in arguments or paths\n");
}

TEST(LaunchPlanner, AnUndefinedVariableInArgumentsIsNothingWithOneWarning) {
  // As in the shell Batch AI handed the arguments to; a path stays strict.
  PlannedJob j =
      plan_ok(doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py", "workerCount": 3,
                                    "workerCommandLineArgs": "--data_dir=$AZ_BATCHAI_INPUT_DATASET --x",
                                    "pythonInterpreterPath": "/bin/sh"})"));
  ASSERT_EQ(job_step(j).tasks.size(), 3u);
  EXPECT_EQ(job_step(j).tasks[2].argv, script_argv({"--data_dir=", "--x"}));
  EXPECT_EQ(j.warnings,
            (std::vector<std::string>{"properties.tensorFlowSettings.workerCommandLineArgs: "
                                      "$AZ_BATCHAI_INPUT_DATASET is not defined; it expands to "
                                      "nothing"}));
}

TEST(LaunchPlanner, EachTasksArgumentsAreExpandedWithItsOwnVariables) {
  // The PyTorch-Gloo recipe's arguments: its rank and init method are each process's own.
  PlannedJob torch = plan_ok(doc(
      R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 2,
          "pythonInterpreterPath": "/bin/sh", "communicationBackend": "gloo",
          "commandLineArgs": "--dist-backend $AZ_BATCHAI_PYTORCH_BACKEND --dist-url $AZ_BATCHAI_PYTORCH_INIT_METHOD --rank $AZ_BATCHAI_TASK_INDEX --world-size 2"})"));
  ASSERT_EQ(job_step(torch).tasks.size(), 2u);
  const std::string init = "file://" + kSharedJobTemp + "/pytorch_init";
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(job_step(torch).tasks[i].argv,
              script_argv({"--dist-backend", "gloo", "--dist-url", init, "--rank",
                           std::to_string(i), "--world-size", "2"}))
        << i;
  }
  EXPECT_TRUE(torch.warnings.empty());
  // The TensorFlow-Distributed recipe's: each worker and parameter server its own index.
  PlannedJob tf = plan_ok(doc(
      R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py", "workerCount": 2,
          "parameterServerCount": 1, "pythonInterpreterPath": "/bin/sh",
          "workerCommandLineArgs": "--ps_hosts=$AZ_BATCHAI_PS_HOSTS --worker_hosts=$AZ_BATCHAI_WORKER_HOSTS --job_name=worker --task_index=$AZ_BATCHAI_TASK_INDEX",
          "parameterServerCommandLineArgs": "--ps_hosts=$AZ_BATCHAI_PS_HOSTS --worker_hosts=$AZ_BATCHAI_WORKER_HOSTS --job_name=ps --task_index=$AZ_BATCHAI_TASK_INDEX"})"));
  const auto& tasks = job_step(tf).tasks;
  ASSERT_EQ(tasks.size(), 3u);
  const std::string hosts = "--ps_hosts=10.0.0.4:2224 --worker_hosts=10.0.0.4:2222,10.0.0.4:2223";
  auto words = [](const TaskSpec& t) {
    std::string s;
    for (std::size_t k = 2; k < t.argv.size(); ++k) s += (s.empty() ? "" : " ") + t.argv[k];
    return s;
  };
  EXPECT_EQ(words(tasks[0]), hosts + " --job_name=worker --task_index=0");
  EXPECT_EQ(words(tasks[1]), hosts + " --job_name=worker --task_index=1");
  EXPECT_EQ(words(tasks[2]), hosts + " --job_name=ps --task_index=0");
}

TEST(LaunchPlanner, MoreThanOneNodeIsAnError) {
  expect_plan_errors(R"({"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
                         "customToolkitSettings": {"commandLine": "true"}})",
                     "properties.nodeCount: 2 nodes: run-job runs a job on this one node; "
                     "nodeCount must be 1\n");
}

// On one node the MPI toolkits run mpirun with the job's processes and its one-line hostfile.
TEST(LaunchPlanner, MpiToolkitsRunMpirunWithTheHostfile) {
  const std::string mpirun = program_path("mpirun");
  const std::string hostfile = kJobTemp + "/hostfile";
  const std::vector<std::string> head = {mpirun, "-np", "2", "--hostfile", hostfile};
  for (const std::string& toolkit :
       {R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 2, )" + kSh +
            R"(, "commandLineArgs": "--epochs 3"})",
        R"("cntkSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 2, )" + kSh +
            R"(, "commandLineArgs": "--epochs 3"})",
        R"("chainerSettings": {"pythonScriptFilePath": "/s/t.py", "processCount": 2, )" + kSh +
            R"(, "commandLineArgs": "--epochs 3"})"}) {
    SCOPED_TRACE(toolkit);
    PlannedJob j = plan_ok(doc(toolkit));
    ASSERT_EQ(job_step(j).tasks.size(), 1u);
    std::vector<std::string> expected = head;
    for (const char* w : {"/bin/sh", "/s/t.py", "--epochs", "3"}) expected.push_back(w);
    EXPECT_EQ(job_step(j).tasks[0].argv, expected);
    EXPECT_EQ(j.hostfile_content, "10.0.0.4 slots=2\n");
    EXPECT_FALSE(job_step(j).hold);
  }
  // customMpiSettings: the command line, as the user wrote it, after mpirun in one shell.
  PlannedJob mpi =
      plan_ok(doc(R"("customMpiSettings": {"commandLine": "python3 $AZ_BATCHAI_JOB_TEMP/a.py",
                                   "processCount": 3})"));
  ASSERT_EQ(job_step(mpi).tasks.size(), 1u);
  EXPECT_EQ(job_step(mpi).tasks[0].argv,
            (std::vector<std::string>{program_path("bash"), "-c",
                                      "'" + mpirun + "' '-np' '3' '--hostfile' '" + hostfile +
                                          "' python3 $AZ_BATCHAI_JOB_TEMP/a.py"}));
  EXPECT_EQ(mpi.hostfile_content, "10.0.0.4 slots=3\n");
}

// --- multi-node jobs: each node plans its own part of the gang -----------------------------

const std::vector<std::string> kHosts = {"10.1.0.2", "10.1.0.3", "10.1.0.4"};

PlanContext gang_context(int index, std::size_t nodes = 3) {
  PlanContext ctx = make_context();
  GangContext g;
  g.hosts.assign(kHosts.begin(), kHosts.begin() + static_cast<std::ptrdiff_t>(nodes));
  g.index = index;
  g.node_id = "node-" + std::to_string(index);
  g.ssh_port = 2200;
  g.ssh_dir = "/var/lib/agent/jobs/" + kUuid + "/ssh";
  g.agent_program = "/usr/sbin/batchai-agent";
  g.sshd_program = program_path("true");  // the plan only names them
  g.sshfs_program = program_path("true");
  g.job_shell_program = program_path("true");
  ctx.gang = g;
  return ctx;
}

std::string gang_doc(const std::string& toolkit, int nodes = 3, const std::string& extra = "") {
  std::string d = doc(toolkit, extra);
  return R"({"nodeCount": )" + std::to_string(nodes) +
         d.substr(std::string(R"({"nodeCount": 1)").size());
}

std::vector<std::string> task_names(const StepSpec& step) {
  std::vector<std::string> names;
  for (const auto& t : step.tasks) names.push_back(t.name);
  return names;
}

TEST(GangPlanner, EveryNodeGetsTheJobsHostsAndItsOwnPlace) {
  const std::string text =
      gang_doc(R"("customMpiSettings": {"commandLine": "hostname", "processCount": 6})", 3,
               R"("jobPreparation": {"commandLine": "true"})");
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    PlannedJob j = plan_ok(text, gang_context(i));
    ASSERT_EQ(j.plan.steps.size(), 2u);
    const TaskSpec& any = j.plan.steps[0].tasks.at(0);  // job preparation, on every node
    EXPECT_EQ(env_of(any, "AZ_BATCHAI_NODE_IP"), kHosts[static_cast<std::size_t>(i)]);
    EXPECT_EQ(env_of(any, "AZ_BATCHAI_JOB_MASTER_NODE_IP"), "10.1.0.2");
    EXPECT_EQ(env_of(any, "AZ_BATCHAI_IS_CURRENT_NODE_MASTER"), i == 0 ? "true" : "false");
    EXPECT_EQ(env_of(any, "AZ_BATCH_HOST_LIST"), "10.1.0.2,10.1.0.3,10.1.0.4");
    EXPECT_EQ(env_of(any, "OMPI_MCA_plm_rsh_agent"), "ssh");  // the job's, first on its PATH
    EXPECT_TRUE(
        env_of(any, "PATH").value_or("").starts_with("/var/lib/agent/jobs/" + kUuid + "/ssh:"));
    EXPECT_EQ(j.hostfile_content, "10.1.0.2 slots=2\n10.1.0.3 slots=2\n10.1.0.4 slots=2\n");
    // Per-node names on the shared stdouterr, and a cgroup of its own.
    const std::string node = "node-" + std::to_string(i);
    EXPECT_TRUE(j.plan.execution_log.ends_with("/stdouterr/execution-" + node + ".log"));
    EXPECT_TRUE(
        j.plan.steps[0].tasks[0].stderr_path.ends_with("/stderr-job_prep-" + node + ".txt"));
    EXPECT_EQ(j.plan.job_id, kUuid + "." + std::to_string(i));
    // The job's sshd for the whole job; ready once job preparation is done. The master runs
    // the launcher, the others keep the job's place.
    ASSERT_EQ(j.plan.services.size(), 1u);
    EXPECT_EQ(j.plan.services[0].argv,
              (std::vector<std::string>{program_path("true"), "-D", "-e", "-f",
                                        "/var/lib/agent/jobs/" + kUuid + "/ssh/sshd_config"}));
    EXPECT_TRUE(j.plan.services[0].stderr_path.ends_with("/stderr-sshd-" + node + ".txt"));
    EXPECT_EQ(j.plan.ready_file, "/var/lib/agent/jobs/" + kUuid + "/ssh/ready");
    const StepSpec& step = job_step(j);
    EXPECT_EQ(step.hold, i != 0);
    const std::vector<std::string> expected_tasks =
        i == 0 ? std::vector<std::string>{"main"} : std::vector<std::string>{};
    EXPECT_EQ(task_names(step), expected_tasks);
  }
}

TEST(GangPlanner, TheMastersLauncherWaitsForTheOtherNodesSshd) {
  PlannedJob j = plan_ok(gang_doc(R"("horovodSettings": {"pythonScriptFilePath": "/s/t.py", )" +
                                      kSh + R"(, "processCount": 4})",
                                  2),
                         gang_context(0, 2));
  const TaskSpec& main = job_step(j).tasks.at(0);
  const std::vector<std::string> expected = {"/usr/sbin/batchai-agent",
                                             "wait-for-peers",
                                             "--ssh",
                                             "/var/lib/agent/jobs/" + kUuid + "/ssh/ssh",
                                             "--timeout",
                                             "604800",  // the default maxWallClockTime
                                             "--hosts",
                                             "10.1.0.3",
                                             "--",
                                             program_path("mpirun"),
                                             "-np",
                                             "4",
                                             "--hostfile",
                                             kJobTemp + "/hostfile",
                                             "/bin/sh",
                                             "/s/t.py"};
  EXPECT_EQ(main.argv, expected);
  EXPECT_EQ(j.hostfile_content, "10.1.0.2 slots=2\n10.1.0.3 slots=2\n");
}

TEST(GangPlanner, TheJobsSshStaysFirstOnAPathTheJobSets) {
  PlannedJob j = plan_ok(
      gang_doc(R"("customMpiSettings": {"commandLine": "hostname", "processCount": 2})", 2,
               R"("environmentVariables": [{"name": "PATH", "value": "/opt/conda/bin:/usr/bin"}])"),
      gang_context(0, 2));
  EXPECT_EQ(env_of(job_step(j).tasks.at(0), "PATH"),
            "/var/lib/agent/jobs/" + kUuid + "/ssh:/opt/conda/bin:/usr/bin");
}

TEST(GangPlanner, InAContainerTheImagesSshdRunsThereAndTheWaitOnTheNode) {
  PlanContext ctx = gang_context(0, 2);
  ctx.container_socket = "/run/docker.sock";
  ctx.container_name = "batchai-job-" + kUuid + ".0";
  ctx.gang->sshd_program = "/nonexistent/sshd";  // the node's own is not needed: the image's is
  PlannedJob j =
      plan_ok(gang_doc(R"("customMpiSettings": {"commandLine": "hostname", "processCount": 2})", 2,
                       R"("containerSettings": {"imageSourceRegistry": {"image": "ubuntu"}})"),
              ctx);
  const std::vector<std::string> in_container = {"/proc/self/exe", "container-exec",
                                                 "--socket",       "/run/docker.sock",
                                                 "--container",    ctx.container_name};
  ASSERT_EQ(j.plan.services.size(), 1u);
  const auto& sshd = j.plan.services[0].argv;
  EXPECT_TRUE(std::equal(in_container.begin(), in_container.end(), sshd.begin()));
  EXPECT_EQ(std::vector<std::string>(sshd.end() - 5, sshd.end()),
            (std::vector<std::string>{"/usr/sbin/sshd", "-D", "-e", "-f",
                                      "/var/lib/agent/jobs/" + kUuid + "/ssh/sshd_config"}));
  // The master's wait for its peers runs on the node, around the container's mpirun.
  const auto& main = job_step(j).tasks.at(0).argv;
  EXPECT_EQ(main.at(0), "/usr/sbin/batchai-agent");
  EXPECT_EQ(main.at(1), "wait-for-peers");
  auto dashes = std::find(main.begin(), main.end(), "--");
  ASSERT_NE(dashes, main.end());
  EXPECT_TRUE(std::equal(in_container.begin(), in_container.end(), dashes + 1));
  EXPECT_EQ(j.ssh_dir, "/var/lib/agent/jobs/" + kUuid + "/ssh");
  EXPECT_EQ(j.job_uuid, kUuid);
}

TEST(GangPlanner, PyTorchRanksSpreadOverTheNodesInBlocks) {
  const std::string text =
      gang_doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py", )" + kSh +
                   R"(, "processCount": 4, "communicationBackend": "gloo",
             "commandLineArgs": "--rank $AZ_BATCHAI_TASK_INDEX --dist-url $AZ_BATCHAI_PYTORCH_INIT_METHOD"})",
               2);
  PlannedJob worker = plan_ok(text, gang_context(1, 2));
  const StepSpec& step = job_step(worker);
  EXPECT_EQ(task_names(step), (std::vector<std::string>{"2", "3"}));
  for (std::size_t k = 0; k < 2; ++k) {
    const TaskSpec& t = step.tasks[k];
    const std::string rank = std::to_string(k + 2);
    EXPECT_EQ(env_of(t, "RANK"), rank);
    EXPECT_EQ(env_of(t, "AZ_BATCHAI_TASK_INDEX"), rank);
    EXPECT_EQ(env_of(t, "LOCAL_RANK"), std::to_string(k));
    EXPECT_EQ(env_of(t, "WORLD_SIZE"), "4");
    EXPECT_EQ(env_of(t, "MASTER_ADDR"), "10.1.0.2");
    EXPECT_EQ(env_of(t, "MASTER_PORT"), "29500");
    EXPECT_EQ(t.argv, (std::vector<std::string>{"/bin/sh", "/s/t.py", "--rank", rank, "--dist-url",
                                                "tcp://10.1.0.2:29500"}));
    EXPECT_TRUE(t.stdout_path.ends_with("/stdout-" + rank + ".txt"));
  }
  EXPECT_TRUE(step.hold);  // its ranks done, it waits for the job's end
  PlannedJob master = plan_ok(text, gang_context(0, 2));
  EXPECT_EQ(task_names(job_step(master)), (std::vector<std::string>{"0", "1"}));
}

TEST(GangPlanner, TensorFlowTasksRoundRobinWithPortsFrom2222OnEachNode) {
  const std::string text =
      gang_doc(R"("tensorFlowSettings": {"pythonScriptFilePath": "/s/t.py", )" + kSh +
                   R"(, "workerCount": 3, "parameterServerCount": 2,
             "masterCommandLineArgs": "m", "workerCommandLineArgs": "w",
             "parameterServerCommandLineArgs": "p"})",
               2);
  PlannedJob n0 = plan_ok(text, gang_context(0, 2));
  PlannedJob n1 = plan_ok(text, gang_context(1, 2));
  EXPECT_EQ(task_names(job_step(n0)), (std::vector<std::string>{"wk-0", "wk-2", "ps-0"}));
  EXPECT_EQ(task_names(job_step(n1)), (std::vector<std::string>{"wk-1", "ps-1"}));
  const TaskSpec& wk1 = job_step(n1).tasks[0];
  EXPECT_EQ(env_of(wk1, "AZ_BATCHAI_WORKER_HOSTS"), "10.1.0.2:2222,10.1.0.3:2222,10.1.0.2:2223");
  EXPECT_EQ(env_of(wk1, "AZ_BATCHAI_PS_HOSTS"), "10.1.0.2:2224,10.1.0.3:2223");
  auto config = nlohmann::json::parse(env_of(wk1, "TF_CONFIG").value_or("{}"));
  EXPECT_EQ(config["task"], nlohmann::json({{"type", "worker"}, {"index", 1}}));
  EXPECT_EQ(config["cluster"]["worker"].size(), 3u);
  EXPECT_EQ(wk1.argv.back(), "w");
  EXPECT_EQ(job_step(n0).tasks[0].argv.back(), "m");
  EXPECT_FALSE(job_step(n0).tasks[2].primary);
}

TEST(GangPlanner, AGangThatDoesNotFitTheDocumentIsRefused) {
  expect_plan_errors(gang_doc(R"("customToolkitSettings": {"commandLine": "true"})", 2),
                     "properties.nodeCount: 2 nodes, but the assignment names 3 hosts and "
                     "index 0\n",
                     gang_context(0, 3));
  PlanContext no_sshd = gang_context(1, 2);
  no_sshd.gang->sshd_program = "/nonexistent/sshd";
  expect_plan_errors(gang_doc(R"("customToolkitSettings": {"commandLine": "true"})", 2),
                     "properties.nodeCount: a multi-node job needs /nonexistent/sshd on its nodes "
                     "(Debian's openssh-server, openssh-client and sshfs, and the agent's "
                     "batchai-job-shell), and this node has none\n",
                     no_sshd);
}

TEST(LaunchPlanner, MissingInterpreterIsAnErrorNamingIt) {
  expect_plan_errors(
      doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py",
                             "pythonInterpreterPath": "/nonexistent/bin/python9"})"),
      "properties.pyTorchSettings.pythonInterpreterPath: \"/nonexistent/bin/python9\" "
      "is not an executable program\n");
  expect_plan_errors(
      doc(R"("pyTorchSettings": {"pythonScriptFilePath": "/s/t.py",
                             "pythonInterpreterPath": "python-does-not-exist-9"})"),
      "properties.pyTorchSettings.pythonInterpreterPath: \"python-does-not-exist-9\" "
      "is not an executable program on the job's PATH (" +
          base_path() + ")\n");
}

TEST(LaunchPlanner, UnmanagedMountCommandIsExpandedAndGetsTheMountPoint) {
  JobEnvironment base = JobEnvironment::node_base();
  base.set("DEMO_DIR", "/srv/demo dir");
  PlanContext ctx = make_context(base);
  // PlannedMount::volume points into the spec, so the spec must outlive the plan.
  const JobSpec spec = parse(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                                 R"("mountVolumes": {"unmanagedFileSystems": [
                                  {"mountCommand": "mount --bind -o ro $DEMO_DIR/scripts",
                                   "relativeMountPath": "scripts"}],
                                "azureFileShares": [{"accountName": "acct",
                                  "azureFileUrl": "https://acct.file.core.windows.net/share",
                                  "credentials": {"accountKey": "a2V5"}, "relativeMountPath": "afs"}]})"));
  Diagnostics d;
  std::optional<PlannedJob> planned = plan_job(spec, ctx, d);
  ASSERT_TRUE(planned.has_value()) << Diagnostics::render(d.errors());
  const PlannedJob& j = *planned;
  ASSERT_EQ(j.mounts.size(), 2u);
  EXPECT_EQ(j.mounts[0].volume, &spec.mount_volumes[0]);
  EXPECT_EQ(j.mounts[0].volume->kind, VolumeKind::kAzureFileShare);
  EXPECT_EQ(j.mounts[0].mount_point, kJobMountRoot + "/afs");
  EXPECT_TRUE(j.mounts[0].command.empty());
  EXPECT_EQ(j.mounts[1].volume, &spec.mount_volumes[1]);
  EXPECT_EQ(j.mounts[1].mount_point, kJobMountRoot + "/scripts");
  EXPECT_EQ(j.mounts[1].command,
            (std::vector<std::string>{program_path("mount"), "--bind", "-o", "ro",
                                      "/srv/demo dir/scripts", kJobMountRoot + "/scripts"}));

  // Without DEMO_DIR the command cannot be expanded.
  expect_plan_errors(doc(R"("customToolkitSettings": {"commandLine": "true"})",
                         R"("mountVolumes": {"unmanagedFileSystems": [
                              {"mountCommand": "mount --bind $DEMO_DIR/scripts",
                               "relativeMountPath": "scripts"}]})"),
                     "properties.mountVolumes.unmanagedFileSystems[0].mountCommand: $DEMO_DIR is "
                     "not defined\n");
}

TEST(FindProgram, SearchesThePathInOrder) {
  EXPECT_EQ(find_program("sh", "/nonexistent:/bin"), "/bin/sh");
  EXPECT_EQ(find_program("sh", "::/bin:"), "/bin/sh");
  EXPECT_EQ(find_program("sh", "/nonexistent"), std::nullopt);
  EXPECT_EQ(find_program("sh", ""), std::nullopt);
  EXPECT_EQ(find_program("/bin/sh", ""), "/bin/sh");
  EXPECT_EQ(find_program("/bin", "/"), std::nullopt);        // a directory is not a program
  EXPECT_EQ(find_program("/etc/passwd", ""), std::nullopt);  // not executable
}

}  // namespace
}  // namespace batchai
