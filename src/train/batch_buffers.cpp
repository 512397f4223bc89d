#include "train/batch_buffers.h"

#include "data/batching.h"
#include "ops/ops.h"

namespace kerosene::train {
namespace {

void copy_to_device(const Tensor& host, Tensor& device) {
  if (runtime::log_device_placement()) {
    runtime::log_copy(host.shape(), std::string(dtype_name(host.dtype())), host.nbytes(), host.device(),
                      device.device());
  }
  ops::backend_of("copy_from_host", device).copy_from_host(device.raw_data(), host.raw_data(), host.nbytes());
}

}  // namespace

void BatchBuffers::load(const Device& device, const Tensor& xs, const Tensor* ys, const int64_t* rows, int64_t n) {
  const bool on_host = ops::backend_of("gather_rows", xs).host_accessible() &&
                       runtime::Registry::instance().context(device).backend().host_accessible();
  const Device host;
  ops::ensure(x, xs.shape().drop_batch().with_batch(n), device, DType::float32);
  Tensor& xg = on_host ? x : ops::ensure(x_host, x.shape(), host, DType::float32);
  data::gather_rows(xs, rows, n, xg);
  if (!on_host) copy_to_device(xg, x);
  if (ys) {
    const DType dtype = ys->dtype() == DType::float32 ? DType::float32 : DType::int32;
    ops::ensure(y, ys->shape().drop_batch().with_batch(n), device, dtype);
    Tensor& yg = on_host ? y : ops::ensure(y_host, y.shape(), host, dtype);
    data::gather_rows(*ys, rows, n, yg);
    if (!on_host) copy_to_device(yg, y);
  }
}

}  // namespace kerosene::train
