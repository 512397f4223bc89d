#include "train/gradient_buckets.h"

namespace kerosene::train {

std::vector<BucketSend> plan_gradient_buckets(const std::vector<size_t>& layer_bytes, size_t limit) {
  std::vector<BucketSend> plan(layer_bytes.size(), BucketSend::none);
  size_t pending = 0;
  int lowest_with_variables = -1;
  for (int i = static_cast<int>(layer_bytes.size()) - 1; i >= 0; --i) {
    if (layer_bytes[static_cast<size_t>(i)] == 0) continue;
    lowest_with_variables = i;
    pending += layer_bytes[static_cast<size_t>(i)];
    if (pending >= limit) {
      plan[static_cast<size_t>(i)] = BucketSend::send;
      pending = 0;
    }
  }
  if (lowest_with_variables < 0) return plan;  // nothing to sum, nothing to join
  // Whatever is left goes with the lowest layer; whether or not anything is left, the send made
  // there is the step's final one (a full bucket there already was). Deciding `last` here, not
  // at a separate flush, is the point: a flush with an empty bucket used to send nothing and so
  // join nothing.
  plan[static_cast<size_t>(lowest_with_variables)] = BucketSend::last;
  return plan;
}

}  // namespace kerosene::train
