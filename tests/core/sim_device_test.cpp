// The simulated accelerator (core/device.h): host memory and CPU code underneath, but a device of its own to every
// check, closed to host code, and reached only by counted transfers.
#include <gtest/gtest.h>

#include <cstring>

#include "core/device_reads.h"
#include "core/generator.h"
#include "core/tensor.h"
#include "tests/reference.h"

namespace qn {
namespace {

const Device kSim = Device::sim(0);

// t's bytes, read from storage without a transfer (the test's own view of the memory).
std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* first = static_cast<const uint8_t*>(c.device_data());
  return {first, first + c.nbytes()};
}

TEST(SimDevice, IsADeviceOfItsOwn) {
  EXPECT_EQ(kSim.str(), "sim:0");
  EXPECT_EQ(Device::sim(1).str(), "sim:1");
  EXPECT_NE(kSim, Device::cpu());
  EXPECT_NE(kSim, Device::sim(1));
  EXPECT_NE(kSim, Device::cuda(0));
  EXPECT_TRUE(kSim.is_accelerator());
  EXPECT_FALSE(Device::cpu().is_accelerator());
  EXPECT_TRUE(kSim.runs_cpu_kernels());
  EXPECT_FALSE(Device::cuda(0).runs_cpu_kernels());
  const Tensor t = zeros({2, 3}, TensorOptions(DType::f32, kSim));
  EXPECT_EQ(t.device(), kSim);
  EXPECT_EQ(t.describe(), "f32[2, 3] on sim:0");
}

TEST(SimDevice, HostCodeMayNotReadItsMemory) {
  const Tensor t = ones({4}, TensorOptions(DType::f32, kSim));
  EXPECT_QN_ERROR(t.data_ptr<float>(), "data_ptr", "sim:0", "copy it to the CPU first");
  EXPECT_QN_ERROR(t.raw_data(), "data_ptr", "sim:0");
  EXPECT_NE(t.device_ptr<float>(), nullptr);  // what kernels and transfers use
}

TEST(SimDevice, TransfersKeepEveryBit) {
  const Tensor host = testing::random({3, 5}, DType::f32, 7);
  const Tensor on_sim = host.to(kSim);
  EXPECT_FALSE(on_sim.shares_storage_with(host));
  EXPECT_EQ(bytes_of(on_sim), bytes_of(host));
  EXPECT_EQ(bytes_of(on_sim.to(Device::cpu())), bytes_of(host));
  const Tensor other = on_sim.to(Device::sim(1));  // between devices: through the host
  EXPECT_EQ(other.device(), Device::sim(1));
  EXPECT_EQ(bytes_of(other), bytes_of(host));
  // A strided view is copied as its elements, in order.
  EXPECT_EQ(bytes_of(host.t().to(kSim)), bytes_of(host.t().contiguous()));
}

TEST(SimDevice, CopiesAndFillsStayOnTheDevice) {
  const Tensor host = testing::random({2, 4}, DType::f64, 3);
  Tensor t = empty({2, 4}, TensorOptions(DType::f32, kSim));
  reset_device_reads();
  t.copy_(host);  // brought over, then converted there
  t.narrow(1, 0, 2).fill_(5.0);
  EXPECT_EQ(device_reads(), 0);
  const Tensor back = t.to(Device::cpu());
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      const double expected = j < 2 ? 5.0 : static_cast<float>(testing::at(host, {i, j}));
      EXPECT_EQ(testing::at(back, {i, j}), expected);
    }
  }
  Tensor into_host = zeros({2, 4}, DType::f64);
  into_host.copy_(t);  // from the device: a read
  EXPECT_EQ(device_reads(), 2);
}

TEST(SimDevice, CountsEveryReadBackAndOnlyThose) {
  const Tensor host = from_vector(std::vector<float>{1.5f, 2.5f});
  reset_device_reads();
  const Tensor t = host.to(kSim);
  (void)host.to(Device::cpu());
  (void)host.select(0, 0).item<float>();
  EXPECT_EQ(device_reads(), 0);  // host-to-device copies and host values are not reads
  EXPECT_EQ(t.select(0, 1).item<float>(), 2.5f);
  EXPECT_EQ(device_reads(), 1);
  (void)t.to(Device::cpu());
  EXPECT_EQ(device_reads(), 2);
  EXPECT_NE(t.str().find("1.5000"), std::string::npos) << t.str();  // printing reads the values back
  EXPECT_NE(t.str().find("device=sim:0"), std::string::npos) << t.str();
  EXPECT_EQ(device_reads(), 4);
  reset_device_reads();
  EXPECT_EQ(device_reads(), 0);
}

TEST(SimDevice, TracingNamesEachReadsCallSite) {
  const Tensor t = ones({1}, TensorOptions(DType::f32, kSim));
  reset_device_reads();
  trace_device_reads(true);
  const int line = __LINE__ + 1;
  (void)t.item<double>();
  trace_device_reads(false);
  (void)t.item<double>();  // not traced, still counted
  const std::vector<std::string> sites = device_read_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_NE(sites[0].find("sim_device_test.cpp:" + std::to_string(line)), std::string::npos) << sites[0];
  EXPECT_EQ(device_reads(), 2);
}

// Integer data copied from the host keeps that copy as a mirror, which host code reads without a device read,
// through any view, until either side is written.
TEST(SimDevice, AHostCopyOfIdsIsReadWithoutWaitingUntilWritten) {
  Tensor host = from_vector<int64_t>({3, 1, 4, 1, 5, 9}, {2, 3});
  const Tensor ids = host.to(kSim);
  reset_device_reads();
  EXPECT_EQ(bytes_of(ids.to_host()), bytes_of(host));
  EXPECT_EQ(ids.t().to_host().str(), host.t().str());
  EXPECT_EQ(ids.select(0, 1).to_host().str(), host.select(0, 1).str());
  EXPECT_EQ(device_reads(), 0);
  // A computed tensor has no host copy; neither has float data (parameters would keep their host copies alive).
  (void)ones({2}, TensorOptions(DType::i64, kSim)).to_host();
  (void)from_vector<float>({1.0f}).to(kSim).to_host();
  EXPECT_EQ(device_reads(), 2);
  // Written on the device, or on the host: read back.
  Tensor written = host.to(kSim);
  written.select(0, 0).fill_(7);
  EXPECT_EQ(written.to_host().str(), from_vector<int64_t>({7, 7, 7, 1, 5, 9}, {2, 3}).str());
  const Tensor other = host.to(kSim);
  host.fill_(0);
  EXPECT_EQ(other.to_host().str(), from_vector<int64_t>({3, 1, 4, 1, 5, 9}, {2, 3}).str());
  EXPECT_EQ(device_reads(), 4);
}

TEST(SimDevice, DrawsTheHostsRandomNumbers) {
  for (const DType dtype : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dtype));
    Generator a(11), b(11);
    EXPECT_EQ(bytes_of(rand({37}, TensorOptions(dtype, kSim), &a)), bytes_of(rand({37}, dtype, &b)));
    EXPECT_EQ(bytes_of(randn({37}, TensorOptions(dtype, kSim), &a)), bytes_of(randn({37}, dtype, &b)));
    EXPECT_EQ(bytes_of(keep_mask({37}, TensorOptions(dtype, kSim), 0.3, &a)),
              bytes_of(keep_mask({37}, dtype, 0.3, &b)));
  }
  Generator a(5), b(5);
  const Tensor on_sim = randint(0, 100, {9}, TensorOptions(DType::i64, kSim), &a);
  EXPECT_EQ(on_sim.device(), kSim);
  EXPECT_EQ(bytes_of(on_sim), bytes_of(randint(0, 100, {9}, DType::i64, &b)));
  EXPECT_EQ(arange(5, TensorOptions(DType::i64, kSim)).device(), kSim);
}

}  // namespace
}  // namespace qn
