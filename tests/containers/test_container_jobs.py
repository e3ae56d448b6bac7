"""Container jobs (containerSettings) through `batchai-agent run-job` against a real dockerd.

The test suite starts its own dockerd on a private socket (tests/containers/fixtures.py) and
builds its images locally: no public registry is reachable. A private registry on loopback with
htpasswd users proves the pull with credentials.

    BATCHAI_AGENT=build/bin/batchai-agent python3 -m unittest -v tests.containers.test_container_jobs
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from tests.containers.fixtures import (BUSYBOX_TAG, PYTHON_TAG, Dockerd, Registry, available,
                                       build_busybox_image, build_python_image)
from tests.support.common import AGENT, REPO, SAFETY_TIMEOUT, read_text, wait_for

SCHEMA = "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json"
BASH_TAG = "batchai-test/busybox-bash:1"


class ContainerJobTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(AGENT, os.X_OK):
            raise unittest.SkipTest("no agent binary at %s" % AGENT)
        reason = available()
        if reason:
            raise AssertionError("dockerd: " + reason + " (scripts/install-test-servers.sh)")
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-docker-")
        cls.dockerd = Dockerd().start(cls.server_dir)
        cls.engine = cls.dockerd.engine
        build_busybox_image(cls.dockerd)
        build_python_image(cls.dockerd, log=lambda *a: None)
        cls.build_bash_image()

    @classmethod
    def build_bash_image(cls):
        """busybox with a /bin/bash that is its sh: the agent runs command lines with bash -c."""
        status, c = cls.engine.api("POST", "/containers/create", {
            "Image": BUSYBOX_TAG,
            "Cmd": ["/bin/sh", "-c", "printf '#!/bin/sh\\nexec /bin/sh \"$@\"\\n' > /bin/bash && "
                                     "chmod 755 /bin/bash"]})
        assert status == 201, c
        cls.engine.api("POST", "/containers/%s/start" % c["Id"])
        cls.engine.api("POST", "/containers/%s/wait" % c["Id"], timeout=60)
        repo, tag = BASH_TAG.split(":")
        status, body = cls.engine.api("POST", "/commit", query={"container": c["Id"],
                                                                "repo": repo, "tag": tag})
        assert status == 201, body
        cls.engine.remove_container(c["Id"])

    @classmethod
    def tearDownClass(cls):
        cls.dockerd.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-cjob-"))
        self.root = os.path.join(self.tmp, "root")
        self.logs = os.path.join(self.root, "logs")  # below the node root, where a job may write
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.assert_no_container_left)

    def assert_no_container_left(self):
        left = [c["Names"][0] for c in self.engine.containers()
                if c.get("Labels", {}).get("batchai-agent.root") == self.root]
        self.assertEqual(left, [], "the job's container stayed")

    def props(self, command, image=PYTHON_TAG, **extra):
        p = {"nodeCount": 1, "customToolkitSettings": {"commandLine": command},
             "stdOutErrPathPrefix": self.logs,
             "containerSettings": {"imageSourceRegistry": {"image": image}}}
        p.update(extra)
        return p

    def run_job(self, props, name="cjob", wait=True, extra_args=()):
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump({"$schema": SCHEMA, "properties": props}, f)
        argv = [AGENT, "run-job", "--root", self.root, "--state-dir",
                os.path.join(self.tmp, "state"), "--docker-socket", self.dockerd.socket,
                "--name", name, "--grace", "2"] + list(extra_args) + [path]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not wait:
            return proc
        out, err = proc.communicate(timeout=SAFETY_TIMEOUT * 4)
        return proc.returncode, out + err

    def output(self, name, job="cjob"):
        found = glob.glob(os.path.join(self.logs, "**", job, "*", "stdouterr", name),
                          recursive=True)
        return read_text(found[0]) if found else None


class ContainerJobTest(ContainerJobTestCase):
    def test_environment_paths_streams_exit_code_and_preparation_in_one_container(self):
        code, out = self.run_job(self.props(
            "test -f /tmp/prepared-here && echo prepared in this container; "
            "echo job=$AZ_BATCHAI_JOB_NAME secret=${TOKEN:+set}; "
            "echo to-stderr >&2; "
            "echo model > $AZ_BATCHAI_OUTPUT_MODEL/m.txt; "
            "cat /etc/os-release | grep -c bookworm; "
            "python3 -c 'import numpy, sklearn; print(\"numpy\", numpy.__name__)'; "
            "df -k /dev/shm | tail -1; exit 3",
            jobPreparation={"commandLine": "touch /tmp/prepared-here; echo preparing"},
            outputDirectories=[{"id": "MODEL", "pathPrefix": self.logs}],
            secrets=[{"name": "TOKEN", "value": "s3cr3t-value"}],
            containerSettings={"imageSourceRegistry": {"image": PYTHON_TAG},
                               "shmSize": "64mb"}))
        self.assertEqual(code, 3, out)
        stdout = self.output("stdout.txt")
        self.assertIn("prepared in this container", stdout)
        self.assertIn("job=cjob secret=set", stdout)
        self.assertIn("numpy numpy", stdout)
        self.assertRegex(stdout, r"\s65536\s")  # /dev/shm is shmSize big
        self.assertEqual(self.output("stderr.txt"), "to-stderr\n")
        self.assertEqual(self.output("stdout-job_prep.txt"), "preparing\n")
        models = glob.glob(os.path.join(self.logs, "**", "outputs", "m.txt"), recursive=True)
        self.assertEqual(len(models), 1, "the output written in the container is not on the node")
        log = self.output("execution.log")
        self.assertIn("container batchai-job-", log)
        self.assertNotIn("s3cr3t-value", log)
        # The secret went to the command's environment only, never into the container's config.
        self.assertNotIn("s3cr3t-value", out)

    def test_termination_stops_the_container(self):
        proc = self.run_job(self.props("echo started; sleep 1000"), wait=False)
        wait_for(lambda: (self.output("stdout.txt") or "").startswith("started"), "the job")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=SAFETY_TIMEOUT)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, out + err)
        self.assertIn("JobTerminate", read_text(glob.glob(os.path.join(
            self.tmp, "state", "jobs", "*", "status.json"))[0]))

    def test_wall_clock_limit_stops_the_container(self):
        code, out = self.run_job(self.props("echo started; sleep 1000",
                                            constraints={"maxWallClockTime": "PT2S"}))
        self.assertEqual(code, 124, out)
        self.assertIn("started", self.output("stdout.txt"))

    def test_a_missing_image_is_failed_starting_container(self):
        image = "batchai-test/no-such-image:1"
        code, out = self.run_job(self.props("echo must not run", image=image))
        self.assertEqual(code, 125, out)
        self.assertIn("FailedStartingContainer", out)
        self.assertIn(image, out)
        self.assertIn("pull", out)
        self.assertIsNone(self.output("stdout.txt"))

    def test_inputs_outside_the_root_need_an_allowed_root_and_are_never_links(self):
        allowed = os.path.join(self.tmp, "datasets")
        os.makedirs(os.path.join(allowed, "mnist"))
        with open(os.path.join(allowed, "mnist", "rows.txt"), "w") as f:
            f.write("1,2,3\n")
        os.symlink("/etc", os.path.join(allowed, "etc-link"))
        read = "cat $AZ_BATCHAI_INPUT_DATA/rows.txt; touch $AZ_BATCHAI_INPUT_DATA/w 2>/dev/null " \
               "&& echo writable || echo read-only"
        props = self.props(read, inputDirectories=[
            {"id": "DATA", "path": os.path.join(allowed, "mnist")}])
        # Not allowed: refused at validation.
        code, out = self.run_job(props)
        self.assertEqual(code, 2, out)
        self.assertIn("containerInputRoots", out)
        # Allowed: bound, read-only.
        code, out = self.run_job(props, extra_args=["--container-input-root", allowed])
        self.assertEqual(code, 0, out)
        self.assertEqual(self.output("stdout.txt"), "1,2,3\nread-only\n")
        # A link below the allowed root would bind what it points to: never.
        props["inputDirectories"][0]["path"] = os.path.join(allowed, "etc-link")
        code, out = self.run_job(props, name="linked",
                                 extra_args=["--container-input-root", allowed])
        self.assertEqual(code, 125, out)
        self.assertIn("symbolic link", out)

    def test_a_bad_image_name_is_refused_before_anything_runs(self):
        # Docker's reference grammar, checked at validation: the engine never sees it.
        code, out = self.run_job(self.props("echo must not run", image="UPPER/Case:bad"))
        self.assertEqual(code, 2, out)
        self.assertIn("properties.containerSettings.imageSourceRegistry.image: ", out)
        self.assertIsNone(self.output("stdout.txt"))


    def test_engine_not_running_is_a_clear_error(self):
        path = os.path.join(self.tmp, "no.sock")
        props = self.props("echo must not run")
        with open(os.path.join(self.tmp, "j.json"), "w") as f:
            json.dump({"properties": props}, f)
        p = subprocess.run([AGENT, "run-job", "--root", self.root, "--state-dir",
                            os.path.join(self.tmp, "state"), "--docker-socket", path,
                            os.path.join(self.tmp, "j.json")],
                           capture_output=True, text=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("FailedStartingContainer", p.stderr)
        self.assertIn("the container engine at %s does not answer" % path, p.stderr)

    def test_containers_left_by_an_agent_that_died_are_removed_before_the_next_job(self):
        status, c = self.engine.api("POST", "/containers/create", {
            "Image": BUSYBOX_TAG, "Cmd": ["sleep", "1000"],
            "Labels": {"batchai-agent.root": self.root, "batchai-agent.job": "gone"}})
        self.assertEqual(status, 201, c)
        self.engine.api("POST", "/containers/%s/start" % c["Id"])
        code, out = self.run_job(self.props("echo fine"))
        self.assertEqual(code, 0, out)
        status, _ = self.engine.api("GET", "/containers/%s/json" % c["Id"])
        self.assertEqual(status, 404, "the leftover container is still there")


class DemoJobTest(ContainerJobTestCase):
    """examples/digits, bare and in an image with Debian's python3, numpy and sklearn."""

    def test_the_demo_job_gives_the_same_results_in_a_container(self):
        with open(os.path.join(REPO, "examples", "digits", "job.json")) as f:
            doc = json.load(f)
        results = {}
        for name, container in (("bare", None), ("contained", PYTHON_TAG)):
            props = json.loads(json.dumps(doc["properties"]))
            props["stdOutErrPathPrefix"] = props["outputDirectories"][0]["pathPrefix"] = self.logs
            if container:
                props["containerSettings"] = {"imageSourceRegistry": {"image": container}}
            code, out = self.run_job(props, name=name,
                                     extra_args=["-e", "DEMO_DIR=" + os.path.join(REPO, "examples",
                                                                                  "digits")])
            self.assertEqual(code, 0, out)
            stderr = self.output("stderr.txt", job=name)
            results[name] = [l for l in stderr.splitlines()
                             if l.startswith(("Finished Epoch", "Final Results"))]
            models = glob.glob(os.path.join(self.logs, "**", name, "*", "outputs", "*"),
                               recursive=True)
            results[name].append(sorted(os.path.basename(m) for m in models))
        self.assertTrue(results["bare"][0])
        # Epoch lines carry their time; the rest must match.
        strip = lambda lines: [re.sub(r" [0-9.]+s \([^)]*\);$", "", l) if isinstance(l, str)
                               else l for l in lines]
        self.assertEqual(strip(results["contained"]), strip(results["bare"]))


class RegistryTest(ContainerJobTestCase):
    def setUp(self):
        super().setUp()
        self.registry = Registry().start(self.tmp, users={"puller": "right-password"})
        self.addCleanup(self.registry.stop)
        self.image = self.registry.push(self.dockerd, BASH_TAG, "jobs/busybox", tag="v1")

    def registry_props(self, password):
        return self.props("echo pulled and ran", containerSettings={"imageSourceRegistry": {
            "serverUrl": "http://" + self.registry.address, "image": "jobs/busybox:v1",
            "credentials": {"username": "puller", "password": password}}})

    def test_pull_from_a_private_registry_with_credentials(self):
        code, out = self.run_job(self.registry_props("right-password"))
        self.assertEqual(code, 0, out)
        self.assertEqual(self.output("stdout.txt"), "pulled and ran\n")
        self.assertNotIn("right-password", out)

    def test_wrong_password_says_so(self):
        code, out = self.run_job(self.registry_props("wrong-password"))
        self.assertEqual(code, 125, out)
        self.assertIn("FailedStartingContainer", out)
        self.assertIn("unauthorized", out)
        self.assertIn(self.image, out)
        self.assertNotIn("wrong-password", out)


if __name__ == "__main__":
    unittest.main()
