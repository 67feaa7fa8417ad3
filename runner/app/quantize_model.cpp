#include "quantize_model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/gguf/writer.h"
#include "r1/kernels/quants.h"
#include "r1/kernels/thread_pool.h"

namespace r1::runner {

namespace {

using kernels::file_type;

constexpr std::string_view k_target_names =
    "q4_K_M, q4_K_S, q5_K_M, q5_K_S, q6_K, q8_0, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32";

struct tensor_job {
  const gguf::tensor_info* src = nullptr;
  tensor_type to = tensor_type::f32;
};

struct source_model {
  gguf::model_files files;
  std::vector<tensor_job> jobs;
  quantize_summary summary;
};

bool is_float_source(tensor_type t) {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::bf16;
}

kernels::mix_model mix_model_of(const gguf::model_files& m, std::string_view arch) {
  const gguf::file& f = m.metadata();
  const std::string a(arch);
  kernels::mix_model mm;
  mm.arch = arch;
  mm.n_layer = static_cast<int>(f.get_uint_or(a + ".block_count", 0).value_or(0));
  mm.n_expert = static_cast<int>(f.get_uint_or(a + ".expert_count", 0).value_or(0));
  const uint64_t n_embd = f.get_uint_or(a + ".embedding_length", 0).value_or(0);
  mm.is_70b = n_embd == 8192 && mm.n_layer == 80;  // llama.cpp's LLM_TYPE_70B
  mm.has_output = m.find_tensor("output.weight") != nullptr;
  return mm;
}

// The type of every tensor, and the source checks a real run needs.
result<source_model> open_source(const quantize_request& q) {
  source_model s;
  R1_ASSIGN_OR_RETURN(s.files, gguf::model_files::open(q.input));
  auto arch = s.files.metadata().get_string("general.architecture");
  if (!arch.ok()) return invalid_argument(q.input + ": no general.architecture; not a model file");
  const kernels::mix_model mm = mix_model_of(s.files, *arch);
  s.summary.source_type = gguf::file_type_of(s.files);
  s.summary.target_type = std::string(kernels::file_type_name(q.target));
  bool requantize = false;
  for (const gguf::tensor_ref& r : s.files.tensors()) {
    const gguf::tensor_info& t = *r.info;
    kernels::mix_tensor mt{t.name, static_cast<int>(t.n_dims), static_cast<int64_t>(t.ne[0]), t.type};
    R1_ASSIGN_OR_RETURN(tensor_type to, kernels::choose_mix_type(q.target, mt, -1, mm));
    if (to != t.type) {
      if (t.type == tensor_type::q8_0) {
        requantize = true;
      } else if (!is_float_source(t.type)) {
        return invalid_argument("cannot quantize " + s.summary.source_type + " model " + q.input + " to " +
                                s.summary.target_type + ": tensor '" + std::string(t.name) + "' is already " +
                                std::string(type_info(t.type).name) +
                                "; quantize from an F16, BF16 or F32 model (or Q8_0)");
      }
      if (!kernels::can_quantize(to))
        return invalid_argument("tensor '" + std::string(t.name) + "': type " + std::string(type_info(to).name) +
                                " cannot be written by this build");
    }
    s.jobs.push_back({&t, to});
    s.summary.source_bytes += t.size;
    s.summary.output_bytes += row_bytes(type_info(to), t.ne[0]) * t.n_rows();
    ++s.summary.type_counts[std::string(type_info(to).name)];
  }
  if (requantize)
    s.summary.warnings.push_back("requantizing Q8_0 weights to " + s.summary.target_type +
                                 " loses more precision than quantizing from F16, BF16 or F32");
  return s;
}

bool skip_key(std::string_view key) {
  return key.starts_with("split.") || key == "general.file_type" || key == "general.quantization_version" ||
         key == "general.alignment";
}

status copy_value(const gguf::kv& v, gguf::writer& w) {
  std::string key(v.key);
  switch (v.type) {
    case gguf::value_type::string: w.set_string(key, v.str); return ok_status();
    case gguf::value_type::array: {
      if (v.elem_type == gguf::value_type::string) {
        std::vector<std::string> strs(v.strings.begin(), v.strings.end());
        w.set_string_array(key, strs);
        return ok_status();
      }
      const size_t elem = gguf::value_type_size(v.elem_type);
      if (elem == 0) return invalid_argument("metadata key '" + key + "': nested arrays are not supported");
      w.set_array_raw(key, v.elem_type, v.count, std::span<const uint8_t>(v.raw, v.count * elem));
      return ok_status();
    }
    default: break;
  }
  const size_t n = gguf::value_type_size(v.type);
  if (n == 0 || !v.raw) return invalid_argument("metadata key '" + key + "': unsupported value type");
  uint64_t bits = 0;
  std::memcpy(&bits, v.raw, n);
  switch (v.type) {
    case gguf::value_type::u8: w.set_u8(key, static_cast<uint8_t>(bits)); break;
    case gguf::value_type::i8: w.set_i8(key, static_cast<int8_t>(bits)); break;
    case gguf::value_type::u16: w.set_u16(key, static_cast<uint16_t>(bits)); break;
    case gguf::value_type::i16: w.set_i16(key, static_cast<int16_t>(bits)); break;
    case gguf::value_type::u32: w.set_u32(key, static_cast<uint32_t>(bits)); break;
    case gguf::value_type::i32: w.set_i32(key, static_cast<int32_t>(bits)); break;
    case gguf::value_type::u64: w.set_u64(key, bits); break;
    case gguf::value_type::i64: w.set_i64(key, static_cast<int64_t>(bits)); break;
    case gguf::value_type::boolean: w.set_bool(key, bits != 0); break;
    case gguf::value_type::f32: {
      float f;
      std::memcpy(&f, v.raw, sizeof f);
      w.set_f32(key, f);
      break;
    }
    case gguf::value_type::f64: {
      double d;
      std::memcpy(&d, v.raw, sizeof d);
      w.set_f64(key, d);
      break;
    }
    default: return invalid_argument("metadata key '" + key + "': unsupported value type");
  }
  return ok_status();
}

status copy_metadata(const gguf::file& f, file_type target, gguf::writer& w) {
  for (const gguf::kv& v : f.metadata())
    if (!skip_key(v.key)) R1_RETURN_IF_ERROR(copy_value(v, w));
  if (f.alignment() != gguf::k_default_alignment) R1_RETURN_IF_ERROR(w.set_alignment(f.alignment()));
  w.set_u32("general.quantization_version", 2);
  w.set_u32("general.file_type", static_cast<uint32_t>(target));
  return ok_status();
}

// Converts rows [first, first + n) of one tensor with the pool.
class row_converter {
 public:
  explicit row_converter(int threads) : pool_(threads), bufs_(static_cast<size_t>(pool_.size())) {}

  status convert(const tensor_job& j, uint64_t first, uint64_t n, uint8_t* dst) {
    const gguf::tensor_info& t = *j.src;
    const int64_t ne0 = static_cast<int64_t>(t.ne[0]);
    const uint64_t src_rb = t.row_size();
    const uint64_t dst_rb = kernels::row_size(j.to, ne0);
    const uint8_t* src = t.data + first * src_rb;
    if (j.to == t.type) {
      std::memcpy(dst, src, n * src_rb);
      return ok_status();
    }
    const int n_tasks = static_cast<int>(std::min<uint64_t>(n, static_cast<uint64_t>(pool_.size()) * 4));
    std::mutex mu;
    status first_error;
    pool_.run(n_tasks, [&](int task, int thread) {
      const uint64_t r0 = n * static_cast<uint64_t>(task) / static_cast<uint64_t>(n_tasks);
      const uint64_t r1 = n * static_cast<uint64_t>(task + 1) / static_cast<uint64_t>(n_tasks);
      std::vector<float>& buf = bufs_[static_cast<size_t>(thread)];
      if (buf.size() < static_cast<size_t>(ne0)) buf.resize(static_cast<size_t>(ne0));
      for (uint64_t r = r0; r < r1; ++r) {
        const uint8_t* in = src + r * src_rb;
        const float* row = reinterpret_cast<const float*>(in);
        status s;
        if (t.type != tensor_type::f32) {
          s = kernels::dequantize_row(t.type, in, buf.data(), ne0);
          row = buf.data();
        }
        if (s.ok()) s = kernels::quantize_row(j.to, row, dst + r * dst_rb, ne0);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lk(mu);
          if (first_error.ok()) first_error = s.with_context("row " + std::to_string(first + r));
          return;
        }
      }
    });
    return first_error;
  }

 private:
  kernels::thread_pool pool_;
  std::vector<std::vector<float>> bufs_;
};

// Drops the mapped source pages of a finished tensor from this process (they
// stay in the page cache), so resident memory does not grow with the model.
void release_source(const gguf::tensor_info& t) {
  if (!t.data || t.size == 0) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGE_SIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(t.data) + t.size;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace

result<file_type> parse_quantize_type(std::string_view name) {
  auto ft = kernels::parse_file_type(name);
  if (!ft.ok())
    return invalid_argument("unknown quantization type '" + std::string(name) + "' (expected one of " +
                            std::string(k_target_names) + ")");
  return *ft;
}

result<quantize_summary> plan_quantize(const quantize_request& q) {
  R1_ASSIGN_OR_RETURN(source_model s, open_source(q));
  return s.summary;
}

result<quantize_summary> quantize_model(const quantize_request& q, const quantize_progress_fn& progress) {
  R1_ASSIGN_OR_RETURN(source_model s, open_source(q));
  gguf::writer w;
  R1_RETURN_IF_ERROR(copy_metadata(s.files.metadata(), q.target, w));
  row_converter conv(q.threads);
  quantize_progress pr;
  pr.n_tensors = s.jobs.size();
  pr.total = s.summary.source_bytes;
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const tensor_job job = s.jobs[i];
    const gguf::tensor_info& t = *job.src;
    std::vector<uint64_t> dims(t.ne.begin(), t.ne.begin() + t.n_dims);
    auto fill = [&conv, &pr, &progress, job, i](uint64_t first, uint64_t n, uint8_t* dst) -> status {
      R1_RETURN_IF_ERROR(conv.convert(job, first, n, dst));
      pr.tensor = i;
      pr.name = job.src->name;
      pr.from = job.src->type;
      pr.to = job.to;
      pr.completed += n * job.src->row_size();
      if (first + n == job.src->n_rows()) release_source(*job.src);
      if (progress) progress(pr);
      return ok_status();
    };
    R1_RETURN_IF_ERROR(w.add_tensor(std::string(t.name), job.to, std::move(dims), fill));
  }
  R1_RETURN_IF_ERROR(w.write(q.output).with_context("writing " + q.output));
  return s.summary;
}

}  // namespace r1::runner
