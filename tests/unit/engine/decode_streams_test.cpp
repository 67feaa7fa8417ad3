// link_decode_streams (runner/engine/src/decode_streams.cpp): each matrix names the
// bytes the forward pass streams after it, layer by layer in reading order, the last
// layer's down projection the output head and the head layer 0's first matrix.
#include <gtest/gtest.h>

#include <vector>

#include "r1/kernels/quants.h"
#include "weights.h"

namespace r1::engine {
namespace {

matrix rows_of(std::vector<uint8_t>& bytes, int64_t rows, int64_t cols) {
  matrix m;
  m.view = {tensor_type::q8_0, rows, cols, nullptr, 0};
  bytes.assign(kernels::row_size(tensor_type::q8_0, cols) * static_cast<size_t>(rows), 0);
  m.view.data = bytes.data();
  return m;
}

TEST(DecodeStreams, EachMatrixNamesTheNextOneTheForwardReads) {
  weights w;
  std::vector<std::vector<uint8_t>> store(2 * 7 + 1);
  size_t k = 0;
  w.layers.resize(2);
  for (layer_weights& l : w.layers) {
    for (matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      *m = rows_of(store[k], 32 + static_cast<int64_t>(k), 64);
      ++k;
    }
  }
  w.output = rows_of(store[k], 100, 64);
  link_decode_streams(w);
  auto expect_next = [](const matrix& m, const matrix& next, const char* what) {
    EXPECT_EQ(m.view.read_next, next.view.data) << what;
    EXPECT_EQ(m.view.read_next_bytes, kernels::row_size(next.view.type, next.view.cols) * static_cast<size_t>(next.view.rows))
        << what;
  };
  for (const layer_weights& l : w.layers) {
    expect_next(l.wq, l.wk, "q -> k");
    expect_next(l.wk, l.wv, "k -> v");
    expect_next(l.wv, l.wo, "v -> o");
    expect_next(l.wo, l.ffn_gate, "o -> gate");
    expect_next(l.ffn_gate, l.ffn_up, "gate -> up");
    expect_next(l.ffn_up, l.ffn_down, "up -> down");
  }
  expect_next(w.layers[0].ffn_down, w.layers[1].wq, "down -> the next layer's q");
  expect_next(w.layers[1].ffn_down, w.output, "the last down -> the head");
  expect_next(w.output, w.layers[0].wq, "the head -> the next token's first matrix");
  EXPECT_EQ(w.token_embd.view.read_next, nullptr) << "read one row at a time, not streamed";
}

}  // namespace
}  // namespace r1::engine
