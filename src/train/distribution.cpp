#include "train/distribution.h"

namespace kerosene::train {
namespace {

thread_local std::shared_ptr<Distribution> t_current;

}  // namespace

std::shared_ptr<Distribution> current_distribution() { return t_current; }

std::shared_ptr<Distribution> set_current_distribution(std::shared_ptr<Distribution> d) {
  std::shared_ptr<Distribution> previous = std::move(t_current);
  t_current = std::move(d);
  return previous;
}

}  // namespace kerosene::train
