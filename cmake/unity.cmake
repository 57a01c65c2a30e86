# What the unity build (AETHER_UNITY_BUILD, used by scripts/sanitize.sh)
# leaves out. A unity file #includes several sources of one target, so two
# of them that define the same name at file scope (in an anonymous
# namespace, or a `using`) clash there although each compiles on its own.
# A new clash shows as "redefinition of ..." or "reference to ... is
# ambiguous" in the sanitizer build only: rename the helper, or list the
# file here with the name.
set(AETHER_UNITY_SKIP
  src/common/http_client.cc                # Clock, Connection
  src/common/http_server.cc                # Clock (http_internal::Clock)
  src/common/internal/client_socket.cc     # Clock
  src/common/node_identity_test.cc         # kSecret
  src/cli/domains_cmd.cc                   # List, Show, Remove, Schedule, SchedulingCell (nodes_cmd.cc)
  src/control/domains/domain_registry.cc   # Decode, Decoded, kRemoved, RemovedMessage (node_registry.cc)
  src/control/domains/domains_api.cc       # BadRequest, JsonBody (node_api.cc, functions_api.cc)
  src/control/domains/domain_placer_test.cc  # Domain, Spec (domain_mapping_test.cc)
  src/control/gateway.cc                   # Clock
  src/control/node_api.cc                  # BadRequest (functions_api.cc has one)
  src/engine/api.cc                        # Clock
  src/engine/managed_functions_test.cc     # TextOf
  src/protocol/manifest_test.cc            # kSha
  src/protocol/domain_test.cc              # Obj (node_test.cc)
  src/wasm/internal/aot_instance.cc        # MsSince
  src/wasm/internal/sandbox.cc             # Clock
  src/wasm/wasi/wasi_hostile_test.cc       # kEinval, kAllRights, kRoot
  src/wasm/wasi/wasi_test.cc               # kEbadf, kEinval, ...
  src/workflow/internal/function_actor.cc  # Clock
  src/workflow/internal/jetstream_publisher.cc  # Clock
  src/workflow/jetstream_log.cc            # Clock
  src/workflow/resources/http_egress.cc    # Lower
)
foreach(file ${AETHER_UNITY_SKIP})
  set_source_files_properties(${PROJECT_SOURCE_DIR}/${file}
    DIRECTORY ${PROJECT_SOURCE_DIR}/src/common ${PROJECT_SOURCE_DIR}/src/protocol
              ${PROJECT_SOURCE_DIR}/src/wasm ${PROJECT_SOURCE_DIR}/src/workflow
              ${PROJECT_SOURCE_DIR}/src/engine ${PROJECT_SOURCE_DIR}/src/control
              ${PROJECT_SOURCE_DIR}/src/cli ${PROJECT_SOURCE_DIR}/tests
    PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
endforeach()

# The tests that start processes (tests/integration, tests/chaos and their
# support) give every file its own fixtures (Control, Guest, Str, ...) in
# anonymous namespaces; they compile one source at a time.
foreach(target integration_test chaos_test aether_test_support)
  if(TARGET ${target})
    set_target_properties(${target} PROPERTIES UNITY_BUILD OFF)
  endif()
endforeach()
