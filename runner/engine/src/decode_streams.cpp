// link_decode_streams: each matrix names the bytes a decode reads after it.
#include <vector>

#include "weights.h"

namespace r1::engine {

void link_decode_streams(weights& w) {
  // The forward pass's order (as the AMX arena's): a layer's attention, then its
  // FFN, layer after layer, then the output head, after which the next token starts
  // again at layer 0.
  std::vector<matrix*> order;
  for (layer_weights& l : w.layers) {
    for (matrix* m : {&l.wq_a, &l.wq_b, &l.wq, &l.wkv_a_mqa, &l.wkv_b, &l.wk, &l.wv, &l.wo, &l.ffn_gate_shexp,
                      &l.ffn_up_shexp, &l.ffn_down_shexp, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      if (*m) order.push_back(m);
    }
  }
  if (w.output) order.push_back(&w.output);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::span<const uint8_t> next = kernels::decode_stream(order[(i + 1) % order.size()]->view);
    order[i]->view.read_next = next.data();
    order[i]->view.read_next_bytes = next.size();
  }
}

}  // namespace r1::engine
