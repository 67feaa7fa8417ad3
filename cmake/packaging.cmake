# Install rules and the Debian package (CPack DEB).
#
#   cmake --build <dir> && (cd <dir> && cpack -G DEB)      or: cmake --build <dir> --target package
#
# One package, `r1`: the CLI (r1), the daemon (r1d), the CPU runner (r1-runner),
# the systemd unit, the default configuration (a conffile), man pages and docs.
# Maintainer scripts live in packaging/debian/ (user, state directory, service).
#
# GPU backends are not plugins: r1-runner links every backend the build compiled
# (r1::kernels_backends: the CPU, Vulkan with R1_VULKAN, CUDA with R1_CUDA) into
# one executable. A separate r1-vulkan package would need a second runner built
# without Vulkan, so there is none: the Vulkan loader (libvulkan1) becomes a
# dependency of `r1` through shlibdeps when the runner links it, and the Vulkan
# drivers are suggested. CUDA builds are not packaged: their runtime library
# comes from NVIDIA's toolkit, which dpkg knows nothing about (see docs/service.md).

set(R1_PACKAGE_MAINTAINER "r1 packagers <packaging@r1.invalid>" CACHE STRING
    "Maintainer field of the .deb (the default is a placeholder: .invalid never resolves)")
set(R1_PACKAGE_HOMEPAGE "https://r1.invalid/" CACHE STRING
    "Homepage field of the .deb (the default is a placeholder: .invalid never resolves)")
set(R1_PACKAGE_RELEASE "1" CACHE STRING "Debian revision of the package (0.1.0-<this>)")

set(r1_pkg_src ${CMAKE_CURRENT_SOURCE_DIR}/packaging)
set(r1_pkg_gen ${CMAKE_CURRENT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${r1_pkg_gen})

# ---- files the package needs compressed (gzip -9n: no name or timestamp in the header)
function(r1_gzip_file src dst)
  set_property(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  execute_process(COMMAND gzip -9nc ${src} OUTPUT_FILE ${dst} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${src} failed (${rc})")
  endif()
endfunction()

set(r1_man_pages r1.1 r1d.1 r1-runner.1)
foreach(page ${r1_man_pages})
  r1_gzip_file(${r1_pkg_src}/man/${page} ${r1_pkg_gen}/${page}.gz)
endforeach()
r1_gzip_file(${r1_pkg_src}/debian/changelog ${r1_pkg_gen}/changelog.Debian.gz)

# ---- install rules (paths relative to /usr; /etc and /lib as Debian 12 puts them)
if(TARGET r1 AND TARGET r1d AND TARGET r1-runner)
  install(TARGETS r1 r1d r1-runner RUNTIME DESTINATION bin)
endif()
install(FILES ${r1_pkg_src}/systemd/r1d.service DESTINATION /lib/systemd/system)
install(FILES ${r1_pkg_src}/etc/config.toml DESTINATION /etc/r1)
foreach(page ${r1_man_pages})
  install(FILES ${r1_pkg_gen}/${page}.gz DESTINATION share/man/man1)
endforeach()
install(FILES ${r1_pkg_src}/debian/copyright ${r1_pkg_gen}/changelog.Debian.gz
              ${CMAKE_CURRENT_SOURCE_DIR}/README.md ${CMAKE_CURRENT_SOURCE_DIR}/docs/service.md
              ${CMAKE_CURRENT_SOURCE_DIR}/docs/cli.md ${CMAKE_CURRENT_SOURCE_DIR}/docs/api.md
        DESTINATION share/doc/r1)
install(FILES ${r1_pkg_src}/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME r1)

# ---- CPack DEB
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME r1)
set(CPACK_PACKAGE_VENDOR "r1")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${R1_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local model manager for DeepSeek-R1 and its distilled models")
# CPack writes the summary as the synopsis, indents each line below and turns an
# empty line into the " ." paragraph break.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "r1 pulls quantized GGUF models from Ollama's registry, any OCI registry or
Hugging Face, verifies and stores them, and serves them through an
Ollama-compatible (/api) and OpenAI-compatible (/v1) HTTP API, with R1's
reasoning returned apart from the answer.

This package holds the command line client (r1), the daemon (r1d), the CPU
inference runner (r1-runner) and a hardened systemd service that runs r1d as
the system user r1 with its models in /var/lib/r1/models.")
set(CPACK_DEBIAN_PACKAGE_NAME r1)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${R1_PACKAGE_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${R1_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${R1_PACKAGE_HOMEPAGE})
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps (needs dpkg-dev); the maintainer
# scripts add adduser (user and group) and dpkg-statoverride (in dpkg itself).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
if(TARGET r1_runner_app AND R1_VULKAN)
  get_target_property(r1_runner_links r1_runner_app LINK_LIBRARIES)
  if("r1::kernels_backends" IN_LIST r1_runner_links)
    # The loader alone finds no GPU: Mesa's drivers (AMD, Intel) or NVIDIA's own.
    set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mesa-vulkan-drivers")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${r1_pkg_src}/debian/conffiles ${r1_pkg_src}/debian/postinst
    ${r1_pkg_src}/debian/prerm ${r1_pkg_src}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
if(R1_CUDA)
  message(STATUS "packaging: R1_CUDA builds are not packaged (libcudart is not a Debian library); no package target")
  return()
endif()
include(CPack)
