"""The Azure SDK (azure.mgmt.batchai from Debian's python3-azure) against the control plane's
resource-manager API: the Python quickstart's calls, with a real agent running the job, and the
errors and links the SDK must see (docs/real-clients.md)."""

import json
import os
import unittest
import urllib.error
import urllib.request
import ssl

from tests.clients.fixture import (APP_ID, SECRET, STORAGE_ACCOUNT, STORAGE_KEY, SUBSCRIPTION,
                                   ResourceManagerCase, wait_for)

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.identity import ClientSecretCredential
    from azure.mgmt.batchai import BatchAI
    import azure.mgmt.batchai.models as models
    from azure.mgmt.resource import ResourceManagementClient
    from azure.mgmt.storage import StorageManagementClient
except ImportError:  # run by /usr/bin/python3 with python3-azure installed (scripts/test.sh)
    BatchAI = None

GROUP, WORKSPACE, EXPERIMENT, CLUSTER = "batchai.quickstart", "quickstart", "quickstart", "nc6"

# A stand-in for the quickstart's ConvNet_MNIST.py: epochs on stderr, a model per epoch.
TRAIN = ("import os, sys\n"
         "out = os.environ['AZ_BATCHAI_OUTPUT_MODEL']\n"
         "for epoch in range(3):\n"
         "    print('Finished Epoch[%d of 3]: loss = 0.%d' % (epoch + 1, 9 - epoch), "
         "file=sys.stderr, flush=True)\n"
         "    with open(os.path.join(out, 'model_%d.dnn' % epoch), 'w') as f:\n"
         "        f.write('weights %d' % epoch)\n")


@unittest.skipIf(BatchAI is None, "needs python3-azure (run under /usr/bin/python3)")
class SdkCase(ResourceManagerCase):

    def setUp(self):
        super().setUp()
        self.credential = ClientSecretCredential("adfs", APP_ID, SECRET, authority=self.base,
                                                 disable_instance_discovery=True)
        kwargs = dict(base_url=self.base, credential_scopes=[self.base + "/.default"])
        self.client = BatchAI(self.credential, SUBSCRIPTION, polling_interval=0, **kwargs)
        self.resources = ResourceManagementClient(self.credential, SUBSCRIPTION, **kwargs)
        self.storage = StorageManagementClient(self.credential, SUBSCRIPTION, **kwargs)
        # Closed before the control plane stops (cleanups run last first): an idle kept-alive
        # connection would hold each of its workers for the keep-alive time (5 s).
        for client in (self.client, self.resources, self.storage, self.credential):
            self.addCleanup(client.close)

    def make_workspace(self):
        self.resources.resource_groups.create_or_update(GROUP, {"location": "eastus"})
        self.client.workspaces.begin_create(
            GROUP, WORKSPACE, models.WorkspaceCreateParameters(location="eastus")).result()
        self.client.experiments.begin_create(GROUP, WORKSPACE, EXPERIMENT).result()

    def cluster_parameters(self, nodes=1):
        return models.ClusterCreateParameters(
            vm_size="STANDARD_NC6",
            user_account_settings=models.UserAccountSettings(
                admin_user_name="quickstart", admin_user_password="Pa55word-of-tests"),
            scale_settings=models.ScaleSettings(
                manual=models.ManualScaleSettings(target_node_count=nodes)))

    def job_parameters(self, cluster, command=None):
        props = dict(
            cluster=models.ResourceId(id=cluster.id), node_count=1,
            std_out_err_path_prefix="$AZ_BATCHAI_MOUNT_ROOT/logs",
            output_directories=[models.OutputDirectory(
                id="MODEL", path_prefix="$AZ_BATCHAI_MOUNT_ROOT/logs", path_suffix="Models")])
        if command:
            props["custom_toolkit_settings"] = models.CustomToolkitSettings(command_line=command)
        else:
            script = os.path.join(self.root, "train.py")
            with open(script, "w") as f:
                f.write(TRAIN)
            props["cntk_settings"] = models.CNTKsettings(
                python_script_file_path=script, command_line_args="")
        return models.JobCreateParameters(**props)

    @staticmethod
    def fetch(url, headers=None):
        context = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, context=context, timeout=30) as r:
            return r.status, r.read()


class TheQuickstartThroughTheSdk(SdkCase):
    with_agent = True

    def test_the_python_quickstart_runs_a_job_and_lists_its_files(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.assertEqual(cluster.name, CLUSTER)
        self.assertIn("/workspaces/%s/clusters/%s" % (WORKSPACE, CLUSTER), cluster.id)
        self.start_agent(CLUSTER)
        wait_for(lambda: self.client.clusters.get(GROUP, WORKSPACE, CLUSTER)
                 .node_state_counts.idle_node_count == 1, "the node to be idle")
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1",
                                      self.job_parameters(cluster)).result()
        wait_for(lambda: self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1")
                 .execution_state == models.ExecutionState.SUCCEEDED, "the job to succeed",
                 timeout=120)
        job = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1")
        self.assertEqual(job.tool_type, models.ToolType.CNTK)
        self.assertTrue(job.job_output_directory_path_segment.startswith(
            "%s/%s/workspaces/%s/experiments/%s/jobs/cntk_python_1/" % (
                SUBSCRIPTION, GROUP, WORKSPACE, EXPERIMENT)))

        logs = {f.name: f for f in self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1",
            models.JobsListOutputFilesOptions(outputdirectoryid="stdouterr"))}
        self.assertIn("stderr.txt", logs)
        self.assertEqual(logs["stderr.txt"].file_type, models.FileType.FILE)
        status, body = self.fetch(logs["stderr.txt"].download_url)
        self.assertEqual(status, 200)
        self.assertIn(b"Finished Epoch[3 of 3]", body)
        self.assertEqual(logs["stderr.txt"].content_length, len(body))
        # Range, as az's file stream reads it: the rest of the file from an offset.
        status, tail = self.fetch(logs["stderr.txt"].download_url, {"Range": "bytes=10-"})
        self.assertEqual((status, tail), (206, body[10:]))

        models_listed = sorted(f.name for f in self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1",
            models.JobsListOutputFilesOptions(outputdirectoryid="MODEL")))
        self.assertEqual(models_listed, ["model_0.dnn", "model_1.dnn", "model_2.dnn"])

        self.client.jobs.begin_delete(GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1").result()
        with self.assertRaises(ResourceNotFoundError):
            self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "cntk_python_1")
        # A link of a deleted job leads nowhere.
        with self.assertRaises(urllib.error.HTTPError) as gone:
            self.fetch(logs["stderr.txt"].download_url)
        self.assertEqual(gone.exception.code, 404)

        # The cluster's deletion waits until its node has left.
        self.client.clusters.begin_delete(GROUP, WORKSPACE, CLUSTER).result()
        with self.assertRaises(ResourceNotFoundError):
            self.client.clusters.get(GROUP, WORKSPACE, CLUSTER)
        self.assertIn("left", self.read("cp.log"))

    def test_a_deleted_jobs_task_ends_on_its_node(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.start_agent(CLUSTER)
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "sleeper",
                                      self.job_parameters(cluster, "sleep 600")).result()
        wait_for(lambda: self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "sleeper")
                 .execution_state == models.ExecutionState.RUNNING, "the job to run")
        # The deletion's poller returns once the task has ended on the node and the job is gone.
        self.client.jobs.begin_delete(GROUP, WORKSPACE, EXPERIMENT, "sleeper").result()
        self.assertIn("forgotten", self.read("cp.log"))
        self.assertEqual(list(self.client.jobs.list_by_experiment(GROUP, WORKSPACE, EXPERIMENT)),
                         [])
        wait_for(lambda: self.client.clusters.get(GROUP, WORKSPACE, CLUSTER)
                 .node_state_counts.idle_node_count == 1, "the node to be idle again")


class TheResourceManagerConventions(SdkCase):

    def test_a_bad_job_document_is_a_400_naming_the_field(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        params = self.job_parameters(cluster, "true")
        params.node_count = 0
        with self.assertRaises(HttpResponseError) as e:
            self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "bad", params).result()
        self.assertEqual(e.exception.status_code, 400)
        self.assertEqual(e.exception.error.code, "InvalidJobDocument")
        self.assertIn("nodeCount", e.exception.error.message)
        with self.assertRaises(ResourceNotFoundError):
            self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "bad")

    def test_a_job_in_a_missing_experiment_or_on_a_missing_cluster_is_refused(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        with self.assertRaises(ResourceNotFoundError):
            self.client.jobs.begin_create(GROUP, WORKSPACE, "nosuch", "j",
                                          self.job_parameters(cluster, "true")).result()
        params = self.job_parameters(cluster, "true")
        params.cluster = models.ResourceId(id=cluster.id.replace(CLUSTER, "other"))
        with self.assertRaises(HttpResponseError) as e:
            self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "j", params).result()
        self.assertEqual(e.exception.status_code, 400)
        self.assertIn("properties.cluster", e.exception.error.message)

    def test_a_prefix_on_no_volume_the_control_plane_reaches_is_a_404_saying_why(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        params = self.job_parameters(cluster, "true")
        params.std_out_err_path_prefix = "$AZ_BATCHAI_JOB_MOUNT_ROOT/nowhere"
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "j", params).result()
        with self.assertRaises(ResourceNotFoundError) as e:
            list(self.client.jobs.list_output_files(
                GROUP, WORKSPACE, EXPERIMENT, "j",
                models.JobsListOutputFilesOptions(outputdirectoryid="stdouterr")))
        self.assertEqual(e.exception.error.code, "FilesNotReachable")
        self.assertIn("stdOutErrPathPrefix", e.exception.error.message)

    def test_a_workspace_needs_its_resource_group(self):
        with self.assertRaises(ResourceNotFoundError) as e:
            self.client.workspaces.begin_create(
                "nogroup", WORKSPACE, models.WorkspaceCreateParameters(location="eastus")).result()
        self.assertEqual(e.exception.error.code, "ResourceGroupNotFound")

    def test_lists_page_with_next_link(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        for i in range(5):
            self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "job%d" % i,
                                          self.job_parameters(cluster, "true")).result()
        options = models.JobsListByExperimentOptions(max_results=2)
        pages = self.client.jobs.list_by_experiment(
            GROUP, WORKSPACE, EXPERIMENT, jobs_list_by_experiment_options=options).by_page()
        sizes = [len(list(p)) for p in pages]
        self.assertEqual(sizes, [2, 2, 1])

    def test_a_wrong_secret_gets_no_token_and_no_token_gets_a_401(self):
        bad = ClientSecretCredential("adfs", APP_ID, "wrong", authority=self.base,
                                     disable_instance_discovery=True)
        client = BatchAI(bad, SUBSCRIPTION, base_url=self.base,
                         credential_scopes=[self.base + "/.default"])
        with self.assertRaises(Exception) as e:
            list(client.workspaces.list())
        self.assertIn("not one of a service principal", str(e.exception))
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.fetch(self.base + "/subscriptions/%s/providers/Microsoft.BatchAI/workspaces"
                       "?api-version=2018-05-01" % SUBSCRIPTION)
        self.assertEqual(e.exception.code, 401)

    def test_a_tampered_or_expired_link_is_refused(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "j",
                                      self.job_parameters(cluster, "true")).result()
        logs = self.path("node/shared/LS_root/mounts/logs")
        segment = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "j") \
            .job_output_directory_path_segment
        os.makedirs(os.path.join(logs, segment, "stdouterr"))
        with open(os.path.join(logs, segment, "stdouterr", "stdout.txt"), "w") as f:
            f.write("hello\n")
        files = list(self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, "j",
            models.JobsListOutputFilesOptions(outputdirectoryid="stdouterr",
                                              linkexpiryinminutes=5)))
        url = files[0].download_url
        self.assertEqual(self.fetch(url), (200, b"hello\n"))
        self.assertEqual(self.fetch(url, {"Range": "bytes=2-4"}), (206, b"llo"))
        self.assertEqual(self.fetch(url, {"Range": "bytes=3-"}), (206, b"lo\n"))
        # Nothing new yet: az's file stream asks again a second later.
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.fetch(url, {"Range": "bytes=6-"})
        self.assertEqual(e.exception.code, 416)
        for tampered in (url.replace("stdout.txt", "stderr.txt"),
                         url.replace("&se=", "&se=9"), url[:-1]):
            with self.assertRaises(urllib.error.HTTPError) as e:
                self.fetch(tampered)
            self.assertEqual(e.exception.code, 403)

    def test_subdirectories_are_listed_and_their_files_downloaded(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "j",
                                      self.job_parameters(cluster, "true")).result()
        segment = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "j") \
            .job_output_directory_path_segment
        models_dir = self.path("node/shared/LS_root/mounts/logs/%s/outputs/Models" % segment)
        os.makedirs(os.path.join(models_dir, "epoch_1", "deeper"))
        with open(os.path.join(models_dir, "epoch_1", "model.dnn"), "w") as f:
            f.write("weights\n")

        def listed(directory):
            return {f.name: f for f in self.client.jobs.list_output_files(
                GROUP, WORKSPACE, EXPERIMENT, "j", models.JobsListOutputFilesOptions(
                    outputdirectoryid="MODEL", directory=directory))}

        top = listed(".")
        self.assertEqual(top["epoch_1"].file_type, models.FileType.DIRECTORY)
        self.assertIsNone(top["epoch_1"].download_url)
        inner = listed("epoch_1")
        self.assertEqual(sorted(inner), ["deeper", "model.dnn"])
        self.assertEqual(self.fetch(inner["model.dnn"].download_url), (200, b"weights\n"))
        for bad in ("../..", "epoch_1/../..", "/etc"):
            with self.assertRaises(HttpResponseError) as e:
                listed(bad)
            self.assertEqual(e.exception.status_code, 400, bad)

    def test_storage_accounts_are_the_configured_ones_with_their_keys(self):
        self.resources.resource_groups.create_or_update(GROUP, {"location": "eastus"})
        self.assertEqual(list(self.storage.storage_accounts.list()), [])
        self.storage.storage_accounts.begin_create(
            GROUP, STORAGE_ACCOUNT, {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
                                     "location": "eastus"}).result()
        names = [a.name for a in self.storage.storage_accounts.list()]
        self.assertEqual(names, [STORAGE_ACCOUNT])
        keys = self.storage.storage_accounts.list_keys(GROUP, STORAGE_ACCOUNT)
        self.assertEqual(keys.keys[0].value, STORAGE_KEY)
        with self.assertRaises(HttpResponseError) as e:
            self.storage.storage_accounts.begin_create(
                GROUP, "notoffered", {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
                                      "location": "eastus"}).result()
        self.assertEqual(e.exception.status_code, 400)

    def test_a_workspace_is_shown_with_its_experiments(self):
        self.make_workspace()
        before = json.loads(json.dumps(
            self.client.workspaces.get(GROUP, WORKSPACE).as_dict(), default=str))
        self.assertEqual(before["name"], WORKSPACE)
        self.assertEqual([e.name for e in self.client.experiments.list_by_workspace(
            GROUP, WORKSPACE)], [EXPERIMENT])


if __name__ == "__main__":
    unittest.main()
