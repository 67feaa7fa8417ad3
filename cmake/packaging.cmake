# Install rules and the Debian packages (CPack DEB, one package per install component).
#
#   cmake --build <dir> && (cd <dir> && cpack -G DEB)      or: cmake --build <dir> --target package
#
#   r1                 the CLI (r1), the daemon (r1d), the runner (r1-runner, CPU backend built in),
#                      the systemd unit, the default configuration (a conffile), man pages, docs;
#                      maintainer scripts in packaging/debian/ (user, state directory, service).
#   r1-backend-vulkan  libr1-backend-vulkan.so in <libdir>/r1/backends (R1_VULKAN builds);
#                      Depends: r1 (= this version) and, through shlibdeps, libvulkan1.
#   r1-backend-cuda    libr1-backend-cuda.so (R1_CUDA builds). The CUDA runtime is linked into
#                      the plugin statically, so shlibdeps finds only Debian libraries; the
#                      driver's libcuda.so.1 (opened at run time) is recommended, not required:
#                      NVIDIA's own installer provides it outside dpkg.
#
# r1-runner links no GPU library: it loads the plugins it finds (kernels/src/plugin_loader.cpp), so
# `r1` alone is a working CPU install and each backend package adds its devices.

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
  install(TARGETS r1 r1d r1-runner RUNTIME DESTINATION bin COMPONENT r1)
endif()
install(FILES ${r1_pkg_src}/systemd/r1d.service DESTINATION /lib/systemd/system COMPONENT r1)
install(FILES ${r1_pkg_src}/etc/config.toml DESTINATION /etc/r1 COMPONENT r1)
foreach(page ${r1_man_pages})
  install(FILES ${r1_pkg_gen}/${page}.gz DESTINATION share/man/man1 COMPONENT r1)
endforeach()
install(FILES ${r1_pkg_src}/debian/copyright ${r1_pkg_gen}/changelog.Debian.gz
              ${CMAKE_CURRENT_SOURCE_DIR}/README.md ${CMAKE_CURRENT_SOURCE_DIR}/docs/service.md
              ${CMAKE_CURRENT_SOURCE_DIR}/docs/cli.md ${CMAKE_CURRENT_SOURCE_DIR}/docs/api.md
        DESTINATION share/doc/r1 COMPONENT r1)
install(FILES ${r1_pkg_src}/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME r1 COMPONENT r1)

# The backend packages: their plugin (kernels/CMakeLists.txt installs it in component
# backend_<name>), the copyright and changelog every package carries, and the changelog's
# override under the package's name.
set(r1_deb_version ${PROJECT_VERSION}-${R1_PACKAGE_RELEASE})
get_property(r1_backend_plugins GLOBAL PROPERTY R1_BACKEND_PLUGINS)
set(r1_backend_components)
file(READ ${r1_pkg_src}/debian/lintian-overrides r1_overrides)
foreach(plugin ${r1_backend_plugins})
  string(REGEX REPLACE "^r1-backend-" "" backend ${plugin})
  set(comp backend_${backend})
  list(APPEND r1_backend_components ${comp})
  string(REGEX REPLACE "(^|\n)r1: " "\\1${plugin}: " overrides "${r1_overrides}")
  file(CONFIGURE OUTPUT ${r1_pkg_gen}/${plugin}.lintian-overrides CONTENT "${overrides}")
  install(FILES ${r1_pkg_src}/debian/copyright ${r1_pkg_gen}/changelog.Debian.gz
          DESTINATION share/doc/${plugin} COMPONENT ${comp})
  install(FILES ${r1_pkg_gen}/${plugin}.lintian-overrides DESTINATION share/lintian/overrides RENAME ${plugin}
          COMPONENT ${comp})
  # Package r1-backend-<name>; the plugin is useless without the runner of the same build.
  string(TOUPPER ${comp} COMP)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_NAME ${plugin})
  set(CPACK_DEBIAN_${COMP}_PACKAGE_DEPENDS "r1 (= ${r1_deb_version})")
endforeach()

# ---- CPack DEB: one package per component
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME r1)
set(CPACK_PACKAGE_VENDOR "r1")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${R1_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL r1 ${r1_backend_components})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${R1_PACKAGE_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${R1_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${R1_PACKAGE_HOMEPAGE})
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SOURCE r1)
# Library dependencies come from dpkg-shlibdeps (needs dpkg-dev), per package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Each description's first line is the synopsis (CPACK_PACKAGE_DESCRIPTION_SUMMARY stays unset so
# CPack does not put one summary above all); CPack indents each line below and turns an empty line
# into the " ." paragraph break.
set(r1_about "r1 pulls quantized GGUF models from Ollama's registry, any OCI registry or
Hugging Face, verifies and stores them, and serves them through an
Ollama-compatible (/api) and OpenAI-compatible (/v1) HTTP API, with R1's
reasoning returned apart from the answer.")

# r1: the maintainer scripts add adduser (user and group) and dpkg-statoverride (in dpkg itself).
set(CPACK_DEBIAN_R1_PACKAGE_NAME r1)
set(CPACK_DEBIAN_R1_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_R1_DESCRIPTION "local model manager for DeepSeek-R1 and its distilled models
${r1_about}

This package holds the command line client (r1), the daemon (r1d), the
inference runner (r1-runner, with the CPU backend) and a hardened systemd
service that runs r1d as the system user r1 with its models in
/var/lib/r1/models. GPU backends come in their own packages
(r1-backend-vulkan, r1-backend-cuda), which the runner loads when present.")
set(CPACK_DEBIAN_R1_PACKAGE_CONTROL_EXTRA
    ${r1_pkg_src}/debian/conffiles ${r1_pkg_src}/debian/postinst
    ${r1_pkg_src}/debian/prerm ${r1_pkg_src}/debian/postrm)

# r1-backend-vulkan: shlibdeps adds libvulkan1; the loader alone finds no GPU, so the drivers
# are suggested (Mesa's for AMD and Intel, and lavapipe on the CPU; NVIDIA ships its own).
set(CPACK_DEBIAN_BACKEND_VULKAN_PACKAGE_SUGGESTS "mesa-vulkan-drivers")
set(CPACK_DEBIAN_BACKEND_VULKAN_DESCRIPTION "Vulkan GPU backend for the r1 model manager
${r1_about}

This package holds the Vulkan backend of r1-runner, a plugin it loads from
/usr/${R1_BACKEND_INSTALL_DIR} when present: models run on any Vulkan 1.2 GPU with
compute queues (AMD, Intel, NVIDIA). It needs a Vulkan driver, such as
Mesa's (mesa-vulkan-drivers) or NVIDIA's.")

# r1-backend-cuda: the CUDA runtime is inside the plugin (cudart_static); the driver library
# libcuda.so.1 comes from Debian's non-free libcuda1 or from NVIDIA's installer, which dpkg does
# not see, hence Recommends and not Depends. Without it the plugin loads and reports no driver.
set(CPACK_DEBIAN_BACKEND_CUDA_PACKAGE_RECOMMENDS "libcuda1")
set(CPACK_DEBIAN_BACKEND_CUDA_DESCRIPTION "CUDA GPU backend for the r1 model manager
${r1_about}

This package holds the CUDA backend of r1-runner, a plugin it loads from
/usr/${R1_BACKEND_INSTALL_DIR} when present: models run on NVIDIA GPUs (compute
capability 8.0 and newer). It needs NVIDIA's driver (libcuda.so.1); the
CUDA runtime is built in.")
include(CPack)
