#include "controlplane/store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/fs.hpp"
#include "common/time.hpp"
#include "controlplane/model_json.hpp"
#include "controlplane/names.hpp"

namespace batchai::cp {

namespace {

constexpr std::size_t kMaxStateBytes = 1024u * 1024 * 1024;

ClusterRecord new_cluster(const std::string& name, std::int64_t now) {
  ClusterRecord c;
  c.name = name;
  c.creation_ms = now;
  c.modified_ms = now;
  return c;
}

// The place a user who names nothing works in: the resource group batchai.local, its workspace
// "default" with the experiment "default", and the --cluster (a cluster of that workspace). Made
// at start when missing; true when something was added.
bool add_defaults(State& s, const std::string& default_cluster, std::int64_t now) {
  bool added = false;
  // kResourceGroup is in lower case already: it is its own key.
  if (!s.resource_groups.count(kResourceGroup) && !s.workspaces.count(kDefaultWorkspace)) {
    s.resource_groups.emplace(kResourceGroup,
                              ResourceGroupRecord{kResourceGroup, "", nullptr, now});
    added = true;
  }
  if (!s.workspaces.count(kDefaultWorkspace)) {
    s.workspaces.emplace(kDefaultWorkspace,
                         WorkspaceRecord{kDefaultWorkspace, kResourceGroup, "", nullptr, now});
    added = true;
  }
  const std::string experiment = std::string(kDefaultWorkspace) + "/" + kDefaultExperiment;
  if (!s.experiments.count(experiment)) {
    s.experiments.emplace(experiment, ExperimentRecord{kDefaultWorkspace, kDefaultExperiment, now});
    added = true;
  }
  if (!s.clusters.count(default_cluster)) {
    s.clusters[default_cluster] = new_cluster(default_cluster, now);
    added = true;
  }
  return added;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& state_dir,
                                           const std::string& default_cluster) {
  if (auto s = make_dirs(state_dir, 0700); !s) return s.error();
  std::unique_ptr<Store> store(new Store());
  store->path_ = join_path(state_dir, "state.json");
  const std::string lock_path = join_path(state_dir, "lock");
  store->lock_fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!store->lock_fd_.valid()) {
    return err("cannot open " + lock_path + ": " + errno_text(errno));
  }
  if (::flock(store->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return err("another control plane uses the state directory " + state_dir);
  }
  struct stat st {};
  if (::stat(store->path_.c_str(), &st) == 0) {
    auto text = read_file(store->path_, kMaxStateBytes);
    if (!text) return text.error();
    auto state = state_from_text(*text);
    if (!state) return err(store->path_ + ": " + state.error().message);
    store->state_ = std::move(*state);
    ::chmod(store->path_.c_str(), 0600);
  } else if (errno != ENOENT) {
    return err("cannot stat " + store->path_ + ": " + errno_text(errno));
  }
  State next = store->state_;
  if (add_defaults(next, default_cluster, wall_ms())) {
    if (auto s = store->save(next); !s) return s.error();
    store->state_ = std::move(next);
  }
  return store;
}

Status Store::save(const State& state) {
  return write_file_atomic(path_, state_to_text(state), 0600);
}

Status Store::modify(const std::function<bool(State&, Events&)>& change) {
  Events events;
  {
    std::lock_guard lock(mu_);
    State next = state_;
    if (!change(next, events)) return ok();
    if (auto s = save(next); !s) {
      spdlog::error("the state could not be saved, the change is dropped: {}", s.error().message);
      return s;
    }
    state_ = std::move(next);
  }
  cv_.notify_all();
  for (const auto& e : events) spdlog::info("{}", e);
  return ok();
}

void Store::touch(const std::function<void(State&)>& change) {
  std::lock_guard lock(mu_);
  change(state_);
}

void Store::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool Store::wait_unless_stopping(std::int64_t wait_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_; });
  return !stopping_;
}

}  // namespace batchai::cp
