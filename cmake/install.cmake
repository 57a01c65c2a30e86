# `cmake --install` / `make install` (DESTDIR and PREFIX honoured;
# docs/operations.md, "Installing"):
#   bin/                   aether, aether-control, aether-engine and
#                          aether-compiler — one directory: the servers start
#                          the aether-compiler beside their own executable
#   share/aether/sdk/      the guest SDK headers `aether workflow apply` builds
#                          C functions with (the CLI looks in ../share/aether/sdk
#                          from its own directory)
#   share/aether/examples/ control.toml and engine.toml for /etc/aether
#   lib/systemd/system/    aether-control.service, aether-engine.service, with
#                          this prefix's bin/ in ExecStart=
#   lib/sysusers.d/        aether.conf: the user aether
# What the engine reads at run time besides these comes from Debian packages
# and is not installed here: the compilers' headers and libraries (tcc:
# /usr/lib/x86_64-linux-gnu/tcc, wabt: /usr/include/wasm-rt.h, gcc and
# libc6-dev for the optimizing tier) — see deploy/docker/Dockerfile.engine.
include(GNUInstallDirs)

set(AETHER_INSTALLED_PROGRAMS)
foreach(bin aether aether-control aether-engine aether-compiler)
  if(TARGET ${bin})
    list(APPEND AETHER_INSTALLED_PROGRAMS ${bin})
  endif()
endforeach()
install(TARGETS ${AETHER_INSTALLED_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

file(GLOB AETHER_SDK_FILES ${PROJECT_SOURCE_DIR}/functions/sdk/*)
install(FILES ${AETHER_SDK_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/aether/sdk)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/config/control.toml
              ${PROJECT_SOURCE_DIR}/deploy/config/engine.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/aether/examples)

# The units in deploy/systemd name /usr/local/bin (the default prefix); the
# installed ones name this prefix's bin/.
foreach(unit aether-control.service aether-engine.service)
  set(src ${PROJECT_SOURCE_DIR}/deploy/systemd/${unit})
  file(READ ${src} text)
  string(REPLACE "/usr/local/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" text "${text}")
  file(WRITE ${CMAKE_BINARY_DIR}/deploy/systemd/${unit} "${text}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  install(FILES ${CMAKE_BINARY_DIR}/deploy/systemd/${unit} DESTINATION lib/systemd/system)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/aether.sysusers
        DESTINATION lib/sysusers.d RENAME aether.conf)
