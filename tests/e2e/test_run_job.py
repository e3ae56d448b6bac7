"""End-to-end tests of `batchai-agent run-job`: the real binary, real processes, real mounts.

Run as root from the repository root:

    BATCHAI_AGENT=build/bin/batchai-agent python3 -m unittest -v tests.e2e.test_run_job

Every test works in its own temporary directory (node root, state dir, job files, markers) and
removes it afterwards, unmounting whatever is still mounted below it first. Nothing here sleeps to
synchronise: tests wait for events (a file appearing, a process ending) with a generous overall
timeout that only guards against a hung agent.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from tests.support.common import (AGENT, REPO, SAFETY_TIMEOUT, file_contains, mounts_below,
                                  read_bytes, read_text, wait_for)

SCHEMA = "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json"
# The job output segment run-job uses: <sub>/<rg>/workspaces/<ws>/experiments/<exp>/jobs/<job>.
SEGMENT = "local/run-job/workspaces/local/experiments/local/jobs"

# Records its own pid in $D/<name>.pid; used to find the job's processes from the outside.
# bg: an ordinary background process; setsid: one in a new session (out of the job's process
# group); daemon: a double-forked one in a new session, orphaned to the supervisor.
PID_RECORDING_SCRIPT = r"""
bash -c 'echo $$ > "$D/bg.pid"; exec sleep 1000' &
setsid bash -c 'echo $$ > "$D/setsid.pid"; exec sleep 1000' &
( setsid bash -c 'echo $$ > "$D/daemon.pid"; exec sleep 1000' & )
for f in bg setsid daemon; do
  while [ ! -s "$D/$f.pid" ]; do sleep 0.01; done
done
echo $$ > "$D/main.pid"
echo started
touch "$D/ready"
"""
RECORDED_PIDS = ("bg", "setsid", "daemon", "main")


def process_start_ticks(pid):
    """Field 22 of /proc/<pid>/stat (start time), or None if there is no such process."""
    try:
        stat = read_text("/proc/%d/stat" % pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def process_alive(pid, start_ticks):
    """True if pid still names the same process (a reused pid does not count)."""
    ticks = process_start_ticks(pid)
    return ticks is not None and ticks == start_ticks


class RunJobTestCase(unittest.TestCase):
    """Gives each test a scratch directory and helpers to write jobs and run the agent."""

    @classmethod
    def setUpClass(cls):
        if not os.access(AGENT, os.X_OK):
            raise unittest.SkipTest("no agent binary at %s (set BATCHAI_AGENT)" % AGENT)
        if os.geteuid() != 0:
            raise unittest.SkipTest("run-job end-to-end tests need root (mounts, cgroups)")

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-e2e-"))
        self.root = os.path.join(self.tmp, "root")
        self.state = os.path.join(self.tmp, "state")
        # stdOutErrPathPrefix of custom jobs: below the node root, where a job may write
        self.logs = os.path.join(self.root, "logs")
        self.marks = os.path.join(self.tmp, "marks")  # the job's markers and pid files ($D)
        os.makedirs(self.marks)
        self.procs = []
        self.watched_pids = {}  # pid -> start ticks, killed at clean-up if still alive
        self.addCleanup(self._clean_up)

    def _clean_up(self):
        # Let jobs that wait for a go file finish, then stop whatever run-job is still running.
        open(os.path.join(self.marks, "go"), "w").close()
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=SAFETY_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for pid, ticks in self.watched_pids.items():
            if process_alive(pid, ticks):
                os.kill(pid, signal.SIGKILL)
        for mount_point in sorted(mounts_below(self.tmp), key=len):
            if mounts_below(mount_point):
                subprocess.run(["umount", "-R", mount_point], check=False,
                               stderr=subprocess.DEVNULL)
        for mount_point in sorted(mounts_below(self.tmp), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount_point], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- job documents ---------------------------------------------------------------------------

    def write_job(self, props, wrapped=True, file_name="job.json"):
        """Writes a job document: {"$schema", "properties"} (the CLI's form) or bare."""
        doc = {"$schema": SCHEMA, "properties": props} if wrapped else props
        path = os.path.join(self.tmp, file_name)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return path

    def custom_job(self, command_line, **extra):
        props = {
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine": command_line},
            "stdOutErrPathPrefix": self.logs,
        }
        props.update(extra)
        return props

    # --- running the agent -----------------------------------------------------------------------

    def agent_command(self, job_file, name, grace, env, extra_args):
        cmd = [AGENT, "run-job", job_file, "--root", self.root, "--state-dir", self.state,
               "--grace", str(grace)]
        if name is not None:
            cmd += ["--name", name]
        for e in ["D=" + self.marks] + list(env):
            cmd += ["-e", e]
        return cmd + list(extra_args)

    def run_agent(self, job_file, name="t", grace=2, env=(), extra_args=()):
        """Runs run-job to completion; returns (exit status, its stderr and stdout)."""
        p = subprocess.run(self.agent_command(job_file, name, grace, env, extra_args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=2 * SAFETY_TIMEOUT)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def start_agent(self, job_file, name="t", grace=2, env=(), extra_args=()):
        """Starts run-job in the background; its stderr goes to a file (see finish_agent)."""
        err_path = os.path.join(self.tmp, "run-job-%d.stderr" % len(self.procs))
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(self.agent_command(job_file, name, grace, env, extra_args),
                                    stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        self.procs.append((proc, err_path))
        return proc

    def finish_agent(self, proc):
        """Waits for a started run-job; returns (exit status, its stderr and stdout)."""
        proc.wait(timeout=2 * SAFETY_TIMEOUT)
        for p, err_path in self.procs:
            if p is proc:
                return proc.returncode, read_text(err_path)
        raise AssertionError("not a started agent")

    def mark(self, name):
        return os.path.join(self.marks, name)

    def wait_for_file(self, path):
        wait_for(lambda: os.path.exists(path), path)

    # --- where things are ------------------------------------------------------------------------

    def stdouterr_dirs(self, prefix=None, name="*"):
        return glob.glob(os.path.join(prefix or self.logs, SEGMENT, name, "*", "stdouterr"))

    def stdouterr_dir(self, prefix=None, name="*"):
        found = self.stdouterr_dirs(prefix, name)
        self.assertEqual(len(found), 1, "exactly one stdouterr dir expected: %r" % found)
        return found[0]

    def job_dir(self, name):
        return os.path.join(self.root, "shared", "LS_root", "jobs", "local", "local", name)

    def assert_nothing_mounted(self):
        self.assertEqual(mounts_below(self.tmp), [], "mounts left behind")

    def assert_no_run_job_state(self, *dirs):
        for d in dirs:
            self.assertFalse(os.path.exists(d), "%s was created" % d)

    def record_pids(self):
        """Reads the job's pid files (after $D/ready) and remembers the processes."""
        pids = {}
        for name in RECORDED_PIDS:
            pid = int(read_text(self.mark(name + ".pid")).strip())
            ticks = process_start_ticks(pid)
            pids[name] = (pid, ticks)
            if ticks is not None:
                self.watched_pids[pid] = ticks
        return pids

    def assert_processes_gone(self, pids):
        for name, (pid, ticks) in pids.items():
            if ticks is None:
                continue  # already gone when recorded
            self.assertFalse(process_alive(pid, ticks),
                             "the job's %s process %d is still there after run-job ended"
                             % (name, pid))


class DemoTest(RunJobTestCase):

    def test_digits_demo(self):
        demo = os.path.join(REPO, "examples", "digits")
        code, err = self.run_agent(os.path.join(demo, "job.json"), name="digits",
                                   env=["DEMO_DIR=" + demo])
        self.assertEqual(code, 0, err)
        prefix = os.path.join(self.root, "shared", "LS_root", "mounts", "logs")
        out_dir = self.stdouterr_dir(prefix, "digits")

        stderr = read_text(os.path.join(out_dir, "stderr.txt"))
        epochs = [int(n) for n in re.findall(r"^Finished Epoch\[(\d+) of 20\]", stderr, re.M)]
        self.assertEqual(epochs, list(range(1, 21)), stderr)
        final = re.search(r"^Final Results: Minibatch\[1-1\]: errs = ([0-9.]+)%", stderr, re.M)
        self.assertIsNotNone(final, stderr)
        self.assertLess(float(final.group(1)), 5.0)

        stdout = read_text(os.path.join(out_dir, "stdout.txt"))
        self.assertRegex(stdout, r"(?m)^Training \d+ parameters in \d+ parameter tensors\.$")

        outputs = os.path.join(os.path.dirname(out_dir), "outputs")
        self.assertEqual(sorted(os.listdir(outputs)),
                         ["digits_mlp_epoch_%02d.npz" % i for i in range(1, 21)])

        log = read_text(os.path.join(out_dir, "execution.log"))
        mount_root = os.path.join(self.job_dir("digits"), "mounts")
        self.assertIn("mounted scripts at " + os.path.join(mount_root, "scripts"), log)
        self.assertIn("mounted data at " + os.path.join(mount_root, "data"), log)
        self.assertIn("exit code 0", log)

        self.assert_nothing_mounted()
        self.assertFalse(os.path.exists(self.job_dir("digits")), "job mount dirs left behind")

    def test_default_name_is_the_directory_of_job_json(self):
        # run_job.cpp default_name(): "examples/digits/job.json" is job "digits".
        os.makedirs(os.path.join(self.tmp, "mnist"))
        job = self.write_job(self.custom_job('echo "$AZ_BATCHAI_JOB_NAME"'),
                             file_name="mnist/job.json")
        code, err = self.run_agent(job, name=None)
        self.assertEqual(code, 0, err)
        found = glob.glob(os.path.join(self.logs, SEGMENT, "*"))
        self.assertEqual([os.path.basename(p) for p in found], ["mnist"])
        self.assertEqual(read_text(os.path.join(self.stdouterr_dir(), "stdout.txt")), "mnist\n")

        train = self.write_job(self.custom_job('echo "$AZ_BATCHAI_JOB_NAME"'),
                               file_name="train.json")
        code, err = self.run_agent(train, name=None)
        self.assertEqual(code, 0, err)
        out = self.stdouterr_dir(name="train")
        self.assertEqual(read_text(os.path.join(out, "stdout.txt")), "train\n")


class OutputTest(RunJobTestCase):

    def test_output_reaches_the_files_while_the_job_runs(self):
        job = self.write_job(self.custom_job(
            'echo first; echo first-err >&2; '
            'while [ ! -e "$GO" ]; do sleep 0.02; done; echo second'))
        go = self.mark("go-live")
        proc = self.start_agent(job, env=["GO=" + go])
        out_dir = wait_for(lambda: self.stdouterr_dirs() and self.stdouterr_dirs()[0],
                           "the stdouterr directory")
        stdout, stderr = os.path.join(out_dir, "stdout.txt"), os.path.join(out_dir, "stderr.txt")
        wait_for(lambda: file_contains(stdout, "first") and file_contains(stderr, "first-err"),
                 "the job's first lines in stdout.txt and stderr.txt")
        # The job cannot end before the go file exists: the output was there while it ran.
        self.assertIsNone(proc.poll(), "run-job ended before the go file was created")
        open(go, "w").close()
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 0, err)
        self.assertEqual(read_text(stdout), "first\nsecond\n")
        self.assertEqual(read_text(stderr), "first-err\n")

    def test_chatty_job_keeps_stdout_and_stderr_apart(self):
        size = 20000000
        job = self.write_job(self.custom_job(
            "echo err-before >&2; head -c %d /dev/zero | tr '\\0' x; echo err-after >&2" % size))
        code, err = self.run_agent(job)
        self.assertEqual(code, 0, err)
        out_dir = self.stdouterr_dir()
        data = read_bytes(os.path.join(out_dir, "stdout.txt"))
        self.assertEqual(len(data), size)
        self.assertEqual(data.count(b"x"), size, "stdout.txt holds more than the job's stdout")
        self.assertEqual(read_text(os.path.join(out_dir, "stderr.txt")),
                         "err-before\nerr-after\n")


class ExitCodeTest(RunJobTestCase):

    def test_failing_job(self):
        job = self.write_job(self.custom_job("echo about-to-fail; exit 3"))
        code, err = self.run_agent(job)
        self.assertEqual(code, 3, err)
        self.assertIn("JobFailed", err)
        out_dir = self.stdouterr_dir()
        self.assertIn("JobFailed", read_text(os.path.join(out_dir, "execution.log")))
        self.assertEqual(read_text(os.path.join(out_dir, "stdout.txt")), "about-to-fail\n")

    def test_failing_job_preparation_stops_the_job(self):
        job = self.write_job(self.custom_job(
            'touch "$D/toolkit-ran"',
            jobPreparation={"commandLine": "echo prep-out; echo prep-err >&2; exit 4"}))
        code, err = self.run_agent(job)
        self.assertEqual(code, 4, err)
        self.assertFalse(os.path.exists(self.mark("toolkit-ran")), "the toolkit ran")
        out_dir = self.stdouterr_dir()
        self.assertEqual(read_text(os.path.join(out_dir, "stdout-job_prep.txt")), "prep-out\n")
        self.assertEqual(read_text(os.path.join(out_dir, "stderr-job_prep.txt")), "prep-err\n")
        self.assertIn("JobPreparationFailed", read_text(os.path.join(out_dir, "execution.log")))
        self.assertIn("JobPreparationFailed", err)

    def test_successful_job_preparation_runs_first(self):
        job = self.write_job(self.custom_job(
            'cat "$D/prep-ran"',
            jobPreparation={"commandLine": 'echo prepared > "$D/prep-ran"'}))
        code, err = self.run_agent(job)
        self.assertEqual(code, 0, err)
        self.assertEqual(read_text(os.path.join(self.stdouterr_dir(), "stdout.txt")),
                         "prepared\n")


class TerminationTest(RunJobTestCase):

    def _start_pid_recording_job(self, grace, prologue="", **extra):
        job = self.write_job(self.custom_job(prologue + PID_RECORDING_SCRIPT + "sleep 1000\n",
                                             **extra))
        proc = self.start_agent(job, grace=grace)
        self.wait_for_file(self.mark("ready"))
        pids = self.record_pids()
        # Nothing stops the job before the test does: every process must be there to be checked.
        for name, (pid, ticks) in pids.items():
            self.assertIsNotNone(ticks, "the job's %s process %d ended early" % (name, pid))
        return proc, pids

    def test_max_wall_clock_time_kills_every_process_of_the_job(self):
        job = self.write_job(self.custom_job(PID_RECORDING_SCRIPT + "sleep 1000\n",
                                             constraints={"maxWallClockTime": "PT2S"}))
        proc = self.start_agent(job, grace=2)
        self.wait_for_file(self.mark("ready"))
        pids = self.record_pids()
        # While the job runs, status.json names its task, with its pid and start time.
        running = json.loads(read_text(glob.glob(os.path.join(self.state, "jobs", "*",
                                                              "status.json"))[0]))
        self.assertEqual(running["state"], "running")
        self.assertEqual(len(running["tasks"]), 1, running)
        task = running["tasks"][0]
        self.assertIsNone(task["exitCode"])
        self.assertGreater(task["startMs"], 0)
        self.assertTrue(os.path.exists("/proc/%d" % task["pid"]), task)
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 124, err)
        self.assertIn("MaxWallClockTimeExceeded", err)
        self.assert_processes_gone(pids)
        out_dir = self.stdouterr_dir()
        self.assertIn("MaxWallClockTimeExceeded", read_text(os.path.join(out_dir,
                                                                         "execution.log")))
        self.assertEqual(read_text(os.path.join(out_dir, "stdout.txt")), "started\n")
        status_files = glob.glob(os.path.join(self.state, "jobs", "*", "status.json"))
        self.assertEqual(len(status_files), 1)
        status = json.loads(read_text(status_files[0]))
        self.assertEqual(status["state"], "failed")
        if status["cgroup"]:
            self.assertFalse(os.path.exists(status["cgroup"]), "the job's cgroup is left")

    def test_max_wall_clock_time_as_timespan(self):
        job = self.write_job(self.custom_job("echo started; sleep 1000",
                                             constraints={"maxWallClockTime": "00:00:01"}))
        code, err = self.run_agent(job, grace=1)
        self.assertEqual(code, 124, err)
        self.assertIn("MaxWallClockTimeExceeded", err)

    def _check_terminated(self, sig, expected_code):
        proc, pids = self._start_pid_recording_job(grace=2)
        proc.send_signal(sig)
        code, err = self.finish_agent(proc)
        self.assertEqual(code, expected_code, err)
        self.assertIn("JobTerminate", err)
        self.assert_processes_gone(pids)
        log = read_text(os.path.join(self.stdouterr_dir(), "execution.log"))
        self.assertIn("JobTerminate", log)

    def test_sigterm_terminates_the_job(self):
        self._check_terminated(signal.SIGTERM, 143)

    def test_sigint_terminates_the_job(self):
        self._check_terminated(signal.SIGINT, 130)

    def test_job_ignoring_sigterm_is_killed_after_the_grace_period(self):
        proc, pids = self._start_pid_recording_job(grace=1, prologue="trap '' TERM\n")
        proc.send_signal(signal.SIGTERM)
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 143, err)
        self.assert_processes_gone(pids)
        log = read_text(os.path.join(self.stdouterr_dir(), "execution.log"))
        self.assertRegex(log, r"sent SIGKILL to \d+ remaining processes")


class InvalidDocumentTest(RunJobTestCase):

    def test_every_problem_is_reported_and_nothing_changes(self):
        job = self.write_job({
            "nodeCount": 1,
            "stdOutErrPathPrefix": self.logs,
            "outputDirectories": [{"id": "MO DEL", "pathPrefix": self.logs}],
            "environmentVariables": [{"name": "1BAD", "value": "x"}],
        })
        code, err = self.run_agent(job)
        self.assertEqual(code, 2, err)
        lines = err.splitlines()
        for path in ("properties.outputDirectories[0].id: ",
                     "properties.environmentVariables[0].name: ",
                     "properties: "):
            self.assertTrue(any(line.startswith(path) for line in lines),
                            "no line %r... in:\n%s" % (path, err))
        self.assertRegex(err, r"properties: names no toolkit")
        self.assertIn("MO DEL", err)
        self.assertIn("1BAD", err)
        self.assertIn("InvalidJobSpec: 3 problem(s)", err)
        self.assert_no_run_job_state(self.root, self.state, self.logs)

    def test_a_200_kb_field_is_refused_by_name_not_a_crash(self):
        # std::regex recursed once per character: this field was a SIGSEGV.
        huge = "a" * (200 * 1024)
        job = self.write_job(dict(self.custom_job("echo never"), mountVolumes={
            "azureFileShares": [{"accountName": "acct", "azureFileUrl": "https://" + huge,
                                 "credentials": {"accountKey": "a2V5"},
                                 "relativeMountPath": "logs"}],
            "fileServers": [{"fileServer": {"id": "nfs1", "mountSettings": {
                "fileServerInternalIP": huge, "mountPoint": "/x"}}, "relativeMountPath": "nfs"}]}))
        code, err = self.run_agent(job)
        self.assertEqual(code, 2, err[:2000])
        self.assertIn("properties.mountVolumes.azureFileShares[0].azureFileUrl: ", err)
        self.assertIn("properties.mountVolumes.fileServers[0].fileServer.mountSettings."
                      "fileServerInternalIP: ", err)
        self.assertLess(len(err), 8192, "messages show the start of a huge value, not all of it")
        self.assert_no_run_job_state(self.root, self.state, self.logs)

    def test_a_link_planted_in_the_logs_share_is_never_followed(self):
        # Anyone who can write a logs share can plant a link where the job's directories go:
        # root must not create stdouterr/ (or write stdout.txt) through it.
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.makedirs(elsewhere)
        os.makedirs(self.logs)
        os.symlink(elsewhere, os.path.join(self.logs, "local"))
        code, err = self.run_agent(self.write_job(self.custom_job("echo must not run")))
        self.assertEqual(code, 125, err)
        self.assertIn("JobSetupFailed", err)
        self.assertIn("symbolic link", err)
        self.assertEqual(os.listdir(elsewhere), [], "root wrote through the link")

    def test_bare_document_form_is_accepted(self):
        job = self.write_job(self.custom_job("echo bare"), wrapped=False)
        code, err = self.run_agent(job)
        self.assertEqual(code, 0, err)
        self.assertEqual(read_text(os.path.join(self.stdouterr_dir(), "stdout.txt")), "bare\n")


class EnvironmentTest(RunJobTestCase):

    def test_job_environment_and_expansion(self):
        secret = "env-secret-42"
        job = self.write_job(self.custom_job(
            'env; echo "CWD=$(pwd)"; cat "$AZ_BATCHAI_MPI_HOST_FILE"',
            inputDirectories=[{"id": "DATA", "path": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data"}],
            outputDirectories=[{"id": "MODEL", "pathPrefix": self.logs, "pathSuffix": "m"}],
            environmentVariables=[{"name": "MY_TMP", "value": "${AZ_BATCHAI_JOB_TEMP}/sub"},
                                  {"name": "PLAIN", "value": "a b  c"}],
            secrets=[{"name": "MY_SECRET", "value": secret}]))
        code, err = self.run_agent(job, name="envjob")
        self.assertEqual(code, 0, err)
        out_dir = self.stdouterr_dir(name="envjob")
        job_uuid = os.path.basename(os.path.dirname(out_dir))
        stdout = read_text(os.path.join(out_dir, "stdout.txt"))
        env = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)

        gpus = "/proc/driver/nvidia/gpus"
        expected_gpus = len([e for e in os.listdir(gpus) if not e.startswith(".")]) \
            if os.path.isdir(gpus) else 0
        self.assertEqual(env["AZ_BATCHAI_NUM_GPUS"], str(expected_gpus))
        self.assertEqual(env["AZ_BATCHAI_JOB_NAME"], "envjob")
        job_mount_root = os.path.join(self.job_dir("envjob"), "mounts")
        self.assertEqual(env["AZ_BATCHAI_JOB_MOUNT_ROOT"], job_mount_root)
        self.assertEqual(env["AZ_BATCHAI_MOUNT_ROOT"],
                         os.path.join(self.root, "shared", "LS_root", "mounts"))
        self.assertEqual(env["AZ_BATCHAI_INPUT_DATA"], job_mount_root + "/data")
        model = os.path.join(self.logs, SEGMENT, "envjob", job_uuid, "outputs", "m")
        self.assertEqual(env["AZ_BATCHAI_OUTPUT_MODEL"], model)
        self.assertTrue(os.path.isdir(model), "the output directory was not created")
        self.assertEqual(env["AZ_BATCHAI_STDOUTERR_DIR"], out_dir)
        job_temp = os.path.join(self.root, "tmp", "job-" + job_uuid)
        self.assertEqual(env["AZ_BATCHAI_JOB_TEMP"], job_temp)
        self.assertEqual(env["AZ_BATCHAI_JOB_TEMP_DIR"], os.path.join(self.root, "tmp"))
        self.assertEqual(env["MY_TMP"], job_temp + "/sub")
        self.assertEqual(env["PLAIN"], "a b  c")
        self.assertEqual(env["MY_SECRET"], secret)
        self.assertEqual(env["D"], self.marks)  # -e NAME=VALUE
        self.assertEqual(env["CWD"], job_temp)
        self.assertRegex(stdout, r"(?m)^\S+ slots=1$")

    def test_pytorch_tasks_and_arguments(self):
        script = os.path.join(self.tmp, "train.py")
        with open(script, "w") as f:
            f.write("import json, os, sys\n"
                    "print(json.dumps({'index': os.environ['AZ_BATCHAI_TASK_INDEX'],\n"
                    "                  'argv': sys.argv[1:],\n"
                    "                  'model': os.environ['AZ_BATCHAI_OUTPUT_MODEL']}))\n"
                    "print('task', os.environ['AZ_BATCHAI_TASK_INDEX'], file=sys.stderr)\n")
        job = self.write_job({
            "nodeCount": 1,
            "stdOutErrPathPrefix": self.logs,
            "outputDirectories": [{"id": "MODEL", "pathPrefix": self.logs}],
            "pyTorchSettings": {
                "pythonScriptFilePath": script,
                "commandLineArgs": "\"--out=$AZ_BATCHAI_OUTPUT_MODEL\" 'a b'",
                "processCount": 2,
            },
        })
        code, err = self.run_agent(job, name="torch")
        self.assertEqual(code, 0, err)
        out_dir = self.stdouterr_dir(name="torch")
        model = os.path.join(os.path.dirname(out_dir), "outputs")
        for i in range(2):
            report = json.loads(read_text(os.path.join(out_dir, "stdout-%d.txt" % i)))
            self.assertEqual(report["index"], str(i))
            self.assertEqual(report["model"], model)
            self.assertEqual(report["argv"], ["--out=" + model, "a b"])
            self.assertEqual(read_text(os.path.join(out_dir, "stderr-%d.txt" % i)),
                             "task %d\n" % i)


    def test_each_task_expands_its_own_rank_and_an_undefined_input_with_a_warning(self):
        # The PyTorch-Gloo recipe's arguments name each process's rank and the init method;
        # the TensorFlow-Distributed recipe names an input it no longer declares.
        script = os.path.join(self.tmp, "train.py")
        with open(script, "w") as f:
            f.write("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
        job = self.write_job({
            "nodeCount": 1,
            "stdOutErrPathPrefix": self.logs,
            "pyTorchSettings": {
                "pythonScriptFilePath": script, "processCount": 2, "communicationBackend": "gloo",
                "commandLineArgs": "--dist-backend $AZ_BATCHAI_PYTORCH_BACKEND "
                                   "--dist-url $AZ_BATCHAI_PYTORCH_INIT_METHOD "
                                   "--rank $AZ_BATCHAI_TASK_INDEX --world-size 2 "
                                   "--data_dir=$AZ_BATCHAI_INPUT_DATASET",
            },
        })
        code, err = self.run_agent(job, name="gloo")
        self.assertEqual(code, 0, err)
        self.assertIn("$AZ_BATCHAI_INPUT_DATASET is not defined; it expands to nothing", err)
        out_dir = self.stdouterr_dir(name="gloo")
        for i in range(2):
            argv = json.loads(read_text(os.path.join(out_dir, "stdout-%d.txt" % i)))
            self.assertEqual(argv[:2], ["--dist-backend", "gloo"])
            self.assertTrue(argv[3].startswith("file://") and argv[3].endswith("/pytorch_init"),
                            argv)
            self.assertEqual(argv[4:], ["--rank", str(i), "--world-size", "2", "--data_dir="])
        self.assertIn("warning: properties.pyTorchSettings.commandLineArgs: "
                      "$AZ_BATCHAI_INPUT_DATASET is not defined",
                      read_text(os.path.join(out_dir, "execution.log")))

class SecretTest(RunJobTestCase):

    def test_secret_value_is_never_written_or_shown(self):
        secret = "s3cr3t-VALUE-123"
        job = self.write_job(self.custom_job(
            'printf %s "$MY_SECRET" | sha256sum > "$D/secret.sha256"; '
            'touch "$D/ready"; while [ ! -e "$D/go" ]; do sleep 0.02; done',
            secrets=[{"name": "MY_SECRET", "value": secret}],
            jobPreparation={"commandLine": 'test -n "$MY_SECRET"'}))
        proc = self.start_agent(job)
        self.wait_for_file(self.mark("ready"))
        needle = secret.encode()
        for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                data = read_bytes(cmdline)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            self.assertNotIn(needle, data, "the secret is in the command line of " + cmdline)
        open(self.mark("go"), "w").close()
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 0, err)

        # The job saw the secret.
        self.assertEqual(read_text(self.mark("secret.sha256")).split()[0],
                         hashlib.sha256(needle).hexdigest())
        self.assertNotIn(secret, err)
        scanned = 0
        for top in (self.root, self.state, self.logs):
            for dirpath, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(dirpath, name)
                    self.assertNotIn(needle, read_bytes(path), "the secret is in " + path)
                    scanned += 1
        self.assertGreaterEqual(scanned, 4)  # execution.log, stdout, stderr, status.json...

        jobs = os.path.join(self.state, "jobs")
        self.assertEqual(os.stat(jobs).st_mode & 0o777, 0o700)
        job_states = glob.glob(os.path.join(jobs, "*"))
        self.assertEqual(len(job_states), 1)
        self.assertEqual(os.stat(job_states[0]).st_mode & 0o777, 0o700)

    def test_secret_cannot_be_expanded_into_arguments(self):
        job = self.write_job({
            "nodeCount": 1,
            "stdOutErrPathPrefix": self.logs,
            "pyTorchSettings": {"pythonScriptFilePath": os.path.join(self.tmp, "x.py"),
                                "commandLineArgs": "--key=$MY_SECRET"},
            "secrets": [{"name": "MY_SECRET", "value": "s3cr3t-VALUE-123"}],
        })
        code, err = self.run_agent(job)
        self.assertEqual(code, 2, err)
        self.assertIn("properties.pyTorchSettings.commandLineArgs: ", err)
        self.assertNotIn("s3cr3t-VALUE-123", err)
        self.assert_no_run_job_state(self.root, self.state, self.logs)


class MountTest(RunJobTestCase):

    def test_unmanaged_mount_is_mounted_for_the_job_and_taken_down(self):
        job = self.write_job(self.custom_job(
            'mp="$AZ_BATCHAI_JOB_MOUNT_ROOT/scratch"; '
            'mountpoint -q "$mp" && echo is-a-mount; '
            'stat -f -c %T "$mp"; '
            'echo hello > "$mp/file.txt" && cat "$mp/file.txt"',
            mountVolumes={"unmanagedFileSystems": [{
                "mountCommand": "mount -t tmpfs -o size=1m tmpfs",
                "relativeMountPath": "scratch"}]}))
        code, err = self.run_agent(job, name="mnt")
        self.assertEqual(code, 0, err)
        out_dir = self.stdouterr_dir(name="mnt")
        self.assertEqual(read_text(os.path.join(out_dir, "stdout.txt")),
                         "is-a-mount\ntmpfs\nhello\n")
        self.assertIn("mounted scratch at", read_text(os.path.join(out_dir, "execution.log")))
        self.assert_nothing_mounted()
        self.assertFalse(os.path.exists(self.job_dir("mnt")), "job mount dirs left behind")

    def test_failing_mount_command_stops_the_job_and_undoes_the_mounts(self):
        job = self.write_job(self.custom_job(
            'touch "$D/job-ran"',
            mountVolumes={"unmanagedFileSystems": [
                {"mountCommand": "mount -t tmpfs -o size=1m tmpfs",
                 "relativeMountPath": "scratch"},
                {"mountCommand": "false", "relativeMountPath": "broken"}]}))
        code, err = self.run_agent(job, name="badmnt")
        self.assertEqual(code, 125, err)
        self.assertIn("UnmanagedMountError", err)
        self.assertIn("properties.mountVolumes.unmanagedFileSystems[1]", err)
        self.assertFalse(os.path.exists(self.mark("job-ran")), "the job ran")
        self.assertEqual(glob.glob(os.path.join(self.state, "jobs", "*")), [],
                         "a supervisor was started")
        self.assert_nothing_mounted()
        self.assertFalse(os.path.exists(self.job_dir("badmnt")), "job mount dirs left behind")

    def test_output_directories_on_a_job_volume(self):
        # The quickstart's layout (reference seeds): stdOutErrPathPrefix and the output
        # directories are on a volume the job itself mounts, so they must be created after it is
        # mounted, on it.
        share = os.path.join(self.tmp, "share")
        os.makedirs(share)
        job = self.write_job(self.custom_job(
            'echo hi; echo model > "$AZ_BATCHAI_OUTPUT_MODEL/m.txt"',
            stdOutErrPathPrefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
            outputDirectories=[{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs"}],
            mountVolumes={"unmanagedFileSystems": [{
                "mountCommand": "mount --bind " + share, "relativeMountPath": "logs"}]}))
        code, err = self.run_agent(job, name="onvol")
        self.assertEqual(code, 0, err)
        out_dir = self.stdouterr_dir(share, "onvol")
        self.assertEqual(read_text(os.path.join(out_dir, "stdout.txt")), "hi\n")
        self.assertIn("exit code 0", read_text(os.path.join(out_dir, "execution.log")))
        self.assertEqual(read_text(os.path.join(os.path.dirname(out_dir), "outputs", "m.txt")),
                         "model\n")
        self.assert_nothing_mounted()
        self.assertFalse(os.path.exists(self.job_dir("onvol")), "job mount dirs left behind")

    def test_leftover_mounts_are_taken_down_before_the_next_job(self):
        # A run-job killed outright cannot unmount its job's volumes; its supervisor still ends
        # the job (it dies with its parent), and the next job on the node root must take the
        # leftovers down (reference section 6).
        job = self.write_job(self.custom_job(
            PID_RECORDING_SCRIPT + "sleep 1000\n",
            mountVolumes={"unmanagedFileSystems": [{
                "mountCommand": "mount -t tmpfs -o size=1m tmpfs",
                "relativeMountPath": "scratch"}]}), file_name="killed.json")
        proc = self.start_agent(job, name="killed", grace=1)
        self.wait_for_file(self.mark("ready"))
        pids = self.record_pids()
        status_file = glob.glob(os.path.join(self.state, "jobs", "*", "status.json"))[0]
        supervisor = json.loads(read_text(status_file))["supervisorPid"]
        pids["supervisor"] = (supervisor, process_start_ticks(supervisor))
        # What ps and systemd show for it (it runs through /proc/self/exe, which says "exe").
        self.assertEqual(read_text("/proc/%d/comm" % supervisor).strip(), "batchai-job")
        proc.kill()
        proc.wait(timeout=SAFETY_TIMEOUT)
        wait_for(lambda: not any(process_alive(pid, ticks) for pid, ticks in pids.values()),
                 "the killed run-job's supervisor and job processes to end")

        next_job = self.write_job(self.custom_job("echo next"), file_name="next.json")
        code, err = self.run_agent(next_job, name="next")
        self.assertEqual(code, 0, err)
        self.assert_nothing_mounted()
        self.assertFalse(os.path.exists(self.job_dir("killed")), "job mount dirs left behind")


class ConcurrencyTest(RunJobTestCase):

    def test_second_job_on_the_same_root_is_refused(self):
        first = self.write_job(self.custom_job(
            'touch "$D/ready"; while [ ! -e "$D/go" ]; do sleep 0.02; done; echo first-done'),
            file_name="first.json")
        second = self.write_job(self.custom_job('touch "$D/second-ran"'),
                                file_name="second.json")
        proc = self.start_agent(first, name="first")
        self.wait_for_file(self.mark("ready"))
        code, err = self.run_agent(second, name="second")
        self.assertEqual(code, 125, err)
        self.assertIn("another job", err)
        self.assertFalse(os.path.exists(self.mark("second-ran")), "the second job ran")
        self.assertEqual(self.stdouterr_dirs(name="second"), [])
        self.assertIsNone(proc.poll(), "the first job was disturbed")
        open(self.mark("go"), "w").close()
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 0, err)
        self.assertEqual(read_text(os.path.join(self.stdouterr_dir(name="first"), "stdout.txt")),
                         "first-done\n")

    def test_the_root_stays_locked_while_a_killed_run_jobs_job_is_still_stopping(self):
        # run-job is killed outright; its supervisor keeps the node root locked while it stops
        # the job (here a job that ignores SIGTERM, so stopping takes the grace period), so a new
        # run-job cannot unmount or empty anything under the old job.
        job = self.write_job(self.custom_job(
            "trap '' TERM\n" + PID_RECORDING_SCRIPT + "sleep 1000\n"), file_name="stubborn.json")
        proc = self.start_agent(job, name="stubborn", grace=10)
        self.wait_for_file(self.mark("ready"))
        pids = self.record_pids()
        proc.kill()
        proc.wait(timeout=SAFETY_TIMEOUT)
        self.assertTrue(process_alive(*pids["main"]), "the job should still be in its grace period")
        second = self.write_job(self.custom_job('touch "$D/second-ran"'), file_name="second.json")
        code, err = self.run_agent(second, name="second")
        self.assertEqual(code, 125, err)
        self.assertIn("another job", err)
        self.assertFalse(os.path.exists(self.mark("second-ran")), "the second job ran")
        wait_for(lambda: not any(process_alive(pid, ticks) for pid, ticks in pids.values()),
                 "the stubborn job to be killed after its grace period")


class RobustnessTest(RunJobTestCase):

    def test_a_fifo_planted_as_an_output_file_fails_the_job_instead_of_hanging_it(self):
        job = self.write_job(self.custom_job(
            "echo never", jobPreparation={
                "commandLine": 'mkfifo "$AZ_BATCHAI_STDOUTERR_DIR/stdout.txt"'}))
        code, err = self.run_agent(job)
        self.assertEqual(code, 127, err)
        self.assertIn("JobFailed", err)
        log = read_text(os.path.join(self.stdouterr_dir(), "execution.log"))
        self.assertIn("task main could not start: cannot open", log)

    def test_outcome_is_kept_when_termination_arrives_while_leftovers_are_stopped(self):
        # The job's main process succeeds and leaves a process behind that ignores SIGTERM.
        # While the supervisor waits out the grace period for it, run-job is asked to terminate:
        # the job had already succeeded, and stays succeeded.
        job = self.write_job(self.custom_job(
            "setsid bash -c 'trap \"touch $D/leftover-got-term\" TERM; "
            "touch $D/leftover-ready; while :; do sleep 0.05; done' &\n"
            'while [ ! -e "$D/leftover-ready" ]; do sleep 0.01; done\n'
            "echo done"))
        proc = self.start_agent(job, grace=3)
        self.wait_for_file(self.mark("leftover-got-term"))
        proc.send_signal(signal.SIGTERM)
        code, err = self.finish_agent(proc)
        self.assertEqual(code, 0, err)
        self.assertIn("succeeded", err)
        self.assertNotIn("JobTerminate", err)

    def test_mount_command_gets_the_jobs_variables_but_not_its_secrets(self):
        helper = os.path.join(self.tmp, "mount-helper.sh")
        with open(helper, "w") as f:
            f.write('#!/bin/sh\nenv > "$D/mount-env.txt"\nexec mount -t tmpfs -o size=1m tmpfs "$@"\n')
        os.chmod(helper, 0o755)
        secret = "mount-s3cr3t-7f3a"
        job = self.write_job(self.custom_job(
            'test "$TOKEN" = "%s"' % secret,
            secrets=[{"name": "TOKEN", "value": secret}],
            mountVolumes={"unmanagedFileSystems": [
                {"mountCommand": helper, "relativeMountPath": "scratch"}]}))
        code, err = self.run_agent(job)
        self.assertEqual(code, 0, err)
        env = read_text(self.mark("mount-env.txt"))
        self.assertIn("AZ_BATCHAI_JOB_MOUNT_ROOT=", env)
        self.assertNotIn(secret, env)
        self.assertNotIn("TOKEN=", env)


if __name__ == "__main__":
    sys.exit(unittest.main())
