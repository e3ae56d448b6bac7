"""Tests of the `batchai` command line against a fake control plane started in the test.

Run from the repository root:

    BATCHAI_CLI=build/bin/batchai python3 -m unittest -v tests.cli.test_cli

The fake server (http.server on 127.0.0.1, a free port) answers from per-test routes and records
every request (method, path, query, headers, body), so each test checks what the CLI sent and what
it printed. The CLI polls in `job file stream`; the fake's answers are scripted per request, so the
test never waits for time to pass (`--interval 0.01` only keeps the run short).
"""

import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from tests.support.common import CLI

SAFETY_TIMEOUT = 60  # only a guard against a hung CLI, never a measured expectation
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
WORKSPACE = SUBSCRIPTION + "/resourceGroups/batchai.local/providers/Microsoft.BatchAI/workspaces/ws"
DEFAULT_WORKSPACE = WORKSPACE[:-len("/ws")] + "/default"
EXPERIMENT = WORKSPACE + "/experiments/exp"
JOBS = EXPERIMENT + "/jobs"
DEFAULT_EXPERIMENT = DEFAULT_WORKSPACE + "/experiments/default"
DEFAULT_JOBS = DEFAULT_EXPERIMENT + "/jobs"
JOB_TYPE = "Microsoft.BatchAI/workspaces/experiments/jobs"

# The seeds' sample job, cut down (az batchai job create ... output).
JOB = {
    "name": "cntk_python_1",
    "executionState": "running",
    "creationTime": "2018-06-14T22:22:57.543Z",
    "executionInfo": {"startTime": "2018-06-14T22:22:59.838Z", "endTime": None,
                      "exitCode": None, "errors": None},
    "jobOutputDirectoryPathSegment": "00000000-0000-0000-0000-000000000000/batchai.local/"
                                     "workspaces/ws/experiments/exp/jobs/cntk_python_1/f2d6",
    "cluster": {"id": "/subscriptions/0/resourceGroups/batchai.local/providers/"
                      "Microsoft.BatchAI/clusters/nc6"},
    "nodeCount": 1,
    "toolType": "cntk",
}
JOB_DOCUMENT = {
    "$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-03-01/cntk.json",
    "properties": {
        "nodeCount": 1,
        "cntkSettings": {"pythonScriptFilePath": "$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/a.py"},
        "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
    },
}
CLUSTER = {
    "name": "nc6",
    "allocationState": "steady",
    "currentNodeCount": 1,
    "nodeStateCounts": {"idleNodeCount": 0, "leavingNodeCount": 0, "preparingNodeCount": 0,
                        "runningNodeCount": 1, "unusableNodeCount": 0},
    "scaleSettings": {"manual": {"nodeDeallocationOption": "requeue", "targetNodeCount": 1}},
}


def resource(flat, resource_type=JOB_TYPE, parent=JOBS):
    """A flat job or cluster (as az prints it) as the resource-manager API sends it: id, name and
    type at the top, the rest under properties."""
    properties = {k: v for k, v in flat.items() if k != "name"}
    return {"id": parent + "/" + flat["name"], "name": flat["name"], "type": resource_type,
            "properties": properties}


def flat(value, resource_type=JOB_TYPE, parent=JOBS):
    """What the CLI prints for resource(value): the properties merged in, with the resource
    group."""
    return dict(value, id=parent + "/" + value["name"], type=resource_type,
                resourceGroup="batchai.local")


def az_json(value):
    """JSON as the CLI prints it (and az does): 2-space indent, keys sorted."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def answer(status, body=None, headers=None):
    """A scripted answer: body is JSON-encoded unless it is bytes."""
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    return (status, dict(headers or {}), data)


def error(status, code, message):
    return answer(status, {"error": {"code": code, "message": message}})


class FakeControlPlane:
    """A threaded HTTP server on 127.0.0.1 that answers from routes and records requests.

    routes maps (method, path) to an answer, a list of answers (one per request, in order; the
    last one repeats) or a function(request) -> answer. Anything else is a 404.
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                request = {
                    "method": self.command,
                    "path": url.path,
                    "query": urllib.parse.parse_qs(url.query),
                    "raw_path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                status, headers, data = fake.respond(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if data or status not in (204, 304):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def respond(self, request):
        with self.lock:
            self.requests.append(request)
            route = self.routes.get((request["method"], request["path"]))
            if route is None:
                return error(404, "NotFound", "no route for %s %s" % (request["method"],
                                                                      request["path"]))
            if callable(route):
                return route(request)
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
            return route

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class CliTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeControlPlane()
        self.addCleanup(self.fake.close)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # job create asks for the experiment first; both exist unless a test says otherwise.
        self.fake.routes[("GET", EXPERIMENT)] = answer(200, {"name": "exp"})
        self.fake.routes[("GET", DEFAULT_EXPERIMENT)] = answer(200, {"name": "default"})

    def run_cli(self, *args, server=True, env=None):
        """Runs batchai with --server pointing at the fake; returns CompletedProcess (text)."""
        full_env = {k: v for k, v in os.environ.items()
                    if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                                         "batchai_server")}
        full_env.update(env or {})
        argv = [CLI] + (["--server", self.fake.url] if server else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, env=full_env,
                              timeout=SAFETY_TIMEOUT)

    def write(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def only_request(self):
        self.assertEqual(len(self.fake.requests), 1, self.fake.requests)
        return self.fake.requests[0]

    def requests_to(self, method, path):
        return [r for r in self.fake.requests if (r["method"], r["path"]) == (method, path)]

    def only_put(self, path):
        puts = self.requests_to("PUT", path)
        self.assertEqual(len(puts), 1, self.fake.requests)
        return puts[0]

    # --- job create ---------------------------------------------------------------------------

    def test_job_create_puts_the_document_and_prints_the_job(self):
        self.fake.routes[("PUT", JOBS + "/cntk_python_1")] = answer(200, resource(JOB))
        job_file = self.write("job.json", JOB_DOCUMENT)
        r = self.run_cli("job", "create", "-n", "cntk_python_1", "-f", job_file,
                         "-w", "ws", "-e", "exp", "-c", "nc6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, az_json(flat(JOB)))
        req = self.only_put(JOBS + "/cntk_python_1")
        self.assertEqual(req["query"], {"api-version": ["2018-05-01"]})
        self.assertEqual(req["headers"]["content-type"], "application/json")
        sent = json.loads(req["body"])
        expected = json.loads(json.dumps(JOB_DOCUMENT))
        expected["properties"]["cluster"] = {"id": "nc6"}
        self.assertEqual(sent, expected)
        # The experiment was asked for, not made: it exists.
        self.assertEqual(len(self.requests_to("GET", EXPERIMENT)), 1)
        self.assertEqual(self.requests_to("PUT", EXPERIMENT), [])

    def test_job_create_makes_a_missing_experiment_first(self):
        self.fake.routes[("GET", EXPERIMENT)] = error(404, "ResourceNotFound", "no experiment")
        self.fake.routes[("PUT", EXPERIMENT)] = answer(200, {"name": "exp"})
        self.fake.routes[("PUT", JOBS + "/j1")] = answer(200, resource(dict(JOB, name="j1")))
        r = self.run_cli("job", "create", "-n", "j1", "-f", self.write("job.json", JOB_DOCUMENT),
                         "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        order = [(q["method"], q["path"]) for q in self.fake.requests]
        self.assertEqual(order, [("GET", EXPERIMENT), ("PUT", EXPERIMENT), ("PUT", JOBS + "/j1")])
        self.assertEqual(json.loads(self.requests_to("PUT", EXPERIMENT)[0]["body"]), {})

    def test_job_create_in_a_missing_workspace_fails_without_a_job(self):
        self.fake.routes[("GET", EXPERIMENT)] = error(404, "ResourceNotFound", "no workspace ws")
        self.fake.routes[("PUT", EXPERIMENT)] = error(404, "ResourceNotFound", "no workspace ws")
        r = self.run_cli("job", "create", "-n", "j1", "-f", self.write("job.json", JOB_DOCUMENT),
                         "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "batchai: job create j1: no workspace ws\n")
        self.assertEqual(self.requests_to("PUT", JOBS + "/j1"), [])

    def test_job_create_fills_in_the_configured_storage_account_as_az_did(self):
        self.fake.routes[("PUT", DEFAULT_JOBS + "/j1")] = answer(200, resource(JOB))
        doc = json.loads(json.dumps(JOB_DOCUMENT))
        doc["properties"]["mountVolumes"] = {
            "azureFileShares": [{"azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>"
                                                 ".file.core.windows.net/logs",
                                 "relativeMountPath": "logs"},
                                {"accountName": "other", "credentials": {"accountKey": "k2"},
                                 "azureFileUrl": "https://other.file.core.windows.net/s",
                                 "relativeMountPath": "s"}],
            "azureBlobFileSystems": [{"accountName": "<AZURE_BATCHAI_STORAGE_ACCOUNT>",
                                      "containerName": "data", "relativeMountPath": "data"}]}
        job_file = self.write("job.json", doc)
        env = {"AZURE_BATCHAI_STORAGE_ACCOUNT": "acct", "AZURE_BATCHAI_STORAGE_KEY": "k1"}
        r = self.run_cli("job", "create", "-n", "j1", "-f", job_file, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        sent = json.loads(self.only_put(DEFAULT_JOBS + "/j1")["body"])["properties"]["mountVolumes"]
        share, other = sent["azureFileShares"]
        self.assertEqual(share["azureFileUrl"], "https://acct.file.core.windows.net/logs")
        self.assertEqual(share["accountName"], "acct")
        self.assertEqual(share["credentials"], {"accountKey": "k1"})
        self.assertEqual(other["credentials"], {"accountKey": "k2"})  # given: kept
        self.assertEqual(sent["azureBlobFileSystems"][0]["accountName"], "acct")
        self.assertEqual(sent["azureBlobFileSystems"][0]["credentials"], {"accountKey": "k1"})
        # Without the configured account nothing is sent and the error says what to set.
        self.fake.requests.clear()
        r = self.run_cli("job", "create", "-n", "j1", "-f", job_file)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("AZURE_BATCHAI_STORAGE_ACCOUNT", r.stderr)
        self.assertIn("properties.mountVolumes.azureFileShares[0]", r.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_job_create_without_c_leaves_the_cluster_to_the_server(self):
        self.fake.routes[("PUT", DEFAULT_JOBS + "/j1")] = answer(200, resource(JOB))
        r = self.run_cli("job", "create", "-n", "j1", "-f", self.write("job.json", JOB_DOCUMENT))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.only_put(DEFAULT_JOBS + "/j1")["body"]), JOB_DOCUMENT)

    def test_job_create_keeps_the_documents_cluster_without_c(self):
        self.fake.routes[("PUT", DEFAULT_JOBS + "/j1")] = answer(200, resource(JOB))
        doc = {"nodeCount": 1, "cluster": {"id": "gpu"},
               "customToolkitSettings": {"commandLine": "true"}, "stdOutErrPathPrefix": "/x"}
        r = self.run_cli("job", "create", "-n", "j1", "-f", self.write("job.json", doc))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.only_put(DEFAULT_JOBS + "/j1")["body"]), doc)

    def test_job_create_in_another_resource_group(self):
        group = SUBSCRIPTION + "/resourceGroups/team.a/providers/Microsoft.BatchAI/workspaces/ws"
        self.fake.routes[("GET", group + "/experiments/exp")] = answer(200, {"name": "exp"})
        self.fake.routes[("PUT", group + "/experiments/exp/jobs/j1")] = answer(
            200, resource(JOB, parent=group + "/experiments/exp/jobs"))
        r = self.run_cli("-g", "team.a", "-w", "ws", "-e", "exp", "job", "create", "-n", "j1",
                         "-f", self.write("job.json", JOB_DOCUMENT))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["resourceGroup"], "team.a")

    def test_job_create_400_prints_every_problem_and_exits_2(self):
        message = ("the job is not valid (2 problems):\n"
                   "properties.nodeCount: must be at least 1\n"
                   "properties.stdOutErrPathPrefix: is required")
        self.fake.routes[("PUT", JOBS + "/bad")] = error(400, "InvalidJobDocument", message)
        r = self.run_cli("job", "create", "-n", "bad", "-f", self.write("job.json", JOB_DOCUMENT),
                         "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(lines[0], "batchai: job create bad: the job is not valid (2 problems):")
        self.assertEqual([l.strip() for l in lines[1:]],
                         ["properties.nodeCount: must be at least 1",
                          "properties.stdOutErrPathPrefix: is required"])

    def test_job_create_400_details_are_problem_lines_too(self):
        self.fake.routes[("PUT", JOBS + "/bad")] = answer(400, {"error": {
            "code": "InvalidJobDocument", "message": "the job is not valid",
            "details": [{"path": "properties.nodeCount", "message": "must be at least 1"},
                        "properties.cluster: unknown"]}})
        r = self.run_cli("-w", "ws", "-e", "exp", "job", "create", "-n", "bad",
                         "-f", self.write("job.json", JOB_DOCUMENT))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual([l.strip() for l in r.stderr.splitlines()],
                         ["batchai: job create bad: the job is not valid",
                          "properties.nodeCount: must be at least 1",
                          "properties.cluster: unknown"])

    def test_job_create_with_a_broken_local_file_sends_nothing(self):
        r = self.run_cli("job", "create", "-n", "j", "-f", self.write("job.json", "{\"nodeCount\":"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not valid JSON", r.stderr)
        r = self.run_cli("job", "create", "-n", "j", "-f", os.path.join(self.tmp.name, "none"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("none", r.stderr)
        self.assertEqual(self.fake.requests, [])

    # --- job show / list / terminate ---------------------------------------------------------

    def test_job_show_prints_the_job_flattened_as_az_does(self):
        self.fake.routes[("GET", JOBS + "/cntk_python_1")] = answer(200, resource(JOB))
        r = self.run_cli("job", "show", "-n", "cntk_python_1", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, az_json(flat(JOB)))
        req = self.only_request()
        self.assertEqual((req["method"], req["query"]), ("GET", {"api-version": ["2018-05-01"]}))

    def test_job_show_of_a_missing_job_is_one_line_and_exit_1(self):
        self.fake.routes[("GET", JOBS + "/nope")] = error(404, "ResourceNotFound",
                                                         "the job ws/exp/nope does not exist")
        r = self.run_cli("job", "show", "-n", "nope", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "batchai: job show nope: the job ws/exp/nope does not exist\n")

    def test_server_error_without_json_body_names_the_status(self):
        self.fake.routes[("GET", JOBS + "/j")] = answer(502, b"<html>bad gateway</html>")
        r = self.run_cli("job", "show", "-n", "j", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "batchai: job show j: the server answered HTTP 502\n")

    def test_job_list_is_a_table_of_every_page(self):
        done = dict(JOB, name="tf_1", executionState="succeeded",
                    creationTime="2018-06-15T08:00:00.000Z",
                    executionInfo={"exitCode": 0, "endTime": "2018-06-15T09:00:00.000Z"})
        failed = dict(JOB, name="x", executionState="failed", creationTime="2018-06-16T00:00:00Z",
                      executionInfo={"exitCode": 137})
        # The second page's link names another host: only its path is asked, of this server.
        next_link = "https://elsewhere.example:443" + JOBS + "?api-version=2018-05-01&$skiptoken=2"
        self.fake.routes[("GET", JOBS)] = [
            answer(200, {"value": [resource(JOB), resource(done)], "nextLink": next_link}),
            answer(200, {"value": [resource(failed)]})]
        r = self.run_cli("job", "list", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "Name           State      Creation time             Exit code\n"
                         "-------------  ---------  ------------------------  ---------\n"
                         "cntk_python_1  running    2018-06-14T22:22:57.543Z\n"
                         "tf_1           succeeded  2018-06-15T08:00:00.000Z          0\n"
                         "x              failed     2018-06-16T00:00:00Z            137\n")
        self.assertEqual([q["query"].get("$skiptoken") for q in self.fake.requests],
                         [None, ["2"]])

    def test_job_list_of_the_default_experiment(self):
        self.fake.routes[("GET", DEFAULT_JOBS)] = answer(
            200, {"value": [resource({"name": "a", "executionState": "queued"})]})
        r = self.run_cli("job", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[2], "a     queued")

    def test_job_list_answer_that_is_no_list_fails(self):
        self.fake.routes[("GET", DEFAULT_JOBS)] = answer(200, [resource(JOB)])
        r = self.run_cli("job", "list")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no list", r.stderr)

    def test_job_terminate_posts_and_prints_the_job(self):
        self.fake.routes[("POST", JOBS + "/j/terminate")] = answer(200)
        self.fake.routes[("GET", JOBS + "/j")] = answer(
            200, resource(dict(JOB, name="j", executionState="terminating")))
        r = self.run_cli("job", "terminate", "-n", "j", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        post = self.requests_to("POST", JOBS + "/j/terminate")
        self.assertEqual(len(post), 1)
        self.assertEqual(post[0]["body"], b"")
        self.assertEqual(json.loads(r.stdout)["executionState"], "terminating")

    # --- job file list / stream ----------------------------------------------------------------

    def link(self, name):
        return self.fake.url + "/jobfiles?path=" + name + "&sig=abc"

    def file_entry(self, name, size=0, modified="2018-04-11T22:05:51Z"):
        return {"name": name, "fileType": "file", "downloadUrl": self.link(name),
                "properties": {"contentLength": size, "lastModified": modified}}

    def test_file_list_is_a_table(self):
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = answer(200, {"value": [
            self.file_entry("ConvNet_MNIST_0.dnn", 409456),
            {"name": "checkpoints", "fileType": "directory",
             "properties": {"lastModified": "2018-04-11T22:05:53Z"}},
            self.file_entry("log.txt", 12, "2018-04-11T22:05:55Z"),
        ]})
        r = self.run_cli("job", "file", "list", "-j", "j", "-d", "MODEL", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.only_request()["query"]["outputdirectoryid"], ["MODEL"])
        self.assertEqual(r.stdout,
                         "Name                   Size  Last modified\n"
                         "-------------------  ------  --------------------\n"
                         "ConvNet_MNIST_0.dnn  409456  2018-04-11T22:05:51Z\n"
                         "checkpoints/                 2018-04-11T22:05:53Z\n"
                         "log.txt                  12  2018-04-11T22:05:55Z\n")

    def test_file_list_defaults_to_stdouterr(self):
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = answer(200, {"value": []})
        r = self.run_cli("job", "file", "list", "-j", "j", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.only_request()["query"]["outputdirectoryid"], ["stdouterr"])
        self.assertEqual(r.stdout, "Name  Size  Last modified\n----  ----  -------------\n")

    def stream(self, *extra, name="stderr.txt"):
        return self.run_cli("job", "file", "stream", "-j", "j", "-f", name,
                            "-w", "ws", "-e", "exp", "--interval", "0.01", *extra)

    def job_states(self, *states):
        self.fake.routes[("GET", JOBS + "/j")] = [
            answer(200, resource(dict(JOB, name="j", executionState=s))) for s in states]

    def listing(self, *names):
        return answer(200, {"value": [self.file_entry(n) for n in names]})

    def ranges(self):
        return [q["headers"].get("range") for q in self.requests_to("GET", "/jobfiles")]

    def test_stream_follows_the_file_until_the_job_ends(self):
        # Scripted per request: the file appears, grows, stays, grows as the job ends, then
        # nothing more: the CLI must stop there (a CLI that did not would hang to the guard).
        self.job_states("queued", "queued", "running", "running", "succeeded")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = [
            self.listing(), self.listing("stdout.txt"), self.listing("stdout.txt", "stderr.txt")]
        self.fake.routes[("GET", "/jobfiles")] = [
            answer(206, b"Epoch 1\n"), answer(416), answer(206, b"Epoch 2\n"),
            answer(206, b"Final\n"), answer(416)]
        r = self.stream()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Epoch 1\nEpoch 2\nFinal\n")
        self.assertEqual(r.stderr, "File not found yet, waiting...\n")
        self.assertEqual([q["query"]["path"] for q in self.requests_to("GET", "/jobfiles")],
                         [["stderr.txt"]] * 5)
        self.assertEqual([rng.split("-")[0] for rng in self.ranges()],
                         ["bytes=0", "bytes=8", "bytes=8", "bytes=16", "bytes=22"])
        # Found once, the file is not listed again.
        self.assertEqual(len(self.requests_to("POST", JOBS + "/j/listOutputFiles")), 3)
        # No bearer token on a link: it is its own credential (none is configured here anyway).
        self.assertTrue(all("authorization" not in q["headers"] for q in self.fake.requests))

    def test_stream_of_a_failed_job_ends_with_exit_0_too(self):
        self.job_states("failed")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = self.listing("stdout.txt")
        self.fake.routes[("GET", "/jobfiles")] = [answer(206, b"Traceback\n"), answer(416)]
        r = self.stream(name="stdout.txt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Traceback\n")

    def test_stream_of_an_empty_file_of_an_ended_job(self):
        self.job_states("succeeded")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = self.listing("log.txt")
        self.fake.routes[("GET", "/jobfiles")] = answer(200, b"")
        r = self.stream("-d", "MODEL", name="log.txt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        listed = self.requests_to("POST", JOBS + "/j/listOutputFiles")
        self.assertEqual(listed[0]["query"]["outputdirectoryid"], ["MODEL"])

    def test_stream_skips_what_a_server_ignoring_the_range_sends_again(self):
        self.job_states("running", "running", "succeeded")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = self.listing("stderr.txt")
        self.fake.routes[("GET", "/jobfiles")] = [
            answer(200, b"abc"), answer(200, b"abcdef"), answer(200, b"abcdef")]
        r = self.stream()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "abcdef")

    def test_stream_lists_again_when_a_link_has_expired(self):
        self.job_states("running", "running", "succeeded")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = self.listing("stderr.txt")
        self.fake.routes[("GET", "/jobfiles")] = [
            answer(206, b"abc"),
            error(403, "AuthenticationFailed", "the link has expired"),
            answer(206, b"def"), answer(416)]
        r = self.stream()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "abcdef")
        self.assertEqual(len(self.requests_to("POST", JOBS + "/j/listOutputFiles")), 2)
        self.assertEqual(self.ranges()[2].split("-")[0], "bytes=3")

    def test_stream_reads_a_storage_link_without_the_token(self):
        storage = FakeControlPlane()
        self.addCleanup(storage.close)
        storage.routes[("GET", "/logs/stderr.txt")] = [answer(206, b"epoch\n"), answer(416)]
        token_file = self.write("token", "s3cr3t-token\n")
        os.chmod(token_file, 0o600)
        self.job_states("succeeded")
        entry = dict(self.file_entry("stderr.txt"),
                     downloadUrl=storage.url + "/logs/stderr.txt?sv=2020&sp=r&sig=x")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = answer(200, {"value": [entry]})
        r = self.stream("--token-file", token_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "epoch\n")
        self.assertEqual(len(storage.requests), 2)
        for q in storage.requests:
            self.assertNotIn("authorization", q["headers"])
            self.assertEqual(q["query"]["sig"], ["x"])
        self.assertEqual(self.fake.requests[0]["headers"]["authorization"],
                         "Bearer s3cr3t-token")

    def test_stream_of_a_file_the_ended_job_never_wrote_fails(self):
        self.job_states("failed")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = self.listing("stdout.txt")
        r = self.stream()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "batchai: job file stream j stdouterr/stderr.txt: "
                                   "the job has ended and stdouterr/stderr.txt does not exist\n")
        self.assertEqual(self.requests_to("GET", "/jobfiles"), [])

    def test_stream_of_a_missing_job_fails(self):
        self.fake.routes[("GET", JOBS + "/j")] = error(404, "ResourceNotFound",
                                                      "the job does not exist")
        r = self.stream()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "batchai: job file stream j stdouterr/stderr.txt: "
                                   "the job does not exist\n")
        self.assertEqual(len(self.fake.requests), 1)

    def test_stream_of_a_missing_output_directory_fails(self):
        self.job_states("running")
        self.fake.routes[("POST", JOBS + "/j/listOutputFiles")] = error(
            404, "DirectoryNotFound", "no output directory OUT")
        r = self.stream("-d", "OUT", name="log.txt")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "batchai: job file stream j OUT/log.txt: "
                                   "no output directory OUT\n")
        self.assertEqual(len(self.requests_to("POST", JOBS + "/j/listOutputFiles")), 1)

    # --- cluster --------------------------------------------------------------------------------

    def cluster_resource(self, workspace=DEFAULT_WORKSPACE):
        return resource(CLUSTER, "Microsoft.BatchAI/workspaces/clusters", workspace + "/clusters")

    def cluster_flat(self, workspace=DEFAULT_WORKSPACE):
        return flat(CLUSTER, "Microsoft.BatchAI/workspaces/clusters", workspace + "/clusters")

    def test_cluster_show_prints_node_state_counts(self):
        self.fake.routes[("GET", DEFAULT_WORKSPACE + "/clusters/nc6")] = answer(
            200, self.cluster_resource())
        r = self.run_cli("cluster", "show", "-n", "nc6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, az_json(self.cluster_flat()))
        self.assertIn('"runningNodeCount": 1', r.stdout)

    def test_cluster_create_puts_the_scale_settings(self):
        self.fake.routes[("PUT", WORKSPACE + "/clusters/nc6")] = answer(
            200, self.cluster_resource(WORKSPACE))
        r = self.run_cli("-w", "ws", "cluster", "create", "-n", "nc6", "--target-node-count", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.only_request()["body"]), {"scaleSettings": {"manual": {
            "targetNodeCount": 2, "nodeDeallocationOption": "requeue"}}})
        self.assertEqual(r.stdout, az_json(self.cluster_flat(WORKSPACE)))

    def test_cluster_create_from_a_document(self):
        self.fake.routes[("PUT", DEFAULT_WORKSPACE + "/clusters/nc6")] = answer(
            200, self.cluster_resource())
        setup = {"setupTask": {"commandLine": "echo hi", "stdOutErrPathPrefix": "/tmp"}}
        doc = self.write("cluster.json", {"nodeSetup": setup})
        r = self.run_cli("cluster", "create", "-n", "nc6", "-f", doc)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.only_request()["body"]), {
            "nodeSetup": setup,
            "scaleSettings": {"manual": {"targetNodeCount": 1,
                                         "nodeDeallocationOption": "requeue"}}})

    # --- connection, token, options ---------------------------------------------------------------

    def test_connection_refused_is_exit_3_naming_the_url(self):
        with socket.socket() as s:  # a port nobody listens on once closed
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = "http://127.0.0.1:%d" % port
        r = self.run_cli("--server", url, "job", "show", "-n", "j", server=False)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith(
            "batchai: job show j: cannot reach %s%s/j?api-version=2018-05-01"
            % (url, DEFAULT_JOBS)), r.stderr)

    def test_token_is_sent_as_bearer_and_never_printed(self):
        token = "s3cr3t-t0ken.value"
        token_file = self.write("token", token + "\n")
        os.chmod(token_file, 0o600)
        self.fake.routes[("GET", JOBS + "/j")] = error(403, "Forbidden", "not allowed")
        r = self.run_cli("--token-file", token_file, "job", "show", "-n", "j", "-w", "ws",
                         "-e", "exp")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.only_request()["headers"]["authorization"], "Bearer " + token)
        self.assertNotIn(token, r.stdout + r.stderr)

    def test_no_token_file_no_authorization_header(self):
        self.fake.routes[("GET", DEFAULT_WORKSPACE + "/clusters/default")] = answer(
            200, self.cluster_resource())
        r = self.run_cli("cluster", "show", "-n", "default")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("authorization", self.only_request()["headers"])

    def test_unreadable_or_empty_token_file_is_exit_2(self):
        r = self.run_cli("--token-file", os.path.join(self.tmp.name, "none"), "job", "list")
        self.assertEqual(r.returncode, 2)
        empty = self.write("empty", "\n")
        os.chmod(empty, 0o600)
        r = self.run_cli("--token-file", empty, "job", "list")
        self.assertEqual(r.returncode, 2)
        self.assertIn("empty", r.stderr)
        readable = self.write("readable", "s3cr3t\n")
        os.chmod(readable, 0o644)
        r = self.run_cli("--token-file", readable, "job", "list")
        self.assertEqual(r.returncode, 2)
        self.assertIn("chmod 600", r.stderr)
        self.assertNotIn("s3cr3t", r.stderr)
        self.assertEqual(self.fake.requests, [])

    def test_server_from_environment(self):
        self.fake.routes[("GET", DEFAULT_WORKSPACE + "/clusters/nc6")] = answer(
            200, self.cluster_resource())
        r = self.run_cli("cluster", "show", "-n", "nc6", server=False,
                         env={"BATCHAI_SERVER": self.fake.url + "/"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.only_request()["path"], DEFAULT_WORKSPACE + "/clusters/nc6")

    def test_plain_http_to_another_machine_is_refused(self):
        r = self.run_cli("--server", "http://batchai.example.com:8780", "job", "list",
                         server=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--insecure-http", r.stderr)

    def test_usage_errors_are_exit_2(self):
        self.assertEqual(self.run_cli("job", "show").returncode, 2)
        self.assertEqual(self.run_cli("job", "frobnicate").returncode, 2)
        self.assertEqual(self.run_cli().returncode, 2)
        self.assertEqual(self.fake.requests, [])

    def test_names_are_percent_encoded(self):
        r = self.run_cli("job", "show", "-n", "a b/c", "-w", "ws", "-e", "exp")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.only_request()["raw_path"],
                         JOBS + "/a%20b%2Fc?api-version=2018-05-01")


if __name__ == "__main__":
    unittest.main()
