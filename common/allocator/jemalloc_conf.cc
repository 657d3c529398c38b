// jemalloc options of the taskgrid services, read by jemalloc at startup
// (linked only into binaries that link jemalloc; MALLOC_CONF in the
// environment still overrides them).
//
// jemalloc's default keeps freed ("dirty") pages for 10 s before returning
// them to the system. The scheduler frees a whole graph's records at once
// when a client releases it, and both services free large transient
// buffers (graph messages, value chunks): with a 1 s decay and a background
// purging thread that memory is back within about a second, also when the
// service is idle afterwards.

extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks up.
const char* malloc_conf = "background_thread:true,max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
