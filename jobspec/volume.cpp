#include "jobspec/volume.hpp"

namespace batchai {

std::string volume_field(VolumeKind k) {
  switch (k) {
    case VolumeKind::kAzureFileShare:
      return "azureFileShares";
    case VolumeKind::kAzureBlob:
      return "azureBlobFileSystems";
    case VolumeKind::kFileServer:
      return "fileServers";
    case VolumeKind::kUnmanaged:
      return "unmanagedFileSystems";
  }
  return "";
}

std::string mount_error_code(VolumeKind k) {
  switch (k) {
    case VolumeKind::kAzureFileShare:
      return "AZFMountError";
    case VolumeKind::kAzureBlob:
      return "BFSMountError";
    case VolumeKind::kFileServer:
      return "NFSMountError";
    case VolumeKind::kUnmanaged:
      return "UnmanagedMountError";
  }
  return "";
}

}  // namespace batchai
