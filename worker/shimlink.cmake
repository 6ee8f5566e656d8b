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
set(MLQ_SHIM_STATIC_LIBS ${_mlq_shim_static})
