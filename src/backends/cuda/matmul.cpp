// matmul on cuBLASLt: c = op(a) @ op(b) (+ bias) (+ c), then relu, as ComputeMode says: float32
// (CUBLAS_COMPUTE_32F, or CUBLAS_COMPUTE_32F_FAST_TF32 when TF32 is allowed), or a and b
// converted to bfloat16/float16 in scratch memory and multiplied with float32 accumulation
// (CUBLAS_COMPUTE_32F, 16-bit A and B, float32 C and D: a combination of cuBLASLt's and
// cublasGemmEx's type tables, so c, bias and accumulate stay float32). Row-major data is handed to the
// column-major library as its transpose: C^T = op(B)^T op(A)^T, so the library's "A" is our b.
// Bias and relu run in Lt's epilogue (it computes act(alpha AB + beta C + bias), which also
// serves accumulate); where Lt has no algorithm, cublasSgemm (cublasGemmEx for 16-bit or TF32)
// and a small kernel do the same.
// relu(NaN) is 0 on every path, as on the CPU (oneDNN's relu is max(x, 0) there): op_check's
// "NaN through relu" case holds the epilogue to it on a GPU.
// Descriptors and the heuristic's choice are cached per shape, pointer alignment and mode.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

struct MatmulKey {
  int64_t m, n, k;
  int transpose_a, transpose_b, accumulate, bias, relu;
  int align_a, align_b, align_c, bias_aligned;
  int precision, tf32;  ///< ComputeMode: the operand type and the compute type
  bool operator==(const MatmulKey&) const = default;
};

struct MatmulKeyHash {
  size_t operator()(const MatmulKey& key) const {
    const int64_t parts[] = {key.m, key.n, key.k, key.transpose_a, key.transpose_b, key.accumulate, key.bias,
                             key.relu, key.align_a, key.align_b, key.align_c, key.bias_aligned,
                             key.precision, key.tf32};
    size_t h = 0;
    for (int64_t part : parts) h = h * 1000003u ^ std::hash<int64_t>{}(part);
    return h;
  }
};

struct MatmulPlan {
  bool use_lt = false;        ///< Lt has an algorithm; else cublasSgemm / cublasGemmEx
  bool fused_in_lt = false;   ///< Lt's epilogue applies bias and relu; else launch_bias_activation
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t x = nullptr, y = nullptr, c = nullptr;  // Lt's A (= b), B (= a), C and D
  cublasLtMatmulAlgo_t algo{};
};

}  // namespace

struct MatmulCache {
  size_t workspace_bytes = 0;
  bool workspace_chosen = false;
  std::unordered_map<MatmulKey, MatmulPlan, MatmulKeyHash> plans;
};

namespace {

// Largest power of two (up to 256) dividing the address: Lt's heuristic assumes 256 unless told.
int alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  int a = 256;
  while (a > 4 && address % static_cast<uintptr_t>(a) != 0) a /= 2;
  return a;
}

// Lt wants a workspace; 32 MiB is what NVIDIA suggests for Hopper. Less (or none) when the
// device is full: the heuristic then picks algorithms that fit.
int choose_workspace(DeviceState& s, MatmulCache& cache) {
  if (cache.workspace_chosen) return cuda_abi::kOk;
  for (size_t bytes : {size_t{32} << 20, size_t{4} << 20}) {
    const int status = reserve(s, s.lt_workspace, bytes);
    if (status == cuda_abi::kOk) {
      cache.workspace_bytes = bytes;
      break;
    }
    if (status != cuda_abi::kOutOfMemory) return status;
  }
  cache.workspace_chosen = true;
  return cuda_abi::kOk;
}

template <typename T>
int set_attribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  return check(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value), "cublasLtMatmulDescSetAttribute");
}

// Looks for an Lt algorithm with the given epilogue; use_lt stays false when there is none.
int find_algorithm(DeviceState& s, const MatmulKey& key, size_t workspace, cublasLtEpilogue_t epilogue,
                   MatmulPlan& plan) {
  KEROSENE_TRY(set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue));
  cublasLtMatmulPreference_t pref = nullptr;
  KEROSENE_TRY(check(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate"));
  const uint32_t align_x = key.align_b, align_y = key.align_a, align_c = key.align_c;
  auto set = [&](cublasLtMatmulPreferenceAttributes_t attribute, const auto& value) {
    return check(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof value),
                 "cublasLtMatmulPreferenceSetAttribute");
  };
  int status = set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(workspace));
  if (status == cuda_abi::kOk) status = set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_x);
  if (status == cuda_abi::kOk) status = set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_y);
  if (status == cuda_abi::kOk) status = set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c);
  if (status == cuda_abi::kOk) status = set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c);
  if (status == cuda_abi::kOk) {
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t heuristic = cublasLtMatmulAlgoGetHeuristic(s.lt, plan.desc, plan.x, plan.y, plan.c, plan.c,
                                                                     pref, 1, &result, &found);
    // Any refusal (no algorithm, a configuration Lt does not take) leaves the shape to cublasSgemm,
    // which reports a genuinely invalid call itself.
    if (heuristic == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
      plan.use_lt = true;
      plan.algo = result.algo;
    }
  }
  cublasLtMatmulPreferenceDestroy(pref);
  return status;
}

// The type of a and b as the library reads them; c, d, bias, alpha and beta are always float32.
cudaDataType_t operand_type(int precision) {
  switch (static_cast<ComputePrecision>(precision)) {
    case ComputePrecision::bfloat16: return CUDA_R_16BF;
    case ComputePrecision::float16: return CUDA_R_16F;
    case ComputePrecision::float32: break;
  }
  return CUDA_R_32F;
}

cublasComputeType_t compute_type(const MatmulKey& key) {
  return key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

int make_plan(DeviceState& s, const MatmulKey& key, size_t workspace, MatmulPlan& plan) {
  const cublasOperation_t op_x = key.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_y = key.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cudaDataType_t ab = operand_type(key.precision);
  KEROSENE_TRY(check(cublasLtMatmulDescCreate(&plan.desc, compute_type(key), CUDA_R_32F), "cublasLtMatmulDescCreate"));
  KEROSENE_TRY(set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, op_x));
  KEROSENE_TRY(set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, op_y));
  const auto m = static_cast<uint64_t>(key.m), n = static_cast<uint64_t>(key.n), k = static_cast<uint64_t>(key.k);
  KEROSENE_TRY(check(key.transpose_b ? cublasLtMatrixLayoutCreate(&plan.x, ab, k, n, key.k)
                                     : cublasLtMatrixLayoutCreate(&plan.x, ab, n, k, key.n),
                     "cublasLtMatrixLayoutCreate"));
  KEROSENE_TRY(check(key.transpose_a ? cublasLtMatrixLayoutCreate(&plan.y, ab, m, k, key.m)
                                     : cublasLtMatrixLayoutCreate(&plan.y, ab, k, m, key.k),
                     "cublasLtMatrixLayoutCreate"));
  KEROSENE_TRY(check(cublasLtMatrixLayoutCreate(&plan.c, CUDA_R_32F, n, m, key.n), "cublasLtMatrixLayoutCreate"));

  // Lt's preferences describe the alignment of A-D but not of the bias vector, which its kernels
  // read with vector loads: the epilogue takes the bias only when it is 256-byte aligned, as the
  // core's allocator aligns every block; otherwise the small kernel adds it.
  const bool fusable = (key.bias || key.relu) && (!key.bias || key.bias_aligned);
  if (fusable) {
    const cublasLtEpilogue_t epilogue = key.bias ? (key.relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                                 : CUBLASLT_EPILOGUE_RELU;
    KEROSENE_TRY(find_algorithm(s, key, workspace, epilogue, plan));
    plan.fused_in_lt = plan.use_lt;
  }
  if (!plan.use_lt) KEROSENE_TRY(find_algorithm(s, key, workspace, CUBLASLT_EPILOGUE_DEFAULT, plan));
  return cuda_abi::kOk;
}

std::string shape_text(const MatmulKey& key) {
  const char* mode = key.precision == static_cast<int>(ComputePrecision::bfloat16)  ? " in bfloat16"
                     : key.precision == static_cast<int>(ComputePrecision::float16) ? " in float16"
                     : key.tf32                                                    ? " in TF32"
                                                                                   : "";
  return std::to_string(key.m) + "x" + std::to_string(key.k) + (key.transpose_a ? "^T" : "") + " @ " +
         std::to_string(key.k) + "x" + std::to_string(key.n) + (key.transpose_b ? "^T" : "") + mode;
}

const char* fallback_name(const MatmulKey& key) {
  return key.precision == static_cast<int>(ComputePrecision::float32) && !key.tf32 ? "cublasSgemm" : "cublasGemmEx";
}

// a_op and b_op: the operands as the library reads them (16-bit copies under 16-bit compute).
int run_gemm(DeviceState& s, const MatmulKey& key, const MatmulArgs& a, const void* a_op, const void* b_op,
             float beta) {
  const float alpha = 1.0f;
  const cublasOperation_t op_b = a.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = a.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int64_t ld_b = a.transpose_b ? a.k : a.n, ld_a = a.transpose_a ? a.m : a.k;
  if (key.precision == static_cast<int>(ComputePrecision::float32) && !key.tf32) {
    return check(cublasSgemm_64(s.blas, op_b, op_a, a.n, a.m, a.k, &alpha, a.b, ld_b, a.a, ld_a, &beta, a.c, a.n),
                 "cublasSgemm");
  }
  const cudaDataType_t ab = operand_type(key.precision);
  return check(cublasGemmEx_64(s.blas, op_b, op_a, a.n, a.m, a.k, &alpha, b_op, ab, ld_b, a_op, ab, ld_a, &beta, a.c,
                               CUDA_R_32F, a.n, compute_type(key), CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

// Under 16-bit compute, a and b converted into the device's scratch (a in half_input, b in
// half_filter); otherwise a and b themselves.
int operands(DeviceState& s, const MatmulArgs& a, const void** a_op, const void** b_op) {
  *a_op = a.a;
  *b_op = a.b;
  const ComputePrecision precision = a.mode.precision;
  if (precision == ComputePrecision::float32) return cuda_abi::kOk;
  const int64_t a_count = a.m * a.k, b_count = a.k * a.n;
  KEROSENE_TRY(reserve(s, s.half_input, static_cast<size_t>(a_count) * 2));
  KEROSENE_TRY(reserve(s, s.half_filter, static_cast<size_t>(b_count) * 2));
  KEROSENE_TRY(launch_to_16bit(s.stream, a.a, s.half_input.ptr, a_count, precision));
  KEROSENE_TRY(launch_to_16bit(s.stream, a.b, s.half_filter.ptr, b_count, precision));
  *a_op = s.half_input.ptr;
  *b_op = s.half_filter.ptr;
  return cuda_abi::kOk;
}

}  // namespace

int matmul(int device, const MatmulArgs* args) {
  const MatmulArgs& a = *args;
  if (a.m <= 0 || a.n <= 0) return cuda_abi::kOk;
  const bool relu = a.fused == ActivationKind::relu;  // the CPU fuses relu only; other kinds stay linear
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  if (a.k <= 0) {  // an empty sum: c = (c if accumulate) + bias, then relu
    return launch_bias_activation(s->stream, a.c, a.bias, a.m, a.n, relu, !a.accumulate);
  }
  KEROSENE_TRY(blas_handles(*s));
  if (!s->matmul_cache) s->matmul_cache = new MatmulCache;  // lives as long as the state
  MatmulCache& cache = *s->matmul_cache;
  KEROSENE_TRY(choose_workspace(*s, cache));

  const void *a_op = nullptr, *b_op = nullptr;
  KEROSENE_TRY(operands(*s, a, &a_op, &b_op));
  const bool sixteen = a.mode.precision != ComputePrecision::float32;
  const MatmulKey key{a.m, a.n, a.k, a.transpose_a != 0, a.transpose_b != 0, a.accumulate != 0, a.bias != nullptr,
                      relu, alignment(a_op), alignment(b_op), alignment(a.c), alignment(a.bias) == 256,
                      static_cast<int>(a.mode.precision), !sixteen && a.mode.allow_tf32 != 0};
  auto [it, inserted] = cache.plans.try_emplace(key);
  MatmulPlan& plan = it->second;
  if (inserted) {
    if (const int status = make_plan(*s, key, cache.workspace_bytes, plan); status != cuda_abi::kOk) {
      cache.plans.erase(it);  // descriptors of a failed plan are leaked: rare, and small
      return status;
    }
  }

  const float alpha = 1.0f, beta = a.accumulate ? 1.0f : 0.0f;
  bool fused = false;
  if (plan.use_lt) {
    if (plan.fused_in_lt && a.bias) KEROSENE_TRY(set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, a.bias));
    const cublasStatus_t status =
        cublasLtMatmul(s->lt, plan.desc, &alpha, b_op, plan.x, a_op, plan.y, &beta, a.c, plan.c, a.c, plan.c,
                       &plan.algo, s->lt_workspace.ptr, cache.workspace_bytes, s->stream);
    if (status == CUBLAS_STATUS_SUCCESS) {
      KEROSENE_TRY(check_queued("cublasLtMatmul"));
      fused = plan.fused_in_lt;
    } else if (status == CUBLAS_STATUS_NOT_SUPPORTED) {
      plan.use_lt = false;  // from now on this shape goes to cublasSgemm / cublasGemmEx
      log_once("cublasLtMatmul refused the " + shape_text(key) + " matmul its heuristic chose (NOT_SUPPORTED); " +
               fallback_name(key) + " runs it instead");
    } else {
      return check(status, "cublasLtMatmul");
    }
  }
  if (!plan.use_lt) KEROSENE_TRY(run_gemm(*s, key, a, a_op, b_op, beta));
  if (note_paths()) {
    note_path(std::string(plan.use_lt ? "cuBLASLt" : fallback_name(key)) + " matmul " + shape_text(key) +
              (fused ? " (bias/relu in Lt's epilogue)" : ""));
  }
  if (!fused && (a.bias || relu)) return launch_bias_activation(s->stream, a.c, a.bias, a.m, a.n, relu, false);
  return cuda_abi::kOk;
}

}  // namespace kerosene::backends::cuda_impl
