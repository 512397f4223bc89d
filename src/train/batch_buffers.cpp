#include "train/batch_buffers.h"

#include "data/batching.h"
#include "ops/ops.h"

namespace kerosene::train {
namespace {

bool host_accessible(const Tensor& t) { return t.storage()->context->backend().host_accessible(); }

/// Rows of `src` into `dst`, through pinned memory (else `staging`) on the host when the host
/// cannot address dst.
void gather(const Tensor& src, const int64_t* rows, int64_t n, Tensor& dst, Tensor& staging, PinnedStaging& pinned) {
  if (runtime::log_device_placement()) runtime::log_op_placement("gather_rows", src.device());
  if (host_accessible(src) && host_accessible(dst)) {
    data::gather_rows(src, rows, n, dst);
    return;
  }
  if (host_accessible(src)) {
    if (backends::PinnedHost* host = dst.storage()->context->backend().pinned_host()) {
      if (void* buffer = pinned.next(*host, dst.nbytes())) {
        data::gather_rows(src, rows, n, dst.dtype(), buffer);
        if (runtime::log_device_placement()) {
          runtime::log_copy(dst.shape(), dst.dtype(), dst.nbytes(), Device(), dst.device());
        }
        pinned.copy(dst.raw_data(), dst.nbytes());
        return;
      }
    }
  }
  ops::ensure(staging, dst.shape(), Device(), dst.dtype());
  data::gather_rows(src, rows, n, staging);
  if (runtime::log_device_placement()) runtime::log_copy(staging, dst.device());
  ops::backend_of("copy_from_host", dst).copy_from_host(dst.raw_data(), staging.raw_data(), staging.nbytes());
}

}  // namespace

void BatchBuffers::load(const Device& device, const std::vector<Tensor>& xs, const std::vector<Tensor>* ys,
                        const int64_t* rows, int64_t n) {
  auto load_all = [&](const std::vector<Tensor>& sources, std::vector<Tensor>& dsts,
                      std::vector<std::unique_ptr<Staging>>& staging, bool labels_as_int) {
    dsts.resize(sources.size());
    while (staging.size() < sources.size()) staging.push_back(std::make_unique<Staging>());
    for (size_t i = 0; i < sources.size(); ++i) {
      const Tensor& src = sources[i];
      const DType dtype = !labels_as_int || src.dtype() == DType::float32 ? DType::float32 : DType::int32;
      Tensor& dst = ops::ensure(dsts[i], src.shape().drop_batch().with_batch(n), device, dtype);
      gather(src, rows, n, dst, staging[i]->host, staging[i]->pinned);
    }
  };
  load_all(xs, x, x_staging_, false);
  if (ys) load_all(*ys, y, y_staging_, true);
}

}  // namespace kerosene::train
