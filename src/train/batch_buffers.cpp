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

void BatchBuffers::load(const Device& device, const Tensor& xs, const Tensor* ys, const int64_t* rows, int64_t n) {
  gather(xs, rows, n, ops::ensure(x, xs.shape().drop_batch().with_batch(n), device, DType::float32), x_host, x_pinned);
  if (ys) {
    const DType dtype = ys->dtype() == DType::float32 ? DType::float32 : DType::int32;
    gather(*ys, rows, n, ops::ensure(y, ys->shape().drop_batch().with_batch(n), device, dtype), y_host, y_pinned);
  }
}

}  // namespace kerosene::train
