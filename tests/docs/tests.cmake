# Compiles every ```cpp block of README.md and docs/*.md (see extract_snippets.py), as a
# test: a guide whose code stops compiling fails the suite instead of rotting.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND AND TARGET braid_net AND TARGET braid_process)
  file(GLOB doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
  set(doc_sources ${PROJECT_SOURCE_DIR}/README.md ${doc_pages})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${doc_sources}
               ${CMAKE_CURRENT_LIST_DIR}/extract_snippets.py)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/extract_snippets.py
            ${CMAKE_CURRENT_BINARY_DIR}/doc_snippets ${doc_sources}
    OUTPUT_VARIABLE snippet_files OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE extract_status)
  if(extract_status EQUAL 0 AND snippet_files)
    string(REPLACE "\n" ";" snippet_files "${snippet_files}")
    add_library(doc_snippets OBJECT EXCLUDE_FROM_ALL ${snippet_files})
    target_link_libraries(doc_snippets PRIVATE braid::braid)
    target_compile_options(doc_snippets PRIVATE -Wno-unused-variable -Wno-unused-but-set-variable)
    add_test(NAME docs.snippets_compile
             COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target doc_snippets)
    set_tests_properties(docs.snippets_compile PROPERTIES TIMEOUT 900)
  endif()
endif()

# The docs' links must resolve (to files in the repository, and to headings that exist),
# and docs/api (generated from the public headers) must match the headers it describes.
if(Python3_FOUND)
  add_test(NAME docs.links
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/check_doc_links.py
                   ${PROJECT_SOURCE_DIR})
  add_test(NAME docs.api_reference_current
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/gen_api_reference.py --check)
endif()
