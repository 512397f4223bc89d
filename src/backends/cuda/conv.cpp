// Conv2D (grouped and depthwise too) on cuDNN with Keras' layouts: NHWC activations, HWIO weights. cuDNN's NHWC filter
// format is KRSC (out_c, kh, kw, in_c), so weights are transposed into a scratch buffer before
// the forward and backward-data passes and the weight gradient is transposed back after the
// backward-filter pass. Bias and relu follow the forward pass in one small kernel; the bias
// gradient is the column sum of dy, as for Dense. Under 16-bit compute (ComputeMode) the operands
// are converted to bfloat16/half after those layout changes, into the half_* scratch buffers,
// and cuDNN's 16-bit result is widened back to float32 before the crop or transpose that
// follows. Shapes cuDNN cannot take (no algorithm, a dimension beyond int, no memory for the
// scratch buffers) go to the direct kernels of conv_direct.cu, which compute in float32.
#include <cudnn.h>

#include <string>

#include "backends/cuda/conv_plan.h"
#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

int validate(const Conv2DParams& p) {
  const bool positive = p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h > 0 && p.stride_w > 0 && p.dilation_h > 0 &&
                        p.dilation_w > 0;
  const bool non_negative = p.batch >= 0 && p.in_h >= 0 && p.in_w >= 0 && p.in_c >= 0 && p.out_h >= 0 &&
                            p.out_w >= 0 && p.out_c >= 0 && p.pad_top >= 0 && p.pad_left >= 0 &&
                            p.pad_bottom >= 0 && p.pad_right >= 0;
  if (!positive || !non_negative) {
    return fail(cuda_abi::kError, "conv2d: kernel sizes, strides and dilations must be positive, dimensions and "
                                  "paddings non-negative");
  }
  if (p.groups < 1 || p.in_c % p.groups != 0 || p.out_c % p.groups != 0) {
    return fail(cuda_abi::kError, "conv2d: " + std::to_string(p.groups) + " groups do not divide " +
                                      std::to_string(p.in_c) + " input and " + std::to_string(p.out_c) +
                                      " output channels");
  }
  return cuda_abi::kOk;
}

// HWIO rows of out_c: (kh, kw, in_c / groups) in Keras' grouped layout, whose transpose is
// cuDNN's grouped KRSC filter.
int64_t kernel_rows(const Conv2DParams& p) { return p.kernel_h * p.kernel_w * (p.in_c / p.groups); }

// Caller holds s.mutex: the cuDNN handle (made on first use) and the plan for this shape.
int prepare(DeviceState& s, const Conv2DParams& p, ComputeMode mode, ConvPlan** plan) {
  KEROSENE_TRY(dnn_handle(s));
  return conv_plan(s, p, mode, plan);
}

float* reserve_floats(DeviceState& s, Scratch& scratch, int64_t count, int* status) {
  *status = reserve(s, scratch, static_cast<size_t>(count) * sizeof(float));
  return static_cast<float*>(scratch.ptr);
}

// Room for `count` 16-bit values; does nothing once *status is not kOk.
void* reserve_half(DeviceState& s, Scratch& scratch, int64_t count, int* status) {
  if (*status != cuda_abi::kOk) return nullptr;
  *status = reserve(s, scratch, static_cast<size_t>(count) * 2);
  return scratch.ptr;
}

bool sixteen_bit(const ConvPlan& plan) { return plan.precision != ComputePrecision::float32; }

// The 16-bit copies a forward or input-gradient convolution runs on: the transposed filter and
// the operand it reads (to_16bit fills both from float32), and its result (the caller converts
// that back).
struct HalfOperands {
  void* filter = nullptr;
  void* in = nullptr;
  void* out = nullptr;
  int64_t filter_count = 0, in_count = 0;

  // Reserves the three; does nothing once *status is not kOk (as reserve_half).
  HalfOperands(DeviceState& s, int64_t filter_n, int64_t in_n, int64_t out_n, int* status)
      : filter(reserve_half(s, s.half_filter, filter_n, status)),
        in(reserve_half(s, s.half_input, in_n, status)),
        out(reserve_half(s, s.half_output, out_n, status)),
        filter_count(filter_n),
        in_count(in_n) {}
  HalfOperands() = default;

  int to_16bit(cudaStream_t stream, const float* transposed_filter, const float* operand,
               ComputePrecision precision) const {
    KEROSENE_TRY(launch_to_16bit(stream, transposed_filter, filter, filter_count, precision));
    return launch_to_16bit(stream, operand, in, in_count, precision);
  }
};

int64_t padded_elements(const PadShape& shape) {
  return shape.n * (shape.h + shape.top + shape.bottom) * (shape.w + shape.left + shape.right) * shape.c;
}

}  // namespace

int conv2d_forward(int device, const Conv2DParams* params, const float* x, const float* w, const float* bias,
                   float* y, ActivationKind fused, ComputeMode mode) {
  const Conv2DParams& p = *params;
  KEROSENE_TRY(validate(p));
  const int64_t rows = p.batch * p.out_h * p.out_w;  // y as rows x out_c
  if (rows * p.out_c == 0) return cuda_abi::kOk;
  const bool relu = fused == ActivationKind::relu;  // the CPU fuses relu only
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  if (kernel_rows(p) == 0 || p.in_h == 0 || p.in_w == 0) {  // nothing to convolve: y = act(bias)
    return launch_bias_activation(s->stream, y, bias, rows, p.out_c, relu, true);
  }
  ConvPlan* plan = nullptr;
  KEROSENE_TRY(prepare(*s, p, mode, &plan));
  if (plan->direct) {
    fall_back(*plan, ConvDirection::forward, "a dimension or an element count does not fit cuDNN's int");
    return launch_conv_forward_direct(s->stream, p, x, w, bias, y, relu);
  }
  int status = cuda_abi::kOk;
  float* filter = reserve_floats(*s, s->conv_filter, kernel_rows(p) * p.out_c, &status);
  const float* input = x;
  int64_t input_elements = p.batch * p.in_h * p.in_w * p.in_c;
  if (status == cuda_abi::kOk && plan->padded) {
    input_elements = padded_elements(plan->pad);
    float* padded = reserve_floats(*s, s->conv_padded, input_elements, &status);
    if (status == cuda_abi::kOk) status = launch_pad(s->stream, x, padded, plan->pad);
    input = padded;
  }
  const bool sixteen = sixteen_bit(*plan);
  const HalfOperands half =
      sixteen ? HalfOperands(*s, kernel_rows(p) * p.out_c, input_elements, rows * p.out_c, &status) : HalfOperands();
  if (status == cuda_abi::kOutOfMemory) {
    fall_back(*plan, ConvDirection::forward, last_error_text());
    return launch_conv_forward_direct(s->stream, p, x, w, bias, y, relu);
  }
  KEROSENE_TRY(status);
  KEROSENE_TRY(launch_transpose(s->stream, w, filter, kernel_rows(p), p.out_c));
  if (sixteen) KEROSENE_TRY(half.to_16bit(s->stream, filter, input, plan->precision));
  const void* x_arg = sixteen ? half.in : static_cast<const void*>(input);
  const void* w_arg = sixteen ? half.filter : static_cast<const void*>(filter);
  void* y_arg = sixteen ? half.out : static_cast<void*>(y);
  const float alpha = 1.0f, beta = 0.0f;
  status = run_conv(
      *s, *plan, ConvDirection::forward,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(s->dnn, plan->x, plan->w, plan->conv, plan->y,
                                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
      },
      [&](int algo, void* workspace, size_t bytes) {
        return cudnnConvolutionForward(s->dnn, &alpha, plan->x, x_arg, plan->w, w_arg, plan->conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), workspace, bytes, &beta,
                                       plan->y, y_arg);
      });
  if (status == kNoAlgorithm) return launch_conv_forward_direct(s->stream, p, x, w, bias, y, relu);
  KEROSENE_TRY(status);
  if (sixteen) KEROSENE_TRY(launch_from_16bit(s->stream, half.out, y, rows * p.out_c, plan->precision));
  if (!bias && !relu) return cuda_abi::kOk;
  return launch_bias_activation(s->stream, y, bias, rows, p.out_c, relu, false);
}

int conv2d_backward_data(int device, const Conv2DParams* params, const float* dy, const float* w, float* dx,
                         ComputeMode mode) {
  const Conv2DParams& p = *params;
  KEROSENE_TRY(validate(p));
  const int64_t dx_elements = p.batch * p.in_h * p.in_w * p.in_c;
  if (dx_elements == 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  if (p.out_h * p.out_w * p.out_c == 0) {  // no output, so no gradient reaches the input
    return check(cudaMemsetAsync(dx, 0, static_cast<size_t>(dx_elements) * sizeof(float), s->stream),
                 "cudaMemsetAsync");
  }
  ConvPlan* plan = nullptr;
  KEROSENE_TRY(prepare(*s, p, mode, &plan));
  if (plan->direct) {
    fall_back(*plan, ConvDirection::backward_data, "a dimension or an element count does not fit cuDNN's int");
    return launch_conv_backward_data_direct(s->stream, p, dy, w, dx);
  }
  int status = cuda_abi::kOk;
  float* filter = reserve_floats(*s, s->conv_filter, kernel_rows(p) * p.out_c, &status);
  float* target = dx;  // with explicit padding, the gradient of the padded input, cropped after
  int64_t target_elements = dx_elements;
  if (status == cuda_abi::kOk && plan->padded) {
    target_elements = padded_elements(plan->pad);
    target = reserve_floats(*s, s->conv_padded, target_elements, &status);
  }
  const bool sixteen = sixteen_bit(*plan);
  const int64_t dy_elements = p.batch * p.out_h * p.out_w * p.out_c;
  const HalfOperands half =
      sixteen ? HalfOperands(*s, kernel_rows(p) * p.out_c, dy_elements, target_elements, &status) : HalfOperands();
  if (status == cuda_abi::kOutOfMemory) {
    fall_back(*plan, ConvDirection::backward_data, last_error_text());
    return launch_conv_backward_data_direct(s->stream, p, dy, w, dx);
  }
  KEROSENE_TRY(status);
  KEROSENE_TRY(launch_transpose(s->stream, w, filter, kernel_rows(p), p.out_c));
  if (sixteen) KEROSENE_TRY(half.to_16bit(s->stream, filter, dy, plan->precision));
  const void* w_arg = sixteen ? half.filter : static_cast<const void*>(filter);
  const void* dy_arg = sixteen ? half.in : static_cast<const void*>(dy);
  void* dx_arg = sixteen ? half.out : static_cast<void*>(target);
  const float alpha = 1.0f, beta = 0.0f;
  status = run_conv(
      *s, *plan, ConvDirection::backward_data,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(s->dnn, plan->w, plan->y, plan->conv, plan->x,
                                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
      },
      [&](int algo, void* workspace, size_t bytes) {
        return cudnnConvolutionBackwardData(s->dnn, &alpha, plan->w, w_arg, plan->y, dy_arg, plan->conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), workspace, bytes,
                                            &beta, plan->x, dx_arg);
      });
  if (status == kNoAlgorithm) return launch_conv_backward_data_direct(s->stream, p, dy, w, dx);
  KEROSENE_TRY(status);
  if (sixteen) KEROSENE_TRY(launch_from_16bit(s->stream, half.out, target, target_elements, plan->precision));
  if (!plan->padded) return cuda_abi::kOk;
  return launch_crop(s->stream, target, dx, plan->pad);
}

int conv2d_backward_weights(int device, const Conv2DParams* params, const float* x, const float* dy, float* dw,
                            float* db, ComputeMode mode) {
  const Conv2DParams& p = *params;
  KEROSENE_TRY(validate(p));
  const int64_t rows = p.batch * p.out_h * p.out_w;  // dy as rows x out_c
  const int64_t dw_elements = kernel_rows(p) * p.out_c;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  if (db) KEROSENE_TRY(bias_grad_locked(*s, dy, rows, p.out_c, db));
  if (dw_elements == 0) return cuda_abi::kOk;
  if (rows == 0 || p.in_h == 0 || p.in_w == 0) {  // no product contributes: a zero gradient
    return check(cudaMemsetAsync(dw, 0, static_cast<size_t>(dw_elements) * sizeof(float), s->stream),
                 "cudaMemsetAsync");
  }
  ConvPlan* plan = nullptr;
  KEROSENE_TRY(prepare(*s, p, mode, &plan));
  if (plan->direct) {
    fall_back(*plan, ConvDirection::backward_filter, "a dimension or an element count does not fit cuDNN's int");
    return launch_conv_backward_filter_direct(s->stream, p, x, dy, dw);
  }
  int status = cuda_abi::kOk;
  float* filter_grad = reserve_floats(*s, s->conv_filter, dw_elements, &status);  // KRSC, transposed after
  const float* input = x;
  int64_t input_elements = p.batch * p.in_h * p.in_w * p.in_c;
  if (status == cuda_abi::kOk && plan->padded) {
    input_elements = padded_elements(plan->pad);
    float* padded = reserve_floats(*s, s->conv_padded, input_elements, &status);
    if (status == cuda_abi::kOk) status = launch_pad(s->stream, x, padded, plan->pad);
    input = padded;
  }
  const bool sixteen = sixteen_bit(*plan);
  void *input16 = nullptr, *dy16 = nullptr, *grad16 = nullptr;
  if (sixteen) {
    input16 = reserve_half(*s, s->half_input, input_elements, &status);
    dy16 = reserve_half(*s, s->half_output, rows * p.out_c, &status);
    grad16 = reserve_half(*s, s->half_filter, dw_elements, &status);
  }
  if (status == cuda_abi::kOutOfMemory) {
    fall_back(*plan, ConvDirection::backward_filter, last_error_text());
    return launch_conv_backward_filter_direct(s->stream, p, x, dy, dw);
  }
  KEROSENE_TRY(status);
  if (sixteen) {
    KEROSENE_TRY(launch_to_16bit(s->stream, input, input16, input_elements, plan->precision));
    KEROSENE_TRY(launch_to_16bit(s->stream, dy, dy16, rows * p.out_c, plan->precision));
  }
  const void* x_arg = sixteen ? input16 : static_cast<const void*>(input);
  const void* dy_arg = sixteen ? dy16 : static_cast<const void*>(dy);
  void* dw_arg = sixteen ? grad16 : static_cast<void*>(filter_grad);
  const float alpha = 1.0f, beta = 0.0f;
  status = run_conv(
      *s, *plan, ConvDirection::backward_filter,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            s->dnn, plan->x, plan->y, plan->conv, plan->w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
      },
      [&](int algo, void* workspace, size_t bytes) {
        return cudnnConvolutionBackwardFilter(s->dnn, &alpha, plan->x, x_arg, plan->y, dy_arg, plan->conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), workspace, bytes,
                                              &beta, plan->w, dw_arg);
      });
  if (status == kNoAlgorithm) return launch_conv_backward_filter_direct(s->stream, p, x, dy, dw);
  KEROSENE_TRY(status);
  if (sixteen) KEROSENE_TRY(launch_from_16bit(s->stream, grad16, filter_grad, dw_elements, plan->precision));
  return launch_transpose(s->stream, filter_grad, dw, p.out_c, kernel_rows(p));
}

}  // namespace kerosene::backends::cuda_impl
