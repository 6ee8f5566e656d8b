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
# A libzmq.a built with other transports or libraries than Debian 12's may
# need symbols zmqtrim.c does not provide: link a probe that makes a socket
# (which pulls in every transport) and fall back when that fails.
set(_mlq_probe ${CMAKE_CURRENT_BINARY_DIR}/zmqlink_probe.c)
file(WRITE ${_mlq_probe} "#include <zmq.h>\nint main(void)\n{\n    void *c = zmq_ctx_new();\n"
     "    zmq_close(zmq_socket(c, ZMQ_DEALER));\n    return zmq_ctx_term(c);\n}\n")
try_compile(_mlq_links ${CMAKE_CURRENT_BINARY_DIR}/zmqlink_probe
            SOURCES ${_mlq_probe} ${CMAKE_CURRENT_LIST_DIR}/zmqtrim.c
            LINK_LIBRARIES ${_mlq_static} -static-libgcc m -pthread
            OUTPUT_VARIABLE _mlq_probe_out)
if(NOT _mlq_links)
  message(STATUS "mlq CLI: the static libzmq does not link with zmqtrim.c, linking the shared "
                 "libraries (see ${CMAKE_CURRENT_BINARY_DIR}/zmqlink_probe)")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/zmqlink_probe/output.txt "${_mlq_probe_out}")
  return()
endif()
set(MLQ_CLI_STATIC_LIBS ${_mlq_static})
message(STATUS "mlq CLI: static libzmq (${MLQ_STATIC_zmq})")
