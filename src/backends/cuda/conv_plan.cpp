#include "backends/cuda/conv_plan.h"

#include <climits>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Algorithms wanting more workspace than this are skipped: the memory would stay with the plugin
// (scratch never shrinks) instead of the tensors. Implicit-GEMM algorithms need next to none.
constexpr size_t kMaxWorkspaceBytes = size_t{256} << 20;

struct ConvKey {
  Conv2DParams p;
  int precision, tf32;  ///< ComputeMode
  bool operator==(const ConvKey& o) const {
    return precision == o.precision && tf32 == o.tf32 && p.batch == o.p.batch && p.in_h == o.p.in_h &&
           p.in_w == o.p.in_w && p.in_c == o.p.in_c &&
           p.out_h == o.p.out_h && p.out_w == o.p.out_w && p.out_c == o.p.out_c && p.kernel_h == o.p.kernel_h &&
           p.kernel_w == o.p.kernel_w && p.stride_h == o.p.stride_h && p.stride_w == o.p.stride_w &&
           p.pad_top == o.p.pad_top && p.pad_left == o.p.pad_left && p.pad_bottom == o.p.pad_bottom &&
           p.pad_right == o.p.pad_right && p.dilation_h == o.p.dilation_h && p.dilation_w == o.p.dilation_w &&
           p.groups == o.p.groups;
  }
};

struct ConvKeyHash {
  size_t operator()(const ConvKey& k) const {
    const int64_t parts[] = {k.p.batch,    k.p.in_h,     k.p.in_w,     k.p.in_c,    k.p.out_h,
                             k.p.out_w,    k.p.out_c,    k.p.kernel_h, k.p.kernel_w, k.p.stride_h,
                             k.p.stride_w, k.p.pad_top,  k.p.pad_left, k.p.pad_bottom, k.p.pad_right,
                             k.p.dilation_h, k.p.dilation_w, k.p.groups, k.precision, k.tf32};
    size_t h = 0;
    for (int64_t part : parts) h = h * 1000003u ^ std::hash<int64_t>{}(part);
    return h;
  }
};

}  // namespace

struct ConvCache {
  std::unordered_map<ConvKey, ConvPlan, ConvKeyHash> plans;
};

namespace {

bool fits_int(std::initializer_list<int64_t> values) {
  for (int64_t v : values) {
    if (v < 0 || v > INT_MAX) return false;
  }
  return true;
}

// x, w and y hold the compute type's values (cuDNN's PSEUDO_* configurations: float32 compute).
cudnnDataType_t data_type(ComputePrecision precision) {
  switch (precision) {
    case ComputePrecision::bfloat16: return CUDNN_DATA_BFLOAT16;
    case ComputePrecision::float16: return CUDNN_DATA_HALF;
    case ComputePrecision::float32: break;
  }
  return CUDNN_DATA_FLOAT;
}

// cuDNN's output size for the plan's descriptors must be the layer's, or the data would be misread;
// kNoAlgorithm when it is not (or a dimension is beyond int): the direct kernels take the shape.
int describe(const Conv2DParams& p, bool padded, ConvPlan& plan) {
  const int64_t h = padded ? p.in_h + p.pad_top + p.pad_bottom : p.in_h;
  const int64_t w = padded ? p.in_w + p.pad_left + p.pad_right : p.in_w;
  // cuDNN's legacy descriptors index with int: element counts must fit as well as dimensions.
  if (!fits_int({p.batch, p.in_c, h, w, p.out_h, p.out_w, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                 p.pad_top, p.pad_left, p.dilation_h, p.dilation_w}) ||
      !fits_int({p.batch * h * w * p.in_c})) {
    return fail(kNoAlgorithm, "conv2d: a dimension or an element count does not fit cuDNN's int");
  }
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  KEROSENE_TRY(check(cudnnSetTensor4dDescriptor(plan.x, CUDNN_TENSOR_NHWC, data_type(plan.precision), i(p.batch),
                                                i(p.in_c), i(h), i(w)),
                     "cudnnSetTensor4dDescriptor"));
  KEROSENE_TRY(check(cudnnSetConvolution2dDescriptor(plan.conv, padded ? 0 : i(p.pad_top), padded ? 0 : i(p.pad_left),
                                                     i(p.stride_h), i(p.stride_w), i(p.dilation_h),
                                                     i(p.dilation_w), CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT),
                     "cudnnSetConvolution2dDescriptor"));
  // FMA math excludes TF32; tensor-op math allows tensor cores (TF32 for float32 data, 16-bit
  // MMA with float32 accumulation for bfloat16/half data) without converting data types itself.
  KEROSENE_TRY(check(cudnnSetConvolutionMathType(plan.conv, plan.tensor_ops ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH),
                     "cudnnSetConvolutionMathType"));
  // A grouped (depthwise) convolution: the filter descriptor holds in_c / groups input channels.
  KEROSENE_TRY(check(cudnnSetConvolutionGroupCount(plan.conv, i(p.groups)), "cudnnSetConvolutionGroupCount"));
  int n = 0, c = 0, oh = 0, ow = 0;
  KEROSENE_TRY(check(cudnnGetConvolution2dForwardOutputDim(plan.conv, plan.x, plan.w, &n, &c, &oh, &ow),
                     "cudnnGetConvolution2dForwardOutputDim"));
  if (n == p.batch && c == p.out_c && oh == p.out_h && ow == p.out_w) return cuda_abi::kOk;
  return fail(kNoAlgorithm, "conv2d: cuDNN computes a " + std::to_string(oh) + "x" + std::to_string(ow) +
                                    " output where the layer expects " + std::to_string(p.out_h) + "x" +
                                    std::to_string(p.out_w));
}

int make_plan(const Conv2DParams& p, ConvPlan& plan) {
  KEROSENE_TRY(check(cudnnCreateTensorDescriptor(&plan.x), "cudnnCreateTensorDescriptor"));
  KEROSENE_TRY(check(cudnnCreateTensorDescriptor(&plan.y), "cudnnCreateTensorDescriptor"));
  KEROSENE_TRY(check(cudnnCreateFilterDescriptor(&plan.w), "cudnnCreateFilterDescriptor"));
  KEROSENE_TRY(check(cudnnCreateConvolutionDescriptor(&plan.conv), "cudnnCreateConvolutionDescriptor"));
  const int64_t group_in_c = p.in_c / p.groups;  // the filter's input channels (conv.cpp checked p.groups)
  if (!fits_int({p.batch, p.out_c, p.out_h, p.out_w, p.in_c, p.kernel_h, p.kernel_w, p.groups}) ||
      !fits_int({p.batch * p.out_h * p.out_w * p.out_c, p.out_c * p.kernel_h * p.kernel_w * group_in_c})) {
    plan.direct = true;
    return cuda_abi::kOk;
  }
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  KEROSENE_TRY(check(cudnnSetTensor4dDescriptor(plan.y, CUDNN_TENSOR_NHWC, data_type(plan.precision), i(p.batch),
                                                i(p.out_c), i(p.out_h), i(p.out_w)),
                     "cudnnSetTensor4dDescriptor"));
  KEROSENE_TRY(check(cudnnSetFilter4dDescriptor(plan.w, data_type(plan.precision), CUDNN_TENSOR_NHWC, i(p.out_c),
                                                i(group_in_c), i(p.kernel_h), i(p.kernel_w)),
                     "cudnnSetFilter4dDescriptor"));
  const bool symmetric = p.pad_top == p.pad_bottom && p.pad_left == p.pad_right;
  if (symmetric) {
    const int status = describe(p, false, plan);
    if (status != kNoAlgorithm) return status;
  }
  plan.padded = true;
  plan.pad = {p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right};
  const int status = describe(p, true, plan);
  if (status != kNoAlgorithm) return status;
  plan.direct = true;
  return cuda_abi::kOk;
}

// cuDNN's heuristic order, deterministic algorithms first (two runs must give the same bits),
// without tensor-op (TF32) ones unless the plan allows tensor ops. When the heuristic fails or
// offers nothing usable, every algorithm is tried in turn.
template <typename Perf>
void rank(const Perf* results, int count, int algo_count, bool tensor_ops, AlgorithmChoice& out) {
  std::vector<int> algos;
  for (const bool deterministic : {true, false}) {
    for (int r = 0; r < count; ++r) {
      const Perf& perf = results[r];
      const bool tensor_op = perf.mathType == CUDNN_TENSOR_OP_MATH || perf.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
      if (perf.status == CUDNN_STATUS_SUCCESS && (tensor_ops || !tensor_op) &&
          (perf.determinism == CUDNN_DETERMINISTIC) == deterministic) {
        algos.push_back(static_cast<int>(perf.algo));
      }
    }
  }
  if (algos.empty()) {
    for (int a = 0; a < algo_count; ++a) algos.push_back(a);
  }
  out.rank(std::move(algos));
}

void rank_algorithms(DeviceState& s, ConvPlan& plan, ConvDirection direction) {
  int count = 0;
  switch (direction) {
    case ConvDirection::forward: {
      constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
      cudnnConvolutionFwdAlgoPerf_t results[kCount];
      const cudnnStatus_t status =
          cudnnGetConvolutionForwardAlgorithm_v7(s.dnn, plan.x, plan.w, plan.conv, plan.y, kCount, &count, results);
      rank(results, status == CUDNN_STATUS_SUCCESS ? count : 0, kCount, plan.tensor_ops, plan.forward);
      break;
    }
    case ConvDirection::backward_data: {
      constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
      cudnnConvolutionBwdDataAlgoPerf_t results[kCount];
      const cudnnStatus_t status = cudnnGetConvolutionBackwardDataAlgorithm_v7(s.dnn, plan.w, plan.y, plan.conv,
                                                                               plan.x, kCount, &count, results);
      rank(results, status == CUDNN_STATUS_SUCCESS ? count : 0, kCount, plan.tensor_ops, plan.backward_data);
      break;
    }
    case ConvDirection::backward_filter: {
      constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
      cudnnConvolutionBwdFilterAlgoPerf_t results[kCount];
      const cudnnStatus_t status = cudnnGetConvolutionBackwardFilterAlgorithm_v7(s.dnn, plan.x, plan.y, plan.conv,
                                                                                 plan.w, kCount, &count, results);
      rank(results, status == CUDNN_STATUS_SUCCESS ? count : 0, kCount, plan.tensor_ops, plan.backward_filter);
      break;
    }
  }
}

}  // namespace

int conv_plan(DeviceState& state, const Conv2DParams& p, cuda_abi::ComputeMode mode, ConvPlan** plan) {
  if (!state.conv_cache) state.conv_cache = new ConvCache;  // lives as long as the state
  const bool sixteen = mode.precision != ComputePrecision::float32;
  const bool tf32 = !sixteen && mode.allow_tf32 != 0;
  auto [it, inserted] = state.conv_cache->plans.try_emplace(ConvKey{p, static_cast<int>(mode.precision), tf32});
  if (inserted) {
    it->second.precision = mode.precision;
    it->second.tensor_ops = sixteen || tf32;
    it->second.label = "conv2d " + std::to_string(p.batch) + "x" + std::to_string(p.in_h) + "x" + std::to_string(p.in_w) +
                       "x" + std::to_string(p.in_c) + " k" + std::to_string(p.kernel_h) + "x" +
                       std::to_string(p.kernel_w) + " s" + std::to_string(p.stride_h) + "x" +
                       std::to_string(p.stride_w) +
                       (p.dilation_h == 1 && p.dilation_w == 1
                            ? ""
                            : " d" + std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w)) +
                       (p.groups == 1 ? "" : " g" + std::to_string(p.groups)) + " -> " + std::to_string(p.out_c) +
                       (mode.precision == ComputePrecision::bfloat16 ? " in bfloat16"
                        : mode.precision == ComputePrecision::float16 ? " in float16"
                        : tf32                                       ? " in TF32"
                                                                     : "");
    if (const int status = make_plan(p, it->second); status != cuda_abi::kOk) {
      state.conv_cache->plans.erase(it);  // its descriptors are leaked: rare, and small
      return status;
    }
  }
  *plan = &it->second;
  return cuda_abi::kOk;
}

namespace {

const char* direction_name(ConvDirection direction) {
  return direction == ConvDirection::forward         ? "forward"
         : direction == ConvDirection::backward_data ? "backward data"
                                                     : "backward filter";
}

AlgorithmChoice& choice_of(ConvPlan& plan, ConvDirection direction) {
  return direction == ConvDirection::forward         ? plan.forward
         : direction == ConvDirection::backward_data ? plan.backward_data
                                                     : plan.backward_filter;
}

bool strict() {
  static const bool on = [] {
    const char* value = std::getenv("KEROSENE_CUDNN_STRICT");
    return value && *value && std::string(value) != "0";
  }();
  return on;
}

// A refusal for this configuration is NOT_SUPPORTED-class; BAD_PARAM-class means our descriptor
// or argument is wrong (a misuse); anything else is a failure of the device or the library.
AlgoOutcome classify(cudnnStatus_t status, const char* call, std::string& why) {
  const int category = CUDNN_STATUS_CATEGORY(status);
  check(status, call);  // the words, in last_error_text()
  why = last_error_text();
  if (category == CUDNN_STATUS_NOT_SUPPORTED) return AlgoOutcome::not_supported;
  if (category == CUDNN_STATUS_BAD_PARAM) return AlgoOutcome::misuse;
  return AlgoOutcome::failed;
}

}  // namespace

int fall_back(ConvPlan& plan, ConvDirection direction, const std::string& reason) {
  if (choice_of(plan, direction).first_fallback(reason)) {
    log_once(std::string("cuDNN did not run ") + plan.label + " " + direction_name(direction) + " (" + reason +
             "); kerosene's direct kernels run it instead, more slowly" +
             (plan.precision == ComputePrecision::float32 ? "" : ", and in float32 (they have no 16-bit form)"));
  }
  return kNoAlgorithm;
}

int run_conv(DeviceState& state, ConvPlan& plan, ConvDirection direction,
             const std::function<cudnnStatus_t(int, size_t*)>& workspace_size,
             const std::function<cudnnStatus_t(int, void*, size_t)>& execute) {
  AlgorithmChoice& choice = choice_of(plan, direction);
  if (!choice.ranked()) rank_algorithms(state, plan, direction);
  int hard_error = cuda_abi::kOk;
  const AlgoResult result = choice.choose(
      [&](int algo, std::string& why) {
        size_t bytes = 0;
        if (const cudnnStatus_t status = workspace_size(algo, &bytes); status != CUDNN_STATUS_SUCCESS) {
          return classify(status, "cudnnGet*WorkspaceSize", why);
        }
        if (bytes > kMaxWorkspaceBytes) {
          why = "needs " + std::to_string(bytes >> 20) + " MiB of workspace, above the " +
                std::to_string(kMaxWorkspaceBytes >> 20) + " MiB kerosene allows";
          return AlgoOutcome::not_supported;
        }
        if (const int status = reserve(state, state.conv_workspace, bytes); status != cuda_abi::kOk) {
          why = last_error_text();
          if (status == cuda_abi::kOutOfMemory) return AlgoOutcome::no_memory;
          hard_error = status;
          return AlgoOutcome::failed;
        }
        const cudnnStatus_t status = execute(algo, state.conv_workspace.ptr, bytes);
        if (status == CUDNN_STATUS_SUCCESS) return AlgoOutcome::ran;
        return classify(status, "cuDNN convolution", why);
      },
      strict());
  if (result.error) {
    if (hard_error != cuda_abi::kOk) return hard_error;  // its words are in last_error_text()
    return fail(cuda_abi::kError, std::string("cuDNN ") + plan.label + " " + direction_name(direction) + ": " +
                                      result.reason + (strict() ? " (KEROSENE_CUDNN_STRICT=1 makes a misuse an error)" : ""));
  }
  if (result.algo < 0) return fall_back(plan, direction, result.reason);
  if (note_paths()) {
    note_path(std::string("cuDNN ") + plan.label + " " + direction_name(direction) + ": algorithm " +
              std::to_string(result.algo));
  }
  return check_queued("cuDNN convolution");
}

}  // namespace kerosene::backends::cuda_impl
