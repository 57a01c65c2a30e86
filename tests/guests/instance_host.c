// wasm-flags: -mexec-model=reactor
/* instance_host: imports a test-only host function, aether_test.record,
 * which the instance tests register through EngineOptions::host_functions. */
__attribute__((import_module("aether_test"), import_name("record"))) int record(const char* p,
                                                                                int len);

static const char kMessage[] = "ping";

__attribute__((export_name("run"))) int run(void) { return record(kMessage, 4); }
__attribute__((export_name("bad"))) int bad(void) { return record((const char*)0x7fffffff, 64); }

/* For Instance::CallFromHost: the host calls it from inside record(). */
static int bumps;
__attribute__((export_name("bump"))) int bump(void) { return ++bumps; }
