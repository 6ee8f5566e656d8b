# Writes OUT, a header with the source tree's git description, only when it
# changed, so that a build after a new commit relinks with the new
# description and a build without one does no work. Outside a git checkout
# (a source tarball) the description is "unknown".
execute_process(
  COMMAND git -C "${SRC}" describe --always --dirty --tags
  OUTPUT_VARIABLE desc
  OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR desc STREQUAL "")
  set(desc "unknown")
endif()
set(text "#define MLQ_GIT_DESC \"${desc}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
else()
  set(old "")
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
