// Shared by the executor-fusion tests: two models that trained the same steps, one fused, one
// not, must end with the same weights and predict the same.
#pragma once

#include <string>

#include "kerosene/kerosene.h"
#include "test_util.h"

namespace kerosene::test {

inline void expect_same_weights_and_predictions(Model& fused, Model& plain, const Tensor& x) {
  const auto a = fused.get_weights(), b = plain.get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    expect_close(values_of(a[i]), values_of(b[i]), 1e-5, 1e-4, "weight " + std::to_string(i));
  }
  expect_close(values_of(fused.predict(x)), values_of(plain.predict(x)), 1e-5, 1e-4, "predict");
}

}  // namespace kerosene::test
