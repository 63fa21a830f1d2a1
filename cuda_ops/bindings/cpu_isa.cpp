// Which vector width the CPU kernels were dispatched to (cpu_kernels.h: with_isa),
// for `spairkit ops info` and the tests that run every variant.
#include "../cpu/cpu_kernels.h"
#include "entry_points.h"

namespace spairkit {

std::string cpu_isa() { return cpu::isa_name(cpu::active_isa()); }

}  // namespace spairkit
