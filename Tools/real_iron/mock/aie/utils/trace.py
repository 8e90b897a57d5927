# Mock of aie.utils.trace: trace routing and setup; the designs do not enable tracing, so any call raises.
from . import _absent

configure_packet_tracing_flow = _absent("trace.configure_packet_tracing_flow")
configure_packet_tracing_aie2 = _absent("trace.configure_packet_tracing_aie2")
gen_trace_done_aie2 = _absent("trace.gen_trace_done_aie2")
