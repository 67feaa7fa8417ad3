// Umbrella header of the CPU kernels (r1::kernels_cpu).
#pragma once

#include "r1/kernels/amx_packed_matrix.h"
#include "r1/kernels/attention.h"
#include "r1/kernels/bandwidth.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quant_mix.h"
#include "r1/kernels/quants.h"
#include "r1/kernels/scratch.h"
#include "r1/kernels/thread_pool.h"
