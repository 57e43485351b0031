# Run by CTest (cmake -P): installs the vecstore package from the build tree into INSTALL_PREFIX, then
# configures, builds and runs tests/consumer against it with find_package(vecstore).
foreach(var VECSTORE_BUILD_DIR INSTALL_PREFIX CONSUMER_SOURCE_DIR CONSUMER_BINARY_DIR CONSUMER_GENERATOR
            CONSUMER_CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()

# Runs one step; prints its output when it fails, or when `show` is given.
function(run_step name show)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: step '${name}' failed (${rc}):\n${out}")
  endif()
  if(show)
    message(STATUS "consumer test: ${name}: ok\n${out}")
  else()
    message(STATUS "consumer test: ${name}: ok")
  endif()
endfunction()

file(REMOVE_RECURSE "${INSTALL_PREFIX}" "${CONSUMER_BINARY_DIR}")

run_step(install OFF "${CMAKE_COMMAND}" --install "${VECSTORE_BUILD_DIR}" --prefix "${INSTALL_PREFIX}")
run_step(configure ON "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${CONSUMER_BINARY_DIR}"
         -G "${CONSUMER_GENERATOR}" "-DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}"
         "-DCMAKE_PREFIX_PATH=${INSTALL_PREFIX}" -DCMAKE_BUILD_TYPE=Release)
run_step(build OFF "${CMAKE_COMMAND}" --build "${CONSUMER_BINARY_DIR}")
run_step(run ON "${CONSUMER_BINARY_DIR}/vecstore_consumer" "${CONSUMER_BINARY_DIR}/store")
