# Sets MLQ_CLI_STATIC_LIBS to the static archives `mlq` links instead of
# the shared libraries (MLQ_STATIC_ZMQ), or leaves it empty when the option
# is off or one of them is not installed (then mlq links the shared ones).
# libbsd gives libzmq.a its strlcpy; libstdc++ is libzmq's C++ runtime.
set(MLQ_CLI_STATIC_LIBS "")
if(NOT MLQ_STATIC_ZMQ)
  return()
endif()
set(_mlq_static "")
foreach(_lib zmq sodium msgpackc uuid jansson bsd)
  find_library(MLQ_STATIC_${_lib} NAMES lib${_lib}.a)
  if(NOT MLQ_STATIC_${_lib})
    message(STATUS "mlq CLI: lib${_lib}.a not found, linking the shared libraries")
    return()
  endif()
  list(APPEND _mlq_static ${MLQ_STATIC_${_lib}})
endforeach()
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libstdc++.a
                OUTPUT_VARIABLE _mlq_stdcxx OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT IS_ABSOLUTE "${_mlq_stdcxx}" OR NOT EXISTS "${_mlq_stdcxx}")
  message(STATUS "mlq CLI: libstdc++.a not found, linking the shared libraries")
  return()
endif()
list(APPEND _mlq_static ${_mlq_stdcxx})
set(MLQ_CLI_STATIC_LIBS ${_mlq_static})
message(STATUS "mlq CLI: static libzmq (${MLQ_STATIC_zmq})")
