# The installed package as a stranger uses it: `cmake --install` into a fresh prefix, then
# examples/c and examples/cpp built out of tree with find_package(ledgerbridge CONFIG), the C
# example built again with pkg-config alone, and the Python package imported from the prefix.
# Each program runs the demo pack over the demo items.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... [-DSANITIZE_FLAGS=...] -P install_test.cmake
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER CXX_COMPILER)
  if(NOT ${v})
    message(FATAL_ERROR "${v} is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
endfunction()

function(expect_summary what output)
  if(NOT output MATCHES "decided 8, skipped 0, failed 0, bad input 1")
    message(FATAL_ERROR "${what}: unexpected output:\n${output}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(pack ${SOURCE_DIR}/rules/demo)
set(items ${SOURCE_DIR}/examples/data/items.jsonl)

foreach(ex c cpp)
  run("configure examples/${ex}" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/${ex} -B ${WORK_DIR}/${ex}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
      "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}"
      "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
  run("build examples/${ex}" ${CMAKE_COMMAND} --build ${WORK_DIR}/${ex})
  run("run examples/${ex}" ${WORK_DIR}/${ex}/embed_${ex} ${pack} ${items})
  expect_summary("find_package consumer (${ex})" "${OUT}")
endforeach()

# pkg-config: nothing but the .pc file and a compiler.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_file ${prefix}/lib*/pkgconfig/ledgerbridge.pc ${prefix}/lib/*/pkgconfig/ledgerbridge.pc)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
run("pkg-config" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} ${PKG_CONFIG} --cflags --libs ledgerbridge)
string(STRIP "${OUT}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(san UNIX_COMMAND "${SANITIZE_FLAGS}")
string(REGEX REPLACE ".*-L([^ ]+).*" "\\1" libdir "${OUT}")
run("cc with pkg-config" ${C_COMPILER} -std=c11 ${san} ${SOURCE_DIR}/examples/c/embed.c ${pc_flags}
    -Wl,-rpath,${libdir} -o ${WORK_DIR}/embed_pkgconfig)
run("run pkg-config consumer" ${WORK_DIR}/embed_pkgconfig ${pack} ${items})
expect_summary("pkg-config consumer" "${OUT}")

# Python from the installed tree, finding the library beside itself (no LEDGERBRIDGE_LIBRARY).
if(PYTHON AND NOT SANITIZE_FLAGS)
  file(GLOB py_dir ${prefix}/lib*/python3/dist-packages)
  run("python from the prefix" ${CMAKE_COMMAND} -E env --unset=LEDGERBRIDGE_LIBRARY PYTHONPATH=${py_dir}
      ${PYTHON} ${SOURCE_DIR}/examples/python/embed.py ${pack} ${items})
  if(NOT OUT MATCHES "decided 8, skipped 0, failed 0, bad input 1")
    message(FATAL_ERROR "installed python package: unexpected output:\n${OUT}")
  endif()
  message(STATUS "installed python package: ok")
  # A pack outside the source tree extends the shipped `default`: the library looks in the
  # prefix's share/ledgerbridge/rules (beside itself), and says so when the parent is not there.
  file(COPY ${SOURCE_DIR}/rules/demo DESTINATION ${WORK_DIR}/outside)
  file(WRITE ${WORK_DIR}/outside/orphan/pack.toml "extends = \"no-such-parent\"\n")
  run("python from the prefix, a pack outside the tree" ${CMAKE_COMMAND} -E env --unset=LEDGERBRIDGE_LIBRARY
      PYTHONPATH=${py_dir} ${PYTHON} ${SOURCE_DIR}/examples/python/embed.py ${WORK_DIR}/outside/demo ${items})
  if(NOT OUT MATCHES "decided 8, skipped 0, failed 0, bad input 1")
    message(FATAL_ERROR "installed python package, pack outside the tree: unexpected output:\n${OUT}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LEDGERBRIDGE_LIBRARY PYTHONPATH=${py_dir} ${PYTHON} -c
                          "import sys, ledgerbridge; ledgerbridge.Engine().load_pack(sys.argv[1])" ${WORK_DIR}/outside/orphan
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "looked in:.*\n  ${prefix}/share/ledgerbridge/rules/no-such-parent")
    message(FATAL_ERROR "installed python package: a missing parent should be looked for in the prefix's rules:\n${err}")
  endif()
  message(STATUS "installed python package, shipped packs: ok")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
