#include "distribute/local_collective.h"

#include "distribute/nccl_collective.h"

#include <algorithm>

#include "runtime/device_context.h"
#include "runtime/placement.h"
#include "runtime/storage.h"

namespace kerosene::distribute {
namespace {

bool host_accessible(const Device& d) {
  return runtime::Registry::instance().context(d).backend().host_accessible();
}

}  // namespace

LocalCollective::LocalCollective(const std::vector<Device>& devices)
    : replicas_(static_cast<int>(devices.size())),
      through_host_(!std::all_of(devices.begin(), devices.end(), host_accessible)),
      barrier_(static_cast<int>(devices.size())),
      arrived_(devices.size(), nullptr),
      staging_(devices.size()) {
  // make_local_collective has said why NCCL is not used when this copies through the host.
}

void LocalCollective::all_reduce(int replica, const std::vector<Tensor*>& bucket, bool /*last*/) {
  if (replicas_ == 1) return;
  auto data = [&](int r, size_t i) -> float* {
    return through_host_ ? staging_[r][i].data() : static_cast<float*>((*arrived_[r])[i]->raw_data());
  };
  if (through_host_) {
    auto& mine = staging_[replica];
    mine.resize(bucket.size());
    for (size_t i = 0; i < bucket.size(); ++i) {
      mine[i].resize(static_cast<size_t>(bucket[i]->numel()));
      bucket[i]->storage()->context->backend().copy_to_host(mine[i].data(), bucket[i]->raw_data(), bucket[i]->nbytes());
    }
  }
  arrived_[replica] = &bucket;
  barrier_.arrive_and_wait();

  // This replica's slice of the bucket's elements, taken as one flat range.
  int64_t total = 0;
  for (const Tensor* t : bucket) total += t->numel();
  const int64_t begin = total * replica / replicas_, end = total * (replica + 1) / replicas_;
  int64_t offset = 0;
  for (size_t i = 0; i < bucket.size() && offset < end; ++i) {
    const int64_t n = bucket[i]->numel();
    const int64_t lo = std::max(begin, offset) - offset, hi = std::min(end, offset + n) - offset;
    offset += n;
    if (lo >= hi) continue;
    float* first = data(0, i);
    for (int r = 1; r < replicas_; ++r) {
      const float* other = data(r, i);
      for (int64_t j = lo; j < hi; ++j) first[j] += other[j];
    }
    for (int r = 1; r < replicas_; ++r) std::copy(first + lo, first + hi, data(r, i) + lo);
  }
  barrier_.arrive_and_wait();
  if (through_host_) {
    for (size_t i = 0; i < bucket.size(); ++i) {
      bucket[i]->storage()->context->backend().copy_from_host(bucket[i]->raw_data(), staging_[replica][i].data(),
                                                              bucket[i]->nbytes());
    }
  }
}

}  // namespace kerosene::distribute

namespace kerosene::distribute {

std::unique_ptr<Collective> make_local_collective(const std::vector<Device>& devices) {
  if (devices.size() > 1 && devices.front().is_gpu()) {
    std::string why_not;
    NcclDevices nccl = nccl_devices(devices, why_not);
    if (nccl.calls) return std::make_unique<NcclCollective>(devices, nccl.ordinals, nullptr, nccl.calls);
    runtime::warn("NCCL cannot sum the replicas' gradients (" + why_not + "); copying them through the host instead");
  }
  return std::make_unique<LocalCollective>(devices);
}

}  // namespace kerosene::distribute
