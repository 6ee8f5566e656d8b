# How mlq-shim is linked. Every attempt's shim is a fork of the standby
# (shimzygote.c), so what the shim maps and relocates is paid per job: each
# mapping of a shared library is page tables to copy at the fork and to tear
# down at the exit, and each lazily bound call resolved in the child dirties
# a page of its GOT there. So the shim takes its libraries from their static
# archives (libc stays shared: its name-service modules are loaded at run
# time) and is bound at load time (-z now, with the GOT read-only after it),
# once in the standby rather than in every shim. Falls back to the shared
# libraries when an archive is missing. Sets MLQ_SHIM_STATIC_LIBS.
set(MLQ_SHIM_STATIC_LIBS "")
if(NOT MLQ_STATIC_SHIM)
  return()
endif()
set(_mlq_shim_static "")
foreach(_lib msgpackc jansson uuid sodium)
  find_library(MLQ_SHIM_STATIC_${_lib} NAMES lib${_lib}.a)
  if(NOT MLQ_SHIM_STATIC_${_lib})
    message(STATUS "mlq-shim: lib${_lib}.a not found, linking the shared libraries")
    return()
  endif()
  list(APPEND _mlq_shim_static ${MLQ_SHIM_STATIC_${_lib}})
endforeach()
# Archives built without -fPIC cannot go into the position-independent
# mlq-shim: a probe that calls into each must link first.
set(_mlq_shim_probe ${CMAKE_CURRENT_BINARY_DIR}/shimlink_probe.c)
file(WRITE ${_mlq_shim_probe}
     "#include <jansson.h>\n#include <msgpack.h>\n#include <sodium.h>\n#include <uuid/uuid.h>\n"
     "int main(void)\n{\n    uuid_t u;\n    uuid_generate_random(u);\n"
     "    msgpack_zone_free(msgpack_zone_new(64));\n    json_decref(json_object());\n"
     "    unsigned char h[crypto_hash_sha256_BYTES];\n"
     "    return crypto_hash_sha256(h, u, sizeof u);\n}\n")
try_compile(_mlq_shim_links ${CMAKE_CURRENT_BINARY_DIR}/shimlink_probe
            SOURCES ${_mlq_shim_probe}
            CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${MSGPACK_INCLUDE_DIRS};${JANSSON_INCLUDE_DIRS};${SODIUM_INCLUDE_DIRS};${UUID_INCLUDE_DIRS}"
                        -DCMAKE_POSITION_INDEPENDENT_CODE=ON
            LINK_OPTIONS -pie
            LINK_LIBRARIES ${_mlq_shim_static} -pthread
            OUTPUT_VARIABLE _mlq_shim_probe_out)
if(NOT _mlq_shim_links)
  message(STATUS "mlq-shim: the static archives do not link (see "
                 "${CMAKE_CURRENT_BINARY_DIR}/shimlink_probe), linking the shared libraries")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/shimlink_probe/output.txt "${_mlq_shim_probe_out}")
  return()
endif()
set(MLQ_SHIM_STATIC_LIBS ${_mlq_shim_static})
message(STATUS "mlq-shim: static msgpack, jansson, uuid and libsodium")
