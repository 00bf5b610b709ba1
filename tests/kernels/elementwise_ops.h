// Every elementwise op of kernels/elementwise.h, for the tests that run each one (CPU against a reference, CUDA
// against the CPU). An op added to an enum goes here too.
#pragma once

#include "kernels/elementwise.h"

namespace qn::testing {

using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;

inline constexpr UnaryOp kUnaryOps[] = {
    UnaryOp::neg,     UnaryOp::exp,  UnaryOp::log,  UnaryOp::sqrt,      UnaryOp::rsqrt, UnaryOp::abs, UnaryOp::tanh,
    UnaryOp::sigmoid, UnaryOp::relu, UnaryOp::gelu, UnaryOp::gelu_tanh, UnaryOp::silu,  UnaryOp::erf};
inline constexpr BinaryOp kBinaryOps[] = {BinaryOp::add,
                                          BinaryOp::sub,
                                          BinaryOp::mul,
                                          BinaryOp::div,
                                          BinaryOp::pow,
                                          BinaryOp::maximum,
                                          BinaryOp::minimum,
                                          BinaryOp::relu_backward,
                                          BinaryOp::gelu_backward,
                                          BinaryOp::silu_backward,
                                          BinaryOp::sigmoid_backward};
inline constexpr CompareOp kCompareOps[] = {CompareOp::eq, CompareOp::ne, CompareOp::lt,
                                            CompareOp::le, CompareOp::gt, CompareOp::ge};

}  // namespace qn::testing
