// Where a job's directory is when it is on an NFS file server: a path that starts with
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath> (a volume of the job) or
// $AZ_BATCHAI_MOUNT_ROOT/<relativeMountPath> (a volume of its cluster) of a fileServers volume
// is read from the file server its fileServer.id names, at the address and export this control
// plane is configured with (--file-server), below the volume's sourceDirectory; never at an
// address the document names (its fileServer.mountSettings), so a job cannot point the control
// plane at another server (controlplane/share_paths.hpp does the same for shares).
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "common/result.hpp"
#include "controlplane/api_error.hpp"
#include "controlplane/nfs_files.hpp"
#include "controlplane/share_paths.hpp"
#include "controlplane/volumes.hpp"

namespace batchai::cp {

// What the control plane's NFS client takes from a fileServers volume's mountOptions: the
// version (vers= or nfsvers=: 3, or 4 and 4.x; 3 when neither is given), port= and mountport=.
struct NfsClientOptions {
  int version = 3;
  int port = 0;        // 0: the default
  int mount_port = 0;  // 0: the default
};

// The client's options of mount_options (mount(8)'s comma-separated nfs options); an Error
// names a value it cannot use.
Result<NfsClientOptions> nfs_client_options(const std::string& mount_options);

// None when text (with suffix) is on no fileServers volume of the job or its cluster; else the
// directory on the server, or why the control plane does not read it (a server it is not
// configured with among them). Every name below the export must be a plain NFS name.
std::optional<std::variant<NfsDirectory, ApiError>> nfs_directory(const std::string& text,
                                                                  const std::string& suffix,
                                                                  const std::string& field,
                                                                  const ShareVolumes& volumes,
                                                                  const FileServers* servers);

}  // namespace batchai::cp
